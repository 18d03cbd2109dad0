"""Drug alerts by text, the pure part: which texts are ALERTS, ALERTS STOP and REPORT,
the conversation's steps, and its replies in both languages."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotline.core.alerts import MAX_REPORT_TEXT
from spotline.core.sms.alerts import (
    MAX_TRIES,
    TEXTS,
    AreaChoice,
    Command,
    Do,
    Step,
    Talk,
    Topic,
    Turn,
    alert_say,
    alert_turn,
    read_command,
)
from spotline.core.sms.text import MAX_REPLY
from spotline.core.tests.test_sms_replies import GSM7, police_free

KESKUSTA = AreaChoice(1, "Keskusta")
AREAS = {"keskusta": KESKUSTA, "00100": KESKUSTA, "vuosaari": AreaChoice(2, "Vuosaari")}


def find(text: str) -> list[AreaChoice]:
    found = AREAS.get(text.strip().lower())
    return [found] if found else []


def examples() -> Sequence[str]:
    return ["Keskusta", "Vuosaari"]


def turn(talk: Talk | None, text: str) -> Turn:
    return alert_turn(talk, text, find=find, examples=examples)


@pytest.mark.parametrize(("text", "command"), [
    ("ALERTS", Command(Topic.SUBSCRIBE, "en")),
    ("alerts!", Command(Topic.SUBSCRIBE, "en")),
    ("Alertas", Command(Topic.SUBSCRIBE, "es")),
    ("ALERTS Keskusta", Command(Topic.SUBSCRIBE, "en", area_text="Keskusta")),
    ("alertas 00980", Command(Topic.SUBSCRIBE, "es", area_text="00980")),
    ("ALERTS STOP", Command(Topic.SUBSCRIBE, "en", stop=True)),
    ("alertas parar", Command(Topic.SUBSCRIBE, "es", stop=True)),
    ("ALERTAS STOP", Command(Topic.SUBSCRIBE, "es", stop=True)),
    ("Alerts: parar.", Command(Topic.SUBSCRIBE, "es", stop=True)),
    ("stop alerts", Command(Topic.SUBSCRIBE, "en", stop=True)),
    ("REPORT", Command(Topic.REPORT, "en")),
    ("Reporte.", Command(Topic.REPORT, "es")),
    ("report it to the cops", None),  # REPORT must be the whole text
    ("stop", None),  # the compliance STOP is not ours
    ("I got an alert about fentanyl", None),
    ("", None),
    ("🙂", None),
    ("alerts " + "x" * 200, None),  # too long to be a command
])
def test_it_reads_the_alert_words(text: str, command: Command | None) -> None:
    assert read_command(text) == command


def test_it_asks_for_the_area_offering_the_organizations_names() -> None:
    t = turn(None, "ALERTS")
    assert t.do is Do.ASK
    assert t.talk == Talk(Topic.SUBSCRIBE, Step.AREA, "en")
    assert "Keskusta or Vuosaari" in t.reply
    assert "ALL" in t.reply and "text HELP" in t.reply


def test_it_subscribes_at_once_to_an_area_named_after_the_word() -> None:
    t = turn(None, "alertas keskusta")
    assert (t.do, t.area, t.all_areas) == (Do.SUBSCRIBE, KESKUSTA, False)
    assert t.talk is not None and t.talk.language == "es"
    assert "Keskusta" in t.reply and "ALERTAS PARAR" in t.reply


def test_all_subscribes_to_every_area() -> None:
    t = turn(Talk(Topic.SUBSCRIBE, Step.AREA, "es"), "Todo")
    assert (t.do, t.area, t.all_areas) == (Do.SUBSCRIBE, None, True)
    assert "todas las zonas" in t.reply


def test_a_miss_asks_again_and_a_second_one_passes_on() -> None:
    talk = Talk(Topic.SUBSCRIBE, Step.AREA, "en")
    first = turn(talk, "Narnia")
    assert first.do is Do.ASK and first.talk is not None
    assert first.talk.tries == 1 and "don't know that area" in first.reply
    assert turn(first.talk, "Mordor").do is Do.NOT_ALERTS
    assert MAX_TRIES == 2


@pytest.mark.parametrize("text", [
    "my friend isn't breathing behind the 7-11 on 5th",
    "overdose",
    "someone is bleeding",
    "x" * 61,
])
def test_a_call_for_help_is_never_held_by_the_area_question(text: str) -> None:
    assert turn(Talk(Topic.SUBSCRIBE, Step.AREA, "en"), text).do is Do.NOT_ALERTS
    assert turn(None, "alert " + text[:90]).do is Do.NOT_ALERTS


def test_a_report_asks_three_questions_and_files_the_answers() -> None:
    t = turn(None, "REPORT")
    assert t.talk == Talk(Topic.REPORT, Step.LOOKED_LIKE, "en")
    t = turn(t.talk, "pink powder, star stamp")
    assert t.talk is not None and t.talk.step is Step.WHAT_HAPPENED
    t = turn(t.talk, "3 doses of naloxone")
    assert t.talk is not None and t.talk.step is Step.WHERE
    assert "never an address" in t.reply
    t = turn(t.talk, "00100")
    assert (t.do, t.area) == (Do.REPORT, KESKUSTA)
    assert t.talk == Talk(Topic.REPORT, Step.WHERE, "en", looked_like="pink powder, star stamp",
                          what_happened="3 doses of naloxone")


def test_skip_files_without_an_area_and_both_text_answers_cannot_be_skipped() -> None:
    talk = Talk(Topic.REPORT, Step.WHAT_HAPPENED, "es")
    assert turn(talk, "omitir").do is Do.ASK  # nothing said at all yet
    assert turn(talk, "omitir").talk == talk
    filed = turn(Talk(Topic.REPORT, Step.WHERE, "es", what_happened="x"), "OMITIR")
    assert (filed.do, filed.area) == (Do.REPORT, None)
    assert filed.reply.startswith("Gracias")


@pytest.mark.parametrize("text", ["12 Main Street", "Mannerheimintie 5", "calle Mayor 3",
                                  "60.1699, 24.9384"])
def test_an_exact_place_is_not_kept_and_an_area_is_asked_for(text: str) -> None:
    talk = Talk(Topic.REPORT, Step.WHERE, "en", what_happened="heavy sedation")
    t = turn(talk, text)
    assert t.do is Do.ASK and "don't send an address" in t.reply
    assert t.talk == Talk(Topic.REPORT, Step.WHERE, "en", tries=1,
                          what_happened="heavy sedation")
    again = turn(t.talk, text)  # twice: filed without an area, the place never kept
    assert (again.do, again.area) == (Do.REPORT, None)
    assert again.talk is not None
    assert (again.talk.looked_like, again.talk.what_happened) == ("", "heavy sedation")


@pytest.mark.parametrize(("text", "key"), [("a" * 1600, "That is too long (1600"),
                                           ("💊💀🔥", "in words")])
def test_an_answer_too_long_or_without_words_is_asked_again(text: str, key: str) -> None:
    talk = Talk(Topic.REPORT, Step.LOOKED_LIKE, "en")
    t = turn(talk, text)
    assert (t.do, t.talk) == (Do.ASK, talk)
    assert key in t.reply and len(t.reply) <= MAX_REPLY
    if "long" in key:
        assert f"at most {MAX_REPORT_TEXT}" in t.reply


def test_every_text_is_in_both_languages_within_one_reply() -> None:
    for key, texts in TEXTS.items():
        assert set(texts) == {"en", "es"}, key
        for lang in ("en", "es"):
            said = alert_say(key, lang, area="A" * 300, choices=["B" * 90] * 5, n=1600)
            assert 0 < len(said) <= MAX_REPLY, (key, lang)
            assert police_free(said)
        assert set(alert_say(key, "en", area="Keskusta", choices=["Kallio"])) <= GSM7, key


def test_every_question_says_how_to_ask_for_help() -> None:
    for key in ("ask_area", "area_again", "ask_looked_like", "ask_what_happened",
                "ask_where", "where_address", "where_again", "in_words", "too_long"):
        assert "text HELP" in TEXTS[key]["en"] and "escribe AYUDA" in TEXTS[key]["es"], key


talks = st.none() | st.builds(
    Talk, topic=st.sampled_from(Topic), step=st.sampled_from(Step),
    language=st.sampled_from(["en", "es", "fi", ""]), tries=st.integers(0, 5),
    looked_like=st.text(max_size=50), what_happened=st.text(max_size=50))
texts = st.text(max_size=1700) | st.sampled_from(
    ["ALERTS", "alertas todo", "REPORT", "skip", "alerts stop", "Keskusta", "00100", "all",
     "12 Main St", "💊", "", "\x00\n"])
names = st.lists(st.text(max_size=90), max_size=4)


@given(talk=talks, text=texts, found=names, offered=names)
def test_any_text_gets_a_defined_turn(talk: Talk | None, text: str, found: list[str],
                                      offered: list[str]) -> None:
    t = alert_turn(talk, text, find=lambda _: [AreaChoice(i, n) for i, n in enumerate(found)],
                   examples=lambda: offered)
    assert t.do in Do
    if t.do is Do.NOT_ALERTS:
        assert t.reply == ""
        return
    assert 0 < len(t.reply) <= MAX_REPLY
    if t.do is Do.ASK:
        assert t.talk is not None and t.talk.step in Step and t.talk.topic in Topic
    if t.do is Do.SUBSCRIBE:
        assert t.all_areas or t.area is not None
    if t.do is Do.REPORT:
        assert t.talk is not None and t.talk.topic is Topic.REPORT
