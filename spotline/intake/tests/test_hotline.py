"""The hotline: a call rings every dispatcher on duty at once; nobody answers, the
caller leaves a message and an incident is opened to call them back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from twilio.request_validator import RequestValidator

from spotline.accounts.actions import duty_set, token_create, user_create
from spotline.accounts.models import Profile, Role
from spotline.conftest import T0, Api, raw_rows
from spotline.dispatch.models import Incident
from spotline.intake.models import InboundSms
from spotline.intake.twilio.hotline import NOBODY, THANKS
from spotline.privacy.crypto import phone_digest

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token-0123456789abcdef"
SITE = "https://help.example.org"
CALLER = "+15550177001"
HOTLINE = "+15550100000"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SPOTLINE_SITE_URL = SITE


def dispatcher(name: str, phone: str, *, on_duty: bool, role: Role = Role.DISPATCHER,
               minutes: int = 0):
    user = user_create(name=name, role=role, password=None, phone=phone)
    if on_duty:
        duty_set(user=user, on_duty=True, now=T0 + timedelta(minutes=minutes))
    return user


def post(name: str, **extra: str):
    path = f"/hooks/twilio/{name}"
    params = {"CallSid": "CA0123", "From": CALLER, "To": HOTLINE, **extra}
    signature = RequestValidator(TOKEN).compute_signature(SITE + path, params)
    return Client().post(path, params, headers={"X-Twilio-Signature": signature})


def xml(response) -> ET.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)  # noqa: S314 - our own output, parsed to check it


def assert_takes_a_message(root: ET.Element) -> None:
    assert [child.tag for child in root] == ["Say", "Record", "Redirect"]
    assert root.find("Say").text == NOBODY
    record = root.find("Record")
    assert record.attrib == {"maxLength": "120", "playBeep": "true",
                             "action": f"{SITE}/hooks/twilio/voice-recorded"}
    assert root.find("Redirect").text == f"{SITE}/hooks/twilio/voice-recorded"


# -- the call ------------------------------------------------------------------------------


def test_a_call_rings_every_dispatcher_on_duty_at_once() -> None:
    dispatcher("ana", "+1 555 0100 111", on_duty=True, minutes=5)
    dispatcher("bo", "+15550100222", on_duty=True, role=Role.COORDINATOR)
    dispatcher("cy", "+15550100333", on_duty=False)
    dispatcher("di", "", on_duty=True)  # on duty without a phone: nothing to ring
    root = xml(post("voice"))
    dials = root.findall("Dial")
    assert len(dials) == 1 and len(root) == 1
    dial = dials[0]
    assert dial.attrib == {"timeout": "20", "action": f"{SITE}/hooks/twilio/voice-missed"}
    assert [n.text for n in dial.findall("Number")] == ["+15550100222", "+15550100111"]


def test_with_nobody_on_duty_the_caller_goes_straight_to_the_message() -> None:
    dispatcher("cy", "+15550100333", on_duty=False)
    assert_takes_a_message(xml(post("voice")))


def test_going_off_duty_stops_the_ringing() -> None:
    ana = dispatcher("ana", "+15550100111", on_duty=True)
    duty_set(user=ana, on_duty=False, now=T0)
    assert xml(post("voice")).find("Dial") is None


def test_an_answered_call_just_hangs_up_when_it_ends() -> None:
    root = xml(post("voice-missed", DialCallStatus="completed"))
    assert [child.tag for child in root] == ["Hangup"]


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_an_unanswered_call_takes_a_message(status: str) -> None:
    assert_takes_a_message(xml(post("voice-missed", DialCallStatus=status)))


# -- the message ---------------------------------------------------------------------------


def test_a_message_opens_one_incident_flagged_for_call_back() -> None:
    root = xml(post("voice-recorded", RecordingUrl="https://api.twilio.com/rec/RE1",
                    RecordingDuration="14"))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert root.find("Say").text == THANKS
    incident = Incident.objects.get()
    assert incident.attention == "call_back" and incident.attention_at is not None
    assert incident.callback_number == CALLER
    assert incident.source == "operator" and incident.kind == "other"
    assert not any(CALLER[1:] in row for row in raw_rows(Incident))  # sealed
    # The recording's URL is not kept anywhere on the incident.
    row = Incident.objects.filter(pk=incident.pk).values().get()
    assert not any("twilio.com" in str(v) for v in row.values())


def test_a_retried_message_webhook_opens_nothing_more() -> None:
    post("voice-recorded", RecordingUrl="https://api.twilio.com/rec/RE1")
    second = xml(post("voice-recorded", RecordingUrl="https://api.twilio.com/rec/RE1"))
    assert second.find("Say").text == THANKS
    assert Incident.objects.count() == 1
    # The call's id is kept (a day, like an inbound text's) so the retry is recognised.
    assert InboundSms.objects.filter(sid="CA0123").count() == 1
    post("voice-recorded", CallSid="CA0999")  # another call is another incident
    assert Incident.objects.count() == 2


def test_a_signed_message_without_a_call_id_is_refused_and_opens_nothing() -> None:
    for _ in range(3):
        r = post("voice-recorded", CallSid="")
        assert r.status_code == 400
        assert b"CallSid" in r.content
    r = post("voice-recorded", CallSid="CA" + "9" * 70)  # longer than any real id
    assert r.status_code == 400
    assert Incident.objects.count() == 0 and InboundSms.objects.count() == 0


@pytest.mark.parametrize("caller", ["5" * 500, "+1555", "anonymous", "Restricted",
                                    "+266696687", "", "+15550177001" * 3])
def test_a_caller_without_a_callable_number_gets_an_incident_without_one(caller) -> None:
    root = xml(post("voice-recorded", From=caller))
    assert root.find("Say").text == THANKS
    incident = Incident.objects.get()
    assert incident.callback_number == ""
    assert incident.attention == "call_back"  # someone called: a dispatcher must see it
    assert "withheld" in incident.details


@pytest.mark.parametrize(("caller", "kept"), [("+1 (555) 017-7001", "+15550177001"),
                                              ("+358401234567", "+358401234567")])
def test_a_callable_number_is_kept_normalized(caller, kept) -> None:
    xml(post("voice-recorded", From=caller))
    assert Incident.objects.get().callback_number == kept


@pytest.mark.parametrize("name", ["voice", "voice-missed", "voice-recorded"])
def test_unsigned_posts_are_refused_and_change_nothing(name: str) -> None:
    dispatcher("ana", "+15550100111", on_duty=True)
    params = {"CallSid": "CA0123", "From": CALLER, "DialCallStatus": "no-answer"}
    r = Client().post(f"/hooks/twilio/{name}", params)
    assert r.status_code == 403
    bad = Client().post(f"/hooks/twilio/{name}", params,
                        headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert bad.status_code == 403
    assert Incident.objects.count() == 0 and InboundSms.objects.count() == 0


# -- duty and phones -----------------------------------------------------------------------


def test_the_duty_api_toggles_on_duty_since() -> None:
    user_create(name="ana", role=Role.DISPATCHER, password=None, phone="+15550100111")
    api = Api(token_create(name="ana", now=T0))
    r = api.put("/api/v1/me/duty", {"on_duty": True})
    assert r.status_code == 200 and r.json() == {"on_duty": True}
    since = Profile.objects.get(user__username="ana").on_duty_since
    assert since is not None
    assert api.put("/api/v1/me/duty", {"on_duty": True}).json() == {"on_duty": True}
    assert Profile.objects.get(user__username="ana").on_duty_since == since  # kept
    r = api.put("/api/v1/me/duty", {"on_duty": False})
    assert r.status_code == 200 and r.json() == {"on_duty": False}
    assert Profile.objects.get(user__username="ana").on_duty_since is None
    assert api.put("/api/v1/me/duty", {"on_duty": "maybe"}).status_code == 422


def test_the_duty_api_refuses_responders_and_strangers() -> None:
    user_create(name="sam", role=Role.RESPONDER, password=None, skills=("naloxone",))
    r = Api(token_create(name="sam", now=T0)).put("/api/v1/me/duty", {"on_duty": True})
    assert r.status_code == 404
    assert Profile.objects.get(user__username="sam").on_duty_since is None
    assert Api().put("/api/v1/me/duty", {"on_duty": True}).status_code == 401


def test_a_dispatchers_phone_is_stored_only_sealed_and_digested() -> None:
    phone = "+15550100111"
    user = user_create(name="ana", role=Role.DISPATCHER, password=None, phone=phone)
    row = Profile.objects.filter(user=user).values().get()
    assert row["phone_digest"] == phone_digest(phone)
    assert row["phone_sealed"].startswith("v2.")
    for value in row.values():
        assert "5550100111" not in str(value)
    user_row = get_user_model().objects.filter(pk=user.pk).values().get()
    assert not any("5550100111" in str(v) for v in user_row.values())
