"""A check-in's place typed in words, on the demo map (central Helsinki): looked up
when the check-in starts, so that a missed check sends help to a point."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from spotline.checkins.deadlines import fire_due
from spotline.checkins.models import CheckIn
from spotline.conftest import T0, offset, raw_rows
from spotline.core.geo import Point, distance_m
from spotline.dispatch.models import Incident, LocatedBy, Offer
from spotline.places.tests.conftest import gazetteer  # noqa: F401
from spotline.responders.models import Responder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("gazetteer")]

STOCKMANN = Point(60.167704, 24.942772)


def start_page(where: str) -> CheckIn:
    with time_machine.travel(T0, tick=False):
        r = Client().post("/checkin/", {"where": where, "minutes": "5",
                                        "send": ["responders"]})
    assert r.status_code == 302, r.content[:400]
    return CheckIn.objects.get()


def miss(checkin: CheckIn, settings) -> Incident:
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60
    due = T0 + timedelta(minutes=5)
    for step in (0, 60, 120):
        fire_due(now=due + timedelta(seconds=step))
    checkin.refresh_from_db()
    assert checkin.incident_id is not None
    return Incident.objects.get(pk=checkin.incident_id)


def test_a_place_the_map_knows_sends_help_to_its_point(
        settings, make_responder: Callable[..., Responder]) -> None:
    near = make_responder(at=offset(STOCKMANN, 60))
    checkin = start_page("the back of Stockmann")
    assert "Stockmann" not in " ".join(raw_rows(CheckIn))  # words and point sealed
    incident = miss(checkin, settings)
    assert distance_m(Point(incident.lat, incident.lon), STOCKMANN) <= 150
    assert incident.located_by == LocatedBy.WORDS and incident.location_status == "approximate"
    assert incident.location_description == "the back of Stockmann"
    assert Offer.objects.filter(incident=incident, responder=near).exists()
    checkin.refresh_from_db()
    assert checkin.place_sealed == ""  # forgotten: the incident holds it now


def test_a_place_it_is_not_sure_of_stays_words(settings) -> None:
    incident = miss(start_page("the alepa"), settings)
    assert incident.lat is None and incident.location_description == "the alepa"


def test_the_api_looks_a_place_in_words_up_too() -> None:
    with time_machine.travel(T0, tick=False):
        r = Client().post("/api/v1/checkins", json.dumps(
            {"location": {"description": "behind the stockmann"}, "minutes": 5}),
            content_type="application/json")
    assert r.status_code == 201, r.content
    place = json.loads(CheckIn.objects.get().place_sealed)
    assert place["located_by"] == "words" and place["radius_m"]
    assert distance_m(Point(place["lat"], place["lon"]), STOCKMANN) <= 150
