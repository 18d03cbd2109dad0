"""A spoken offer: "press 1 to accept" accepts through the same action as the app."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, offset
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import Offer
from spotline.notify.models import Message
from spotline.notify.sender import send_one
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token-0123456789abcdef"
SITE = "https://help.example.org"
PHONE = "+15550100123"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SPOTLINE_SITE_URL = SITE


def responder(name: str = "sam", phone: str = PHONE) -> Responder:
    user = user_create(name=name, role=Role.RESPONDER, password=None, skills=("naloxone",),
                       phone=phone, alias=name.capitalize())
    return shift_set(responder=Responder.objects.get(user=user), on_shift=True,
                     location=offset(CENTRE, 100), now=T0)


def press(offer: Offer, digits: str, *, called: str = PHONE):
    path = f"/hooks/twilio/offer-call/{offer.pk}"
    params = {"Digits": digits, "To": called, "CallSid": "CA1"}
    signature = RequestValidator(TOKEN).compute_signature(SITE + path, params)
    return Client().post(path, params, headers={"X-Twilio-Signature": signature})


def open_p1():
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE, breathing=Answer.NO
           ), now=T0).incident


def test_it_accepts_when_the_responder_presses_1() -> None:
    sam = responder()
    incident = open_p1()
    offer = Offer.objects.get(incident=incident, responder=sam)
    r = press(offer, "1")
    assert r.status_code == 200 and "Accepted" in r.content.decode()
    incident.refresh_from_db()
    assert incident.state == "assigned" and incident.assigned_responder_id == sam.pk


def test_it_declines_on_2_and_ignores_other_keys() -> None:
    sam = responder()
    offer = Offer.objects.get(incident=open_p1(), responder=sam)
    assert "does nothing" in press(offer, "7").content.decode()
    offer.refresh_from_db()
    assert offer.status == "pending"
    press(offer, "2")
    offer.refresh_from_db()
    assert offer.status == "declined"


def test_it_refuses_a_key_press_from_a_phone_that_is_not_the_responders() -> None:
    sam = responder()
    offer = Offer.objects.get(incident=open_p1(), responder=sam)
    r = press(offer, "1", called="+15550100999")
    assert "not available" in r.content.decode()
    offer.refresh_from_db()
    assert offer.status == "pending"


def test_it_refuses_an_unsigned_key_press() -> None:
    sam = responder()
    offer = Offer.objects.get(incident=open_p1(), responder=sam)
    r = Client().post(f"/hooks/twilio/offer-call/{offer.pk}", {"Digits": "1", "To": PHONE})
    assert r.status_code == 403
    offer.refresh_from_db()
    assert offer.status == "pending"


def test_it_rings_only_if_a_p1_offer_is_still_unanswered(settings) -> None:
    settings.SPOTLINE_OFFER_CALL_AFTER_SECONDS = 20
    sam = responder()
    incident = open_p1()
    call = Message.objects.get(incident=incident, purpose="offer_call")
    assert call.channels == ["voice"]
    assert call.next_attempt_at == T0 + timedelta(seconds=20)
    # Answered in the app before the call was due: the call is dropped, not made.
    offer = Offer.objects.get(incident=incident, responder=sam)
    offer_accept(offer_id=offer.pk, responder=sam, now=T0 + timedelta(seconds=5))
    assert send_one(call.pk, now=T0 + timedelta(seconds=21), transports={}) is False
    call.refresh_from_db()
    assert call.cancelled_at is not None and call.sent_at is None
