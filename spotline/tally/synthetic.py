"""A made-up program's history for the reporting store: the demo's months of figures
and the benchmark's busy year. Never mixed with real data: ``spotline demo`` writes it
only into the demo's own database, and the benchmark into a throwaway one.

The shapes are plausible, not real: more overdoses in the evening and at night, about
four in five incidents reached, medians of a few minutes to the scene.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from spotline.core.outcome import Referral
from spotline.core.policy import Shortfall
from spotline.core.tally import hour_of
from spotline.tally.actions import local_tz
from spotline.tally.models import CheckinFact, Coverage, IncidentFact

KINDS = [("overdose", 40), ("mental_health", 25), ("welfare_check", 20), ("medical", 7),
         ("conflict", 5), ("other", 3)]
SOURCES = [("web", 30), ("sms", 35), ("api", 5), ("operator", 20), ("checkin", 8),
           ("backup", 2)]
PRIORITY = {"overdose": "P1", "medical": "P1", "mental_health": "P2", "conflict": "P2",
            "welfare_check": "P3", "other": "P3"}
UNSERVED = [(Shortfall.CANCELLED_BY_PERSON.value, 35), (Shortfall.ALL_BUSY.value, 20),
            (Shortfall.NO_ANSWER.value, 15), (Shortfall.NOBODY_ON_SHIFT.value, 12),
            (Shortfall.UNABLE_TO_LOCATE.value, 10), (Shortfall.LOCATION_UNKNOWN.value, 8)]
REFERRALS = [r.value for r in Referral]


def _pick(rng: random.Random, weighted: Sequence[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _hour_weight(local_hour: int) -> float:
    # Quiet mornings, busy evenings and nights.
    return 0.4 + (1.6 if local_hour >= 18 or local_hour < 2 else
                  0.8 if 10 <= local_hour < 18 else 0.3)


def incident_facts(*, start: datetime, hours: int, count: int, areas: Sequence[str],
                   seed: int = 17) -> Iterator[IncidentFact]:
    """``count`` incidents spread over ``hours`` hours from ``start`` (on the hour)."""
    rng = random.Random(seed)  # noqa: S311 - made-up figures, not secrets
    tz = local_tz()
    slots = [start + timedelta(hours=h) for h in range(hours)]
    weights = [_hour_weight(s.astimezone(tz).hour) for s in slots]
    for opened in rng.choices(slots, weights=weights, k=count):
        hour = hour_of(opened, tz=tz)
        kind = _pick(rng, KINDS)
        first_offer = int(rng.expovariate(1 / 20))
        reached = rng.random() < 0.8
        accepted = first_offer + int(rng.lognormvariate(4.0, 0.6)) if reached else None
        on_scene = accepted + int(rng.lognormvariate(5.5, 0.45)) if accepted else None
        closed = (on_scene or first_offer) + int(rng.lognormvariate(7.2, 0.5))
        overdose = kind == "overdose"
        doses = (1 if rng.random() < 0.7 else 2) if reached and overdose else 0
        yield IncidentFact(
            opened_hour=hour.start, day=hour.day, week_hour=hour.week_hour, kind=kind,
            priority=PRIORITY[kind], source=_pick(rng, SOURCES),
            area=rng.choice(areas) if areas and rng.random() < 0.9 else "",
            state="resolved" if reached else "cancelled", closed=True,
            to_first_offer=first_offer, to_accepted=accepted, to_on_scene=on_scene,
            to_closed=closed,
            served_by=("crisis_team" if rng.random() < 0.15 else "community") if reached else "",
            ambulance_requested=rng.random() < (0.12 if overdose else 0.04),
            unserved_reason="" if reached else _pick(rng, UNSERVED),
            outcome=reached, naloxone_doses=doses,
            responsive_after=("yes" if rng.random() < 0.93 else "no") if reached else "",
            ems=_pick(rng, [("not_needed", 80), ("requested", 12), ("declined", 8)])
            if reached else "",
            referrals=sorted(rng.sample(REFERRALS, k=rng.choice([0, 0, 1, 1, 2])))
            if reached else [])


def checkin_facts(*, start: datetime, hours: int, count: int,
                  seed: int = 18) -> Iterator[CheckinFact]:
    rng = random.Random(seed)  # noqa: S311 - made-up figures, not secrets
    tz = local_tz()
    for _ in range(count):
        hour = hour_of(start + timedelta(hours=rng.randrange(hours)), tz=tz)
        asked = rng.random() < 0.3
        escalated = asked and rng.random() < 0.1
        yield CheckinFact(started_hour=hour.start, day=hour.day, week_hour=hour.week_hour,
                          minutes=rng.choice([15, 30, 45, 60]), asked=asked,
                          escalated=escalated, ended=not escalated)


def coverage(*, start: datetime, hours: int, areas: Sequence[str], responders: int,
             seed: int = 19) -> Iterator[Coverage]:
    """About ``responders`` on shift in the evening, fewer at night and in the morning."""
    rng = random.Random(seed)  # noqa: S311 - made-up figures, not secrets
    tz = local_tz()
    for h in range(hours):
        hour = hour_of(start + timedelta(hours=h), tz=tz)
        share = _hour_weight(hour.start.astimezone(tz).hour) / 2.0
        for area in areas or [""]:
            on = max(0, round(rng.gauss(responders * share / max(1, len(areas)), 0.5)))
            if on:
                yield Coverage(hour=hour.start, day=hour.day, week_hour=hour.week_hour,
                               area=area, seconds=on * 3600)
