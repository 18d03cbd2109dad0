"""The area an offer shows before acceptance: a circle that holds the place and says
nothing more about it than which cell it lies in."""

from __future__ import annotations

import math

import h3
from hypothesis import given, settings
from hypothesis import strategies as st

from spotline.core.geo import (
    VICINITY_MIN_RADIUS_M,
    VICINITY_RESOLUTION,
    Point,
    Vicinity,
    distance_m,
    vicinity,
)

HELSINKI = Point(60.1699, 24.9384)

lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
points = st.builds(Point, lat=lats, lon=lons)


def moved(p: Point, north_m: float, east_m: float) -> Point:
    lat = p.lat + north_m / 111_195
    return Point(lat, p.lon + east_m / (111_195 * math.cos(math.radians(lat))))


@settings(max_examples=500)
@given(points)
def test_the_circle_holds_the_place_anywhere_on_earth(p: Point) -> None:
    v = vicinity(p)
    assert distance_m(v.centre, p) <= v.radius_m
    assert v.radius_m >= VICINITY_MIN_RADIUS_M


@given(points, st.integers(min_value=0, max_value=5), st.floats(min_value=0.99, max_value=1.0))
def test_the_circle_holds_the_corners_of_the_cell(p: Point, corner: int,
                                                  reach: float) -> None:
    # The corners are the cell's points farthest from its centre: the hardest case.
    cell = h3.latlng_to_cell(p.lat, p.lon, VICINITY_RESOLUTION)
    boundary = h3.cell_to_boundary(cell)
    lat, lon = boundary[corner % len(boundary)]
    clat, clon = h3.cell_to_latlng(cell)
    near_corner = Point(clat + (lat - clat) * reach, clon + (lon - clon) * reach)
    if abs(lon - clon) > 180:  # the antimeridian: not a straight line in degrees
        return
    v = vicinity(near_corner)
    assert distance_m(v.centre, near_corner) <= v.radius_m


def test_it_shows_a_circle_of_a_few_hundred_metres_around_not_on_the_place() -> None:
    v = vicinity(HELSINKI)
    assert 300 <= v.radius_m <= 800
    assert v.radius_m % 50 == 0
    assert distance_m(v.centre, HELSINKI) > 1  # the cell's centre, not the place


def test_it_shows_the_same_circle_for_every_point_of_a_cell() -> None:
    # Small moves of the place (or many offers for places around it) within its cell give
    # exactly the same circle: there is nothing to average or triangulate.
    home = h3.latlng_to_cell(HELSINKI.lat, HELSINKI.lon, VICINITY_RESOLUTION)
    seen: set[Vicinity] = set()
    same_cell = 0
    for north in range(-60, 61, 20):
        for east in range(-60, 61, 20):
            p = moved(HELSINKI, north, east)
            if h3.latlng_to_cell(p.lat, p.lon, VICINITY_RESOLUTION) == home:
                same_cell += 1
                seen.add(vicinity(p))
    assert same_cell > 30  # the test looked at many points, not one
    assert len(seen) == 1


def test_a_neighbouring_cell_has_its_own_circle() -> None:
    far = moved(HELSINKI, 2000, 0)
    assert vicinity(far).centre != vicinity(HELSINKI).centre
