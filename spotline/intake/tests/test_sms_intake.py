"""Asking for help by text, through the real signed Twilio webhook.

Requests are signed with twilio's own RequestValidator and sent form-encoded, as Twilio
sends them; replies are parsed as the TwiML XML they are.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from spotline.conftest import HANG_SECONDS, T0, raw_rows
from spotline.core.policy import Actor
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.opening import incident_by_token
from spotline.dispatch.actions.timed import incident_purge
from spotline.dispatch.models import Incident, IncidentEvent, IncidentNote, Timer, TimerKind
from spotline.intake import sms
from spotline.intake.models import InboundSms, SmsConversation
from spotline.intake.sms import (
    NO_PLACE,
    TRY_AGAIN,
    conversations_purge,
    inbound_expire,
    sms_receive,
)
from spotline.notify.actions import is_opted_out
from spotline.notify.models import Message, SmsOptOut
from spotline.worker.retention import purge_due

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token-0123456789abcdef"
SITE = "https://help.example.org"
PATH = "/hooks/twilio/sms"
PHONE = "+15550104242"
ORG = "Eastside Harm Reduction"
SIDS = itertools.count(1)
PHONES = itertools.count(1)
TRACK = re.compile(re.escape(SITE) + r"/t/([\w-]+)/")


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SPOTLINE_SITE_URL = SITE
    settings.SPOTLINE_ORG_NAME = ORG


def post(params: dict[str, str], *, token: str | None = TOKEN):
    """POST form-encoded like Twilio; signed with ``token`` (None: unsigned)."""
    headers = {}
    if token is not None:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(
            SITE + PATH, params)
    return Client().post(PATH, urlencode(params), headers=headers,
                         content_type="application/x-www-form-urlencoded")


def text(body: str, *, phone: str = PHONE, sid: str | None = None) -> list[str]:
    """Text ``body`` from ``phone``; the SMS replies (asserting a 200 with valid TwiML)."""
    r = post({"MessageSid": sid or f"SM{next(SIDS):032d}", "From": phone, "To": "+15550000000",
              "Body": body, "NumMedia": "0", "AccountSid": "AC" + "0" * 32})
    return replies(r)


def replies(r) -> list[str]:
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/xml")
    root = ET.fromstring(r.content)  # noqa: S314 (our own response)
    assert root.tag == "Response"
    assert all(child.tag == "Message" for child in root)
    return [m.text or "" for m in root]


def tracked(reply: list[str]) -> Incident:
    tokens = [m.group(1) for r in reply if (m := TRACK.search(r))]
    assert len(tokens) == 1, reply
    return incident_by_token(tokens[0])


# -- one text, one incident --------------------------------------------------------------


def test_it_opens_an_incident_from_one_text_that_says_what_and_where() -> None:
    reply = text("my friend isn't breathing behind the 7-11 on 5th")
    incident = Incident.objects.get()
    assert incident.source == "sms"
    assert incident.kind == "overdose"
    assert incident.breathing == "no"
    assert incident.location_description == "behind the 7-11 on 5th"
    assert incident.details == "my friend isn't breathing behind the 7-11 on 5th"
    assert incident.callback_number == PHONE
    assert incident.language == "en"
    assert incident.state == "dispatching"
    # The test gazetteer is empty: no point, so the reply asks for one instead of
    # promising someone is on the way (nobody is offered an incident without a place).
    assert reply[0].startswith("We have your request for an overdose at: behind the 7-11 "
                               "on 5th, but could not find it on our map.")
    assert reply[1] == f"Track your request: {SITE}/t/{TRACK.search(reply[1]).group(1)}/"
    assert "naloxone" in reply[2]
    assert tracked(reply) == incident
    assert SmsConversation.objects.get().incident == incident


def test_it_asks_what_then_where_in_english() -> None:
    first = text("I need help")
    assert "What is happening? Reply with a number" in first[0]
    second = text("1")
    assert second[0].startswith("Where are you?")
    assert not Incident.objects.exists()
    third = text("behind the library on Elm")
    incident = tracked(third)
    assert incident.kind == "overdose"
    assert incident.location_description == "behind the library on Elm"
    assert incident.details == "I need help\n1\nbehind the library on Elm"
    assert Incident.objects.count() == 1


def test_it_asks_what_then_where_in_spanish() -> None:
    first = text("hola necesito ayuda por favor")
    assert "¿Qué está pasando?" in first[0]
    second = text("2")
    assert second[0].startswith("¿Dónde estás?")
    third = text("en el parque central")
    assert third[0].startswith("Tenemos tu pedido por una crisis de salud mental")
    assert third[1].startswith("Sigue tu solicitud: ")
    incident = tracked(third)
    assert incident.kind == "mental_health"
    assert incident.language == "es"
    assert incident.location_description == "en el parque central"
    assert SmsConversation.objects.get().language == "es"


def test_it_attaches_a_later_detail_to_the_incident_as_a_note() -> None:
    incident = tracked(text("my friend isn't breathing behind the 7-11 on 5th"))
    reply = text("he is waking up now")
    assert reply == ["Thanks, we added that to your request. Text anytime with more details."]
    note = IncidentNote.objects.get(incident=incident)
    assert note.text == "he is waking up now"
    assert note.user_id is None
    assert Incident.objects.count() == 1


def test_it_opens_on_a_guess_without_a_place_and_asks_for_a_call_back() -> None:
    text("my friend overdosed")
    text("")  # a photo with no words, twice
    reply = text("")
    incident = tracked(reply)
    assert incident.location_description == NO_PLACE
    assert "could not tell exactly where you are" in reply[0]


def test_it_starts_a_new_request_once_the_incident_closed() -> None:
    first = tracked(text("my friend isn't breathing behind the 7-11 on 5th"))
    incident_cancel(incident_id=first.pk, actor=Actor.PERSON, user_id=None,
                            now=T0 + timedelta(minutes=5))
    reply = text("someone is having a seizure at the park on Elm")
    second = tracked(reply)
    assert second != first
    assert second.kind == "medical"
    assert SmsConversation.objects.filter(closed_at__isnull=True).get().incident == second
    assert SmsConversation.objects.filter(closed_at__isnull=False).get().incident == first


# -- retries -------------------------------------------------------------------------------


def test_it_answers_a_retried_webhook_the_same_and_opens_one_incident() -> None:
    first = text("my friend isn't breathing behind the 7-11 on 5th", sid="SMretry")
    again = text("my friend isn't breathing behind the 7-11 on 5th", sid="SMretry")
    assert again == first
    assert Incident.objects.count() == 1
    assert InboundSms.objects.count() == 1
    assert IncidentNote.objects.count() == 0


def test_it_answers_a_retried_question_the_same_without_moving_the_conversation() -> None:
    first = text("I need help", sid="SMq")
    assert text("I need help", sid="SMq") == first
    assert text("1")[0].startswith("Where are you?")


def test_a_message_id_reused_by_another_number_reads_nothing_and_changes_nothing() -> None:
    first = text("my friend isn't breathing behind the 7-11 on 5th", sid="SMmine")
    assert any("7-11" in r for r in first)
    assert text("my friend isn't breathing behind the 7-11 on 5th", sid="SMmine",
                phone="+15550106666") == []
    assert text("where is it?", sid="SMmine", phone="+15550106666") == []
    assert Incident.objects.count() == 1 and SmsConversation.objects.count() == 1
    # Its own sender's retry still gets the first answer.
    assert text("my friend isn't breathing behind the 7-11 on 5th", sid="SMmine") == first


def test_a_stored_answer_is_kept_for_retries_only() -> None:
    first = sms_receive(sid="SMr", from_number=PHONE,
                        body="my friend isn't breathing behind the 7-11 on 5th", now=T0)
    inbound_expire(now=T0 + sms.REPLY_KEEP - timedelta(seconds=1))
    assert sms_receive(sid="SMr", from_number=PHONE, body="x", now=T0) == first
    inbound_expire(now=T0 + sms.REPLY_KEEP)
    assert InboundSms.objects.get(sid="SMr").reply_sealed == ""  # the row stays, for dedup
    assert sms_receive(sid="SMr", from_number=PHONE, body="x", now=T0) == []
    assert Incident.objects.count() == 1


def test_a_purge_with_retention_zero_leaves_no_stored_answer(settings) -> None:
    settings.SPOTLINE_RETENTION_HOURS = 0
    opened = sms_receive(sid="SM1", from_number=PHONE,
                         body="my friend isn't breathing behind the 7-11 on 5th", now=T0)
    sms_receive(sid="SM2", from_number="+15550107777", body="I need help", now=T0)
    incident = tracked(opened)
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None, now=T0)
    counts = purge_due(now=T0)
    assert counts["incidents"] == 1
    assert set(InboundSms.objects.values_list("reply_sealed", flat=True)) == {""}
    assert not any("7-11" in row for row in raw_rows(InboundSms))


def at_once(n: int, receive) -> list[list[str]]:
    """Call ``receive(i)`` from ``n`` threads released together; their answers."""
    barrier = threading.Barrier(n)
    answers: list[list[str]] = [[] for _ in range(n)]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=HANG_SECONDS)
            answers[i] = receive(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=HANG_SECONDS)
    assert not any(t.is_alive() for t in threads), "a thread hung"  # a hang guard
    assert not errors, errors
    return answers


@pytest.mark.django_db(transaction=True)
def test_it_opens_one_incident_when_copies_of_a_text_arrive_at_once() -> None:
    body = "my friend isn't breathing behind the 7-11 on 5th"
    answers = at_once(4, lambda i: sms_receive(sid="SMsame", from_number=PHONE, body=body,
                                                now=T0))
    assert all(a == answers[0] for a in answers)
    assert TRACK.search(answers[0][1])
    assert Incident.objects.count() == 1
    assert InboundSms.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_conversation_when_one_phone_texts_several_times_at_once() -> None:
    body = "my friend isn't breathing behind the 7-11 on 5th"
    answers = at_once(4, lambda i: sms_receive(sid=f"SMmany{i}", from_number=PHONE, body=body,
                                                now=T0))
    assert sum(bool(TRACK.search(" ".join(a))) for a in answers) == 1
    assert Incident.objects.count() == 1
    assert SmsConversation.objects.count() == 1
    assert IncidentNote.objects.count() == 3


# -- compliance keywords -------------------------------------------------------------------


def test_it_stops_texting_a_number_that_sent_stop() -> None:
    reply = text("STOP")
    assert reply == [f"{ORG}: you will get no more texts from us. Reply START to get texts "
                     "again."]
    assert is_opted_out(PHONE)
    assert is_opted_out("+1 (555) 010-4242")
    assert text("my friend isn't breathing behind the 7-11 on 5th") == []
    assert text("stop") == []  # confirmed once, not every time
    assert not Incident.objects.exists()
    assert not is_opted_out("+15550109999")


def test_it_texts_again_after_start() -> None:
    text("stop")
    reply = text("Start")
    assert reply[0].startswith(f"{ORG}: you will get texts from us again.")
    assert not is_opted_out(PHONE)
    assert tracked(text("my friend isn't breathing behind the 7-11 on 5th"))


def test_it_answers_help_with_who_we_are_and_the_web_page() -> None:
    reply = text("HELP")
    assert reply[0].startswith(f"{ORG}: text what is happening and where")
    assert reply[0].endswith(f"{SITE}/")
    assert len(reply[0]) <= 320
    # A crisis line takes a lone HELP as a request too: it asks what is happening
    # (test_sms_cancel.py). INFO only says who we are.
    assert len(reply) == 2 and SmsConversation.objects.count() == 1
    assert text("INFO", phone="+15550109898") == [reply[0]]


def test_it_answers_the_spanish_keywords_in_spanish() -> None:
    assert text("AYUDA")[0].startswith(f"{ORG}: escribe qué pasa y dónde")
    assert text("parar")[0].startswith(f"{ORG}: no te enviaremos más mensajes.")
    assert is_opted_out(PHONE)
    assert text("inicio")[0].startswith(f"{ORG}: volverás a recibir")


def test_it_still_answers_help_after_stop() -> None:
    text("STOP")
    assert text("help")[0].startswith(f"{ORG}: text what is happening")


# -- bad requests ------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "another-token"])
def test_it_refuses_an_unsigned_or_wrongly_signed_text_and_writes_nothing(token) -> None:
    r = post({"MessageSid": "SMbad", "From": PHONE,
              "Body": "my friend isn't breathing behind the 7-11 on 5th"}, token=token)
    assert r.status_code == 403
    assert not InboundSms.objects.exists()
    assert not SmsConversation.objects.exists()
    assert not Incident.objects.exists()


@pytest.mark.parametrize("params", [
    {"From": PHONE, "Body": "help at the park"},
    {"MessageSid": "SM1", "Body": "help at the park"},
    {"MessageSid": "SM1", "From": "anonymous", "Body": "help at the park"},
    {"MessageSid": "x" * 65, "From": PHONE, "Body": "help at the park"},
    {},
])
def test_it_asks_to_try_again_when_a_field_is_missing(params) -> None:
    assert replies(post(params)) == [TRY_AGAIN]
    assert not Incident.objects.exists()


def test_it_asks_to_try_again_when_something_unexpected_fails(monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sms, "incident_open", broken)
    assert text("my friend isn't breathing behind the 7-11 on 5th") == [TRY_AGAIN]
    # Rolled back whole: the retry is handled afresh.
    assert not InboundSms.objects.exists()
    assert not SmsConversation.objects.exists()


# -- privacy and retention ----------------------------------------------------------------


def test_it_never_stores_the_phone_number_or_the_texts_in_plain_text() -> None:
    text("I need help")
    text("1")
    tracked(text("behind the library on Elm"))
    text("he is waking up now")
    text("STOP")  # help is on its way: asked first (test_sms_cancel.py)...
    text("STOP")  # ...and the second opts out
    text("START")
    text("STOP")
    text("STOP")
    digits = PHONE.lstrip("+")
    for model in (InboundSms, SmsConversation, SmsOptOut, Incident, IncidentEvent,
                  IncidentNote, Message, Timer):
        for flat in raw_rows(model):
            assert digits not in flat, model
            assert digits[1:] not in flat, model
    for model in (InboundSms, SmsConversation, Incident):
        for flat in raw_rows(model):
            assert "library" not in flat
            assert "Sending" not in flat
    assert SmsOptOut.objects.count() == 1


def test_it_logs_no_phone_number_and_no_text(caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        text("my friend isn't breathing behind the 7-11 on 5th")
        text("he is waking up now")
        text("STOP")
        post({"From": PHONE, "Body": "behind the gas station"})
    logged = caplog.text
    assert caplog.records
    for secret in ("0104242", "7-11", "waking", "gas station"):
        assert secret not in logged


def test_it_deletes_the_conversation_with_its_incident(settings) -> None:
    incident = tracked(text("my friend isn't breathing behind the 7-11 on 5th"))
    other = tracked(text("someone is bleeding at the park on Elm", phone="+15550107777"))
    assert conversations_purge(incident_id=incident.pk) == 1
    assert list(SmsConversation.objects.values_list("incident", flat=True)) == [other.pk]


def test_it_expires_message_ids_and_abandoned_conversations_after_a_day() -> None:
    sms_receive(sid="SMold", from_number=PHONE, body="I need help", now=T0)
    sms_receive(sid="SMopen", from_number="+15550107777",
                body="my friend isn't breathing behind the 7-11 on 5th", now=T0)
    sms_receive(sid="SMnew", from_number="+15550108888", body="I need help",
                now=T0 + timedelta(hours=23))
    assert inbound_expire(now=T0 + timedelta(hours=12)) == 0
    assert inbound_expire(now=T0 + timedelta(hours=24, seconds=1)) == 3  # 2 ids, 1 conversation
    assert list(InboundSms.objects.values_list("sid", flat=True)) == ["SMnew"]
    assert SmsConversation.objects.count() == 2  # the one with an incident, the recent one


def test_it_expires_conversations_whose_incident_was_purged() -> None:
    opened = sms_receive(sid="SM1", from_number=PHONE,
                         body="my friend isn't breathing behind the 7-11 on 5th", now=T0)
    incident = incident_by_token(TRACK.search(opened[1]).group(1))
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None, now=T0)
    timer = Timer.objects.get(incident=incident, kind=TimerKind.PURGE)
    incident_purge(timer=timer, now=timer.due_at)
    inbound_expire(now=T0 + timedelta(hours=1))
    assert not SmsConversation.objects.exists()


def test_it_starts_over_after_a_day_without_an_answer() -> None:
    sms_receive(sid="SM1", from_number=PHONE, body="I need help", now=T0)
    later = sms_receive(sid="SM2", from_number=PHONE, body="1", now=T0 + timedelta(days=2))
    assert later[0].startswith("Spotline here.")  # a new conversation, not "where are you?"
    assert SmsConversation.objects.filter(closed_at__isnull=True).count() == 1


# -- anything at all -----------------------------------------------------------------------

NASTY = st.one_of(
    st.text(max_size=2000),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=50),
    st.text(alphabet="🙏💉🚑😭❤️👍🏽\u200d\ufe0f", max_size=2000),
    st.lists(st.sampled_from([
        "ayuda", "help", "my friend", "no respira", "isn't breathing", "behind", "the 7-11",
        "en el parque", "&", "<Response>", "]]>", "STOP", "\x00", "\r\n", "5th and Main",
        "🙏", "1", " ", "at", "en", "ok", "y", "\ufffe",
    ]), max_size=40).map(" ".join),
    st.sampled_from(["", " ", "stop ", "S T O P", "START", "¿ayuda?", "x" * 2000]),
)


@override_settings(SPOTLINE_MAX_BODY_BYTES=64 * 1024, DATA_UPLOAD_MAX_MEMORY_SIZE=64 * 1024)
@hsettings(max_examples=100, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=NASTY)
def test_it_answers_any_text_with_a_reply_and_never_a_500(body: str) -> None:
    # A fresh number each time: an earlier example's STOP must not silence this one.
    reply = text(body, phone=f"+1555{next(PHONES):07d}")
    assert reply
    assert reply != [TRY_AGAIN]  # handled, not merely survived
    assert all(0 < len(r) <= 400 for r in reply)


def test_it_answers_the_longest_text_a_carrier_delivers() -> None:
    assert text("🙏" * 1600)
