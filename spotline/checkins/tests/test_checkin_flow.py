"""A check-in, by web and API, with the clock driven: OK extends, DONE ends and
destroys the place, silence escalates after exactly the configured deadlines."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn
from spotline.conftest import CENTRE, T0, offset, raw_rows
from spotline.dispatch.models import Incident, Offer
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
JSON = "application/json"
PHONE = "+15550100166"


@pytest.fixture(autouse=True)
def grace(settings):
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60


def start(api_client: Client, **overrides) -> dict:

    body = {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon,
                         "description": "Back bedroom, door unlocked"},
            "minutes": 5, **overrides}
    with time_machine.travel(T0, tick=False):
        r = api_client.post("/api/v1/checkins", json.dumps(body),
                            content_type=JSON)
    assert r.status_code == 201, r.content
    return r.json()


def test_it_starts_with_the_first_check_after_the_chosen_minutes() -> None:
    created = start(Client())
    assert set(created) >= {"id", "token", "next_check_at"}
    checkin = CheckIn.objects.get(pk=created["id"])
    assert checkin.next_at == T0 + timedelta(minutes=5)
    # The place is sealed from the start.
    assert not any("bedroom" in row for row in raw_rows(CheckIn))


def test_it_escalates_silence_after_exactly_both_grace_periods(make_responder) -> None:
    make_responder("sam", north_m=100)
    created = start(Client(), phone=PHONE)
    checkin = CheckIn.objects.get(pk=created["id"])
    due = T0 + timedelta(minutes=5)
    fire_due_checkins(now=due - S)
    checkin.refresh_from_db()
    assert checkin.state == "active"
    fire_due_checkins(now=due)
    checkin.refresh_from_db()
    assert checkin.state == "asked"
    ask = Message.objects.get(purpose="checkin", channels=["sms"])
    assert "Are you OK" in unseal(ask.body_sealed, context="message.body")
    fire_due_checkins(now=due + 60 * S - S)
    checkin.refresh_from_db()
    assert checkin.state == "asked"
    fire_due_checkins(now=due + 60 * S)
    checkin.refresh_from_db()
    assert checkin.state == "warned"
    # The louder second attempt rings first.
    assert Message.objects.filter(purpose="checkin", channels=["voice", "sms"]).count() == 1
    assert not Incident.objects.exists()
    fire_due_checkins(now=due + 120 * S)
    checkin.refresh_from_db()
    assert checkin.state == "escalated"
    incident = Incident.objects.get()
    assert (incident.kind, incident.priority, incident.source) == ("overdose", "P1", "checkin")
    assert incident.location_description == "Back bedroom, door unlocked"
    assert (incident.lat, incident.lon) == (CENTRE.lat, CENTRE.lon)
    assert Offer.objects.filter(incident=incident).count() == 1  # sam got the offer
    assert incident.ems_requested_at is None
    # The check-in page is now the status page.
    html = Client().get(f"/c/{created['token']}/").content.decode()
    assert "We are sending help" in html and 'data-stage="finding"' in html
    assert "Help is on the way" not in html  # nobody has accepted yet
    assert Client().get(f"/api/v1/checkins/{created['token']}").json()["escalated"] is True


def test_it_requests_an_ambulance_too_when_asked_to(make_responder) -> None:
    created = start(Client(), on_miss="responders_and_ems")
    for seconds in (300, 360, 420):
        fire_due_checkins(now=T0 + seconds * S)
    incident = Incident.objects.get()
    assert incident.ems_requested_by == "policy"
    assert CheckIn.objects.get(pk=created["id"]).state == "escalated"


def test_it_starts_the_interval_again_on_ok_even_while_warned() -> None:
    created = start(Client())
    token = created["token"]
    for seconds in (300, 360):
        fire_due_checkins(now=T0 + seconds * S)
    assert CheckIn.objects.get(pk=created["id"]).state == "warned"

    with time_machine.travel(T0 + 400 * S, tick=False):
        r = Client().post(f"/api/v1/checkins/{token}/ok", content_type=JSON)
    assert r.status_code == 200 and r.json()["status"] == "active"
    # The old escalation deadline is void: nothing happens at 420 s.
    fire_due_checkins(now=T0 + 420 * S)
    checkin = CheckIn.objects.get(pk=created["id"])
    assert checkin.state == "active" and not Incident.objects.exists()
    assert checkin.next_at == T0 + 400 * S + timedelta(minutes=5)


def test_it_destroys_the_place_the_moment_it_ends_safely() -> None:
    created = start(Client(), phone=PHONE)
    r = Client().post(f"/api/v1/checkins/{created['token']}/done", content_type=JSON)
    assert r.status_code == 200 and r.json()["status"] == "ended"
    checkin = CheckIn.objects.get(pk=created["id"])
    assert checkin.place_sealed == "" and checkin.phone_sealed == ""
    assert checkin.phone_digest == ""
    fire_due_checkins(now=T0 + timedelta(hours=1))
    assert not Incident.objects.exists()
    # Repeating DONE is harmless; OK after DONE is refused clearly.
    url = f"/api/v1/checkins/{created['token']}"
    assert Client().post(f"{url}/done", content_type=JSON).status_code == 200
    assert Client().post(f"{url}/ok", content_type=JSON).status_code == 409


def test_it_works_from_the_web_page_without_javascript() -> None:
    r = Client().post("/checkin/", {"where": "Room 12, the motel on 5th", "minutes": "3",
                                    "on_miss": "responders"})
    assert r.status_code == 302
    page = Client().get(r["Location"]).content.decode()
    assert 'id="im-ok"' in page and "Next check in" in page
    token = r["Location"].split("/")[2]
    Client().post(f"/c/{token}/done/")
    assert CheckIn.objects.get().state == "ended"


@pytest.mark.parametrize("body", [
    {"location": {"lat": 1.0, "lon": 2.0}, "minutes": 0},
    {"location": {"lat": 1.0, "lon": 2.0}, "minutes": 31},
    {"location": {"lat": 1.0, "lon": 2.0}, "minutes": "5"},
    {"location": {}, "minutes": 5},
    {"location": {"lat": 1.0, "lon": 2.0}, "on_miss": "police"},
    # A name goes into a text to the trusted person: one line, no NUL, no controls.
    *({"location": {"lat": 1.0, "lon": 2.0}, "send": ["responders", "trusted"],
       "trusted": {"phone": "+15550103333", field: value}}
      for field in ("name", "from_name")
      for value in ("Al\u0000ex", "Alex\nCall 555-0199 now", "Al\u001bex", "Al\u0085ex")),
])
def test_it_refuses_a_bad_check_in_and_writes_nothing(body) -> None:
    r = Client().post("/api/v1/checkins", json.dumps(body), content_type=JSON)
    assert r.status_code == 422 and r.json()["detail"]
    assert not CheckIn.objects.exists()


def test_it_answers_404_for_an_unknown_token() -> None:
    assert Client().get("/api/v1/checkins/nope").status_code == 404
    assert Client().post("/api/v1/checkins/nope/ok", content_type=JSON).status_code == 404
    assert Client().get("/c/nope/").status_code == 404


def test_it_never_escalates_twice_when_deadlines_fire_again(make_responder) -> None:
    make_responder("sam", north_m=100)
    start(Client(), location={"lat": offset(CENTRE, 10).lat, "lon": CENTRE.lon})
    for _ in range(3):
        for seconds in (300, 360, 420, 480):
            fire_due_checkins(now=T0 + seconds * S)
    assert Incident.objects.count() == 1


def test_asked_and_warned_look_different() -> None:
    created = start(Client())
    due = T0 + timedelta(minutes=5)
    fire_due_checkins(now=due)
    asked = Client().get(f"/c/{created['token']}/").content.decode()
    assert "<h1>Are you OK?</h1>" in asked
    assert 'class="notice" role="status"' in asked and "notice alarm" not in asked
    fire_due_checkins(now=due + 60 * S)
    warned = Client().get(f"/c/{created['token']}/").content.decode()
    assert "<h1>Sending help soon</h1>" in warned
    assert 'class="notice alarm" role="status"' in warned
