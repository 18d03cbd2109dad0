"""A responder on scene answers their safety check by text: "OK" or "OK <id>" extends
the running timer and says when the next check comes. Without a running timer the text
goes on as before (an answer to an offer), and a responder is never taken for a person
checking in, nor a person for a responder."""

from __future__ import annotations

from datetime import timedelta

import pytest

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.checkins.models import CheckIn
from spotline.conftest import CENTRE, T0, fire_timers, offset
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import Incident, Offer, SafetyTimer
from spotline.intake.sms import sms_receive
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal
from spotline.responders.models import Responder

PHONE = "+15550100133"
PERSON = "+15550100122"
MIN = timedelta(minutes=1)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def timers(settings):
    settings.SPOTLINE_SAFETY_MINUTES = 15
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60
    settings.TIME_ZONE = "UTC"


def responder() -> Responder:
    user = user_create(name="sam", role=Role.RESPONDER, password=None, skills=("naloxone",),
                       phone=PHONE, alias="Sam")
    return shift_set(responder=Responder.objects.get(user=user), on_shift=True,
                     location=offset(CENTRE, 100), now=T0)


def on_scene(sam: Responder) -> SafetyTimer:
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                   breathing=Answer.NO, description="Back door"), now=T0).incident
    offer = Offer.objects.get(incident=incident, responder=sam)
    offer_accept(offer_id=offer.pk, responder=sam, now=T0)
    incident_report(incident_id=incident.pk, type="on_scene", responder=sam,
                            user_id=None, now=T0 + MIN)
    return SafetyTimer.objects.get(responder=sam)


def text(body: str, *, at: timedelta, sid: str, phone: str = PHONE) -> list[str]:
    return sms_receive(sid=sid, from_number=phone, body=body, now=T0 + at)


def test_ok_extends_the_running_safety_timer() -> None:
    timer = on_scene(responder())
    assert timer.next_at == T0 + 16 * MIN
    [reply] = text("OK", at=5 * MIN, sid="SM1")
    assert reply == "Thanks, stay safe. Next safety check in 15 min, at 03:20."
    timer.refresh_from_db()
    assert (timer.state, timer.next_at) == ("active", T0 + 20 * MIN)


def test_ok_with_the_timer_number_answers_the_safety_text() -> None:
    sam = responder()
    timer = on_scene(sam)
    fire_timers(now=T0 + 16 * MIN)
    [ask] = Message.objects.filter(purpose="safety")
    assert f"Reply OK {timer.pk}" in unseal(ask.body_sealed, context="message.body")
    [reply] = text(f"ok {timer.pk}", at=17 * MIN, sid="SM1")
    assert reply.startswith("Thanks, stay safe. Next safety check in 15 min, at 03:32")
    timer.refresh_from_db()
    assert timer.state == "active" and timer.escalated_at is None
    # Its backup is never sent: the old deadlines are superseded.
    for minutes in (18, 19, 20):
        fire_timers(now=T0 + minutes * MIN)
    assert Incident.objects.count() == 1


def test_ok_with_another_number_goes_on_as_an_offer_answer() -> None:
    sam = responder()
    timer = on_scene(sam)
    [reply] = text(f"OK {timer.pk + 1000}", at=5 * MIN, sid="SM1")
    assert reply.startswith(f"Offer {timer.pk + 1000}:")
    timer.refresh_from_db()
    assert timer.next_at == T0 + 16 * MIN  # not extended


def test_without_a_running_timer_ok_goes_on_as_before() -> None:
    responder()
    [reply] = text("OK", at=MIN, sid="SM1")
    assert reply == "You have no open offer right now."
    assert not CheckIn.objects.exists()


def test_after_leaving_the_scene_ok_is_no_longer_a_safety_answer() -> None:
    sam = responder()
    timer = on_scene(sam)
    incident_report(incident_id=timer.incident_id, type="resolved",
                            responder=sam, user_id=None, now=T0 + 3 * MIN)
    timer.refresh_from_db()
    assert timer.state == "ended"
    [reply] = text("ok", at=5 * MIN, sid="SM1")
    assert "safety" not in reply.lower()


def test_a_persons_ok_never_touches_a_responders_timer() -> None:
    timer = on_scene(responder())
    [started] = text("SPOT 5 123 Main St", at=MIN, sid="SM1", phone=PERSON)
    assert started.startswith("Check-in started")
    [reply] = text("OK", at=2 * MIN, sid="SM2", phone=PERSON)
    assert reply == "Thanks. Next check in 5 min. Reply DONE to end."
    timer.refresh_from_db()
    assert timer.next_at == T0 + 16 * MIN
    person = CheckIn.objects.get()
    assert person.next_at == T0 + 7 * MIN


def test_a_responders_ok_never_touches_a_persons_check_in() -> None:
    text("SPOT 5 123 Main St", at=0 * MIN, sid="SM1", phone=PERSON)
    timer = on_scene(responder())
    [reply] = text("OK", at=2 * MIN, sid="SM2")
    assert reply.startswith("Thanks, stay safe.")
    person = CheckIn.objects.get()
    assert person.next_at == T0 + 5 * MIN and person.generation == 0
    timer.refresh_from_db()
    assert timer.next_at == T0 + 17 * MIN
