"""Who is near enough to be offered an incident: reads only, for ``rounds``.

``search`` is ``core.policy.plan_round`` over everyone on shift, and also returns how to
reach the chosen responders, from the same query, so a round's offer messages need no
read of their own. With few on shift (``SCAN_ALL_BELOW``, the usual program) it reads
them all in one short query; with many it reads only the rows near enough to matter
(``core.nearest``'s growing travel-time boxes over the banded index). Either way the
round is the full scan's: the choice is only about how many rows and round trips.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from spotline.core import nearest
from spotline.core.geo import Mode, Point, StraightLineEstimator, TravelTimeEstimator
from spotline.core.lifecycle import HELD
from spotline.core.policy import (
    Candidate,
    OfferStatus,
    PastOffer,
    PriorityPolicy,
    Round,
    plan_round,
)
from spotline.core.triage import Priority, Skill
from spotline.dispatch.models import Incident, Offer
from spotline.responders.models import Responder

# On-shift responders below which one read of everyone beats the index: a few hundred
# short rows cost less than a second round trip.
SCAN_ALL_BELOW = 300
# How long a process trusts its count of who is on shift. A stale count can only pick
# the slower of two exact searches, never a wrong round.
ROSTER_TTL_SECONDS = 30.0


@dataclass
class _Roster:
    count: int = 0
    until: float = 0.0  # time.monotonic()


_roster = _Roster()
_roster_lock = threading.Lock()


def roster_forget() -> None:
    """Count again next time (someone went on or off shift in this process)."""
    with _roster_lock:
        _roster.until = 0.0


def on_shift_count() -> int:
    """How many are on shift, as of at most ``ROSTER_TTL_SECONDS`` ago."""
    moment = time.monotonic()
    with _roster_lock:
        if moment < _roster.until:
            return _roster.count
    count = Responder.objects.filter(on_shift_since__isnull=False).count()
    with _roster_lock:
        _roster.count, _roster.until = count, moment + ROSTER_TTL_SECONDS
    return count


def estimator() -> StraightLineEstimator:
    return StraightLineEstimator(detour_factor=settings.SPOTLINE_DETOUR_FACTOR)


def policy_for(incident: Incident) -> PriorityPolicy:
    return settings.SPOTLINE_POLICY[Priority(incident.priority)]


def incident_point(incident: Incident) -> Point | None:
    if incident.lat is None or incident.lon is None:
        return None
    return Point(incident.lat, incident.lon)


def backup_for_responders(incident: Incident) -> frozenset[int]:
    """For a backup (other responders sent to a responder in trouble): whoever held the
    incident it backs up, who must never be offered their own backup, even once they
    are free again. Empty for any other incident (and nothing is read)."""
    if incident.backup_for_id is None:
        return frozenset()
    # Whoever holds or held an incident has its accepted offer (an accept, or a
    # dispatcher's assignment), released if they gave it back or were reassigned.
    return frozenset(Offer.objects.filter(
        incident_id=incident.backup_for_id,
        status__in=[OfferStatus.ACCEPTED, OfferStatus.RELEASED],
    ).values_list("responder_id", flat=True))


def incident_radius(incident: Incident) -> float | None:
    """How far from its point the place may be, for ranking: the radius of a place found
    from words. A device's own accuracy is not added (the point is where the phone is)."""
    radius = incident.accuracy_m
    if incident.location_status != "approximate" or radius is None:
        return None
    return float(radius)


def offer_history(**filters: Any) -> list[tuple[int, PastOffer]]:
    """(incident id, what became of the offer) for every offer matching ``filters``."""
    return [
        (incident_id, PastOffer(rid, OfferStatus(status), answered_at, asks))
        for incident_id, rid, status, answered_at, asks in Offer.objects.filter(
            **filters).values_list("incident_id", "responder_id", "status", "answered_at",
                                   "asks")
    ]


def past_offers(incident: Incident) -> list[PastOffer]:
    return [past for _, past in offer_history(incident=incident)]


def offers_open(incident: Incident) -> bool:
    """Whether anyone has an offer for this incident waiting for their answer."""
    return Offer.objects.filter(incident=incident, status=OfferStatus.PENDING).exists()


@dataclass(frozen=True, slots=True)
class Contact:
    """How a responder hears of an offer: their channel order, and whether they gave a
    phone (a P1 offer also rings it)."""

    channels: list[str]
    has_phone: bool


@dataclass(frozen=True, slots=True)
class Found:
    round: Round
    contacts: dict[int, Contact]  # for the responders in ``round.offers``


Row = tuple[int, float | None, float | None, str, list[str] | str, bool, list[str] | str, bool]


# A responder's channels and whether they gave a phone, as the query returned them:
# read into a ``Contact`` only for the few a round offers (a box can hold hundreds).
RawContact = tuple[list[str] | str, bool]


def contact(raw: RawContact) -> Contact:
    channels, has_phone = raw
    channels = json.loads(channels) if isinstance(channels, str) else channels
    return Contact(channels=list(channels or []), has_phone=bool(has_phone))


def _read(rows: Sequence[Row]) -> tuple[list[Candidate], dict[int, RawContact]]:
    known = Skill._value2member_map_
    candidates, contacts = [], {}
    for rid, lat, lon, mode, skills, busy, channels, has_phone in rows:
        skills = json.loads(skills) if isinstance(skills, str) else skills
        candidates.append(Candidate(
            responder_id=rid,
            location=Point(lat, lon) if lat is not None and lon is not None else None,
            mode=Mode(mode),
            skills=frozenset(Skill(s) for s in skills if s in known),
            on_shift=True,
            busy=bool(busy),
        ))
        contacts[rid] = (channels, has_phone)
    return candidates, contacts


def _everyone() -> tuple[list[Candidate], dict[int, RawContact]]:
    """Everyone on shift, in one query (whether each is busy comes from the same one)."""
    responders, incidents = Responder._meta.db_table, Incident._meta.db_table
    held = ", ".join(["%s"] * len(HELD))
    # Only table names and placeholders are formatted in; every value is a parameter.
    sql = (f"SELECT r.id, r.lat, r.lon, r.mode, r.skills, EXISTS (SELECT 1 FROM {incidents} i"  # noqa: S608
           f" WHERE i.assigned_responder_id = r.id AND i.state IN ({held})),"
           f" r.channels, r.phone_sealed <> ''"
           f" FROM {responders} r WHERE r.on_shift_since IS NOT NULL")
    with connection.cursor() as cursor:
        cursor.execute(sql, [s.value for s in HELD])
        return _read(cursor.fetchall())


def candidates_all(required: frozenset[Skill] = frozenset()) -> list[Candidate]:
    """Everyone on shift, with whether they are busy; the policy filters and ranks.

    The brute-force scan: ``search`` falls back to it, and the tests and
    ``bench/nearest.py`` hold the indexed search to its answers.
    """
    return _everyone()[0]


def _within(boxes: dict[Mode, nearest.Box], required: frozenset[Skill]
            ) -> tuple[list[Candidate], dict[int, RawContact]]:
    """The on-shift responders of each mode inside that mode's box, in one query.

    Each mode's term is a run of short seeks in the partial index
    responder_on_shift_band (mode, lat_band, lon, lat): one range of longitudes per
    latitude band, the box's latitudes checked in the index too. Each term repeats the
    index's condition so that SQLite can use it for every branch of the OR. Whether a
    responder is busy comes from the same query. Raw SQL: the ORM spent longer building
    this statement than the database spends answering it.
    """
    responders, incidents = Responder._meta.db_table, Incident._meta.db_table
    # Placeholders in the order they appear: the EXISTS first, then the terms.
    params: list[str | int | float] = [s.value for s in HELD]
    terms = []
    for mode, box in boxes.items():
        bands = box.bands
        terms.append(
            f"(r.mode = %s AND r.on_shift_since IS NOT NULL"
            f" AND r.lat_band IN ({', '.join(['%s'] * len(bands))})"
            f" AND r.lon >= %s AND r.lon <= %s AND r.lat >= %s AND r.lat <= %s)")
        params += [mode.value, *bands, box.lon_min, box.lon_max, box.lat_min, box.lat_max]
    where = " OR ".join(terms)
    if required and connection.vendor == "postgresql":
        where = f"({where}) AND r.skills @> %s::jsonb"
        params.append(json.dumps(sorted(required)))
    elif required:
        for skill in sorted(required):
            where = (f"({where}) AND EXISTS (SELECT 1 FROM json_each(r.skills) s"  # noqa: S608
                     f" WHERE s.value = %s)")
            params.append(skill.value)
    held = ", ".join(["%s"] * len(HELD))
    # Only table names and placeholders are formatted in; every value is a parameter.
    sql = (f"SELECT r.id, r.lat, r.lon, r.mode, r.skills, EXISTS (SELECT 1 FROM {incidents} i"  # noqa: S608
           f" WHERE i.assigned_responder_id = r.id AND i.state IN ({held})),"
           f" r.channels, r.phone_sealed <> ''"
           f" FROM {responders} r WHERE {where}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _read(cursor.fetchall())


def candidates_within(boxes: dict[Mode, nearest.Box],
                      required: frozenset[Skill] = frozenset()) -> list[Candidate]:
    return _within(boxes, required)[0]


def search(
    *,
    location: Point | None,
    required: frozenset[Skill],
    past_offers: list[PastOffer],
    policy: PriorityPolicy,
    estimator: TravelTimeEstimator,
    now: datetime,
    radius_m: float | None = None,
    asked: bool = False,
    excluded: frozenset[int] = frozenset(),
) -> Found:
    """``plan_round`` over everyone on shift, reading only those near enough to matter.

    Looks within growing travel-time budgets (core.nearest) and keeps the first round
    that is provably the full scan's; otherwise (no coordinates, no reach bound, a box
    at a pole or the antimeridian, or nobody close enough) scans everyone. An
    approximate place's radius only adds to each ETA, so a box that bounds the time to
    the centre still bounds it. ``radius_m``, ``asked`` and ``excluded`` are
    ``plan_round``'s.
    """
    def found(read: tuple[list[Candidate], dict[int, RawContact]]) -> Found:
        candidates, contacts = read
        plan = plan_round(location=location, required=required, candidates=candidates,
                          past_offers=past_offers, policy=policy, estimator=estimator,
                          now=now, radius_m=radius_m, asked=asked, excluded=excluded)
        return Found(plan, {r.responder_id: contact(contacts[r.responder_id])
                            for r in plan.offers})

    if location is None and not asked:
        return found(([], {}))  # nobody is offered without a place: nothing to read
    if on_shift_count() < SCAN_ALL_BELOW:
        return found(_everyone())
    k = policy.offers_per_round
    seconds = nearest.FIRST_BUDGET
    while True:
        boxes = nearest.search_boxes(location, seconds, estimator)
        if boxes is None:
            break
        near = _within(boxes, required)
        result = found(near)
        if nearest.is_exact(result.round, k=k, seconds=seconds):
            return result
        if seconds >= nearest.LAST_BUDGET:
            break
        seconds = min(nearest.LAST_BUDGET,
                      nearest.next_budget(seconds, found=len(near[0]), k=k))
    return found(_everyone())


def plan_nearest(
    *,
    location: Point | None,
    required: frozenset[Skill],
    past_offers: list[PastOffer],
    policy: PriorityPolicy,
    estimator: TravelTimeEstimator,
    now: datetime,
    radius_m: float | None = None,
) -> Round:
    """``search`` without the contacts (the tests and benchmarks compare rounds)."""
    return search(location=location, required=required, past_offers=past_offers,
                  policy=policy, estimator=estimator, now=now, radius_m=radius_m).round
