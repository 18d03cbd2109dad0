"""Understanding a text: what kind of help, where, and whether the person is breathing
and conscious.

``EXAMPLES`` is the table in ``docs/sms-examples.md``: a test reads the markdown back and
requires it to equal this list, so the docs show exactly what the code does. Hypothesis
throws arbitrary text at it; ``texts`` and ``LONG`` are shared with the conversation's
tests (``test_sms_converse``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotline.core.sms.keywords import classify_keyword
from spotline.core.sms.text import MAX_PLACE
from spotline.core.sms.understand import Understanding, understand
from spotline.core.triage import Answer, Kind

DOCS = Path(__file__).resolve().parents[3] / "docs" / "sms-examples.md"

OD, MH, MED = Kind.OVERDOSE, Kind.MENTAL_HEALTH, Kind.MEDICAL
FIGHT, CHECK = Kind.CONFLICT, Kind.WELFARE_CHECK
YES, NO = Answer.YES, Answer.NO

Example = tuple[str, Kind | None, str | None, Answer | None, Answer | None, str]

# (text, kind, place, breathing, conscious, language)
EXAMPLES: list[Example] = [
    ("my friend isn't breathing behind the 7-11 on 5th",
     OD, "behind the 7-11 on 5th", NO, None, "en"),
    ("my bf OD'd at the Shell station on 3rd", OD, "at the Shell station on 3rd", None, None, "en"),
    ("hay una sobredosis detras del parque central",
     OD, "detras del parque central", None, None, "es"),
    ("he's not breathing 5th & Main", OD, "5th & Main", NO, None, "en"),
    ("my sister is suicidal we're at 123 Elm St apt 4",
     MH, "at 123 Elm St apt 4", None, None, "en"),
    ("pls help", None, None, None, None, "en"),
    ("SOMEONE OVERDOSING IN THE BATHROOM AT MCDONALDS ON BROADWAY",
     OD, "IN THE BATHROOM AT MCDONALDS ON BROADWAY", None, None, "en"),
    ("guy nodding out near the bus station lips turning blue",
     OD, "near the bus station", None, None, "en"),
    ("my friend od'ing wont wake up corner of 5th and main",
     OD, "corner of 5th and main", None, NO, "en"),
    ("she took fent and passed out under the bridge on river rd",
     OD, "under the bridge on river rd", None, NO, "en"),
    ("overdose at the park", OD, "at the park", None, None, "en"),
    ("my freind is overdosin behind walgreens", OD, "behind walgreens", None, None, "en"),
    ("my friend isnt breathin pls help hes at the bus stop on 4th ave",
     OD, "at the bus stop on 4th ave", NO, None, "en"),
    ("my friend is ODing at 5th and main and not breathing pls hurry",
     OD, "at 5th and main", NO, None, "en"),
    ("OD at 5th st and main hurry", OD, "at 5th st and main", None, None, "en"),
    ("OVERDOSE!!! 3RD AND PINE", OD, "3RD AND PINE", None, None, "en"),
    ("HELP!!! SHE WONT WAKE UP", OD, None, None, NO, "en"),
    ("he is breathing but wont wake up", OD, None, YES, NO, "en"),
    ("breathing but barely, nodding off on a bench in the park",
     OD, "in the park", YES, None, "en"),
    ("my friend took some pills and is unresponsive, 2200 W Lincoln Ave Apt 12",
     OD, "2200 W Lincoln Ave Apt 12", None, NO, "en"),
    ("help my friend is fiending and turning blue we at the motel 6 on aurora",
     OD, "at the motel 6 on aurora", None, None, "en"),
    ("someone ODing in the alley behind the Safeway at 5th and Pine",
     OD, "in the alley behind the Safeway at 5th and Pine", None, None, "en"),
    ("i think my cousin is overdosing", OD, None, None, None, "en"),
    ("my brother is having a panic attack outside the library",
     MH, "outside the library", None, None, "en"),
    ("hes hearing voices and screaming in the middle of the street",
     MH, "in the middle of the street", None, None, "en"),
    ("my roommate is having a psychotic break in our apt at 77 Pine St",
     MH, "at 77 Pine St", None, None, "en"),
    ("Is there anyone who can come talk to me? I'm in crisis", MH, None, None, None, "en"),
    ("guy bleeding bad by the gas station on 8th",
     MED, "by the gas station on 8th", None, None, "en"),
    ("someone having a seizure in front of the church",
     MED, "in front of the church", None, None, "en"),
    ("old man fell and cant get up next to the laundromat",
     MED, "next to the laundromat", None, None, "en"),
    ("guy got hurt at the skate park", MED, "at the skate park", None, None, "en"),
    ("2 guys fighting across from the shelter",
     FIGHT, "across from the shelter", None, None, "en"),
    ("someone is threatening people with a knife near the train station",
     FIGHT, "near the train station", None, None, "en"),
    ("can someone check on my neighbor at 450 Oak Ave",
     CHECK, "at 450 Oak Ave", None, None, "en"),
    ("havent seen my friend in 2 days, worried about him", CHECK, None, None, None, "en"),
    ("worried about the lady sleeping outside the church she hasnt moved",
     CHECK, "outside the church", None, None, "en"),
    ("im worried about my mom, she lives at 88 Oak St and isnt answering",
     CHECK, "at 88 Oak St", None, None, "en"),
    ("she's awake and talking now, at 1st and Pine", None, "at 1st and Pine", None, YES, "en"),
    ("he's ok now, still breathing. 123 Main St. apt 4 pls hurry",
     None, "123 Main St. apt 4", YES, None, "en"),
    ("5th & main", None, "5th & main", None, None, "en"),
    ("mi amigo no respira estamos en la esquina de la 5 y Main",
     OD, "en la esquina de la 5 y Main", NO, None, "es"),
    ("no despierta, está inconsciente detrás de la tienda",
     OD, "detrás de la tienda", None, NO, "es"),
    ("mi novio se metió fentanilo y tiene los labios morados, en el parque Lincoln",
     OD, "en el parque Lincoln", None, None, "es"),
    ("SOBREDOSIS EN LA ESTACION DEL METRO", OD, "EN LA ESTACION DEL METRO", None, None, "es"),
    ("Sobredosis en la calle 5 y Juárez, no responde",
     OD, "en la calle 5 y Juárez", None, NO, "es"),
    ("my friend no respira en el parque", OD, "en el parque", NO, None, "es"),
    ("mi hermana quiere morir, estamos cerca del hospital",
     MH, "cerca del hospital", None, None, "es"),
    ("mi papá se cayó y está sangrando, calle Juárez 123",
     MED, "calle Juárez 123", None, None, "es"),
    ("Emergencia: mi amiga tiene una convulsión frente a la farmacia",
     MED, "frente a la farmacia", None, None, "es"),
    ("hay una pelea afuera del bar La Cantina", FIGHT, "afuera del bar La Cantina", None, None,
     "es"),
    ("Necesito que alguien revise a mi tío, no lo he visto en 3 días",
     CHECK, None, None, None, "es"),
    ("ayuda por favor", None, None, None, None, "es"),
]


# -- The examples table, and the docs that show it -----------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "place", "breathing", "conscious", "language"), EXAMPLES,
    ids=[e[0][:40] for e in EXAMPLES],
)
def test_it_understands_the_example(
    text: str, kind: Kind | None, place: str | None, breathing: Answer | None,
    conscious: Answer | None, language: str,
) -> None:
    assert understand(text) == Understanding(
        language=language, kind=kind, place=place, breathing=breathing, conscious=conscious
    )


def test_the_examples_cover_both_languages_and_every_kind() -> None:
    assert len(EXAMPLES) >= 30
    assert {e[5] for e in EXAMPLES} == {"en", "es"}
    assert {e[1] for e in EXAMPLES} >= set(Kind) - {Kind.OTHER}
    assert len({e[0] for e in EXAMPLES}) == len(EXAMPLES)


def _cell(value: str) -> str | None:
    value = value.strip()
    return None if value == "—" else value.strip("`")


def test_the_docs_show_exactly_the_examples() -> None:
    rows = []
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            text, kind, place, breathing, conscious, language = line.strip("|").split("|")
            rows.append((_cell(text), _cell(kind), _cell(place), _cell(breathing),
                         _cell(conscious), _cell(language)))
    expected = [
        (text, kind and kind.value, place, breathing and breathing.value,
         conscious and conscious.value, language)
        for text, kind, place, breathing, conscious, language in EXAMPLES
    ]
    assert rows == expected

# -- Understanding: the rules behind the table -------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["this is odd", "my odd friend", "the Odessa diner", "I'm broke", "god help us",
     "stop by the park", "opportunity", "look at him"],
)
def test_it_does_not_see_an_overdose_in_similar_words(text: str) -> None:
    assert understand(text).kind is not Kind.OVERDOSE


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("check on my friend, he's not breathing", OD),
        ("worried about him, he wants to die", MH),
        ("he's hurt himself again", MH),
        ("he's hurt", MED),
        ("she is having a heart attack", MED),
        ("he's having a panic attack", MH),
        ("a guy is attacking people", FIGHT),
    ],
)
def test_it_picks_the_most_urgent_kind(text: str, kind: Kind) -> None:
    assert understand(text).kind is kind


@pytest.mark.parametrize(
    ("text", "breathing", "conscious"),
    [
        ("not breathing but awake??", NO, YES),
        ("I don't know if he's breathing", None, None),
        ("no sé si respira", None, None),
        ("he's not talking", None, None),
        ("is he breathing?", None, None),
        ("she stopped breathing", NO, None),
        ("he woke up and is breathing again", YES, YES),
        ("ya respira y está despierto", YES, YES),
        ("no está despierto", None, NO),
        ("not conscious", None, NO),
        ("unconscious", None, NO),
    ],
)
def test_it_reads_breathing_and_consciousness_carefully(
    text: str, breathing: Answer | None, conscious: Answer | None
) -> None:
    heard = understand(text)
    assert (heard.breathing, heard.conscious) == (breathing, conscious)


@pytest.mark.parametrize(
    ("text", "place"),
    [
        # The cue word stays with the place; what follows it ends at the next clause.
        ("overdose at the park", "at the park"),
        ("at the park, he's not breathing", "at the park"),
        ("at my house", "at my house"),
        ("en mi casa", "en mi casa"),
        # A cue that is not about a place is skipped.
        ("someone is yelling at me outside the bar", "outside the bar"),
        ("at least come quick", None),
        ("he was fine in the morning", None),
        ("está en crisis en la calle 8", "en la calle 8"),
        ("at 3am she stopped breathing", None),
        ("under the influence near the pier", "near the pier"),
        ("he's on 5th street", "on 5th street"),
        ("Main St & 5th", "Main St & 5th"),
        ("we're at 123 Main St. apt 4.", "at 123 Main St. apt 4"),
        ("no place here at all", None),
    ],
)
def test_it_finds_the_place_as_written(text: str, place: str | None) -> None:
    assert understand(text).place == place


def test_it_caps_the_place_and_drops_control_characters() -> None:
    heard = understand("overdose at the " + "very " * 100 + "long\x00 road")
    assert heard.place is not None
    assert len(heard.place) <= MAX_PLACE
    assert heard.place.startswith("at the very very")
    assert understand("at the\x00park").place == "at the park"


def test_it_takes_the_language_it_is_given() -> None:
    assert understand("overdose at the park", language="es").language == "es"
    assert understand("sobredosis", language="en-US").language == "en"
    assert understand("sobredosis", language="fr").language == "es"
    assert understand("5th & main").language == "en"


# -- Hypothesis: any text ------------------------------------------------------------------

VOCAB = sorted({w for e in EXAMPLES for w in e[0].split()} | {
    "🙏", "💀", "👨‍👩‍👧", "\x00", "\x1b", "\n", "\r\n", "\u202e", "\ufeff", "police", "policía",
    "STOP", "1", "6", "7", "at", "en", "the", "中文", "عربي", "कृपया", ".", "!!!", "&", "y",
})
texts = st.one_of(
    st.text(),
    st.lists(st.sampled_from(VOCAB), max_size=40).map(" ".join),
    st.text(alphabet=st.characters(max_codepoint=0x2FF), min_size=200, max_size=2000),
)
LONG = [
    "a" * 5000, "at the " * 700, "5th and " * 600, "123 " * 1250, "en " * 1600, "🙏" * 5000,
    "overdose " * 500 + "behind the library",
]


@given(text=texts)
@settings(max_examples=300)
def test_understanding_any_text_never_fails(text: str) -> None:
    heard = understand(text)
    assert heard.language in ("en", "es")
    if heard.place is not None:
        assert 0 < len(heard.place) <= MAX_PLACE
        assert heard.place == heard.place.strip()
    classify_keyword(text)


@pytest.mark.parametrize("text", LONG, ids=lambda t: t[:12])
def test_understanding_long_text_never_fails(text: str) -> None:
    heard = understand(text)
    assert heard.place is None or len(heard.place) <= MAX_PLACE
