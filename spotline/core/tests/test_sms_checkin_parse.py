"""Check-ins by text, the pure part: which texts start, save, forget, answer or end a
check-in, and the replies in both languages. The table in ``docs/sms-examples.md`` is
read back, so the docs show what the code does. No database."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from spotline.core.checkin import MAX_MINUTES, MIN_MINUTES
from spotline.core.sms.checkin import (
    CHECKIN_MESSAGES,
    FORGET_WORDS,
    SAVE_WORDS,
    START_WORDS,
    SafetyOk,
    SpotRequest,
    checkin_say,
    checkin_word,
    clamp_minutes,
    forget_language,
    parse_safety_ok,
    parse_spot,
    save_language,
)
from spotline.core.sms.text import MAX_PLACE, MAX_REPLY
from spotline.core.tests.test_sms_replies import GSM7, police_free

DOCS = Path(__file__).resolve().parents[3] / "docs" / "sms-examples.md"

Row = tuple[str, str, str | None, str | None, str]


def _read(text: str) -> Row:
    """(what it does, text, minutes, place, language) as the docs table writes it, in
    the order the shell asks."""
    language = forget_language(text)
    if language is not None:
        return ("forget the saved place", text, None, None, language)
    spot = parse_spot(text)
    if spot is not None:
        what = ("start and save" if spot.save else "start" if spot.place
                else "start from the saved place")
        minutes = str(spot.minutes) if spot.minutes is not None else None
        return (what, text, minutes, spot.place or None, spot.language or "phone")
    language = save_language(text)
    if language is not None:
        return ("how to save", text, None, None, language)
    word = checkin_word(text)
    if word is not None:
        return ("I'm OK" if word == "ok" else "end", text, None, None, "check-in")
    if parse_safety_ok(text) is not None:
        return ("responder OK", text, None, None, "en")
    return ("not a check-in", text, None, None, "—")


def _cell(value: str) -> str | None:
    value = value.strip()
    return None if value == "—" else value.strip("`")


def _docs_rows() -> list[Row]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Check-ins by text", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| ") and "`" in line:
            what, said, minutes, place, language = line.strip("|").split("|")
            rows.append((what.strip(), _cell(said) or "", _cell(minutes), _cell(place),
                         language.strip()))
    return rows


def test_the_docs_table_is_what_the_code_reads() -> None:
    rows = _docs_rows()
    assert len(rows) >= 20
    assert rows == [_read(row[1]) for row in rows]
    assert {r[0] for r in rows} >= {"start", "start and save", "start from the saved place",
                                    "how to save", "forget the saved place", "I'm OK", "end",
                                    "responder OK", "not a check-in"}


def test_the_docs_table_stays_out_of_the_understanding_examples() -> None:
    # test_sms_understand.py reads every row that starts with "| `" as an understanding
    # example.
    assert all(not line.startswith("| `") for line in
               DOCS.read_text(encoding="utf-8").split("## Check-ins by text", 1)[1]
               .splitlines())


@pytest.mark.parametrize(("text", "spot"), [
    ("CUIDA 5 Calle Mayor 3, puerta abierta",
     SpotRequest(5, "Calle Mayor 3, puerta abierta", language="es")),
    ("CUÍDAME 5 Calle Mayor 3", SpotRequest(5, "Calle Mayor 3", language="es")),
    ("cuidame: 7 - el baño", SpotRequest(7, "el baño", language="es")),
    ("VIGILA 3 debajo del puente", SpotRequest(3, "debajo del puente", language="es")),
    ("SPOT SAVE 5 123 Main St", SpotRequest(5, "123 Main St", save=True)),
    ("spot save", SpotRequest(None, "", save=True)),
    ("SPOT GUARDAR 5 Calle Mayor 3", SpotRequest(5, "Calle Mayor 3", save=True, language="es")),
    ("CUIDA GUARDAR 5 Calle Mayor 3", SpotRequest(5, "Calle Mayor 3", save=True, language="es")),
    ("SPOT 10", SpotRequest(10, "")),
    ("SPOT 5 ...", SpotRequest(5, "")),
    ("SPOT 123 Main St apt 4", SpotRequest(None, "123 Main St apt 4")),
    ("SPOT 5 savoy hotel", SpotRequest(5, "savoy hotel")),
])
def test_it_reads_spanish_and_saving_check_in_texts(text: str, spot: SpotRequest) -> None:
    assert parse_spot(text) == spot


@pytest.mark.parametrize("text", ["cuidado con él", "vigilante en la puerta", "cuídate",
                                  "SPOTLINE", "my spot is taken", "SPOT FORGET", "cuida olvidar"])
def test_it_leaves_look_alikes_alone(text: str) -> None:
    assert parse_spot(text) is None


@pytest.mark.parametrize(("text", "language"), [
    ("FORGET", "en"), ("forget.", "en"), ("Olvidar", "es"), ("OLVÍDAME", "es"),
    ("spot forget", "en"), ("CUIDA OLVIDAR", "es"), ("forget it", None),
    ("olvidar el pasado", None), ("", None), ("forget " * 50, None),
])
def test_it_reads_forget(text: str, language: str | None) -> None:
    assert forget_language(text) == language


@pytest.mark.parametrize(("text", "language"), [
    ("SAVE", "en"), ("save!", "en"), ("Guardar", "es"), ("save him", None), ("", None),
])
def test_it_reads_a_bare_save(text: str, language: str | None) -> None:
    assert save_language(text) == language


@pytest.mark.parametrize(("text", "said"), [
    ("OK", SafetyOk(None)), ("ok 12", SafetyOk(12)), ("OK #12", SafetyOk(12)),
    ("okay. 7!", SafetyOk(7)), ("I'm ok 3", SafetyOk(3)), ("estoy bien", SafetyOk(None)),
    ("ok at the park", None), ("ok 12 13", None), ("yes 12", None), ("", None),
    ("ok" + " " * 200 + "my friend is not breathing", None),
])
def test_it_reads_a_responders_safety_ok(text: str, said: SafetyOk | None) -> None:
    assert parse_safety_ok(text) == said


def test_it_keeps_minutes_in_range() -> None:
    assert [clamp_minutes(m) for m in (0, 1, 5, 30, 99)] == [MIN_MINUTES, 1, 5, 30,
                                                             MAX_MINUTES]


def test_keywords_are_folded_single_words() -> None:
    for word in (*START_WORDS, *SAVE_WORDS, *FORGET_WORDS):
        assert word.isalpha() and word.islower() and word.isascii()


# -- Replies ----------------------------------------------------------------------------

LINK = "https://help.harmreductionhub.example.org/c/" + "x" * 24 + "/"


def _all(key: str, language: str, place: str = "the Star motel room 12") -> str:
    return checkin_say(key, language, minutes=30, place=place, link=LINK, time="03:15")


def test_every_check_in_message_exists_in_both_languages() -> None:
    for key, texts in CHECKIN_MESSAGES.items():
        assert set(texts) == {"en", "es"}, key


@pytest.mark.parametrize("key", list(CHECKIN_MESSAGES))
def test_check_in_messages_fit_and_never_suggest_police(key: str) -> None:
    for language in ("en", "es"):
        reply = _all(key, language, place="x " * 300)
        assert 0 < len(reply) <= MAX_REPLY, (key, language, len(reply))
        assert police_free(reply)
    assert set(_all(key, "en")) <= GSM7, key


def test_start_replies_say_we_never_send_police_and_how_to_end() -> None:
    for key in ("started", "started_saved", "started_plan"):
        assert "We never send police" in _all(key, "en") and "DONE" in _all(key, "en")
        assert "Nunca enviamos a la policía" in _all(key, "es") and "LISTO" in _all(key, "es")
        assert _all(key, "es").endswith(LINK)


def test_it_shortens_only_the_echoed_place() -> None:
    reply = checkin_say("started_plan", "en", minutes=5, place="a" * 400, link=LINK)
    assert len(reply) <= MAX_REPLY and "aaa..." in reply and reply.endswith(LINK)
    assert checkin_say("started_plan", "fr", minutes=5, place="x").startswith("Check-in")


def test_forgetting_says_the_same_for_a_known_and_an_unknown_number() -> None:
    # Nothing to fill in: the answer cannot depend on what was deleted.
    for language in ("en", "es"):
        assert "{" not in CHECKIN_MESSAGES["forgot"][language]


# -- Hypothesis: any text ---------------------------------------------------------------

WORDS = [*START_WORDS, *SAVE_WORDS, *FORGET_WORDS, "SPOT", "CUÍDAME", "OK", "ok", "listo",
         "5", "10", "123", "#", "12", "Main", "St", "calle", ":", "-", ".", "\n", "\x00",
         "🙏", "\u0301", "İ", "ß", "\u0665", "\uff15", " "]
texts = st.one_of(
    st.text(),
    st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join),
    st.lists(st.sampled_from(WORDS), max_size=12).map("".join),
    st.text(alphabet=st.characters(max_codepoint=0x2FF), min_size=100, max_size=4000),
)


@given(text=texts)
@settings(max_examples=400)
@example(text="SPOT " + "9" * 4000)
@example(text="cuida " * 700)
@example(text="SPOT 5 " + "x" * 5000)
@example(text="İ" * 200)
def test_reading_any_text_never_fails(text: str) -> None:
    spot = parse_spot(text)
    if spot is not None:
        assert spot.minutes is None or 0 <= spot.minutes <= 99
        assert len(spot.place) <= MAX_PLACE and spot.place == spot.place.strip()
        assert spot.language in (None, "es")
        assert spot.place == "" or any(ch.isalnum() for ch in spot.place)
    assert forget_language(text) in (None, "en", "es")
    assert save_language(text) in (None, "en", "es")
    assert checkin_word(text) in (None, "ok", "done")
    said = parse_safety_ok(text)
    assert said is None or said.checkin_id is None or said.checkin_id >= 0
    assert not (spot is not None and forget_language(text) is not None)


@given(place=texts, minutes=st.integers(min_value=0, max_value=99),
       language=st.sampled_from(["en", "es", "", "fr"]))
@settings(max_examples=200)
def test_every_reply_fits_any_place(place: str, minutes: int, language: str) -> None:
    for key in CHECKIN_MESSAGES:
        reply = checkin_say(key, language, minutes=minutes, place=place, link=LINK, time="23:59")
        assert 0 < len(reply) <= MAX_REPLY


def test_everyday_spanish_verbs_are_not_taken_for_a_check_in() -> None:
    assert parse_spot("Vigila a mi amigo, no respira") is None
    assert parse_spot("cuida a mi hermana por favor") is None
    started = parse_spot("CUIDA 5 Calle Mayor 3")
    assert started is not None and (started.minutes, started.place) == (5, "Calle Mayor 3")
    alone = parse_spot("Cuídame")
    assert alone is not None and alone.place == "" and alone.language == "es"


@pytest.mark.parametrize(("text", "word"), [
    ("I\u2019m OK", "ok"), ("i\u2019m ok.", "ok"), ("I\u2019m done", "done"),
    ("S\u00cd", "ok"), ("Termin\u00e9", "done"), ("I`m ok", "ok"),
])
def test_a_phones_curly_apostrophe_or_accent_still_reads_as_ok_or_done(text: str,
                                                                       word: str) -> None:
    # iPhones type U+2019 by default: misreading it as silence would send help.
    assert checkin_word(text) == word


def test_a_responder_typing_a_curly_apostrophe_still_answers_the_safety_check() -> None:
    assert parse_safety_ok("I\u2019m OK 12") == SafetyOk(checkin_id=12)
    assert parse_safety_ok("i\u2019m ok") == SafetyOk(checkin_id=None)
