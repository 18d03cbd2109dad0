"""SMS understanding and conversation: what a text says, and what we answer.

``EXAMPLES`` is the table in ``docs/sms-examples.md``: a test reads the markdown back and
requires it to equal this list, so the docs show exactly what the code does. The
conversation paths are spelled out turn by turn, and hypothesis throws arbitrary text at
every step to hold the promises made to a person in crisis: always an answer, never
longer than two SMS, never a mention of police except that we never send them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from spotline.core.sms.converse import (
    NEXT_STEP,
    STEPS,
    ConversationState,
    OpenIncident,
    Step,
    Turn,
    converse,
)
from spotline.core.sms.keywords import (
    KEYWORDS,
    Keyword,
    classify_keyword,
    keyword_language,
    keyword_reply,
)
from spotline.core.sms.replies import MESSAGES, WHAT
from spotline.core.sms.text import MAX_PLACE, MAX_REPLY
from spotline.core.sms.understand import Understanding, understand
from spotline.core.triage import Answer, Kind

NOW = datetime(2026, 11, 27, 3, 0, 0, tzinfo=UTC)
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


def say(state: ConversationState, *texts: str) -> list[Turn]:
    turns = []
    for text in texts:
        turn = converse(state, text, now=NOW)
        turns.append(turn)
        state = turn.state
    return turns


def last(*texts: str, state: ConversationState | None = None) -> Turn:
    return say(state or ConversationState(), *texts)[-1]


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


# -- Compliance keywords ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", Keyword.STOP), ("stop", Keyword.STOP), ("  Stop.  ", Keyword.STOP),
        ("STOP!!!", Keyword.STOP), ("stop all", Keyword.STOP), ("STOPALL", Keyword.STOP),
        ("Unsubscribe", Keyword.STOP), ("cancel", Keyword.STOP), ("END", Keyword.STOP),
        ("quit", Keyword.STOP), ("PARAR", Keyword.STOP), ("Alto", Keyword.STOP),
        ("baja", Keyword.STOP), ("detener", Keyword.STOP), ("Cancelar.", Keyword.STOP),
        ("\uff33\uff34\uff2f\uff30", Keyword.STOP), ("stop 🙏", Keyword.STOP),
        ("START", Keyword.START), ("unstop", Keyword.START), ("Inicio", Keyword.START),
        ("INICIO", Keyword.START), ("comenzar", Keyword.START),
        ("HELP", Keyword.HELP), ("help?", Keyword.HELP), ("info", Keyword.HELP),
        ("AYUDA", Keyword.HELP), ("¡Ayuda!", Keyword.HELP),
    ],
)
def test_it_recognises_compliance_keywords(text: str, keyword: Keyword) -> None:
    assert classify_keyword(text) is keyword


@pytest.mark.parametrize(
    "text",
    [
        "stop by the park", "help my friend", "please help", "help me", "ayuda por favor",
        "end of the street", "cancel that, he's ok", "info on narcan", "start over",
        # Used for responder accepts and confirmations: never a resubscribe.
        "YES", "Y", "yes 42", "SI", "sí", "",
        "1", "🙏", "s" * 5000,
    ],
)
def test_it_takes_only_a_whole_message_as_a_keyword(text: str) -> None:
    assert classify_keyword(text) is None


def test_every_keyword_is_one_folded_word() -> None:
    for word in KEYWORDS:
        assert word.isalnum() and word.islower() and classify_keyword(word.upper())


@pytest.mark.parametrize("keyword", list(Keyword))
@pytest.mark.parametrize("language", ["en", "es"])
def test_it_has_a_carrier_reply_for_each_keyword(keyword: Keyword, language: str) -> None:
    reply = keyword_reply(keyword, language=language, org="Harm Reduction Hub")
    assert reply.startswith("Harm Reduction Hub:")
    assert len(reply) <= MAX_REPLY


def test_it_answers_spanish_keywords_in_spanish() -> None:
    assert keyword_language("PARAR") == "es"
    assert keyword_language("¡ayuda!") == "es"
    assert keyword_language("STOP") == "en"
    assert "INICIO" in keyword_reply(Keyword.STOP, language="es")


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


# -- The conversation ------------------------------------------------------------------------


def test_it_dispatches_at_once_when_the_first_text_says_what_and_where() -> None:
    turn = last("my friend isn't breathing behind the 7-11 on 5th")
    assert turn.replies[0] == (
        "Sending a responder for an overdose at: behind the 7-11 on 5th. We never send "
        "police. Reply with a better location anytime. Reply STOP to stop texts."
    )
    assert "naloxone" in turn.replies[1]
    assert turn.action == OpenIncident(
        kind=OD, place="behind the 7-11 on 5th", breathing=NO, conscious=Answer.UNKNOWN,
        language="en",
    )
    assert turn.state.step is Step.DISPATCHED
    assert turn.at == NOW


def test_it_confirms_a_place_without_repeating_the_cue() -> None:
    turn = last("overdose at the park")
    assert "for an overdose at: the park." in turn.replies[0]
    assert turn.action is not None and turn.action.place == "at the park"


def test_it_asks_where_when_it_knows_what() -> None:
    turn = last("my sister wants to die")
    assert turn.state.step is Step.ASK_PLACE
    assert turn.action is None
    assert turn.replies == (
        "Spotline here. We never send police. Where are you? A street address, cross "
        "streets, or a place people know.",
    )


def test_it_asks_what_with_numbered_choices_when_it_knows_where() -> None:
    turn = last("5th & Main")
    assert turn.state.step is Step.ASK_KIND
    assert turn.state.place == "5th & Main"
    assert "Got it: 5th & Main." in turn.replies[0]
    assert ("1 overdose, 2 mental health, 3 hurt or sick, 4 check on someone, 5 conflict, "
            "6 other") in turn.replies[0]


def test_it_asks_what_first_when_it_knows_neither() -> None:
    turn = last("pls help")
    assert turn.state.step is Step.ASK_KIND
    assert turn.replies[0].startswith("Spotline here. We never send police. What is happening?")


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("1", OD), ("#1", OD), ("1.", OD), ("one", OD), ("uno", OD), (" 1 ", OD),
        ("overdose", OD), ("2", MH), ("mental health", MH), ("3", MED), ("sick", MED),
        ("4", CHECK), ("check on him", CHECK), ("5", FIGHT), ("conflict", FIGHT),
        ("6", Kind.OTHER), ("other", Kind.OTHER), ("otra cosa", Kind.OTHER),
        ("option 2", MH), ("3 at the park", MED),
    ],
)
def test_it_takes_a_number_or_words_for_what_is_happening(answer: str, kind: Kind) -> None:
    turn = last("help", answer)
    assert turn.state.kind is kind
    assert turn.state.step in (Step.ASK_PLACE, Step.DISPATCHED)


def test_it_does_not_take_a_house_number_for_a_choice() -> None:
    turn = last("help", "4 Elm St")
    assert turn.state.kind is None
    assert turn.state.place == "4 Elm St"
    assert turn.state.step is Step.ASK_KIND


def test_a_choice_with_a_known_place_dispatches() -> None:
    _, second = say(ConversationState(), "5th & Main", "1")
    assert second.action is not None
    assert (second.action.kind, second.action.place) == (OD, "5th & Main")


def test_it_asks_again_with_an_example_after_an_unclear_answer_about_what() -> None:
    turn = last("help", "asdf")
    assert turn.state.step is Step.ASK_KIND
    assert turn.state.attempts == 1
    assert turn.replies[0].startswith("Sorry, I did not get that.")
    assert "for example 1" in turn.replies[0]


def test_it_assumes_other_after_two_unclear_answers_about_what() -> None:
    turn = last("help", "asdf", "🤷")
    assert turn.state.kind is Kind.OTHER
    assert turn.state.step is Step.ASK_PLACE
    assert turn.replies[0].startswith("OK, we will send someone to help. Where are you?")


def test_it_dispatches_on_the_assumption_when_it_knows_where() -> None:
    turn = last("at the library", "??", "hmm")
    assert turn.action is not None
    assert (turn.action.kind, turn.action.place) == (Kind.OTHER, "at the library")


def test_it_takes_a_plain_answer_to_where() -> None:
    for answer in ("the library", "McDonald's", "Walgreens on 3rd"):
        turn = last("overdose", answer)
        assert turn.action is not None and turn.action.place == answer


def test_it_does_not_take_an_update_for_an_answer_to_where() -> None:
    turn = last("overdose", "he's not breathing pls hurry")
    assert turn.state.step is Step.ASK_PLACE
    assert turn.state.breathing is NO
    assert turn.replies[0].startswith("Sorry, I could not tell where you are.")
    assert '"5th and Main"' in turn.replies[0]


def test_it_dispatches_with_the_raw_text_after_two_unclear_answers_about_where() -> None:
    turn = last("overdose", "idk", "he's not breathing, pls")
    assert turn.action is not None
    assert turn.action.place == "he's not breathing, pls"
    assert turn.action.breathing is NO
    assert "could not tell exactly where" in turn.replies[0]


def test_it_dispatches_with_no_place_when_the_last_answer_is_empty() -> None:
    turn = last("overdose", "", "   ")
    assert turn.action is not None and turn.action.place is None
    assert "someone may call or text you" in turn.replies[0]


def test_it_keeps_what_it_learns_along_the_way() -> None:
    turn = last("she won't wake up", "not breathing either", "at the bus stop")
    assert turn.action == OpenIncident(
        kind=OD, place="at the bus stop", breathing=NO, conscious=NO, language="en"
    )


def test_it_sends_first_aid_for_an_overdose_once() -> None:
    turns = say(ConversationState(), "help", "1", "the library")
    assert [len(t.replies) for t in turns] == [1, 2, 1]
    assert "naloxone" in turns[1].replies[1]


def test_after_dispatch_texts_are_notes_for_the_responder() -> None:
    dispatched = last("overdose at the park").state
    turn = converse(dispatched, "he has a red jacket", now=NOW)
    assert turn.action is None
    assert turn.note == "he has a red jacket"
    assert turn.state.step is Step.DISPATCHED
    assert turn.replies == ("Thanks, we added that to your request. Text anytime with more "
                            "details.",)


def test_after_dispatch_a_new_place_updates_the_location() -> None:
    dispatched = last("overdose at the park").state
    turn = converse(dispatched, "actually we're behind the gym now", now=NOW)
    assert turn.state.place == "behind the gym now"
    assert turn.note == "actually we're behind the gym now"
    assert turn.replies[0].startswith("Thanks, we updated the location: behind the gym now.")


def test_after_dispatch_an_empty_text_gets_a_reminder() -> None:
    turn = converse(last("overdose at the park").state, "\x00 \n", now=NOW)
    assert turn.note is None
    assert turn.replies[0].startswith("Your request is still open.")


def test_a_closed_conversation_starts_over() -> None:
    closed = replace(last("overdose at the park").state, step=Step.CLOSED)
    turn = converse(closed, "someone is bleeding at 5th and main", now=NOW)
    assert turn.action is not None
    assert (turn.action.kind, turn.action.place) == (MED, "at 5th and main")
    assert turn.replies[0].startswith("Sending a responder for someone hurt or sick")


def test_it_runs_a_whole_conversation_in_spanish() -> None:
    turns = say(ConversationState(), "ayuda", "xx", "1", "no sé", "detrás de la iglesia",
                "tiene una chamarra roja")
    assert turns[0].replies[0].startswith("Aquí Spotline. Nunca enviamos a la policía.")
    assert turns[1].replies[0].startswith("Perdón, no entendí.")
    assert turns[2].replies[0].startswith("¿Dónde estás?")
    assert turns[2].replies[1].startswith("Si tienes naloxona")
    assert turns[3].replies[0].startswith("Perdón, no entendí dónde estás.")
    assert turns[4].replies[0] == (
        "Enviamos a una persona de apoyo por una sobredosis en: detrás de la iglesia. Nunca "
        "enviamos a la policía. Responde con una mejor ubicación cuando quieras. Responde "
        "PARAR para no recibir más mensajes."
    )
    assert turns[4].action == OpenIncident(
        kind=OD, place="detrás de la iglesia", breathing=Answer.UNKNOWN,
        conscious=Answer.UNKNOWN, language="es",
    )
    assert turns[5].replies[0].startswith("Gracias, lo añadimos")
    assert turns[5].note == "tiene una chamarra roja"
    assert all(t.state.language == "es" for t in turns)


def test_it_keeps_the_language_through_answers_that_show_none() -> None:
    turn = last("1", state=ConversationState(step=Step.ASK_KIND, language="es"))
    assert turn.replies[0].startswith("¿Dónde estás?")
    assert turn.state.language == "es"


def test_it_answers_in_the_language_of_the_latest_text() -> None:
    turn = last("my friend needs help", "hay una sobredosis")
    assert turn.state.language == "es"
    assert turn.replies[0].startswith("¿Dónde estás?")


def test_it_echoes_the_place_as_written_even_when_it_names_the_police() -> None:
    # The echo is the person's own words, so they can check them; our words never
    # suggest the police.
    turn = last("overdose behind the police station")
    assert "at: behind the police station." in turn.replies[0]


def test_it_shortens_a_long_place_in_the_reply_but_not_in_the_action() -> None:
    place = "at the " + "really " * 40 + "big park"
    state = ConversationState(step=Step.ASK_PLACE, kind=MH)
    turn = converse(state, place, now=NOW)
    assert turn.action is not None and turn.action.place == place[:MAX_PLACE].rstrip()
    assert len(turn.replies[0]) <= MAX_REPLY
    assert "..." in turn.replies[0]


def test_next_step_covers_every_combination_of_what_is_known() -> None:
    assert set(NEXT_STEP) == {(k, p) for k in (True, False) for p in (True, False)}
    assert set(STEPS) == set(Step)


# -- Messages --------------------------------------------------------------------------------

# GSM 03.38 basic character set: the texts that cost one segment per 160 characters.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
ALLOWED = ("we never send police", "nunca enviamos a la policía")


def _police_free(reply: str) -> bool:
    rest = reply.lower()
    for phrase in ALLOWED:
        rest = rest.replace(phrase, "")
    return "polic" not in rest


def test_every_message_exists_in_both_languages() -> None:
    for key, texts in MESSAGES.items():
        assert set(texts) == {"en", "es"}, key
    for kind in Kind:
        assert set(WHAT[kind]) == {"en", "es"}


def test_english_messages_are_plain_gsm() -> None:
    for texts in (*MESSAGES.values(), *WHAT.values()):
        english = texts["en"].format(what="x", place="x", org="x")
        assert set(english) <= GSM7, english


def test_no_message_mentions_police_except_to_say_we_never_send_them() -> None:
    for texts in (*MESSAGES.values(), *WHAT.values()):
        for text in texts.values():
            assert _police_free(text), text


# -- Hypothesis: any text, any state -----------------------------------------------------------

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
states = st.builds(
    ConversationState,
    step=st.sampled_from(Step),
    language=st.one_of(st.none(), st.sampled_from(["en", "es", "fr", ""])),
    kind=st.one_of(st.none(), st.sampled_from(Kind)),
    place=st.one_of(st.none(), texts),
    breathing=st.one_of(st.none(), st.sampled_from(Answer)),
    conscious=st.one_of(st.none(), st.sampled_from(Answer)),
    attempts=st.integers(min_value=0, max_value=5),
)


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


@given(state=states, text=texts)
@settings(max_examples=500)
@example(state=ConversationState(), text="")
@example(state=ConversationState(step=Step.ASK_PLACE, attempts=1), text="\x00")
@example(state=ConversationState(step=Step.ASK_KIND, attempts=1, place="police HQ"), text="x")
def test_every_text_in_every_state_gets_a_short_police_free_answer(
    state: ConversationState, text: str
) -> None:
    turn = converse(state, text, now=NOW)
    assert turn.replies
    said = " ".join([text, state.place or "", turn.state.place or ""]).lower()
    for reply in turn.replies:
        assert reply.strip()
        assert len(reply) <= MAX_REPLY
        # Only the person's own words, echoed back, may name the police.
        assert _police_free(reply) or "polic" in said
    assert turn.state.step in STEPS[state.step]
    assert turn.state.language in ("en", "es")
    dispatching = turn.state.step is Step.DISPATCHED and state.step is not Step.DISPATCHED
    assert (turn.action is not None) == dispatching
    if state.step is not Step.DISPATCHED:
        assert turn.note is None


@pytest.mark.parametrize("step", list(Step))
@pytest.mark.parametrize("text", LONG, ids=lambda t: t[:12])
def test_long_texts_get_an_answer_in_every_step(step: Step, text: str) -> None:
    turn = converse(ConversationState(step=step, kind=OD), text, now=NOW)
    assert turn.replies and all(0 < len(r) <= MAX_REPLY for r in turn.replies)
    assert turn.note is None or len(turn.note) <= 1600
