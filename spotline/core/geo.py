"""Distances, travel-time estimates and coarse areas.

Ranking uses estimated travel time, not distance, because a responder on a bike two
kilometres away beats one on foot at one kilometre. ``TravelTimeEstimator`` is the
seam where a road-network estimator (OSM routing) plugs in later; the default is a
straight line times a detour factor, divided by the speed of the responder's mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

import h3

EARTH_RADIUS_M = 6_371_008.8

# Resolution 7 cells are about 5 km²: coarse enough that an area never points at a
# doorway, fine enough for reports and for a responder to judge "is it near me".
AREA_RESOLUTION = 7


class Mode(StrEnum):
    WALK = "walk"
    BIKE = "bike"
    CAR = "car"


# Door-to-door urban speeds in metres per second (walk 4.7 km/h, bike 15 km/h, car
# 30 km/h including parking): deliberately modest so that ETAs shown to a person in
# need are not promises we cannot keep.
DEFAULT_SPEEDS_MPS: dict[Mode, float] = {Mode.WALK: 1.3, Mode.BIKE: 4.2, Mode.CAR: 8.3}
DEFAULT_DETOUR_FACTOR = 1.4


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    lon: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lat) and math.isfinite(self.lon)):
            raise ValueError("coordinates must be finite numbers")
        if not (-90.0 <= self.lat <= 90.0 and -180.0 <= self.lon <= 180.0):
            raise ValueError("latitude must be within ±90 and longitude within ±180")


def distance_m(a: Point, b: Point) -> float:
    """Great-circle (haversine) distance in metres."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlmb = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


class TravelTimeEstimator(Protocol):
    def eta_seconds(self, origin: Point, destination: Point, mode: Mode) -> float: ...


@runtime_checkable
class ReachBounded(Protocol):
    """An estimator that can say how far away a responder may be and still arrive in time.

    ``reach_m(seconds, mode)`` must be an upper bound: whenever ``eta_seconds(origin,
    destination, mode) <= seconds``, ``distance_m(origin, destination) <= reach_m(...)``.
    Equivalently, anyone farther than the reach needs more than ``seconds``. The nearest-
    responder search (``core.nearest``) relies on it to look in a small box only and still
    give the answer a scan of everyone would; an estimator without it gets the scan. A
    road-network estimator can answer ``seconds`` times the fastest road speed.
    """

    def reach_m(self, seconds: float, mode: Mode) -> float: ...


@dataclass(frozen=True)
class StraightLineEstimator:
    detour_factor: float = DEFAULT_DETOUR_FACTOR
    speeds_mps: dict[Mode, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_MPS))

    def eta_seconds(self, origin: Point, destination: Point, mode: Mode) -> float:
        return distance_m(origin, destination) * self.detour_factor / self.speeds_mps[mode]

    def reach_m(self, seconds: float, mode: Mode) -> float:
        # The inverse of eta_seconds; the nearest-responder search adds its own margin
        # for rounding.
        return seconds * self.speeds_mps[mode] / self.detour_factor


def eta_within_seconds(estimator: TravelTimeEstimator, origin: Point, centre: Point,
                       mode: Mode, radius_m: float) -> float:
    """Time to reach a place known only to lie within ``radius_m`` of ``centre``: to
    the centre, plus the radius at the mode's pace (as if it were ``radius_m`` farther).

    The pace is the estimator's own where it can say (``ReachBounded``: its reach per
    second), else the default speed of the mode with the default detour. The extra is
    never negative, so a travel-time search that bounds the time to the centre
    (``core.nearest``) stays exact.
    """
    eta = estimator.eta_seconds(origin, centre, mode)
    if radius_m <= 0:
        return eta
    if isinstance(estimator, ReachBounded):
        metres_per_second = estimator.reach_m(1.0, mode)
    else:
        metres_per_second = DEFAULT_SPEEDS_MPS[mode] / DEFAULT_DETOUR_FACTOR
    return eta + radius_m / metres_per_second


def area_cell(point: Point) -> str:
    """The coarse H3 cell kept after the precise location is destroyed."""
    return str(h3.latlng_to_cell(point.lat, point.lon, AREA_RESOLUTION))


def area_centre(cell: str) -> Point:
    lat, lon = h3.cell_to_latlng(cell)
    return Point(lat=lat, lon=lon)


# Before accepting, a responder sees the area of an offer on a map, never the place: with
# their own position, an exact point (or a circle centred on it) gives the place away.
# The map shows the H3 cell the place lies in, as a circle around the cell's centre that
# holds the whole cell. Resolution 8 cells are about 0.7 km², some 530 m from centre to
# corner. The circle depends on the cell alone: every offer for any point of the cell
# shows the same circle, so many offers cannot be averaged towards the point.
VICINITY_RESOLUTION = 8
VICINITY_MIN_RADIUS_M = 300
VICINITY_STEP_M = 50
# Covers the rounding of the cell's corners and of the point-in-cell test at its edges.
VICINITY_MARGIN_M = 10.0


@dataclass(frozen=True, slots=True)
class Vicinity:
    centre: Point
    radius_m: int


def vicinity(point: Point) -> Vicinity:
    """A circle that surely holds ``point`` and is the same for every point of its cell."""
    cell = h3.latlng_to_cell(point.lat, point.lon, VICINITY_RESOLUTION)
    centre = area_centre(cell)
    # A cell's edges are great-circle arcs (straight lines on its icosahedron face's
    # gnomonic projection), and a circle on the sphere holding both ends of such an arc
    # holds all of it: the farthest corner bounds the whole cell.
    corner = max(distance_m(centre, Point(lat, lon)) for lat, lon in h3.cell_to_boundary(cell))
    steps = math.ceil((corner + VICINITY_MARGIN_M) / VICINITY_STEP_M)
    return Vicinity(centre=centre, radius_m=max(VICINITY_MIN_RADIUS_M, steps * VICINITY_STEP_M))
