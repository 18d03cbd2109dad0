"""The dispatcher's side of the API: list, detail, assign, escalate, cancel, roster."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils.dateparse import parse_datetime

from spotline.conftest import CENTRE, T0, Api, api_for, offset
from spotline.dispatch.models import Incident, IncidentEvent, Offer
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db


def ask(public_api, *, seconds: int = 0, **overrides: Any) -> dict[str, Any]:
    body = {"kind": "overdose", "location": {"lat": CENTRE.lat, "lon": CENTRE.lon},
            "breathing": "no", **overrides}
    with time_machine.travel(T0 + timedelta(seconds=seconds), tick=False):
        r = public_api.post("/api/v1/incidents", body)
    assert r.status_code == 201, r.content
    return r.json()


def accept(responder: Responder, incident_id: int) -> None:
    offer = Offer.objects.get(responder=responder, incident_id=incident_id)
    r = api_for(responder).post(f"/api/v1/offers/{offer.pk}/accept")
    assert r.status_code == 200, r.content


# -- list and detail -----------------------------------------------------------------------


def test_it_lists_active_incidents_most_urgent_first(dispatcher_api, public_api):
    p3 = ask(public_api, kind="welfare_check", breathing="unknown")
    p2 = ask(public_api, seconds=1, kind="mental_health", breathing="unknown")
    p1 = ask(public_api, seconds=2)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        r = dispatcher_api.get("/api/v1/incidents?state=active")
    assert r.status_code == 200, r.content
    rows = r.json()
    assert isinstance(rows, list)
    assert [row["id"] for row in rows] == [p1["id"], p2["id"], p3["id"]]
    assert [row["priority"] for row in rows] == ["P1", "P2", "P3"]
    for row in rows:
        assert {"id", "kind", "priority", "status"} <= set(row)
        assert row["priority"] in ("P1", "P2", "P3")
        assert row["status"] == "dispatching"
    assert rows[0]["kind"] == "overdose"


def test_it_defaults_to_active_and_leaves_closed_ones_out(dispatcher_api, public_api):
    open_one = ask(public_api)
    closed = ask(public_api)
    public_api.post(f"/api/v1/track/{closed['tracking_token']}/cancel")
    active = [row["id"] for row in dispatcher_api.get("/api/v1/incidents?state=active").json()]
    default = [row["id"] for row in dispatcher_api.get("/api/v1/incidents").json()]
    closed_rows = dispatcher_api.get("/api/v1/incidents?state=closed").json()
    everything = dispatcher_api.get("/api/v1/incidents?state=all").json()
    assert active == default == [open_one["id"]]
    assert [row["id"] for row in closed_rows] == [closed["id"]]
    assert closed_rows[0]["status"] == "cancelled"
    assert {row["id"] for row in everything} == {open_one["id"], closed["id"]}


def test_it_answers_422_to_an_unknown_state_filter(dispatcher_api):
    r = dispatcher_api.get("/api/v1/incidents?state=arrested")
    assert r.status_code == 422
    assert r.json()["detail"]


def test_it_shows_an_incident_with_its_timeline(dispatcher_api, public_api, make_responder):
    make_responder(north_m=100)
    created = ask(public_api, details="blue pills", location={
        "lat": CENTRE.lat, "lon": CENTRE.lon, "description": "stairwell B"})
    with time_machine.travel(T0 + timedelta(seconds=3), tick=False):
        r = dispatcher_api.get(f"/api/v1/incidents/{created['id']}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["id"] == created["id"]
    assert body["priority"] == "P1"
    assert body["status"] == "dispatching"
    assert body["location"]["lat"] == CENTRE.lat
    assert body["location"]["description"] == "stairwell B"
    assert body["details"] == "blue pills"
    assert body["required_skills"] == ["naloxone"]
    timeline = body["timeline"]
    types = [e["type"] for e in timeline]
    assert types[:3] == ["opened", "dispatch", "offers_made"]
    assert timeline[0]["actor"] == "person"
    assert all(parse_datetime(e["at"]) == T0 for e in timeline)
    assert len(body["offers"]) == 1
    assert body["offers"][0]["status"] == "pending"


def test_it_answers_404_for_an_unknown_incident(dispatcher_api):
    r = dispatcher_api.get("/api/v1/incidents/424242")
    assert r.status_code == 404
    assert r.json()["detail"]


# -- assign --------------------------------------------------------------------------------


def test_it_assigns_a_responder(dispatcher_api, public_api, make_responder):
    kim = make_responder("kim", north_m=100)
    created = ask(public_api)
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/assign",
                                {"responder_id": kim.pk})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["status"] == "assigned"
    assert body["responder_id"] == kim.pk
    assert body["responder"] == "Kim"
    incident = Incident.objects.get(pk=created["id"])
    assert incident.assigned_responder_id == kim.pk
    assert Offer.objects.filter(incident=incident, status="accepted").count() == 1
    assert Offer.objects.filter(incident=incident, status="pending").count() == 0
    event = IncidentEvent.objects.get(incident=incident, type="assign")
    assert event.actor == "dispatcher"


def test_it_assigns_a_responder_who_had_no_offer(dispatcher_api, public_api, make_responder):
    outsider = make_responder(skills=("first_aid",), north_m=100)
    created = ask(public_api)
    assert not Offer.objects.filter(responder=outsider).exists()
    r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/assign",
                            {"responder_id": outsider.pk})
    assert r.status_code == 200, r.content
    assert Incident.objects.get(pk=created["id"]).assigned_responder_id == outsider.pk


def test_it_reassigns(dispatcher_api, public_api, make_responder):
    first = make_responder(north_m=100)
    second = make_responder(north_m=200)
    created = ask(public_api)
    accept(first, created["id"])
    r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/assign",
                            {"responder_id": second.pk})
    assert r.status_code == 200, r.content
    assert r.json()["responder_id"] == second.pk
    incident = Incident.objects.get(pk=created["id"])
    assert incident.assigned_responder_id == second.pk
    accepted = Offer.objects.filter(incident=incident, status="accepted")
    assert list(accepted.values_list("responder_id", flat=True)) == [second.pk]
    event = IncidentEvent.objects.filter(incident=incident, type="assign").last()
    assert event.data["previous_responder_id"] == first.pk
    # The first responder no longer holds it: their reports are refused.
    r = api_for(first).post(f"/api/v1/incidents/{created['id']}/events", {"type": "en_route"})
    assert r.status_code == 404


def test_it_assigns_the_same_responder_twice_harmlessly(dispatcher_api, public_api,
                                                        make_responder):
    kim = make_responder(north_m=100)
    created = ask(public_api)
    path = f"/api/v1/incidents/{created['id']}/assign"
    assert dispatcher_api.post(path, {"responder_id": kim.pk}).status_code == 200
    assert dispatcher_api.post(path, {"responder_id": kim.pk}).status_code == 200
    assert IncidentEvent.objects.filter(incident_id=created["id"], type="assign").count() == 1


def test_it_refuses_to_assign_a_busy_responder(dispatcher_api, public_api, make_responder):
    busy = make_responder(north_m=100)
    first = ask(public_api)
    second = ask(public_api, seconds=1)
    accept(busy, first["id"])
    before = IncidentEvent.objects.count()
    r = dispatcher_api.post(f"/api/v1/incidents/{second['id']}/assign",
                            {"responder_id": busy.pk})
    assert r.status_code == 409, r.content
    assert r.json()["detail"]
    incident = Incident.objects.get(pk=second["id"])
    assert incident.state == "dispatching"
    assert incident.assigned_responder_id is None
    assert IncidentEvent.objects.count() == before


def test_it_answers_404_for_an_unknown_responder(dispatcher_api, public_api):
    created = ask(public_api)
    r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/assign",
                            {"responder_id": 99999})
    assert r.status_code == 404
    assert Incident.objects.get(pk=created["id"]).state == "dispatching"


def test_it_refuses_to_assign_a_closed_incident(dispatcher_api, public_api, make_responder):
    kim = make_responder(north_m=100)
    created = ask(public_api)
    dispatcher_api.post(f"/api/v1/incidents/{created['id']}/cancel")
    r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/assign",
                            {"responder_id": kim.pk})
    assert r.status_code == 409
    assert Incident.objects.get(pk=created["id"]).state == "cancelled"


# -- escalate ------------------------------------------------------------------------------


def escalations(incident_id: int) -> list[IncidentEvent]:
    return list(IncidentEvent.objects.filter(incident_id=incident_id, type="escalated"))


def test_it_escalates_to_more_responders(dispatcher_api, public_api, make_responder):
    for i in range(5):
        make_responder(north_m=100 * (i + 1))
    created = ask(public_api)
    assert Offer.objects.filter(incident_id=created["id"]).count() == 3
    with time_machine.travel(T0 + timedelta(seconds=20), tick=False):
        r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/escalate",
                                {"to": "more_responders"})
    assert r.status_code == 200, r.content
    assert Offer.objects.filter(incident_id=created["id"], status="pending").count() == 5
    [event] = escalations(created["id"])
    assert event.actor == "dispatcher"
    assert event.data["to"] == "more_responders"
    timeline = dispatcher_api.get(f"/api/v1/incidents/{created['id']}").json()["timeline"]
    assert any(e["type"] == "escalated" and e["actor"] == "dispatcher"
               and e["data"]["to"] == "more_responders" for e in timeline)


def test_it_escalates_to_the_crisis_team(dispatcher_api, public_api, make_responder):
    make_responder(north_m=100)
    team = make_responder(skills=("crisis_team",), north_m=2000)
    created = ask(public_api)
    assert not Offer.objects.filter(responder=team).exists()
    r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/escalate",
                            {"to": "crisis_team"})
    assert r.status_code == 200, r.content
    assert Offer.objects.get(responder=team, incident_id=created["id"]).status == "pending"
    [event] = escalations(created["id"])
    assert (event.actor, event.data["to"]) == ("dispatcher", "crisis_team")


def test_it_escalates_to_an_ambulance(dispatcher_api, public_api):
    created = ask(public_api)
    with time_machine.travel(T0 + timedelta(seconds=40), tick=False):
        r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/escalate", {"to": "ems"})
    assert r.status_code == 200, r.content
    assert r.json()["ems_requested"] is True
    incident = Incident.objects.get(pk=created["id"])
    assert incident.ems_requested_at == T0 + timedelta(seconds=40)
    assert incident.ems_requested_by == "dispatcher"
    [event] = escalations(created["id"])
    assert (event.actor, event.data["to"]) == ("dispatcher", "ems")
    timeline = dispatcher_api.get(f"/api/v1/incidents/{created['id']}").json()["timeline"]
    assert [(e["actor"], e["data"].get("to")) for e in timeline
            if e["type"] == "escalated"] == [("dispatcher", "ems")]


def test_it_requests_an_ambulance_once(dispatcher_api, public_api):
    created = ask(public_api)
    for _ in range(2):
        r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/escalate", {"to": "ems"})
        assert r.status_code == 200
    assert len(escalations(created["id"])) == 1


def test_it_requests_an_ambulance_for_a_held_incident(dispatcher_api, public_api,
                                                      make_responder):
    kim = make_responder(north_m=100)
    created = ask(public_api)
    accept(kim, created["id"])
    r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/escalate", {"to": "ems"})
    assert r.status_code == 200, r.content
    assert r.json()["ems_requested"] is True
    assert r.json()["status"] == "assigned"


def test_it_refuses_more_responders_for_a_held_incident(dispatcher_api, public_api,
                                                        make_responder):
    kim = make_responder(north_m=100)
    created = ask(public_api)
    accept(kim, created["id"])
    r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/escalate",
                            {"to": "more_responders"})
    assert r.status_code == 409
    assert escalations(created["id"]) == []


@pytest.mark.parametrize("target", ["police", "POLICE", "law_enforcement", "911", ""])
def test_it_has_no_police_escalation(dispatcher_api, public_api, target):
    created = ask(public_api)
    before = IncidentEvent.objects.count()
    r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/escalate", {"to": target})
    assert r.status_code == 422, r.content
    assert r.json()["detail"]
    assert IncidentEvent.objects.count() == before
    assert Incident.objects.get(pk=created["id"]).ems_requested_at is None


def test_it_refuses_to_escalate_a_closed_incident(dispatcher_api, public_api):
    created = ask(public_api)
    dispatcher_api.post(f"/api/v1/incidents/{created['id']}/cancel")
    r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/escalate", {"to": "ems"})
    assert r.status_code == 409
    assert escalations(created["id"]) == []


# -- cancel --------------------------------------------------------------------------------


def test_it_cancels_an_incident(dispatcher_api, public_api, make_responder):
    kim = make_responder(north_m=100)
    created = ask(public_api)
    with time_machine.travel(T0 + timedelta(seconds=50), tick=False):
        r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/cancel")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled"
    incident = Incident.objects.get(pk=created["id"])
    assert incident.closed_at == T0 + timedelta(seconds=50)
    assert incident.closed_by == "dispatcher"
    assert Offer.objects.get(responder=kim).status == "withdrawn"
    event = IncidentEvent.objects.get(incident=incident, type="cancel")
    assert event.actor == "dispatcher"
    tracked = public_api.get(f"/api/v1/track/{created['tracking_token']}").json()
    assert tracked["status"] == "cancelled"


def test_it_cancels_idempotently(dispatcher_api, public_api):
    created = ask(public_api)
    first = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/cancel")
    second = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/cancel")
    assert first.status_code == second.status_code == 200
    assert IncidentEvent.objects.filter(incident_id=created["id"], type="cancel").count() == 1


def test_it_answers_404_when_cancelling_an_unknown_incident(dispatcher_api):
    r = dispatcher_api.post("/api/v1/incidents/31337/cancel")
    assert r.status_code == 404


# -- roster --------------------------------------------------------------------------------


def test_it_lists_the_responders(dispatcher_api, public_api, make_responder):
    at = offset(CENTRE, 120)
    kim = make_responder("kim", at=at, skills=("naloxone", "first_aid"))
    lee = make_responder("lee", on_shift=False)
    created = ask(public_api)
    accept(kim, created["id"])
    r = dispatcher_api.get("/api/v1/responders")
    assert r.status_code == 200, r.content
    rows = {row["id"]: row for row in r.json()}
    assert set(rows) == {kim.pk, lee.pk}
    assert rows[kim.pk]["alias"] == "Kim"
    assert rows[kim.pk]["on_shift"] is True
    assert sorted(rows[kim.pk]["skills"]) == ["first_aid", "naloxone"]
    assert (rows[kim.pk]["lat"], rows[kim.pk]["lon"]) == (at.lat, at.lon)
    assert rows[kim.pk]["incident_id"] == created["id"]
    assert rows[lee.pk]["on_shift"] is False
    assert rows[lee.pk]["lat"] is None
    assert rows[lee.pk]["incident_id"] is None


# -- who may call --------------------------------------------------------------------------

DISPATCHER_ENDPOINTS = [
    ("get", "/api/v1/incidents?state=active", None),
    ("get", "/api/v1/incidents/{id}", None),
    ("post", "/api/v1/incidents/{id}/assign", "responder"),
    ("post", "/api/v1/incidents/{id}/escalate", {"to": "ems"}),
    ("post", "/api/v1/incidents/{id}/cancel", None),
    ("get", "/api/v1/responders", None),
]


@pytest.mark.parametrize(("method", "path", "body"), DISPATCHER_ENDPOINTS,
                         ids=[f"{m}-{p}" for m, p, _ in DISPATCHER_ENDPOINTS])
def test_it_answers_404_to_a_responder_token(public_api, make_responder, method, path, body):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = api_for(responder)
    before = IncidentEvent.objects.count()
    path = path.format(id=created["id"])
    if body == "responder":
        body = {"responder_id": responder.pk}
    r = api.get(path) if method == "get" else api.post(path, body)
    assert r.status_code == 404, r.content
    assert r.json()["detail"]
    assert IncidentEvent.objects.count() == before
    incident = Incident.objects.get(pk=created["id"])
    assert incident.state == "dispatching"
    assert incident.ems_requested_at is None


@pytest.mark.parametrize(("method", "path", "body"), DISPATCHER_ENDPOINTS,
                         ids=[f"{m}-{p}" for m, p, _ in DISPATCHER_ENDPOINTS])
def test_it_answers_401_to_anonymous_callers(public_api, method, path, body):
    created = ask(public_api)
    path = path.format(id=created["id"])
    body = {"responder_id": 1} if body == "responder" else body
    r = public_api.get(path) if method == "get" else public_api.post(path, body)
    assert r.status_code == 401, r.content
    assert Incident.objects.get(pk=created["id"]).state == "dispatching"


def test_it_lets_a_dispatcher_report_on_behalf_of_the_responder(dispatcher_api, public_api,
                                                                 make_responder):
    kim = make_responder(north_m=100)
    created = ask(public_api)
    accept(kim, created["id"])
    r = dispatcher_api.post(f"/api/v1/incidents/{created['id']}/events", {"type": "on_scene"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "on_scene"
    assert IncidentEvent.objects.get(incident_id=created["id"], type="on_scene").actor == (
        "dispatcher")


# -- OpenAPI -------------------------------------------------------------------------------

FIXED_PATHS = {
    "/api/v1/incidents": {"post", "get"},
    "/api/v1/track/{token}": {"get"},
    "/api/v1/track/{token}/cancel": {"post"},
    "/api/v1/me/shift": {"put"},
    "/api/v1/me/location": {"put"},
    "/api/v1/me/offers": {"get"},
    "/api/v1/offers/{offer_id}/accept": {"post"},
    "/api/v1/offers/{offer_id}/decline": {"post"},
    "/api/v1/incidents/{incident_id}/events": {"post"},
    "/api/v1/incidents/{incident_id}/outcome": {"post"},
    "/api/v1/incidents/{incident_id}": {"get"},
    "/api/v1/incidents/{incident_id}/assign": {"post"},
    "/api/v1/incidents/{incident_id}/escalate": {"post"},
    "/api/v1/incidents/{incident_id}/cancel": {"post"},
    "/api/v1/responders": {"get"},
}


def test_it_serves_the_openapi_schema_with_the_fixed_paths():
    r = Api().get("/api/openapi.json")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/json")
    schema = r.json()
    assert schema["openapi"].startswith("3.")
    for path, methods in FIXED_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_it_offers_no_police_target_in_the_schema():
    schema = Api().get("/api/openapi.json").json()
    components = schema["components"]["schemas"]
    enums = [c["enum"] for c in components.values() if "enum" in c]
    enums += [p["enum"] for c in components.values()
              for p in c.get("properties", {}).values() if "enum" in p]
    assert enums, "the schema should declare its enums"
    for values in enums:
        assert not any("police" in str(v).lower() for v in values), values
    assert not any("police" in path for path in schema["paths"])
