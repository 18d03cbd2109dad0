"""STOP, CANCEL, END and QUIT while help is on its way, and a lone HELP, through the real
signed Twilio webhook (``test_sms_intake``'s ``text``).

While a request is open these words ask first ("Reply YES to cancel help, or tell us
what's happening"): nothing is cancelled and nothing is opted out until the person
answers. With nothing open they opt out exactly as before.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from spotline.conftest import CENTRE, T0
from spotline.core.policy import Actor, OfferStatus
from spotline.core.sms.compliance import ANSWER_WITHIN
from spotline.core.sms.replies import MESSAGES
from spotline.core.sms.text import MAX_REPLY
from spotline.dispatch.actions import records
from spotline.dispatch.actions.dispatcher import incident_assign, incident_cancel
from spotline.dispatch.actions.relocate import incident_relocate
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.models import Incident, IncidentEvent, IncidentNote, LocatedBy, Offer
from spotline.intake.conversations import conversation_reply, conversation_take_over, transcript
from spotline.intake.models import SmsConversation
from spotline.intake.sms import sms_receive
from spotline.intake.tests.test_sms_intake import (  # noqa: F401 (twilio_settings: autouse)
    ORG,
    PHONE,
    PHONES,
    SITE,
    TRY_AGAIN,
    text,
    tracked,
    twilio_settings,
)
from spotline.notify.actions import is_opted_out
from spotline.notify.models import SmsOptOut

pytestmark = pytest.mark.django_db

OD = "my friend isn't breathing behind the 7-11 on 5th"
OD_ES = "mi amigo no respira, estamos detrás del parque central"


def en(key: str) -> str:
    return MESSAGES[key]["en"].format(org=ORG)


def es(key: str) -> str:
    return MESSAGES[key]["es"].format(org=ORG)


def placed(incident: Incident) -> Incident:
    """The place the person texted, set on the map by a dispatcher (the test gazetteer
    is empty, and an incident without a point is offered to nobody)."""
    return incident_relocate(incident_id=incident.pk, point=CENTRE, located_by=LocatedBy.MAP,
                             actor=Actor.DISPATCHER, now=timezone.now())


def fresh(incident: Incident) -> Incident:
    incident.refresh_from_db()
    return incident


def still_open(incident: Incident) -> bool:
    incident = fresh(incident)
    return incident.closed_at is None and incident.state != "cancelled"


# -- the question -------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["cancel", "end", "quit", "stop", "CANCEL", "Stop.", "End!"])
def test_texting_cancel_during_an_open_request_asks_before_anything(word: str) -> None:
    incident = tracked(text(OD))
    reply = text(word)
    assert reply == [en("ask_cancel")]
    assert "Reply YES to cancel help, or tell us what's happening" in reply[0]
    assert still_open(incident)
    assert not is_opted_out(PHONE)
    assert not SmsOptOut.objects.exists()
    assert not IncidentEvent.objects.filter(incident=incident, type="cancel").exists()
    # The dispatcher sees the question and what prompted it.
    said = [(e["who"], e["text"]) for e in transcript(SmsConversation.objects.get())]
    assert said[-2:] == [("person", word), ("spotline", en("ask_cancel"))]


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[set[int]]:
    """The responders each live push of an incident goes to, as they are sent."""
    audiences: list[set[int]] = []
    real = records.incident_changed

    def listen(incident_id: int, *, responders: Any = None) -> None:
        audiences.append(set(responders()) if callable(responders)
                         else set(responders or ()))
        real(incident_id, responders=responders)

    monkeypatch.setattr(records, "incident_changed", listen)
    return audiences


def test_yes_cancels_the_request_as_the_person_and_the_offered_responder_is_told(
    make_responder: Any, told: list[set[int]],
) -> None:
    sam = make_responder("sam", phone="+15550109191")
    incident = placed(tracked(text(OD)))
    offer = Offer.objects.get(incident=incident, responder=sam)
    assert offer.status == OfferStatus.PENDING
    text("cancel")
    assert still_open(incident)
    told.clear()
    reply = text("YES")
    assert reply == [en("cancelled")]
    incident = fresh(incident)
    assert incident.state == "cancelled"
    assert incident.closed_by == Actor.PERSON.value
    assert incident.unserved_reason == "cancelled_by_person"
    assert IncidentEvent.objects.get(incident=incident, type="cancel").actor == "person"
    assert fresh(offer).status == OfferStatus.WITHDRAWN  # its unsent text is dropped
    assert any(sam.pk in audience for audience in told)  # the responder's app is told
    assert not is_opted_out(PHONE)


def test_yes_cancels_a_request_a_responder_holds_and_the_responder_is_told(
    make_responder: Any, told: list[set[int]],
) -> None:
    incident = tracked(text(OD))
    sam = make_responder("sam")
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None, now=T0)
    assert text("quit") == [en("ask_cancel")]
    told.clear()
    assert text("y") == [en("cancelled")]
    incident = fresh(incident)
    assert incident.state == "cancelled"
    assert incident.unserved_reason == "cancelled_by_person"
    assert told and all(sam.pk in audience for audience in told)


@pytest.mark.parametrize("yes", ["yes", "Yes!", "YES 👍", "yeah", "y"])
def test_it_takes_a_plain_yes_as_the_answer(yes: str) -> None:
    incident = tracked(text(OD))
    text("end")
    assert text(yes) == [en("cancelled")]
    assert not still_open(incident)


def test_anything_else_after_the_question_is_a_note_and_drops_the_question() -> None:
    incident = tracked(text(OD))
    text("cancel")
    assert text("no wait he is still not breathing") == [en("noted")]
    assert IncidentNote.objects.get(incident=incident).text == "no wait he is still not breathing"
    # The question is gone: a YES now is something they tell us, not a cancel.
    assert text("yes") == [en("noted")]
    assert still_open(incident)
    assert not is_opted_out(PHONE)


def test_start_or_help_after_the_question_drops_it() -> None:
    incident = tracked(text(OD))
    text("stop")
    assert text("start")[0].startswith(f"{ORG}: you will get texts from us again.")
    assert text("stop") == [en("ask_cancel")]  # asked again, not a second STOP
    assert text("HELP") == [f"{en('help')} {SITE}/"]
    assert text("yes") == [en("noted")]
    assert still_open(incident) and not is_opted_out(PHONE)


def test_a_yes_long_after_the_question_cancels_nothing() -> None:
    opened = sms_receive(sid="SM1", from_number=PHONE, body=OD, now=T0)
    incident = tracked(opened)
    asked = sms_receive(sid="SM2", from_number=PHONE, body="cancel", now=T0)
    assert asked == [en("ask_cancel")]
    late = sms_receive(sid="SM3", from_number=PHONE, body="yes", now=T0 + ANSWER_WITHIN)
    assert late == [en("noted")]
    assert still_open(incident)


def test_a_retried_cancel_is_answered_the_same_and_changes_nothing() -> None:
    incident = tracked(text(OD))
    first = text("cancel", sid="SMcancel")
    assert text("cancel", sid="SMcancel") == first == [en("ask_cancel")]
    assert still_open(incident) and not is_opted_out(PHONE)
    # Still the first STOP word: the answer to it is a YES, not a second STOP.
    assert text("yes") == [en("cancelled")]


def test_a_dispatchers_reply_drops_the_question() -> None:
    incident = tracked(text(OD))
    conversation = SmsConversation.objects.get()
    conversation_take_over(conversation_id=conversation.pk, user_id=None, take=True, now=T0)
    # Taken over, the question is still asked: a STOP word always gets an answer.
    assert text("cancel") == [en("ask_cancel")]
    conversation_reply(conversation_id=conversation.pk, text="Is he breathing now?",
                       user_id=None, now=T0)
    assert text("yes") == []  # the dispatcher's to answer, by hand
    assert still_open(incident)
    assert IncidentNote.objects.get(incident=incident).text == "yes"


def test_a_responder_on_scene_closes_it_not_a_text(make_responder: Any) -> None:
    incident = tracked(text(OD))
    sam = make_responder("sam")
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None, now=T0)
    incident_report(incident_id=incident.pk, type="on_scene", now=T0, responder=sam,
                    user_id=None)
    assert text("stop") == [en("ask_on_scene")]
    assert text("yes") == [en("not_cancelled")]
    assert fresh(incident).state == "on_scene"
    assert not is_opted_out(PHONE)


def test_yes_answers_no_question_once_a_responder_got_there_meanwhile(make_responder: Any
                                                                      ) -> None:
    incident = tracked(text(OD))
    sam = make_responder("sam")
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None, now=T0)
    assert text("cancel") == [en("ask_cancel")]
    incident_report(incident_id=incident.pk, type="on_scene", now=T0, responder=sam,
                    user_id=None)
    assert text("yes") == [en("not_cancelled")]
    assert fresh(incident).state == "on_scene"


# -- carrier opt-out still works ----------------------------------------------------------


@pytest.mark.parametrize("second", ["stop", "cancel", "STOP", "quit"])
def test_a_second_stop_opts_out_and_says_the_request_is_still_open(second: str) -> None:
    incident = tracked(text(OD))
    assert text("stop") == [en("ask_cancel")]
    reply = text(second)
    assert reply == [en("stop_open")]
    assert reply[0].startswith(f"{ORG}: you will get no more texts from us.")
    assert "still open" in reply[0] and "tracking link" in reply[0]
    assert is_opted_out(PHONE)
    assert still_open(incident)
    assert text("he is waking up") == []  # a stopped number gets nothing more
    assert text("stop") == []  # confirmed once
    # START, and the question is asked afresh.
    assert text("start")[0].startswith(f"{ORG}: you will get texts from us again.")
    assert text("cancel") == [en("ask_cancel")]


@pytest.mark.parametrize("word", ["unsubscribe", "STOPALL", "optout", "revoke"])
def test_an_unsubscribe_word_opts_out_at_once_and_says_the_request_is_still_open(word: str
                                                                                ) -> None:
    incident = tracked(text(OD))
    assert text(word) == [en("stop_open")]
    assert is_opted_out(PHONE)
    assert still_open(incident)


@pytest.mark.parametrize("word", ["cancel", "end", "quit", "stop", "CANCELAR"])
def test_a_stop_word_with_no_open_request_opts_out_as_before(word: str) -> None:
    reply = text(word)
    language = "es" if word == "CANCELAR" else "en"
    assert reply == [MESSAGES["stop"][language].format(org=ORG)]
    assert is_opted_out(PHONE)
    assert not SmsConversation.objects.exists()


def test_a_stop_word_after_the_request_closed_opts_out_as_before() -> None:
    incident = tracked(text(OD))
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None, now=T0)
    assert text("cancel") == [en("stop")]
    assert is_opted_out(PHONE)


def test_a_stop_word_before_anything_was_sent_opts_out_as_before() -> None:
    text("I need help")  # asked what is happening: nothing is on its way yet
    assert text("end") == [en("stop")]
    assert is_opted_out(PHONE)
    assert not Incident.objects.exists()


# -- a lone HELP starts a request ---------------------------------------------------------


@pytest.mark.parametrize("word", ["help", "Help!", "HELP", "help?"])
def test_help_alone_says_who_we_are_and_starts_a_request(word: str) -> None:
    reply = text(word)
    assert reply == [f"{en('help')} {SITE}/", MESSAGES["ask_kind"]["en"]]
    assert reply[0].startswith(f"{ORG}: text what is happening and where")
    assert "Reply STOP to stop texts" in reply[0]
    assert text("1")[0].startswith("Where are you?")
    incident = tracked(text("behind the library on Elm"))
    assert incident.kind == "overdose"
    assert incident.details == f"{word}\n1\nbehind the library on Elm"


def test_ayuda_alone_starts_a_request_in_spanish() -> None:
    reply = text("¡Ayuda!")
    assert reply == [f"{es('help')} {SITE}/", MESSAGES["ask_kind"]["es"]]
    assert text("2")[0].startswith("¿Dónde estás?")
    assert tracked(text("en el parque central")).language == "es"


def test_info_only_says_who_we_are() -> None:
    assert text("INFO") == [f"{en('help')} {SITE}/"]
    assert not SmsConversation.objects.exists()


def test_help_during_a_conversation_or_a_request_only_says_who_we_are() -> None:
    text("I need help")
    assert text("help") == [f"{en('help')} {SITE}/"]
    assert text("1")[0].startswith("Where are you?")  # the conversation goes on
    tracked(text("behind the library on Elm"))
    assert text("HELP") == [f"{en('help')} {SITE}/"]
    assert Incident.objects.count() == 1


def test_help_after_stop_only_says_who_we_are() -> None:
    text("stop")
    assert text("help") == [f"{en('help')} {SITE}/"]
    assert not SmsConversation.objects.exists()


# -- in Spanish ---------------------------------------------------------------------------


def test_cancelar_during_a_spanish_request_asks_and_si_cancels(make_responder: Any) -> None:
    make_responder("sam")  # someone on shift: the dispatch itself did not fail
    incident = placed(tracked(text(OD_ES)))
    reply = text("cancelar")
    assert reply == [es("ask_cancel")]
    assert "Responde SÍ para cancelar la ayuda" in reply[0]
    assert still_open(incident) and not is_opted_out(PHONE)
    assert text("Sí.") == [es("cancelled")]
    incident = fresh(incident)
    assert incident.closed_by == "person"
    assert incident.unserved_reason == "cancelled_by_person"


def test_stop_during_a_spanish_request_asks_in_spanish() -> None:
    tracked(text(OD_ES))
    assert text("STOP") == [es("ask_cancel")]
    assert text("yes") == [es("cancelled")]


def test_cancelar_in_an_english_request_is_asked_and_answered_in_spanish() -> None:
    tracked(text(OD))
    assert text("Cancelar") == [es("ask_cancel")]
    assert text("si") == [es("cancelled")]


def test_parar_twice_during_a_spanish_request_opts_out_in_spanish() -> None:
    incident = tracked(text(OD_ES))
    assert text("parar") == [es("ask_cancel")]
    reply = text("Parar")
    assert reply == [es("stop_open")]
    assert reply[0].startswith(f"{ORG}: no te enviaremos más mensajes.")
    assert is_opted_out(PHONE)
    assert still_open(incident)


# -- a check-in ---------------------------------------------------------------------------


def test_a_stop_word_during_a_check_in_asks_and_done_still_ends_it() -> None:
    started = text("SPOT 5 123 Main St apt 4")
    assert started[0].startswith("Check-in started.")
    assert text("end") == [en("ask_checkin")]
    assert not is_opted_out(PHONE)
    assert text("ok")[0].startswith("Thanks. Next check in")
    assert text("DONE")[0].startswith("Check-in ended.")
    # Nothing is open now: a STOP word opts out as before.
    assert text("stop") == [en("stop")]
    assert is_opted_out(PHONE)


def test_a_second_stop_during_a_check_in_opts_out_and_says_it_still_runs() -> None:
    text("SPOT 5 123 Main St apt 4")
    assert text("stop") == [en("ask_checkin")]
    reply = text("stop")
    assert reply == [en("stop_checkin")]
    assert "send responders if a check is missed" in reply[0]
    assert is_opted_out(PHONE)


def test_a_spanish_check_in_is_asked_in_spanish() -> None:
    text("CUIDA 5 Calle Mayor 3")
    assert text("cancel") == [es("ask_checkin")]


# -- privacy ------------------------------------------------------------------------------


def test_it_logs_no_number_and_no_text_when_asking_and_cancelling(caplog: Any) -> None:
    with caplog.at_level(logging.DEBUG):
        tracked(text(OD))
        text("cancel")
        text("yes")
        text("help")
        text("stop")
        text("stop")
    assert "do=ask" in caplog.text and "cancelled by the person" in caplog.text
    for secret in ("0104242", "7-11", "breathing"):
        assert secret not in caplog.text


def test_the_question_is_sealed_with_the_conversation() -> None:
    tracked(text(OD))
    text("cancel")
    row = SmsConversation.objects.values_list("state_sealed", flat=True).get()
    assert "stop_asked_at" not in row and "cancel" not in row


# -- any sequence of texts ----------------------------------------------------------------

WORDS = ["cancel", "end", "quit", "stop", "STOP!", "parar", "cancelar", "unsubscribe",
         "yes", "Y", "sí", "no", "start", "help", "Help!", "ayuda", "info", "ok", "done",
         "he is waking up", "1", ""]


@hsettings(max_examples=40, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(texts=st.lists(st.sampled_from(WORDS), min_size=1, max_size=5))
def test_nothing_is_cancelled_or_stopped_without_being_asked(texts: list[str]) -> None:
    phone = f"+1555{next(PHONES):07d}"
    incident = tracked(text(OD, phone=phone))
    asked = False  # our last answer was "cancel your request?"
    for body in texts:
        was_open, was_out = still_open(incident), is_opted_out(phone)
        reply = text(body, phone=phone)
        assert reply != [TRY_AGAIN]
        assert all(0 < len(r) <= MAX_REPLY for r in reply)
        if not was_out:
            assert reply  # never silence to a number we may text
        if was_open and not still_open(incident):
            # Cancelled: only by a YES to the question just asked.
            assert asked and reply in both("cancelled")
        if not was_out and is_opted_out(phone):
            # Opted out: a STOP word, asked about first while help was on its way.
            assert reply in both("stop_open") + both("stop")
            assert (asked or body == "unsubscribe" or not was_open)
        asked = reply in both("ask_cancel")


def both(key: str) -> list[list[str]]:
    return [[en(key)], [es(key)]]
