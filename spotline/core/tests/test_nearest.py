"""Where the nearest-responder search looks, and when its answer is provably exact."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from spotline.core.geo import (
    EARTH_RADIUS_M,
    Mode,
    Point,
    StraightLineEstimator,
    distance_m,
)
from spotline.core.nearest import (
    BANDS_PER_DEGREE,
    FIRST_BUDGET,
    LAST_BUDGET,
    band_of,
    box_around,
    is_exact,
    next_budget,
    search_boxes,
)
from spotline.core.policy import Ranked, Round

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MILWAUKEE = Point(43.0389, -87.9065)

centres = st.builds(
    Point,
    lat=st.floats(min_value=-85, max_value=85),
    lon=st.floats(min_value=-179, max_value=179),
)
radii = st.floats(min_value=0, max_value=50_000)


def offset(p: Point, north_m: float, east_m: float) -> Point:
    return Point(p.lat + north_m / 111_320,
                 p.lon + east_m / (111_320 * math.cos(math.radians(p.lat))))


def test_it_bands_latitudes_by_floor() -> None:
    assert band_of(0.0) == 0
    assert band_of(0.0049) == 0
    assert band_of(0.005) == 1
    assert band_of(-0.0001) == -1  # floor, not truncation toward zero
    assert band_of(43.0389) == math.floor(43.0389 * BANDS_PER_DEGREE)


def test_it_covers_every_band_a_box_can_hold() -> None:
    box = box_around(MILWAUKEE, 2_000)
    assert box is not None
    assert band_of(box.lat_min) == box.bands[0]
    assert band_of(box.lat_max) == box.bands[-1]
    assert len(box.bands) == band_of(box.lat_max) - band_of(box.lat_min) + 1


@given(centres, radii, st.floats(min_value=0, max_value=2 * math.pi),
       st.floats(min_value=0, max_value=1))
def test_it_holds_every_point_within_the_radius(centre: Point, radius: float,
                                                bearing: float, fraction: float) -> None:
    box = box_around(centre, radius)
    assume(box is not None)
    assert box is not None
    # A point at `fraction` of the radius in direction `bearing` (spherical destination).
    d = radius * fraction / EARTH_RADIUS_M
    phi1, lmb1 = math.radians(centre.lat), math.radians(centre.lon)
    phi2 = math.asin(math.sin(phi1) * math.cos(d)
                     + math.cos(phi1) * math.sin(d) * math.cos(bearing))
    lmb2 = lmb1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(phi1),
                             math.cos(d) - math.sin(phi1) * math.sin(phi2))
    lon = (math.degrees(lmb2) + 540) % 360 - 180
    p = Point(max(-90.0, min(90.0, math.degrees(phi2))), lon)
    assert distance_m(centre, p) <= radius * (1 + 1e-9) + 1e-6
    assert box.contains(p)
    assert band_of(p.lat) in box.bands


@given(centres, radii)
def test_it_is_not_much_larger_than_the_circle(centre: Point, radius: float) -> None:
    box = box_around(centre, radius)
    assume(box is not None)
    assert box is not None
    # The corners of the latitude span lie on the meridian through the centre.
    assert distance_m(centre, Point(box.lat_max, centre.lon)) <= radius * 1.001 + 2
    assert distance_m(centre, Point(box.lat_min, centre.lon)) <= radius * 1.001 + 2


def test_it_gives_up_at_the_antimeridian_and_the_poles() -> None:
    assert box_around(Point(10.0, 179.99), 5_000) is None
    assert box_around(Point(10.0, -179.99), 5_000) is None
    assert box_around(Point(89.99, 0.0), 5_000) is None
    assert box_around(Point(-89.99, 0.0), 5_000) is None
    assert box_around(Point(10.0, 179.0), 5_000) is not None


def test_it_refuses_a_negative_radius() -> None:
    with pytest.raises(ValueError):
        box_around(MILWAUKEE, -1)


def test_it_reaches_farther_for_faster_modes() -> None:
    est = StraightLineEstimator()
    boxes = search_boxes(MILWAUKEE, 120, est)
    assert boxes is not None
    widths = {m: boxes[m].lat_max - boxes[m].lat_min for m in Mode}
    assert widths[Mode.WALK] < widths[Mode.BIKE] < widths[Mode.CAR]
    # A car at the reach of 120 s is inside the car box; just beyond it is outside.
    reach = est.reach_m(120, Mode.CAR)
    assert boxes[Mode.CAR].contains(offset(MILWAUKEE, reach * 0.999, 0))
    assert not boxes[Mode.CAR].contains(offset(MILWAUKEE, reach * 1.01, 0))


@given(st.sampled_from(list(Mode)), st.floats(min_value=1, max_value=5_000),
       st.floats(min_value=1.0, max_value=3.0))
def test_it_bounds_eta_by_reach(mode: Mode, seconds: float, detour: float) -> None:
    est = StraightLineEstimator(detour_factor=detour)
    reach = est.reach_m(seconds, mode)
    # Due north, just beyond the reach (along a meridian the haversine is exact).
    origin = Point(MILWAUKEE.lat + math.degrees((reach * 1.0001 + 1) / EARTH_RADIUS_M),
                   MILWAUKEE.lon)
    assert distance_m(origin, MILWAUKEE) > reach
    assert est.eta_seconds(origin, MILWAUKEE, mode) > seconds


def test_it_cannot_bound_without_coordinates_or_a_reach() -> None:
    class RoadsOnly:
        def eta_seconds(self, origin: Point, destination: Point, mode: Mode) -> float:
            return 1.0

    assert search_boxes(None, 60, StraightLineEstimator()) is None
    assert search_boxes(MILWAUKEE, 60, RoadsOnly()) is None
    assert search_boxes(Point(0.0, 179.999), 60, StraightLineEstimator()) is None


def a_round(*etas: float | None) -> Round:
    return Round(offers=tuple(Ranked(i, e, None) for i, e in enumerate(etas)),
                 expires_at=NOW + timedelta(seconds=45), shortfall=None)


def test_it_accepts_k_offers_all_within_the_budget() -> None:
    assert is_exact(a_round(10, 20, 59.9), k=3, seconds=60)


def test_it_rejects_a_kth_offer_at_or_beyond_the_budget() -> None:
    assert not is_exact(a_round(10, 20, 60), k=3, seconds=60)
    assert not is_exact(a_round(10, 20, 61), k=3, seconds=60)


def test_it_rejects_too_few_offers() -> None:
    assert not is_exact(a_round(10, 20), k=3, seconds=60)
    assert not is_exact(a_round(), k=3, seconds=60)


def test_it_rejects_an_offer_without_an_eta() -> None:
    assert not is_exact(a_round(10, 20, None), k=3, seconds=60)


def test_it_widens_at_least_twofold_and_at_most_eightfold() -> None:
    assert next_budget(10, found=0, k=3) == pytest.approx(10 * math.sqrt(24))  # jump
    assert next_budget(10, found=0, k=40) == 80  # but never more than eightfold
    assert next_budget(10, found=6, k=3) == 20  # 24 wanted, 6 found: x2
    assert next_budget(10, found=500, k=3) == 20  # plenty, none qualified: still grows
    assert next_budget(10, found=1, k=3) == pytest.approx(10 * math.sqrt(24))


def test_it_reaches_the_last_budget_in_a_few_steps() -> None:
    seconds, steps = FIRST_BUDGET, 0
    while seconds <= LAST_BUDGET:
        seconds, steps = next_budget(seconds, found=1_000, k=3), steps + 1
    assert steps <= 9
