"""GET /api/v1/track/{token} and POST .../cancel: what the person who asked sees."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils.dateparse import parse_datetime

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, api_for, offset
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import Incident, IncidentEvent
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db


def ask(public_api, **overrides: Any) -> dict[str, Any]:
    body = {"kind": "overdose", "location": {"lat": CENTRE.lat, "lon": CENTRE.lon},
            "breathing": "no", **overrides}
    r = public_api.post("/api/v1/incidents", body)
    assert r.status_code == 201, r.content
    return r.json()


def accept_first_offer(responder: Responder) -> None:
    api = api_for(responder)
    offers = api.get("/api/v1/me/offers").json()
    assert offers, "the responder got no offer"
    r = api.post(f"/api/v1/offers/{offers[0]['id']}/accept")
    assert r.status_code == 200, r.content


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_anywhere(v)}
    return set()


@pytest.fixture
def sam(db) -> Responder:
    """A responder whose login name, skills and position must never reach the public."""
    user = user_create(name="samuel.okonkwo.77", role=Role.RESPONDER, password=None,
                       skills=("naloxone", "first_aid", "de_escalation"), alias="Sam")
    responder = Responder.objects.get(user=user)
    return shift_set(responder=responder, on_shift=True,
                     location=offset(CENTRE, 431, 217), now=T0)


def test_it_shows_status_eta_and_update_time(public_api, sam):
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
        r = public_api.get(f"/api/v1/track/{created['tracking_token']}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "dispatching"
    assert body["eta_minutes"] is None
    assert parse_datetime(body["updated_at"]) == T0
    assert body["nobody_on_shift"] is False


def test_it_shows_the_eta_once_a_responder_accepted(public_api, sam):
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
    with time_machine.travel(T0 + timedelta(seconds=20), tick=False):
        accept_first_offer(sam)
        body = public_api.get(f"/api/v1/track/{created['tracking_token']}").json()
    assert body["status"] == "assigned"
    assert isinstance(body["eta_minutes"], int) and body["eta_minutes"] >= 1
    assert parse_datetime(body["updated_at"]) == T0 + timedelta(seconds=20)


def test_it_names_the_responder_by_alias_only(public_api, sam):
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
        accept_first_offer(sam)
        r = public_api.get(f"/api/v1/track/{created['tracking_token']}")
    text = r.content.decode()
    body = r.json()
    assert body["responder"] == "Sam"
    assert "samuel" not in text.lower()
    assert "okonkwo" not in text.lower()
    for skill in ("naloxone", "first_aid", "de_escalation"):
        assert skill not in text
    sam.refresh_from_db()
    for coordinate in (sam.lat, sam.lon):
        assert f"{coordinate:.4f}" not in text
        assert json.dumps(coordinate) not in text
    assert not keys_anywhere(body) & {"lat", "lon", "location", "username", "skills",
                                      "responder_id", "mode", "user"}


def test_it_keeps_showing_only_the_alias_on_scene(public_api, sam):
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
        accept_first_offer(sam)
        for step in ("en_route", "on_scene"):
            api_for(sam).post(f"/api/v1/incidents/{created['id']}/events", {"type": step})
        r = public_api.get(f"/api/v1/track/{created['tracking_token']}")
    body = r.json()
    assert body["status"] == "on_scene"
    assert body["responder"] == "Sam"
    assert "samuel" not in r.content.decode().lower()


def test_it_says_nobody_is_on_shift(public_api):
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
        body = public_api.get(f"/api/v1/track/{created['tracking_token']}").json()
    assert body["nobody_on_shift"] is True
    assert body["status"] == "dispatching"
    assert body["eta_minutes"] is None


def test_it_does_not_say_nobody_when_someone_is_on_shift(public_api, make_responder):
    make_responder(on_shift=False)
    make_responder(north_m=300)
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
        body = public_api.get(f"/api/v1/track/{created['tracking_token']}").json()
    assert body["nobody_on_shift"] is False


@pytest.mark.parametrize("token", ["nope", "x" * 24, "A" * 200])
def test_it_answers_404_for_an_unknown_token(public_api, token):
    r = public_api.get(f"/api/v1/track/{token}")
    assert r.status_code == 404
    assert r.json()["detail"]


def test_it_answers_404_for_a_token_that_is_a_digest(public_api):
    created = ask(public_api)
    digest = Incident.objects.get(pk=created["id"]).tracking_digest
    assert public_api.get(f"/api/v1/track/{digest}").status_code == 404


# -- cancel --------------------------------------------------------------------------------


def test_it_cancels_when_they_are_ok_now(public_api, sam):
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
        r = public_api.post(f"/api/v1/track/{created['tracking_token']}/cancel")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "cancelled"
    assert body["closed"] is True
    incident = Incident.objects.get(pk=created["id"])
    assert incident.state == "cancelled"
    assert incident.closed_by == "person"
    assert incident.offers.filter(status="pending").count() == 0
    assert public_api.get(f"/api/v1/track/{created['tracking_token']}").json()["status"] == (
        "cancelled")


def test_it_cancels_idempotently(public_api):
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
        first = public_api.post(f"/api/v1/track/{created['tracking_token']}/cancel")
        events = IncidentEvent.objects.count()
        second = public_api.post(f"/api/v1/track/{created['tracking_token']}/cancel")
    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "cancelled"
    assert IncidentEvent.objects.count() == events
    assert IncidentEvent.objects.filter(incident_id=created["id"], type="cancel").count() == 1


def test_it_cancels_an_assigned_request(public_api, sam):
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
        accept_first_offer(sam)
        r = public_api.post(f"/api/v1/track/{created['tracking_token']}/cancel")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled"


def test_it_refuses_to_cancel_once_a_responder_is_on_scene(public_api, sam):
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
        accept_first_offer(sam)
        r = api_for(sam).post(f"/api/v1/incidents/{created['id']}/events", {"type": "on_scene"})
        assert r.status_code == 200, r.content
        r = public_api.post(f"/api/v1/track/{created['tracking_token']}/cancel")
    assert r.status_code == 409, r.content
    assert r.json()["detail"]
    incident = Incident.objects.get(pk=created["id"])
    assert incident.state == "on_scene"
    assert incident.closed_at is None


def test_it_refuses_to_cancel_a_resolved_request(public_api, sam):
    with time_machine.travel(T0, tick=False):
        created = ask(public_api)
        accept_first_offer(sam)
        for step in ("on_scene", "resolved"):
            api_for(sam).post(f"/api/v1/incidents/{created['id']}/events", {"type": step})
        r = public_api.post(f"/api/v1/track/{created['tracking_token']}/cancel")
    assert r.status_code == 409
    assert Incident.objects.get(pk=created["id"]).state == "resolved"


def test_it_answers_404_when_cancelling_an_unknown_token(public_api):
    r = public_api.post("/api/v1/track/unknown-token/cancel")
    assert r.status_code == 404
    assert r.json()["detail"]
