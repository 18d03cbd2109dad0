"""The responder's side of the API: shift, location, offers, accept, reports, outcome."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import h3
import pytest
import time_machine
from django.test import Client
from django.utils.dateparse import parse_datetime

from spotline.accounts.actions import token_create, user_create
from spotline.accounts.models import ApiToken, Role
from spotline.api.shapes import offer_out
from spotline.conftest import CENTRE, T0, Api, api_for, offset
from spotline.core.geo import VICINITY_RESOLUTION, Mode, Point, distance_m
from spotline.dispatch.models import Incident, IncidentEvent, Offer, Outcome
from spotline.notify.models import Message
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

PLACE = offset(CENTRE, 57, -83)
SECRET_PLACE = "back door of the laundrette, ring twice"
SECRET_DETAILS = "my friend Jonas took something blue"


def ask(public_api, **overrides: Any) -> dict[str, Any]:
    body = {"kind": "overdose",
            "location": {"lat": PLACE.lat, "lon": PLACE.lon, "accuracy_m": 12,
                         "description": SECRET_PLACE},
            "details": SECRET_DETAILS, "breathing": "no", **overrides}
    with time_machine.travel(T0, tick=False):
        r = public_api.post("/api/v1/incidents", body)
    assert r.status_code == 201, r.content
    return r.json()


def area_cell_8(p: Point) -> str:
    return str(h3.latlng_to_cell(p.lat, p.lon, VICINITY_RESOLUTION))


def offer_of(responder: Responder, incident_id: int) -> Offer:
    return Offer.objects.get(responder=responder, incident_id=incident_id)


def responder_page(responder: Responder) -> str:
    client = Client()
    client.force_login(responder.user)
    r = client.get("/responder/")
    assert r.status_code == 200
    return r.content.decode()


def accepted(responder: Responder, incident_id: int) -> Api:
    api = api_for(responder)
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False):
        r = api.post(f"/api/v1/offers/{offer_of(responder, incident_id).pk}/accept")
    assert r.status_code == 200, r.content
    return api


# -- shift and location --------------------------------------------------------------------


def test_it_puts_a_responder_on_shift_with_a_location(make_responder):
    responder = make_responder(on_shift=False)
    with time_machine.travel(T0, tick=False):
        r = api_for(responder).put("/api/v1/me/shift",
                                   {"on_shift": True, "lat": CENTRE.lat, "lon": CENTRE.lon})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["on_shift"] is True
    assert body["location_shared"] is True
    assert parse_datetime(body["on_shift_since"]) == T0
    responder.refresh_from_db()
    assert (responder.lat, responder.lon) == (CENTRE.lat, CENTRE.lon)
    assert responder.on_shift_since == T0


def test_it_takes_a_responder_off_shift_and_forgets_the_location(make_responder):
    responder = make_responder(north_m=100)
    assert responder.lat is not None
    r = api_for(responder).put("/api/v1/me/shift", {"on_shift": False})
    assert r.status_code == 200, r.content
    assert r.json()["on_shift"] is False
    assert r.json()["location_shared"] is False
    responder.refresh_from_db()
    assert responder.lat is None and responder.lon is None
    assert responder.located_at is None
    assert responder.on_shift_since is None


def test_it_forgets_the_location_even_when_off_shift_sends_one(make_responder):
    responder = make_responder(north_m=100)
    r = api_for(responder).put("/api/v1/me/shift",
                               {"on_shift": False, "lat": CENTRE.lat, "lon": CENTRE.lon})
    assert r.status_code == 200, r.content
    responder.refresh_from_db()
    assert responder.lat is None and responder.lon is None


def test_it_gives_back_pending_offers_when_going_off_shift(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    assert offer_of(responder, created["id"]).status == "pending"
    r = api_for(responder).put("/api/v1/me/shift", {"on_shift": False})
    assert r.status_code == 200, r.content
    assert offer_of(responder, created["id"]).status == "withdrawn"
    assert api_for(responder).get("/api/v1/me/offers").json() == []


def test_it_refuses_to_go_off_shift_while_holding_an_incident(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    r = api.put("/api/v1/me/shift", {"on_shift": False})
    assert r.status_code == 409, r.content
    responder.refresh_from_db()
    assert responder.on_shift_since is not None


def test_it_updates_the_location_on_shift(make_responder):
    responder = make_responder(north_m=100)
    there = offset(CENTRE, -250, 40)
    r = api_for(responder).put("/api/v1/me/location", {"lat": there.lat, "lon": there.lon})
    assert r.status_code == 200, r.content
    responder.refresh_from_db()
    assert (responder.lat, responder.lon) == (there.lat, there.lon)


def test_it_refuses_a_location_off_shift(make_responder):
    responder = make_responder(on_shift=False)
    r = api_for(responder).put("/api/v1/me/location", {"lat": CENTRE.lat, "lon": CENTRE.lon})
    assert r.status_code == 409, r.content
    assert r.json()["detail"]
    responder.refresh_from_db()
    assert responder.lat is None and responder.lon is None


def test_it_shows_me(make_responder):
    responder = make_responder("kim", skills=("naloxone", "first_aid"))
    r = api_for(responder).get("/api/v1/me")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["alias"] == "Kim"
    assert sorted(body["skills"]) == ["first_aid", "naloxone"]
    assert body["on_shift"] is True


# -- offers --------------------------------------------------------------------------------


def test_it_lists_offers_with_a_coarse_area_only(make_responder, public_api):
    responder = make_responder(north_m=300)
    created = ask(public_api)
    with time_machine.travel(T0, tick=False):
        r = api_for(responder).get("/api/v1/me/offers")
    assert r.status_code == 200, r.content
    offers = r.json()
    assert len(offers) == 1
    offer = offers[0]
    assert {"id", "incident_id", "kind", "priority", "distance_m", "eta_minutes", "area",
            "expires_at"} <= set(offer)
    assert offer["incident_id"] == created["id"]
    assert offer["kind"] == "overdose"
    assert offer["priority"] == "P1"
    assert isinstance(offer["distance_m"], int) and 100 < offer["distance_m"] < 1000
    assert isinstance(offer["eta_minutes"], int) and offer["eta_minutes"] >= 1
    assert offer["area"]
    assert parse_datetime(offer["expires_at"]) == T0 + timedelta(seconds=45)
    assert not set(offer) & {"lat", "lon", "location", "description", "details",
                             "callback_phone"}
    text = r.content.decode()
    assert SECRET_PLACE not in text
    assert SECRET_DETAILS not in text
    assert json.dumps(PLACE.lat) not in text and json.dumps(PLACE.lon) not in text
    assert f"{PLACE.lat:.4f}" not in text


def test_a_pending_offer_has_an_area_circle_that_holds_the_place_but_not_the_place(
        make_responder, public_api):
    responder = make_responder(north_m=300)
    ask(public_api, conscious="yes")
    r = api_for(responder).get("/api/v1/me/offers")
    [offer] = r.json()
    circle = offer["area_circle"]
    assert set(circle) == {"lat", "lon", "radius_m"}
    centre = Point(circle["lat"], circle["lon"])
    assert circle["radius_m"] >= 300
    assert distance_m(centre, PLACE) <= circle["radius_m"]
    assert distance_m(centre, PLACE) > 5  # around the place's cell, not on the place
    assert (offer["breathing"], offer["conscious"], offer["danger"]) == ("no", "yes",
                                                                         "unknown")
    text = r.content.decode()
    for exact in (json.dumps(PLACE.lat), json.dumps(PLACE.lon), f"{PLACE.lat:.4f}",
                  f"{PLACE.lon:.4f}"):
        assert exact not in text


def test_a_place_moved_within_its_cell_shows_the_same_circle(make_responder, public_api):
    responder = make_responder(north_m=300)
    first = ask(public_api)
    nearby = offset(PLACE, 15, 10)
    assert area_cell_8(nearby) == area_cell_8(PLACE)
    second = ask(public_api, location={"lat": nearby.lat, "lon": nearby.lon})
    circles = {o["incident_id"]: o["area_circle"]
               for o in api_for(responder).get("/api/v1/me/offers").json()}
    assert circles[first["id"]] == circles[second["id"]]


@pytest.mark.parametrize(("north_m", "shown"), [(12, 100), (40, 100), (149, 100),
                                                (260, 300), (1234, 1200)])
def test_an_offer_shows_the_distance_to_100_m_until_accepted(make_responder, public_api,
                                                             north_m, shown):
    # On a bike: 1.2 km on foot would be beyond the P1 cap (20 min).
    responder = make_responder(north_m=north_m, mode=Mode.BIKE)
    created = ask(public_api, location={"lat": CENTRE.lat, "lon": CENTRE.lon})
    offer = offer_of(responder, created["id"])
    exact = offer.distance_m
    assert exact is not None and abs(exact - north_m) < 5  # offset() is flat-earth
    [listed] = api_for(responder).get("/api/v1/me/offers").json()
    assert listed["distance_m"] == shown
    page = responder_page(responder)
    assert f"about {shown} m away" in page
    assert round(exact) == shown or f"{round(exact)} m away" not in page
    accepted(responder, created["id"])
    offer.refresh_from_db()
    assert offer_out(offer)["distance_m"] == round(exact)


def test_it_lists_only_my_own_offers(make_responder, public_api):
    near = make_responder(north_m=100)
    other = make_responder(north_m=200)
    created = ask(public_api)
    mine = api_for(near).get("/api/v1/me/offers").json()
    theirs = api_for(other).get("/api/v1/me/offers").json()
    assert [o["id"] for o in mine] == [offer_of(near, created["id"]).pk]
    assert [o["id"] for o in theirs] == [offer_of(other, created["id"]).pk]


def test_it_lists_no_offers_that_are_no_longer_pending(make_responder, public_api):
    first = make_responder(north_m=100)
    second = make_responder(north_m=200)
    created = ask(public_api)
    accepted(first, created["id"])
    assert api_for(second).get("/api/v1/me/offers").json() == []
    assert api_for(first).get("/api/v1/me/offers").json() == []


def test_it_gives_the_exact_location_on_accept(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    offer = offer_of(responder, created["id"])
    with time_machine.travel(T0 + timedelta(seconds=5), tick=False):
        r = api_for(responder).post(f"/api/v1/offers/{offer.pk}/accept")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["incident_id"] == created["id"]
    assert body["status"] == "assigned"
    assert body["location"]["lat"] == PLACE.lat
    assert body["location"]["lon"] == PLACE.lon
    assert body["location"]["description"] == SECRET_PLACE
    assert body["details"] == SECRET_DETAILS
    incident = Incident.objects.get(pk=created["id"])
    assert incident.assigned_responder_id == responder.pk
    assert incident.state == "assigned"


def test_it_answers_409_to_the_second_responder(make_responder, public_api):
    first = make_responder(north_m=100)
    second = make_responder(north_m=200)
    created = ask(public_api)
    accepted(first, created["id"])
    with time_machine.travel(T0 + timedelta(seconds=12), tick=False):
        r = api_for(second).post(f"/api/v1/offers/{offer_of(second, created['id']).pk}/accept")
    assert r.status_code == 409, r.content
    assert r.json()["detail"]
    assert "location" not in r.json()
    assert PLACE.lat not in json.loads(r.content).values()
    incident = Incident.objects.get(pk=created["id"])
    assert incident.assigned_responder_id == first.pk
    assert Offer.objects.filter(incident_id=created["id"], status="accepted").count() == 1


def test_it_accepts_a_double_tap_once(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = api_for(responder)
    offer = offer_of(responder, created["id"])
    with time_machine.travel(T0 + timedelta(seconds=5), tick=False):
        first = api.post(f"/api/v1/offers/{offer.pk}/accept")
        second = api.post(f"/api/v1/offers/{offer.pk}/accept")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert Offer.objects.filter(incident_id=created["id"], status="accepted").count() == 1
    assert IncidentEvent.objects.filter(incident_id=created["id"], type="accept").count() == 1


def test_it_answers_404_for_another_responders_offer(make_responder, public_api):
    owner = make_responder(north_m=100)
    other = make_responder(north_m=5000, skills=("first_aid",))
    created = ask(public_api)
    offer = offer_of(owner, created["id"])
    r = api_for(other).post(f"/api/v1/offers/{offer.pk}/accept")
    assert r.status_code == 404, r.content
    r = api_for(other).post(f"/api/v1/offers/{offer.pk}/decline")
    assert r.status_code == 404, r.content
    offer.refresh_from_db()
    assert offer.status == "pending"
    assert Incident.objects.get(pk=created["id"]).state == "dispatching"


def test_it_answers_404_for_an_offer_that_does_not_exist(make_responder):
    responder = make_responder()
    r = api_for(responder).post("/api/v1/offers/987654/accept")
    assert r.status_code == 404
    assert r.json()["detail"]


def test_it_declines(make_responder, public_api):
    responder = make_responder(north_m=100)
    make_responder(north_m=200)
    created = ask(public_api)
    offer = offer_of(responder, created["id"])
    with time_machine.travel(T0 + timedelta(seconds=5), tick=False):
        r = api_for(responder).post(f"/api/v1/offers/{offer.pk}/decline")
    assert r.status_code == 200, r.content
    assert r.json() == {"offer_id": offer.pk, "status": "declined"}
    offer.refresh_from_db()
    assert offer.status == "declined"
    assert api_for(responder).get("/api/v1/me/offers").json() == []
    assert IncidentEvent.objects.filter(incident_id=created["id"],
                                        type="offer_declined").count() == 1


def test_it_declines_idempotently_and_refuses_a_later_accept(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    offer = offer_of(responder, created["id"])
    api = api_for(responder)
    assert api.post(f"/api/v1/offers/{offer.pk}/decline").status_code == 200
    assert api.post(f"/api/v1/offers/{offer.pk}/decline").status_code == 200
    assert IncidentEvent.objects.filter(incident_id=created["id"],
                                        type="offer_declined").count() == 1
    r = api.post(f"/api/v1/offers/{offer.pk}/accept")
    assert r.status_code == 409
    assert Incident.objects.get(pk=created["id"]).assigned_responder_id is None


def test_it_refuses_to_decline_an_accepted_offer(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    r = api.post(f"/api/v1/offers/{offer_of(responder, created['id']).pk}/decline")
    assert r.status_code == 409
    assert Incident.objects.get(pk=created["id"]).assigned_responder_id == responder.pk


def test_it_answers_409_to_an_accept_after_the_person_cancelled(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    public_api.post(f"/api/v1/track/{created['tracking_token']}/cancel")
    r = api_for(responder).post(f"/api/v1/offers/{offer_of(responder, created['id']).pk}/accept")
    assert r.status_code == 409, r.content
    incident = Incident.objects.get(pk=created["id"])
    assert incident.state == "cancelled"
    assert incident.assigned_responder_id is None


def test_it_leaves_a_withdrawn_offer_withdrawn_on_a_late_decline(make_responder, public_api):
    # The second responder's app still shows the offer after the first accepted; their
    # "decline" must not rewrite what became of the offer (it feeds the reports).
    first = make_responder(north_m=100)
    second = make_responder(north_m=200)
    created = ask(public_api)
    accepted(first, created["id"])
    offer = offer_of(second, created["id"])
    assert offer.status == "withdrawn"
    events = IncidentEvent.objects.count()
    r = api_for(second).post(f"/api/v1/offers/{offer.pk}/decline")
    assert r.status_code in (200, 409), r.content
    offer.refresh_from_db()
    assert offer.status == "withdrawn"
    assert IncidentEvent.objects.count() == events


# -- reports and outcome -------------------------------------------------------------------


def report(api: Api, incident_id: int, type: str, seconds: int = 60) -> Any:
    with time_machine.travel(T0 + timedelta(seconds=seconds), tick=False):
        return api.post(f"/api/v1/incidents/{incident_id}/events", {"type": type})


def test_it_walks_en_route_on_scene_need_backup_resolved(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    for i, (step, state) in enumerate([("en_route", "en_route"), ("on_scene", "on_scene"),
                                       ("need_backup", "on_scene"), ("resolved", "resolved")]):
        r = report(api, created["id"], step, seconds=60 + i)
        assert r.status_code == 200, (step, r.content)
        assert r.json() == {"incident_id": created["id"], "status": state}
    incident = Incident.objects.get(pk=created["id"])
    assert incident.state == "resolved"
    assert incident.backup_requested_at is not None
    assert incident.closed_at is not None
    types = list(IncidentEvent.objects.filter(incident_id=created["id"])
                 .values_list("type", flat=True))
    assert {"en_route", "on_scene", "need_backup", "resolve"} <= set(types)


def test_it_repeats_a_report_harmlessly(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    assert report(api, created["id"], "en_route").status_code == 200
    assert report(api, created["id"], "en_route").status_code == 200
    assert IncidentEvent.objects.filter(incident_id=created["id"], type="en_route").count() == 1


def test_it_closes_as_unable_to_locate(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    r = report(api, created["id"], "unable_to_locate")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "unable_to_locate"
    incident = Incident.objects.get(pk=created["id"])
    assert incident.closed_at is not None
    assert incident.unserved_reason == "unable_to_locate"


def test_it_releases_an_incident_back_to_dispatching(make_responder, public_api):
    responder = make_responder(north_m=100)
    make_responder(north_m=200)
    make_responder(north_m=300)
    fourth = make_responder(north_m=900)  # beyond the first round of K=3
    created = ask(public_api)
    assert not Offer.objects.filter(responder=fourth).exists()
    api = accepted(responder, created["id"])
    r = report(api, created["id"], "release")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "dispatching"
    incident = Incident.objects.get(pk=created["id"])
    assert incident.assigned_responder_id is None
    assert offer_of(responder, created["id"]).status == "released"
    # Looked again: the next responder now has a pending offer for it, and so do the
    # two whose first offers were withdrawn before they could answer.
    assert offer_of(fourth, created["id"]).status == "pending"
    assert Offer.objects.filter(incident_id=created["id"], status="pending").count() == 3


def test_it_refuses_a_release_on_scene_and_keeps_the_responder(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    assert report(api, created["id"], "on_scene").status_code == 200
    events = IncidentEvent.objects.count()
    r = report(api, created["id"], "release", seconds=90)
    assert r.status_code == 409, r.content
    incident = Incident.objects.get(pk=created["id"])
    assert incident.state == "on_scene"
    assert incident.assigned_responder_id == responder.pk
    assert incident.attention != "released"
    assert offer_of(responder, created["id"]).status == "accepted"
    assert IncidentEvent.objects.count() == events


def test_it_refuses_an_illegal_report_with_409(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    r = report(api, created["id"], "resolved")
    assert r.status_code == 409, r.content
    assert Incident.objects.get(pk=created["id"]).state == "assigned"


def test_it_answers_404_for_reports_on_an_incident_not_held(make_responder, public_api):
    holder = make_responder(north_m=100)
    bystander = make_responder(north_m=200)
    created = ask(public_api)
    accepted(holder, created["id"])
    before = IncidentEvent.objects.count()
    for type in ("en_route", "on_scene", "need_backup", "resolved", "release",
                 "unable_to_locate"):
        r = report(api_for(bystander), created["id"], type)
        assert r.status_code == 404, (type, r.content)
    r = api_for(bystander).post(f"/api/v1/incidents/{created['id']}/outcome", {
        "naloxone_doses": 1, "responsive_after": "yes", "ems": "not_needed"})
    assert r.status_code == 404
    assert IncidentEvent.objects.count() == before
    assert Incident.objects.get(pk=created["id"]).state == "assigned"


def test_it_answers_404_for_reports_on_an_incident_only_offered(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    r = report(api_for(responder), created["id"], "on_scene")
    assert r.status_code == 404
    assert Incident.objects.get(pk=created["id"]).state == "dispatching"


def test_it_answers_422_for_an_unknown_report_type(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    r = report(api, created["id"], "arrested")
    assert r.status_code == 422
    assert r.json()["detail"]


def test_it_records_the_outcome(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    report(api, created["id"], "on_scene")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        r = api.post(f"/api/v1/incidents/{created['id']}/outcome", {
            "naloxone_doses": 2, "responsive_after": "yes", "ems": "declined",
            "referrals": ["detox", "housing", "detox"], "notes": "drank water"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["naloxone_doses"] == 2
    assert body["ems"] == "declined"
    assert body["referrals"] == ["detox", "housing"]
    assert parse_datetime(body["recorded_at"]) == T0 + timedelta(minutes=5)
    outcome = Outcome.objects.get(incident_id=created["id"])
    assert outcome.naloxone_doses == 2
    assert outcome.responsive_after == "yes"
    assert outcome.notes == "drank water"


def test_it_corrects_the_outcome_without_a_second_row(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    report(api, created["id"], "on_scene")
    for doses in (1, 3):
        r = api.post(f"/api/v1/incidents/{created['id']}/outcome", {
            "naloxone_doses": doses, "responsive_after": "yes", "ems": "not_needed"})
        assert r.status_code == 200, r.content
    assert Outcome.objects.filter(incident_id=created["id"]).count() == 1
    assert Outcome.objects.get(incident_id=created["id"]).naloxone_doses == 3


def test_a_correction_keeps_the_referrals_and_notes_it_leaves_out(make_responder,
                                                                    public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    report(api, created["id"], "on_scene")
    path = f"/api/v1/incidents/{created['id']}/outcome"
    api.post(path, {"naloxone_doses": 2, "responsive_after": "yes", "ems": "not_needed",
                    "referrals": ["housing"], "notes": "drank water"})
    r = api.post(path, {"naloxone_doses": 3, "responsive_after": "yes", "ems": "not_needed"})
    assert r.status_code == 200, r.content
    assert r.json()["referrals"] == ["housing"]
    outcome = Outcome.objects.get(incident_id=created["id"])
    assert (outcome.naloxone_doses, outcome.referrals, outcome.notes) == (
        3, ["housing"], "drank water")
    # Clearing them is said out loud.
    api.post(path, {"naloxone_doses": 3, "responsive_after": "yes", "ems": "not_needed",
                    "referrals": [], "notes": ""})
    outcome.refresh_from_db()
    assert (outcome.referrals, outcome.notes) == ([], "")


def test_it_refuses_an_outcome_before_on_scene(make_responder, public_api):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    r = api.post(f"/api/v1/incidents/{created['id']}/outcome", {
        "naloxone_doses": 0, "responsive_after": "unknown", "ems": "not_needed"})
    assert r.status_code == 409
    assert not Outcome.objects.exists()


@pytest.mark.parametrize("body", [
    {"naloxone_doses": -1, "responsive_after": "yes", "ems": "not_needed"},
    {"naloxone_doses": "2", "responsive_after": "yes", "ems": "not_needed"},
    {"naloxone_doses": 1, "responsive_after": "yes", "ems": "police"},
    {"naloxone_doses": 1, "responsive_after": "maybe", "ems": "not_needed"},
    {"responsive_after": "yes", "ems": "not_needed"},
], ids=["negative-doses", "string-doses", "ems-police", "bad-answer", "missing-doses"])
def test_it_refuses_a_bad_outcome_with_422(make_responder, public_api, body):
    responder = make_responder(north_m=100)
    created = ask(public_api)
    api = accepted(responder, created["id"])
    report(api, created["id"], "on_scene")
    r = api.post(f"/api/v1/incidents/{created['id']}/outcome", body)
    assert r.status_code == 422, r.content
    assert r.json()["detail"]
    assert not Outcome.objects.exists()


# -- authentication ------------------------------------------------------------------------

ME_ENDPOINTS = [
    ("get", "/api/v1/me", None),
    ("put", "/api/v1/me/shift", {"on_shift": True}),
    ("put", "/api/v1/me/location", {"lat": 60.0, "lon": 24.0}),
    ("get", "/api/v1/me/offers", None),
    ("post", "/api/v1/offers/1/accept", None),
    ("post", "/api/v1/offers/1/decline", None),
    ("post", "/api/v1/incidents/1/events", {"type": "en_route"}),
    ("post", "/api/v1/incidents/1/outcome",
     {"naloxone_doses": 0, "responsive_after": "yes", "ems": "not_needed"}),
]
ME_IDS = [f"{m}-{p}" for m, p, _ in ME_ENDPOINTS]


def call(api: Api, method: str, path: str, body: Any) -> Any:
    if method == "get":
        return api.get(path)
    return getattr(api, method)(path, body)


@pytest.mark.parametrize(("method", "path", "body"), ME_ENDPOINTS, ids=ME_IDS)
def test_it_answers_401_without_credentials(public_api, method, path, body):
    r = call(public_api, method, path, body)
    assert r.status_code == 401, r.content
    assert r.json()["detail"]
    assert r["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body"), ME_ENDPOINTS, ids=ME_IDS)
@pytest.mark.parametrize("token", [None, "not-a-real-token"], ids=["anonymous", "bad-token"])
def test_it_answers_401_to_a_real_client_without_valid_credentials(make_responder, method,
                                                                   path, body, token):
    # Django's test client skips CSRF checks; a real client (no session cookie, no or a
    # revoked token) must still get 401 and "sign in", not a 403 about CSRF.
    make_responder()
    api = Api(token)
    api.client = Client(enforce_csrf_checks=True)
    r = call(api, method, path, body)
    assert r.status_code == 401, r.content
    assert r.json()["detail"]


@pytest.mark.parametrize(("method", "path", "body"), ME_ENDPOINTS, ids=ME_IDS)
def test_it_answers_401_to_a_bad_token(make_responder, method, path, body):
    make_responder()
    r = call(Api("not-a-real-token"), method, path, body)
    assert r.status_code == 401, r.content
    assert r.json()["detail"]


def test_it_answers_401_to_a_revoked_token(make_responder):

    responder = make_responder()
    api = api_for(responder)
    assert api.get("/api/v1/me").status_code == 200
    ApiToken.objects.update(revoked_at=T0)
    assert api.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "/api/v1/me", None),
    ("put", "/api/v1/me/shift", {"on_shift": True}),
    ("put", "/api/v1/me/location", {"lat": 60.0, "lon": 24.0}),
    ("get", "/api/v1/me/offers", None),
    ("post", "/api/v1/offers/1/accept", None),
    ("post", "/api/v1/offers/1/decline", None),
], ids=lambda v: v if isinstance(v, str) else "")
def test_it_answers_404_to_a_dispatcher_on_me(dispatcher_api, method, path, body):
    r = call(dispatcher_api, method, path, body)
    assert r.status_code == 404, r.content
    assert r.json()["detail"]


def test_it_answers_404_to_a_coordinator_on_me(db):
    user_create(name="coord", role=Role.COORDINATOR, password=None)
    api = Api(token_create(name="coord", now=T0))
    r = api.put("/api/v1/me/shift", {"on_shift": True})
    assert r.status_code == 404
    assert not Responder.objects.exists()


def test_it_lets_a_responder_choose_the_order_offers_reach_them(make_responder, public_api):
    responder = make_responder(north_m=100)
    api = api_for(responder)
    assert api.get("/api/v1/me").json()["channels"] == ["push", "sms", "voice"]
    r = api.put("/api/v1/me/channels", {"channels": ["sms", "voice", "sms"]})
    assert r.status_code == 200, r.content
    assert r.json()["channels"] == ["sms", "voice"]  # duplicates dropped, order kept
    ask(public_api)

    assert Message.objects.get(purpose="offer", responder=responder).channels == ["sms", "voice"]
    for bad in ({"channels": []}, {"channels": ["pigeon"]}, {"channels": "sms"}):
        assert api.put("/api/v1/me/channels", bad).status_code == 422
