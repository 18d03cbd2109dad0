"""After a check-in sent help, the person can still say "I'm OK, cancel help" (issue
13, item 2): asked to confirm first, then the incident is cancelled by the person, the
responder is told at once, and the check-in ends with its place destroyed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn
from spotline.conftest import CENTRE, T0, api_for
from spotline.dispatch.models import Incident, Offer
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal
from spotline.privacy.models import DataKey

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
JSON = "application/json"
ESCALATED_AT = T0 + 420 * S  # 5 minutes, then two grace periods of 60 s


@pytest.fixture(autouse=True)
def grace(settings):
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60


@pytest.fixture
def sam(make_responder):
    return make_responder("sam", north_m=100)


def escalated() -> tuple[CheckIn, str]:
    body = {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon,
                         "description": "Back bedroom, door unlocked"}, "minutes": 5}
    with time_machine.travel(T0, tick=False):
        r = Client().post("/api/v1/checkins", json.dumps(body), content_type=JSON)
    assert r.status_code == 201, r.content
    for seconds in (300, 360, 420):
        fire_due_checkins(now=T0 + seconds * S)
    checkin = CheckIn.objects.get(pk=r.json()["id"])
    assert checkin.state == "escalated" and checkin.incident_id is not None
    return checkin, r.json()["token"]


def accept(responder) -> None:
    offer = Offer.objects.get(responder=responder)
    with time_machine.travel(ESCALATED_AT + 10 * S, tick=False):
        r = api_for(responder).post(f"/api/v1/offers/{offer.pk}/accept")
    assert r.status_code == 200, r.content


def test_the_page_asks_first_then_calls_help_off_and_tells_the_responder(sam) -> None:
    checkin, token = escalated()
    accept(sam)
    page = Client().get(f"/c/{token}/").content.decode()
    assert "Help is on the way" in page and 'id="call-off"' in page

    # A stray tap only asks.
    r = Client().post(f"/c/{token}/call-off/")
    assert r.status_code == 200
    assert "Cancel the help we sent?" in r.content.decode()
    assert Incident.objects.get().state == "assigned"
    assert not Message.objects.filter(purpose="stand_down").exists()

    r = Client().post(f"/c/{token}/call-off/", {"confirm": "yes"})
    assert r.status_code == 302 and r["Location"] == f"/c/{token}/"
    incident = Incident.objects.get()
    assert incident.state == "cancelled" and incident.closed_by == "person"
    assert incident.unserved_reason == "cancelled_by_person"
    [told] = Message.objects.filter(purpose="stand_down")
    assert told.responder_id == sam.pk
    body = unseal(told.body_sealed, context="message.body")
    assert "cancelled" in body and "stand down" in body and "Back bedroom" not in body
    checkin.refresh_from_db()
    assert checkin.state == "ended" and checkin.ended_at is not None
    assert checkin.place_sealed == "" and checkin.phone_digest == ""
    assert DataKey.objects.get(kid=checkin.data_key_id).destroyed_at is not None
    page = Client().get(f"/c/{token}/").content.decode()
    assert "we called off the help we sent" in page
    assert 'id="call-off"' not in page


def test_the_api_calls_help_off_and_says_what_to_do_instead_of_ok(sam) -> None:
    _, token = escalated()
    url = f"/api/v1/checkins/{token}"
    for answer in ("ok", "done"):
        r = Client().post(f"{url}/{answer}", content_type=JSON)
        assert r.status_code == 409
        assert "call it off" in r.json()["detail"]
    r = Client().post(f"{url}/call-off", content_type=JSON)
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "ended"
    assert Incident.objects.get().state == "cancelled"
    # Nobody had accepted: nobody to stand down, and the offers are withdrawn.
    assert not Message.objects.filter(purpose="stand_down").exists()
    assert not Offer.objects.filter(status="pending").exists()
    # Safe to repeat.
    assert Client().post(f"{url}/call-off", content_type=JSON).status_code == 200


def test_nothing_to_call_off_before_help_was_sent() -> None:
    body = {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon}, "minutes": 5}
    r = Client().post("/api/v1/checkins", json.dumps(body), content_type=JSON)
    token = r.json()["token"]
    r = Client().post(f"/api/v1/checkins/{token}/call-off", content_type=JSON)
    assert r.status_code == 409 and r.json()["detail"]
    assert CheckIn.objects.get().state == "active"


def test_a_responder_already_there_is_not_called_off(sam) -> None:
    checkin, token = escalated()
    accept(sam)
    api = api_for(sam)
    with time_machine.travel(ESCALATED_AT + 60 * S, tick=False):
        for step in ("en_route", "on_scene"):
            r = api.post(f"/api/v1/incidents/{checkin.incident_id}/events", {"type": step})
            assert r.status_code == 200, r.content
    assert 'id="call-off"' not in Client().get(f"/c/{token}/").content.decode()
    r = Client().post(f"/api/v1/checkins/{token}/call-off", content_type=JSON)
    assert r.status_code == 409
    assert Incident.objects.get().state == "on_scene"
    assert CheckIn.objects.get().state == "escalated"
