"""Where to look for the nearest responders, and when what was found is provably the answer.

Ranking everyone on shift by travel time (``policy.plan_round``) is exact but reads every
on-shift row. The search here reads only the responders who could arrive within a time
budget, ranks them with the same ``plan_round``, and accepts the result only when it is
provably the one a scan of everyone would give:

1. For a budget of ``seconds``, each mode gets the box around the incident that holds
   every point from which that mode could arrive in time: the estimator's
   ``reach_m(seconds, mode)`` (``geo.ReachBounded``) plus a margin for rounding. A walker
   is looked for close by, a car farther out.
2. The shell fetches the on-shift responders of each mode inside its box who have the
   required skills (an index on the mode, the latitude band and the longitude; see
   ``band_of``) and runs ``plan_round`` on them.
3. Anyone not fetched needs more than ``seconds``. So when the round found K offers and
   the K-th arrives within ``seconds`` (``is_exact``), nobody outside could have displaced
   any of them: the round equals the full scan's, offers and (None) shortfall alike.
4. Otherwise widen the budget (``next_budget``) and look again; after the last budget
   (or for an incident without coordinates, an estimator without a reach bound, a box
   that crosses the antimeridian or reaches a pole) the shell scans everyone, which also
   gives the right shortfall when nobody can be offered.

Pure: no Django, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from spotline.core.geo import EARTH_RADIUS_M, Mode, Point, ReachBounded, TravelTimeEstimator
from spotline.core.policy import Round

# Latitude bands of 1/200 degree (about 556 m). The database keeps each responder's band
# in a generated column (``Responder.band``, FLOOR(lat * BANDS_PER_DEGREE)) and indexes
# on-shift rows by (mode, band, lon, lat): a box is then one short index range per band.
# Changing this needs a migration (makemigrations --check says so).
BANDS_PER_DEGREE = 200

# The travel-time budgets, in seconds. The first is small because every row read costs
# (100,000 responders in a city put hundreds within a minute's drive of a busy corner);
# ``next_budget`` grows it as fast as the rows found suggest, up to the last (always
# tried), after which the shell scans everyone. An hour: a car reaches about 21 km.
FIRST_BUDGET = 10.0
LAST_BUDGET = 3600.0
# Aim each widening at about this many rows per offer wanted: enough that the skill,
# busy and already-offered filters rarely leave fewer than K.
_ROWS_PER_OFFER = 8

# Slack on every radius and box edge so that rounding in the haversine, the estimator
# and the degree conversions can never leave out someone who belongs inside.
_RELATIVE_MARGIN = 1e-6
_MARGIN_M = 1.0
_MARGIN_DEG = 1e-7


def band_of(lat: float) -> int:
    """The latitude band of a point: the same arithmetic the database column uses."""
    return math.floor(lat * BANDS_PER_DEGREE)


@dataclass(frozen=True, slots=True)
class Box:
    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float

    @property
    def bands(self) -> range:
        """Every band a point of the box can be in (multiplication and floor are
        monotonic, so a latitude within the box has a band within this range)."""
        return range(band_of(self.lat_min), band_of(self.lat_max) + 1)

    def contains(self, point: Point) -> bool:
        return (self.lat_min <= point.lat <= self.lat_max
                and self.lon_min <= point.lon <= self.lon_max)


def box_around(centre: Point, radius_m: float) -> Box | None:
    """A latitude/longitude box holding every point within ``radius_m`` (great circle)
    of ``centre``; None when it would reach a pole or cross the antimeridian.

    From the haversine: sin²(d/2) = sin²(Δφ/2) + cos φ1 cos φ2 sin²(Δλ/2). Within
    angular distance δ, |Δφ| ≤ δ, and cos φ1 cos φ2 sin²(Δλ/2) ≤ sin²(δ/2), where
    cos φ2 is at least its value at the band's edge farthest from the equator.
    """
    if radius_m < 0 or not math.isfinite(radius_m):
        raise ValueError("radius must be a finite, non-negative number of metres")
    delta = (radius_m * (1 + _RELATIVE_MARGIN) + _MARGIN_M) / EARTH_RADIUS_M
    delta_deg = math.degrees(delta)
    lat_min = centre.lat - delta_deg - _MARGIN_DEG
    lat_max = centre.lat + delta_deg + _MARGIN_DEG
    if lat_min <= -90.0 or lat_max >= 90.0:
        return None
    cos_far = math.cos(math.radians(max(abs(lat_min), abs(lat_max))))
    s = math.sin(delta / 2) / math.sqrt(math.cos(math.radians(centre.lat)) * cos_far)
    if s >= 1.0:
        return None
    dlon_deg = math.degrees(2 * math.asin(s)) * (1 + _RELATIVE_MARGIN) + _MARGIN_DEG
    lon_min, lon_max = centre.lon - dlon_deg, centre.lon + dlon_deg
    if lon_min <= -180.0 or lon_max >= 180.0:
        return None
    return Box(lat_min, lat_max, lon_min, lon_max)


def search_boxes(
    centre: Point | None, seconds: float, estimator: TravelTimeEstimator
) -> dict[Mode, Box] | None:
    """Per mode, the box outside which nobody of that mode arrives within ``seconds``.

    None means "no bounded search is possible; scan everyone": no incident coordinates,
    an estimator without a reach bound, or a box at a pole or the antimeridian.
    """
    if centre is None or not isinstance(estimator, ReachBounded):
        return None
    boxes: dict[Mode, Box] = {}
    for mode in Mode:
        box = box_around(centre, estimator.reach_m(seconds, mode))
        if box is None:
            return None
        boxes[mode] = box
    return boxes


def next_budget(seconds: float, *, found: int, k: int) -> float:
    """The budget to try after ``seconds`` found ``found`` rows without an exact round.

    Rows grow with the area, the square of the budget: aim at ``_ROWS_PER_OFFER`` per
    offer wanted, at least doubling (a rare skill needs more than the aim) and at most
    multiplying by eight (one dense block is no guide to the whole map). Any sequence of
    budgets is exact; this one only decides how few rows are read.
    """
    factor = math.sqrt(_ROWS_PER_OFFER * k / max(found, 1))
    return seconds * min(8.0, max(2.0, factor))


def is_exact(plan: Round, *, k: int, seconds: float) -> bool:
    """True when a round planned over the responders within ``seconds`` is the round over
    everyone: K offers, all with a known ETA, the last (slowest) within the budget.

    Anyone left out needs more than ``seconds``, so could only rank after the K-th.
    Fewer than K offers proves nothing (someone farther might be the next), and neither
    does a round whose shortfall would need everyone to be judged.
    """
    if len(plan.offers) != k:
        return False
    last = plan.offers[-1].eta_seconds
    return last is not None and last < seconds
