"""What a compliance keyword does given what the phone has open, and the YES to
"cancel your request?". Pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotline.core.lifecycle import OPEN, State
from spotline.core.sms.compliance import (
    ANSWER_WITHIN,
    ASK_WORDS,
    Do,
    Open,
    Phone,
    cancel_reply,
    confirms_cancel,
    keyword_turn,
)
from spotline.core.sms.converse import ConversationState, Step, converse
from spotline.core.sms.keywords import KEYWORDS, Keyword, classify_keyword
from spotline.core.sms.replies import MESSAGES
from spotline.core.sms.text import MAX_REPLY
from spotline.core.tests.test_sms_replies import police_free
from spotline.core.tests.test_sms_understand import texts

NOW = datetime(2026, 11, 27, 3, 0, 0, tzinfo=UTC)
ORG = "Harm Reduction Hub"
SITE = "https://help.example.org"

REQUEST = Phone(incident=State.DISPATCHING)
HELD = Phone(incident=State.EN_ROUTE)
ON_SCENE = Phone(incident=State.ON_SCENE)
CHECKIN = Phone(checkin_open=True)
NOTHING = Phone()


def turn(text: str, phone: Phone, *, now: datetime = NOW):
    keyword = classify_keyword(text)
    assert keyword is not None, text
    return keyword_turn(keyword, text, phone, now=now, org=ORG, site=SITE)


def msg(key: str, language: str = "en") -> str:
    return MESSAGES[key][language].format(org=ORG)


def test_what_is_open() -> None:
    assert NOTHING.open is Open.NOTHING
    assert CHECKIN.open is Open.CHECKIN
    assert REQUEST.open is Open.REQUEST
    assert HELD.open is Open.REQUEST  # a responder on the way: still the person's to cancel
    assert ON_SCENE.open is Open.WITH_RESPONDER
    assert Phone(incident=State.ASSIGNED, checkin_open=True).open is Open.REQUEST
    # Every open state is one or the other.
    assert {Phone(incident=s).open for s in OPEN} == {Open.REQUEST, Open.WITH_RESPONDER}


# -- STOP words -----------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["stop", "cancel", "end", "quit", "Cancel!", "STOP."])
@pytest.mark.parametrize("phone", [REQUEST, HELD])
def test_a_stop_word_during_an_open_request_asks_first(word: str, phone: Phone) -> None:
    t = turn(word, phone)
    assert t.do is Do.ASK
    assert t.asked_at == NOW
    assert t.replies == (msg("ask_cancel"),)
    assert "Reply YES to cancel help, or tell us what's happening." in t.replies[0]


def test_a_stop_word_asks_what_fits_what_is_open() -> None:
    assert turn("stop", ON_SCENE).replies == (msg("ask_on_scene"),)
    assert turn("end", CHECKIN).replies == (msg("ask_checkin"),)
    assert turn("end", CHECKIN).do is Do.ASK


@pytest.mark.parametrize("word", ["stop", "cancel", "END", "quit", "stopall", "unsubscribe"])
def test_a_stop_word_with_nothing_open_opts_out_as_carriers_expect(word: str) -> None:
    t = turn(word, NOTHING)
    assert t.do is Do.OPT_OUT
    assert t.replies == (msg("stop"),)
    assert t.asked_at is None


def test_a_conversation_waiting_for_what_or_where_is_not_a_request() -> None:
    assert turn("cancel", Phone(talking=True)).do is Do.OPT_OUT


@pytest.mark.parametrize(("phone", "key"), [(REQUEST, "stop_open"), (HELD, "stop_open"),
                                            (ON_SCENE, "stop_on_scene"),
                                            (CHECKIN, "stop_checkin")])
def test_a_second_stop_word_opts_out_and_says_what_is_still_open(phone: Phone, key: str
                                                                 ) -> None:
    asked = Phone(incident=phone.incident, checkin_open=phone.checkin_open,
                  asked_at=NOW - timedelta(minutes=1))
    for word in ("stop", "cancel", "quit", "parar"):
        t = turn(word, asked)
        language = "es" if word == "parar" else "en"
        assert t.do is Do.OPT_OUT
        assert t.replies == (msg(key, language),)
        assert t.replies[0].startswith(f"{ORG}: ")
        assert t.asked_at is None


def test_the_question_is_asked_again_once_it_has_gone_stale() -> None:
    stale = Phone(incident=State.DISPATCHING, asked_at=NOW - ANSWER_WITHIN)
    assert turn("stop", stale).do is Do.ASK
    fresh = Phone(incident=State.DISPATCHING, asked_at=NOW - ANSWER_WITHIN + timedelta(seconds=1))
    assert turn("stop", fresh).do is Do.OPT_OUT


@pytest.mark.parametrize("word", ["stopall", "unsubscribe", "optout", "revoke", "baja"])
def test_a_word_that_only_means_unsubscribe_opts_out_at_once(word: str) -> None:
    t = turn(word, REQUEST)
    assert t.do is Do.OPT_OUT
    assert t.replies == (msg("stop_open", "es" if word == "baja" else "en"),)


def test_an_opted_out_number_is_not_asked() -> None:
    t = turn("cancel", Phone(incident=State.DISPATCHING, opted_out=True))
    assert t.do is Do.OPT_OUT  # the shell does not confirm a second time


def test_it_asks_in_the_language_already_spoken_or_of_the_word() -> None:
    spanish = Phone(incident=State.DISPATCHING, language="es")
    assert turn("stop", spanish).replies == (msg("ask_cancel", "es"),)
    assert turn("stop", spanish).language == "es"
    assert turn("cancelar", REQUEST).replies == (msg("ask_cancel", "es"),)
    assert turn("CANCEL", Phone(incident=State.DISPATCHING, language="fr")).language == "en"
    # With nothing open, as before: the word's language.
    assert turn("stop", Phone(language="es")).replies == (msg("stop"),)


def test_every_stop_word_asks_or_opts_out_and_nothing_else() -> None:
    for word, keyword in KEYWORDS.items():
        if keyword is not Keyword.STOP:
            continue
        expected = Do.ASK if word in ASK_WORDS else Do.OPT_OUT
        assert turn(word, REQUEST).do is expected, word
        assert turn(word, NOTHING).do is Do.OPT_OUT, word


# -- START and HELP ------------------------------------------------------------------------


def test_start_is_as_before_whatever_is_open() -> None:
    for phone in (NOTHING, REQUEST, CHECKIN, Phone(opted_out=True)):
        t = turn("START", phone)
        assert t.do is Do.START
        assert t.replies == (msg("start"),)


@pytest.mark.parametrize("word", ["help", "Help!", "HELP", "ayuda", "¡Ayuda!"])
@pytest.mark.parametrize("phone", [NOTHING, CHECKIN])
def test_a_lone_help_says_who_we_are_and_asks_what_is_happening(word: str, phone: Phone
                                                                ) -> None:
    t = turn(word, phone)
    language = "es" if "yuda" in word else "en"
    assert t.do is Do.HELP_START
    assert t.replies == (f"{msg('help', language)} {SITE}/", MESSAGES["ask_kind"][language])
    assert t.state == ConversationState(step=Step.ASK_KIND, language=language)
    # The conversation goes on from there like any other.
    assert t.state is not None
    assert converse(t.state, "1", now=NOW).state.step is Step.ASK_PLACE


@pytest.mark.parametrize("phone", [REQUEST, ON_SCENE, Phone(talking=True),
                                   Phone(opted_out=True)])
def test_help_only_says_who_we_are_when_already_talking_or_stopped(phone: Phone) -> None:
    t = turn("help", phone)
    assert t.do is Do.HELP
    assert t.replies == (f"{msg('help')} {SITE}/",)


def test_info_only_says_who_we_are() -> None:
    assert turn("INFO", NOTHING).do is Do.HELP


# -- the YES --------------------------------------------------------------------------------

ASKED = ConversationState(step=Step.DISPATCHED, stop_asked_at=NOW)


@pytest.mark.parametrize("yes", ["yes", "YES", "Yes!", "y", "yeah", "yep", "si", "Sí.",
                                 "yes please", "YES 👍", "sí, cancelar"])
def test_a_yes_soon_after_the_question_confirms(yes: str) -> None:
    assert confirms_cancel(ASKED, yes, now=NOW + timedelta(minutes=2))


@pytest.mark.parametrize("other", ["no", "ok", "yes he is breathing now", "wait", "cancel",
                                   "", "1", "yesterday", "si no viene"])
def test_anything_else_is_not_a_yes(other: str) -> None:
    assert not confirms_cancel(ASKED, other, now=NOW)


def test_a_yes_without_a_question_or_too_late_confirms_nothing() -> None:
    assert not confirms_cancel(ConversationState(step=Step.DISPATCHED), "yes", now=NOW)
    assert not confirms_cancel(ASKED, "yes", now=NOW + ANSWER_WITHIN)


def test_the_conversation_drops_the_question_on_any_other_text() -> None:
    turn_ = converse(ASKED, "he is waking up", now=NOW)
    assert turn_.state.stop_asked_at is None
    assert turn_.note == "he is waking up"


def test_the_answer_to_the_yes_says_what_happened() -> None:
    assert cancel_reply("en", cancelled=True) == msg("cancelled")
    assert cancel_reply("es-MX", cancelled=False) == msg("not_cancelled", "es")
    assert cancel_reply(None, cancelled=True) == msg("cancelled")


# -- any keyword, any phone -----------------------------------------------------------------

phones = st.builds(
    Phone,
    incident=st.one_of(st.none(), st.sampled_from(sorted(OPEN))),
    checkin_open=st.booleans(),
    talking=st.booleans(),
    asked_at=st.one_of(st.none(), st.sampled_from([NOW, NOW - ANSWER_WITHIN,
                                                   NOW - timedelta(minutes=1)])),
    opted_out=st.booleans(),
    language=st.one_of(st.none(), st.sampled_from(["en", "es", "fr", ""])),
)
keyword_texts = st.one_of(
    st.sampled_from(sorted(KEYWORDS)),
    st.tuples(st.sampled_from(sorted(KEYWORDS)), st.sampled_from(["", "!", ".", " 🙏", "?"]),
              st.booleans()).map(lambda t: (t[0].upper() if t[2] else t[0]) + t[1]),
)


@given(text=keyword_texts, phone=phones, org=st.text(max_size=80))
@settings(max_examples=400)
def test_every_keyword_from_every_phone_gets_a_short_clear_answer(text: str, phone: Phone,
                                                                  org: str) -> None:
    keyword = classify_keyword(text)
    assert keyword is not None
    t = keyword_turn(keyword, text, phone, now=NOW, org=org, site=SITE)
    assert t.replies and all(0 < len(r) <= MAX_REPLY + len(SITE) + 2 for r in t.replies)
    assert all(police_free(r) or "polic" in org.lower() for r in t.replies)
    assert t.language in ("en", "es")
    # Asking happens only while something is open, never to a stopped number.
    if t.do is Do.ASK:
        assert phone.open is not Open.NOTHING and not phone.opted_out
        assert t.asked_at == NOW
    else:
        assert t.asked_at is None
    # Nothing open: every STOP word opts out, as carriers expect.
    if keyword is Keyword.STOP and (phone.open is Open.NOTHING or phone.opted_out):
        assert t.do is Do.OPT_OUT
    assert (t.do is Do.HELP_START) == (t.state is not None)


@given(text=texts)
@settings(max_examples=300)
def test_only_a_yes_confirms(text: str) -> None:
    if confirms_cancel(ASKED, text, now=NOW):
        assert classify_keyword(text) is None  # never a STOP, START or HELP word
        assert text.strip()
