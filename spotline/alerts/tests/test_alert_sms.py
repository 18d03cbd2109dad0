"""Drug alerts by text, through SMS intake's one door (``sms_receive``): ALERTS and its
area question, ALERTS STOP and STOP, REPORT and its three questions, and the rule that
a call for help is never held by any of them."""

from __future__ import annotations

import itertools
import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from spotline.alerts.models import AlertConversation, Area, Report, Subscriber
from spotline.alerts.sms import CONTEXT, conversations_expire
from spotline.conftest import T0, raw_rows
from spotline.core.sms.alerts import CONVERSATION_KEEP, Step, Topic
from spotline.core.sms.replies import MESSAGES
from spotline.dispatch.models import Incident
from spotline.intake.models import SmsConversation
from spotline.intake.sms import sms_receive
from spotline.notify.actions import is_opted_out
from spotline.privacy.crypto import phone_digest, unseal
from spotline.worker.retention import purge_due
from spotline.worker.steps import default_steps

pytestmark = pytest.mark.django_db

PHONE = "+15550104242"
OD = "my friend isn't breathing behind the 7-11 on 5th"
SIDS = itertools.count(1)


def text(body: str, *, at: Any = T0, phone: str = PHONE) -> str:
    """Text ``body``; the replies, joined."""
    return " ".join(sms_receive(sid=f"SM{next(SIDS)}", from_number=phone, body=body, now=at))


def subscribed() -> Subscriber:
    subscriber = Subscriber.objects.get()
    assert subscriber.channel == "sms"
    assert subscriber.digest == phone_digest(PHONE)
    return subscriber


def conversation() -> AlertConversation:
    return AlertConversation.objects.get(phone_digest=phone_digest(PHONE))


# -- subscribing ---------------------------------------------------------------------------


def test_it_subscribes_by_area_name(centre_area: Area, vuosaari_area: Area) -> None:
    asked = text("ALERTS")
    assert "which area?" in asked and "Keskusta or Vuosaari" in asked
    assert (conversation().topic, conversation().step) == (Topic.SUBSCRIBE, Step.AREA)
    confirmed = text("Keskusta")
    assert "drug alerts for Keskusta" in confirmed and "ALERTS STOP" in confirmed
    subscriber = subscribed()
    assert list(subscriber.areas.all()) == [centre_area]
    assert (subscriber.language, subscriber.all_areas) == ("en", False)
    assert not AlertConversation.objects.exists()


def test_it_subscribes_by_postcode(centre_area: Area, vuosaari_area: Area) -> None:
    text("alerts")
    assert "Vuosaari" in text("00980")
    assert list(subscribed().areas.all()) == [vuosaari_area]


def test_all_subscribes_to_every_area(centre_area: Area) -> None:
    text("ALERTS")
    assert "all areas" in text("ALL")
    subscriber = subscribed()
    assert subscriber.all_areas and not subscriber.areas.exists()


def test_it_answers_alertas_in_spanish(centre_area: Area) -> None:
    assert "¿qué zona?" in text("ALERTAS")
    confirmed = text("todo")
    assert "todas las zonas" in confirmed and "ALERTAS PARAR" in confirmed
    assert subscribed().language == "es"


def test_a_typo_in_the_area_still_finds_it(centre_area: Area, vuosaari_area: Area) -> None:
    text("ALERTS")
    assert "Keskusta" in text("keskusts")
    assert list(subscribed().areas.all()) == [centre_area]


def test_alerts_and_the_area_in_one_text_subscribes_at_once(centre_area: Area) -> None:
    assert "drug alerts for Keskusta" in text("ALERTS Keskusta")
    assert list(subscribed().areas.all()) == [centre_area]
    assert not AlertConversation.objects.exists()


def test_two_misses_fall_through_to_the_help_conversation(centre_area: Area) -> None:
    text("ALERTS")
    assert "We don't know that area" in text("Narnia")
    assert conversation().tries == 1
    reply = text("Mordor")
    assert MESSAGES["intro"]["en"] in reply  # the help conversation's first answer
    assert not AlertConversation.objects.exists()
    assert not Subscriber.objects.exists()
    assert SmsConversation.objects.filter(phone_digest=phone_digest(PHONE)).exists()


def test_a_call_for_help_during_the_area_question_opens_a_request(centre_area: Area) -> None:
    text("ALERTS")
    reply = text(OD)
    assert "Sending a responder" in reply or "We have your request" in reply
    assert Incident.objects.count() == 1
    assert not AlertConversation.objects.exists()


@pytest.mark.parametrize(("before", "urgent"), [
    ([], "my friend isn't breathing behind the 7-11 on 5th"),
    ([], "please hurry he is turning blue"),
    (["pink powder"], "he won't wake up, help"),
    (["pink powder", "two doses"], "12 Main Street now!! he is not breathing"),
    (["pink powder", "two doses"], "overdose at 12 Main Street"),
])
def test_a_call_for_help_during_a_report_leaves_the_report(centre_area: Area,
                                                          before: list[str],
                                                          urgent: str) -> None:
    """A report is read hours later: someone in danger must reach the help conversation
    at whichever question they are asked, and never be told not to send an address."""
    text("REPORT")
    for answer in before:
        text(answer)
    reply = text(urgent)
    assert not Report.objects.exists()
    assert not AlertConversation.objects.exists()
    assert "send an address" not in reply and "What happened" not in reply
    assert "Roughly" not in reply
    assert Incident.objects.exists() or SmsConversation.objects.exists()


def test_a_call_for_help_in_spanish_during_a_reporte(centre_area: Area) -> None:
    text("REPORTE")
    text("mi amigo no respira, ayuda")
    assert not Report.objects.exists() and not AlertConversation.objects.exists()
    assert Incident.objects.exists() or SmsConversation.objects.exists()


def test_a_calm_report_of_an_overdose_is_still_a_report(centre_area: Area) -> None:
    text("REPORT")
    text("blue tablets stamped M30")
    text("two of us overdosed last night and needed three doses of naloxone")
    text("Keskusta")
    report = Report.objects.get()
    assert report.area == centre_area and "three doses" in report.what_happened
    assert not Incident.objects.exists()


# -- unsubscribing -------------------------------------------------------------------------


@pytest.mark.parametrize(("stop", "said"), [
    ("ALERTS STOP", "no more drug alerts"),
    ("alertas parar", "No recibirás más alertas"),
    ("ALERTAS STOP", "No recibirás más alertas"),
])
def test_alerts_stop_deletes_the_subscriber(centre_area: Area, stop: str, said: str) -> None:
    text("ALERTS Keskusta")
    assert Subscriber.objects.count() == 1
    assert said in text(stop)
    assert not Subscriber.objects.exists()
    assert not is_opted_out(PHONE)  # other texts (a request for help) still reach them


def test_stop_deletes_the_subscriber_and_opts_out(centre_area: Area) -> None:
    text("ALERTS Keskusta")
    text("STOP")
    assert not Subscriber.objects.exists()
    assert is_opted_out(PHONE)


def test_stop_during_the_area_question_ends_it(centre_area: Area) -> None:
    text("ALERTS")
    text("STOP")
    assert not AlertConversation.objects.exists()
    assert text("START") and text("Keskusta") and not Subscriber.objects.exists()


# -- reporting -----------------------------------------------------------------------------


def test_a_report_by_text_keeps_no_phone(centre_area: Area,
                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    questions = [text("REPORT"), text("pink powder with a star stamp"),
                 text("needed 3 doses of naloxone")]
    assert all("If someone needs help now, text HELP" in q for q in questions)
    assert (conversation().topic, conversation().step) == (Topic.REPORT, Step.WHERE)
    assert "Thank you" in text("Keskusta")
    report = Report.objects.get()
    assert (report.source, report.area) == ("sms", centre_area)
    assert report.looked_like == "pink powder with a star stamp"
    assert report.what_happened == "needed 3 doses of naloxone"
    assert not AlertConversation.objects.exists()
    stored = " ".join(raw_rows(Report))
    for secret in ("5550104242", phone_digest(PHONE), "pink powder", "naloxone"):
        assert secret not in stored
    for secret in ("5550104242", "pink powder", "naloxone"):
        assert secret not in caplog.text


def test_reporte_in_spanish_may_skip_the_place(centre_area: Area) -> None:
    assert "¿Cómo era" in text("REPORTE")
    text("polvo rosa")
    assert "nunca una dirección" in text("muchas personas muy sedadas")
    assert text("OMITIR").startswith("Gracias")
    report = Report.objects.get()
    assert (report.area, report.what_happened) == (None, "muchas personas muy sedadas")


@pytest.mark.parametrize(("answer", "said"), [("a" * 1600, "too long (1600 characters)"),
                                              ("💊💀🔥", "in words")])
def test_an_answer_too_long_or_emoji_only_writes_nothing(centre_area: Area, answer: str,
                                                         said: str) -> None:
    text("REPORT")
    assert said in text(answer)
    assert not Report.objects.exists()
    assert conversation().step == Step.LOOKED_LIKE
    assert conversation().answers_sealed == ""  # nothing half-kept either
    text("white pills")  # the same question goes on
    assert conversation().step == Step.WHAT_HAPPENED


def test_a_street_address_is_not_kept_and_an_area_is_asked_for(centre_area: Area) -> None:
    text("REPORT")
    text("blue pills")
    text("heavy sedation")
    assert "don't send an address" in text("12 Main Street")
    answers = json.loads(unseal(conversation().answers_sealed, context=CONTEXT))
    assert "Main" not in json.dumps(answers)
    assert not Report.objects.exists()
    text("00100")
    assert Report.objects.get().area == centre_area


def test_help_during_a_report_ends_it(centre_area: Area) -> None:
    text("REPORT")
    text("HELP")
    assert not AlertConversation.objects.exists()
    text(OD)
    assert Incident.objects.count() == 1
    assert not Report.objects.exists()


# -- expiry --------------------------------------------------------------------------------


def test_a_silent_conversation_expires(centre_area: Area) -> None:
    text("REPORT")
    text("pink powder")
    assert conversations_expire(now=T0 + CONVERSATION_KEEP - timedelta(seconds=1)) == 0
    assert conversations_expire(now=T0 + CONVERSATION_KEEP + timedelta(seconds=1)) == 1
    assert not AlertConversation.objects.exists()


def test_an_answer_after_the_silence_is_not_taken(centre_area: Area) -> None:
    text("ALERTS")
    text("Keskusta", at=T0 + CONVERSATION_KEEP + timedelta(minutes=1))
    assert not Subscriber.objects.exists()
    assert not AlertConversation.objects.exists()


def test_the_worker_and_the_purge_expire_conversations(centre_area: Area) -> None:
    assert "alert sms conversations" in [step.name for step in default_steps()]
    text("ALERTS")
    counts = purge_due(now=T0 + timedelta(hours=1))
    assert counts["alert_sms_conversations"] == 1
    assert not AlertConversation.objects.exists()
