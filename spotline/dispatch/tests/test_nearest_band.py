"""Every way a responder's location is written keeps the search's latitude band right.

The band is a column the database generates from ``lat``; these tests write the
location every way the code does (the API, the responder page, the actions, bulk loads,
a plain ``update()``) and read the stored band back, including south of the equator
and on a band edge, where a truncating cast would be off by one.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from spotline.conftest import CENTRE, T0, api_for, offset
from spotline.core.geo import Point
from spotline.core.nearest import band_of
from spotline.dispatch.actions.shifts import shift_set
from spotline.responders.actions import location_update
from spotline.responders.models import Responder

SOUTH = Point(-33.8688, 151.2093)
ON_AN_EDGE = Point(-12.005, 30.0)  # -12.005 * 200 is -2401.0 (to the last bit)


def stored(responder: Responder) -> tuple[float | None, int | None]:
    lat, band = Responder.objects.filter(pk=responder.pk).values_list("lat", "lat_band").get()
    return lat, band


def assert_band_right(responder: Responder) -> None:
    lat, band = stored(responder)
    if lat is None:
        assert band is None
    else:
        assert band == band_of(lat) == math.floor(lat * 200)


def test_it_sets_the_band_on_shift_and_clears_it_off_shift(make_responder: Any) -> None:
    sam = make_responder("sam", on_shift=False)
    assert stored(sam) == (None, None)
    shift_set(responder=sam, on_shift=True, location=SOUTH, now=T0)
    assert stored(sam)[1] == band_of(SOUTH.lat) < 0
    assert_band_right(sam)
    shift_set(responder=sam, on_shift=False, location=None, now=T0)
    assert stored(sam) == (None, None)


def test_it_follows_a_location_update(make_responder: Any) -> None:
    sam = make_responder("sam")
    before = stored(sam)[1]
    moved = offset(CENTRE, 3_000)
    location_update(responder=sam, location=moved, now=T0)
    assert stored(sam)[1] == band_of(moved.lat) != before
    location_update(responder=sam, location=ON_AN_EDGE, now=T0)
    assert_band_right(sam)
    assert stored(sam)[1] == -2401


def test_it_follows_the_api(make_responder: Any) -> None:
    sam = make_responder("sam", on_shift=False)
    api = api_for(sam)
    r = api.put("/api/v1/me/shift", {"on_shift": True, "lat": SOUTH.lat, "lon": SOUTH.lon})
    assert r.status_code == 200
    assert stored(sam)[1] == band_of(SOUTH.lat)
    there = offset(CENTRE, -2_000)
    r = api.put("/api/v1/me/location", {"lat": there.lat, "lon": there.lon})
    assert r.status_code == 200
    assert stored(sam)[1] == band_of(there.lat)
    r = api.put("/api/v1/me/shift", {"on_shift": False})
    assert r.status_code == 200
    assert stored(sam) == (None, None)


def test_it_follows_the_responder_page(make_responder: Any) -> None:
    sam = make_responder("sam", on_shift=False)
    client = Client()
    client.force_login(sam.user)
    here = offset(CENTRE, 1_250)
    r = client.post("/responder/shift/", {"on_shift": "1", "lat": str(here.lat),
                                          "lon": str(here.lon)})
    assert r.status_code in (200, 302)
    assert stored(sam)[1] == band_of(here.lat)
    r = client.post("/responder/shift/", {"on_shift": "0"})
    assert r.status_code in (200, 302)
    assert stored(sam) == (None, None)


@pytest.mark.django_db
def test_it_follows_bulk_writes_that_know_nothing_of_it() -> None:
    users = User.objects.bulk_create([User(username=f"u{i}", password="!") for i in range(3)])
    points = [SOUTH, ON_AN_EDGE, Point(0.0, 0.0)]
    made = Responder.objects.bulk_create(
        [Responder(user=u, on_shift_since=T0, lat=p.lat, lon=p.lon)
         for u, p in zip(users, points, strict=True)])
    for r in made:
        assert_band_right(r)
    Responder.objects.filter(pk=made[0].pk).update(lat=-0.0001, lon=0.0)
    assert stored(made[0]) == (-0.0001, -1)
    Responder.objects.update(on_shift_since=None, lat=None, lon=None)
    for r in made:
        assert stored(r) == (None, None)
