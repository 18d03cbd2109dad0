"""Distances, travel-time estimates and coarse areas."""

from __future__ import annotations

import math

import h3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotline.core.geo import (
    AREA_RESOLUTION,
    DEFAULT_DETOUR_FACTOR,
    EARTH_RADIUS_M,
    Mode,
    Point,
    StraightLineEstimator,
    area_cell,
    area_centre,
    distance_m,
)

HELSINKI = Point(60.1699, 24.9384)
TALLINN = Point(59.4370, 24.7536)

lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
points = st.builds(Point, lat=lats, lon=lons)
# Around Helsinki, where the ETAs of real responders are computed.
nearby = st.builds(
    Point,
    lat=st.floats(min_value=60.0, max_value=60.3),
    lon=st.floats(min_value=24.6, max_value=25.2),
)


def test_it_measures_helsinki_to_tallinn_as_about_82_km() -> None:
    assert distance_m(HELSINKI, TALLINN) == pytest.approx(82_400, rel=0.01)


def test_it_measures_a_degree_of_latitude_as_about_111_km() -> None:
    assert distance_m(Point(0, 0), Point(1, 0)) == pytest.approx(111_195, rel=0.001)


def test_it_measures_half_the_globe_between_antipodes() -> None:
    assert distance_m(Point(0, 0), Point(0, 180)) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert distance_m(Point(90, 0), Point(-90, 0)) == pytest.approx(math.pi * EARTH_RADIUS_M)


@given(points, points)
def test_it_measures_symmetric_non_negative_bounded_distances(a: Point, b: Point) -> None:
    d = distance_m(a, b)
    assert d == pytest.approx(distance_m(b, a), abs=1e-6)
    assert 0 <= d <= math.pi * EARTH_RADIUS_M + 1e-6
    assert distance_m(a, a) == 0


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(math.nan, 0.0), (0.0, math.nan), (math.inf, 0.0), (0.0, -math.inf),
     (90.0001, 0.0), (-90.5, 0.0), (0.0, 180.0001), (0.0, -181.0), (1e9, 1e9)],
)
def test_it_rejects_impossible_coordinates(lat: float, lon: float) -> None:
    with pytest.raises(ValueError):
        Point(lat, lon)


@pytest.mark.parametrize(("lat", "lon"), [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)])
def test_it_accepts_the_edges_of_the_map(lat: float, lon: float) -> None:
    p = Point(lat, lon)
    assert (p.lat, p.lon) == (lat, lon)


def test_it_estimates_eta_as_distance_times_detour_over_speed() -> None:
    estimator = StraightLineEstimator(
        detour_factor=1.5, speeds_mps={Mode.WALK: 1.0, Mode.BIKE: 5.0, Mode.CAR: 10.0}
    )
    d = distance_m(HELSINKI, TALLINN)
    assert estimator.eta_seconds(HELSINKI, TALLINN, Mode.WALK) == pytest.approx(d * 1.5)
    assert estimator.eta_seconds(HELSINKI, TALLINN, Mode.BIKE) == pytest.approx(d * 1.5 / 5)
    assert estimator.eta_seconds(HELSINKI, TALLINN, Mode.CAR) == pytest.approx(d * 1.5 / 10)


def test_it_uses_the_default_detour_and_modest_urban_speeds() -> None:
    estimator = StraightLineEstimator()
    assert estimator.detour_factor == DEFAULT_DETOUR_FACTOR == 1.4
    one_km_north = Point(HELSINKI.lat + 1000 / 111_195, HELSINKI.lon)
    walk = estimator.eta_seconds(HELSINKI, one_km_north, Mode.WALK)
    # 1 km as the crow flies, 1.4 km walked at about 4.7 km/h: roughly 18 minutes.
    assert walk == pytest.approx(1400 / 1.3, rel=0.01)


@given(nearby, nearby)
def test_it_estimates_a_bike_faster_than_walking_and_a_car_faster_than_a_bike(
    a: Point, b: Point
) -> None:
    estimator = StraightLineEstimator()
    walk = estimator.eta_seconds(a, b, Mode.WALK)
    bike = estimator.eta_seconds(a, b, Mode.BIKE)
    car = estimator.eta_seconds(a, b, Mode.CAR)
    assert car <= bike <= walk
    if distance_m(a, b) > 1:
        assert car < bike < walk


def test_it_ranks_a_bike_two_km_away_before_a_walker_one_km_away() -> None:
    estimator = StraightLineEstimator()
    bike_at = Point(HELSINKI.lat + 2000 / 111_195, HELSINKI.lon)
    walker_at = Point(HELSINKI.lat - 1000 / 111_195, HELSINKI.lon)
    bike = estimator.eta_seconds(bike_at, HELSINKI, Mode.BIKE)
    walk = estimator.eta_seconds(walker_at, HELSINKI, Mode.WALK)
    assert bike < walk


def test_it_does_not_share_speed_tables_between_estimators() -> None:
    a, b = StraightLineEstimator(), StraightLineEstimator()
    a.speeds_mps[Mode.WALK] = 100.0
    assert b.speeds_mps[Mode.WALK] == 1.3


@given(points)
def test_it_puts_every_point_in_a_valid_resolution_7_cell(p: Point) -> None:
    cell = area_cell(p)
    assert isinstance(cell, str)
    assert h3.is_valid_cell(cell)
    assert h3.get_resolution(cell) == AREA_RESOLUTION == 7
    assert area_cell(p) == cell


@given(nearby)
def test_it_keeps_the_cell_stable_and_coarse(p: Point) -> None:
    cell = area_cell(p)
    centre = area_centre(cell)
    assert area_cell(centre) == cell
    # A res-7 cell has an edge of about 1.4 km: the centre is near, never the doorway.
    assert distance_m(p, centre) < 2_000


def test_it_matches_h3_for_a_known_point_and_tells_cities_apart() -> None:
    cell = area_cell(HELSINKI)
    assert cell == area_cell(Point(HELSINKI.lat, HELSINKI.lon))
    assert cell != area_cell(TALLINN)
    assert cell == h3.latlng_to_cell(HELSINKI.lat, HELSINKI.lon, 7)
