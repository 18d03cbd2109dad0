"""What a geocoder answers, and the one rule for acting on it without asking.

A geocoder returns ranked :class:`Candidate` places for a text. :func:`decide` says
whether the best one is certain enough to act on (send a responder there, say where we
understood) or whether the person must be asked ("Which one? 1 ... 2 ... — or tell us a
street corner"). A wrong confident answer sends help to the wrong place, so the rule
leans towards asking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spotline.core.geo import Point, distance_m

# The best candidate is acted on only when its confidence reaches CONFIDENT ...
CONFIDENT = 0.8
# ... and no other candidate elsewhere comes within MARGIN of it (two 7-Elevens on two
# streets are a question, not an answer) ...
MARGIN = 0.15
# ... where "elsewhere" means farther than SAME_PLACE_M from it: the same shop found as
# a POI and as an address is one place, not a doubt.
SAME_PLACE_M = 150.0

KINDS = ("landmark", "address", "intersection", "poi", "street", "relative")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One place a text may mean.

    ``name`` is what to tell the person ("7-Eleven, Fifth Street"); ``confidence`` is
    0 to 1; ``kind`` is one of :data:`KINDS`; ``radius_m`` is how far the true place may be
    from (lat, lon) (a whole street is long, an address is a door); ``reason`` is a few
    words on why it matched ("fuzzy name, 1 typo"), for the dispatcher, never logged;
    ``language`` is the language of ``name`` when the source says ("fi" for OSM's
    ``name:fi``), else "": between otherwise equal candidates the asker's language wins.
    """

    name: str
    lat: float
    lon: float
    confidence: float
    kind: str
    radius_m: float
    reason: str
    language: str = ""

    @property
    def point(self) -> Point:
        return Point(self.lat, self.lon)


def decide(candidates: Sequence[Candidate]) -> Candidate | None:
    """The candidate to act on without asking, or None: ask the person back.

    ``candidates`` are best first, as ``geocode`` returns them. The first one is
    confident when its confidence is at least :data:`CONFIDENT` and every other
    candidate within :data:`MARGIN` of it lies within :data:`SAME_PLACE_M` of it.
    None (with the candidates, maybe none, as the choices to offer) means ask.
    """
    if not candidates:
        return None
    best = candidates[0]
    if best.confidence < CONFIDENT:
        return None
    for other in candidates[1:]:
        if other.confidence >= best.confidence - MARGIN and (
            distance_m(best.point, other.point) > SAME_PLACE_M
        ):
            return None
    return best
