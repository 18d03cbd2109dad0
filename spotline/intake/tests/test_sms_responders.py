"""Responders answer offers by text: "Y", "YES 42", "NO 42"."""

from __future__ import annotations

import pytest

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, offset
from spotline.core.policy import Actor
from spotline.core.sms.responder import parse_responder_reply
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.actions.timed import incident_purge
from spotline.dispatch.models import Offer, Timer, TimerKind
from spotline.intake.models import InboundSms
from spotline.intake.sms import sms_receive
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal
from spotline.responders.models import Responder

PHONE = "+15550100142"


@pytest.mark.parametrize("text,accept,offer", [
    ("Y", True, None), ("yes", True, None), ("YES 42", True, 42), ("yes #42", True, 42),
    ("Sí 7", True, 7), ("1", True, None), ("N", False, None), ("no 42", False, 42),
    ("2", False, None),
])
def test_it_reads_a_responders_answer(text: str, accept: bool, offer: int | None) -> None:
    reply = parse_responder_reply(text)
    assert reply is not None and reply.accept is accept and reply.offer_id == offer


@pytest.mark.parametrize("text", ["", "yes my friend overdosed", "no way 42 people",
                                  "help", "42", "YES 42 43"])
def test_it_does_not_mistake_other_texts_for_an_answer(text: str) -> None:
    assert parse_responder_reply(text) is None


def responder(name: str = "sam") -> Responder:
    user = user_create(name=name, role=Role.RESPONDER, password=None, skills=("naloxone",),
                       phone=PHONE, alias=name.capitalize())
    return shift_set(responder=Responder.objects.get(user=user), on_shift=True,
                     location=offset(CENTRE, 100), now=T0)


def open_p1():
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE, breathing=Answer.NO,
               description="Back door"), now=T0).incident


@pytest.mark.django_db
def test_it_accepts_the_only_offer_on_a_plain_yes() -> None:
    sam = responder()
    incident = open_p1()
    [reply] = sms_receive(sid="SM1", from_number="+1 555 010 0142", body="Y", now=T0)
    incident.refresh_from_db()
    assert incident.assigned_responder_id == sam.pk and incident.state == "assigned"
    # The exact location now, since they accepted.
    assert "Accepted" in reply and "Back door" in reply and f"{CENTRE.lat:.6f}" in reply


@pytest.mark.django_db
def test_it_asks_which_offer_when_there_are_several() -> None:
    responder()
    open_p1()
    open_p1()
    [reply] = sms_receive(sid="SM2", from_number=PHONE, body="yes", now=T0)
    assert "several offers" in reply
    assert not Offer.objects.filter(status="accepted").exists()
    second = Offer.objects.order_by("id").last()
    [reply] = sms_receive(sid="SM3", from_number=PHONE, body=f"YES {second.pk}", now=T0)
    second.refresh_from_db()
    assert second.status == "accepted" and "Accepted" in reply


@pytest.mark.django_db
def test_it_declines_by_text_and_explains_a_taken_offer(make_responder) -> None:
    sam = responder()
    incident = open_p1()
    offer = Offer.objects.get(incident=incident, responder=sam)
    [reply] = sms_receive(sid="SM4", from_number=PHONE, body=f"no {offer.pk}", now=T0)
    offer.refresh_from_db()
    assert offer.status == "declined" and "Declined" in reply
    [reply] = sms_receive(sid="SM5", from_number=PHONE, body=f"yes {offer.pk}", now=T0)
    assert "declined this offer" in reply


@pytest.mark.django_db
def test_it_tells_the_offer_text_how_to_answer() -> None:
    sam = responder()
    incident = open_p1()
    offer = Offer.objects.get(incident=incident, responder=sam)
    message = Message.objects.get(incident=incident, responder=sam, purpose="offer")
    body = unseal(message.body_sealed, context="message.body")
    assert f"Reply YES {offer.pk} to accept" in body


@pytest.mark.django_db
def test_it_treats_a_yes_from_someone_who_is_not_a_responder_as_a_conversation() -> None:
    replies = sms_receive(sid="SM6", from_number="+15550100999", body="yes", now=T0)
    assert replies and "Accepted" not in " ".join(replies)


@pytest.mark.django_db
def test_the_purge_blanks_the_stored_go_now_answer_that_holds_the_place() -> None:
    sam = responder()
    incident = open_p1()
    [reply] = sms_receive(sid="SMgo", from_number=PHONE, body="Y", now=T0)
    assert "Back door" in reply
    sms_receive(sid="SMother", from_number="+15550109999", body="I need help", now=T0)
    incident_cancel(incident_id=incident.pk, actor=Actor.DISPATCHER, user_id=None, now=T0)
    timer = Timer.objects.get(incident=incident, kind=TimerKind.PURGE)
    incident_purge(timer=timer, now=timer.due_at)
    assert InboundSms.objects.get(sid="SMgo").reply_sealed == ""
    # Another sender's answer, about no incident of theirs, is kept for its retries.
    assert InboundSms.objects.get(sid="SMother").reply_sealed != ""
    # A retry of the responder's text now gets nothing, and changes nothing.
    assert sms_receive(sid="SMgo", from_number=PHONE, body="Y", now=T0) == []
    assert Offer.objects.get(incident=incident, responder=sam).status == "accepted"
