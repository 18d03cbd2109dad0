"""The public dashboard's monthly releases: each ended month's figures, drawn once.

A month's figures get their noise once (``core.publicdp``) and are stored as a
``tally.Release`` row; the dashboard, its JSON and its CSV only ever read those rows.
Drawing fresh noise for each visitor would let anyone average it away, and recomputing
from the reporting store would let a late correction to one incident show through.

Which months are released is decided by the calendar, never by whether a month had
incidents: a month with none is released like any other (its noise and "<11" see to
it), since publishing only the months "with facts" would tell, with no noise, that
nobody called in a missing month. The one exception is the program's first month (see
``first_month``), read once.

The worker's step is ``release_due``; the page reads ``releases_shown``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q

from spotline.core.policy import Shortfall
from spotline.core.publicdp import (
    RELEASES,
    SERVED,
    Budget,
    MonthTruth,
    Noise,
    budget_split,
    measurements,
    release,
)
from spotline.core.triage import Kind
from spotline.tally.actions import local_tz
from spotline.tally.models import IncidentFact, Release

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = tuple(k.value for k in Kind)
# Every unserved incident has a reason once it closes; one still open when its month is
# released (or a reason this version does not know) is counted as "not recorded", so
# the reasons always add up to the unserved incidents.
NOT_RECORDED = "not_recorded"
REASONS: tuple[str, ...] = (*(s.value for s in Shortfall), NOT_RECORDED)
REACHED = ("community", "crisis_team")
# Nobody reached the scene: no one served, or an unserved reason (which wins: served and
# unserved are one partition, whatever an older row holds). The reports count by it too.
UNREACHED = Q(served_by="") | ~Q(unserved_reason="")

# The order figures are published in (``core.publicdp.release`` makes them in it). On
# PostgreSQL a release is jsonb, which keeps no key order, so what is read back is put
# in this order rather than shown in the stored dict's.
FIGURES: tuple[str, ...] = (
    "total", *(f"by_kind.{k}" for k in KINDS), *(f"served.{s}" for s in SERVED),
    "community_share", "unserved_share", *(f"unserved_by_reason.{r}" for r in REASONS),
    "on_scene_median_minutes", "reversed_overdoses", "ems_requested",
)
MONTH_KEYS = ("month", "epsilon", "budget_split", "unit_of_privacy", "min_cell", "rounding",
              "about", "figures", "noise_scales")
FIGURE_KEYS = ("value", "shown", "definition", "noise")

# A month is released a day after it ends, not at midnight: the last night's incidents
# get the time to close, so they count as what happened rather than as "still open".
GRACE = timedelta(days=1)


def budget() -> Budget:
    """The published budget, from settings: the same for every month, whatever its data."""
    return Budget(epsilon=settings.SPOTLINE_DASHBOARD_EPSILON,
                  min_cell=settings.SPOTLINE_REPORT_MIN_CELL)


@lru_cache(maxsize=8)
def parameters(b: Budget) -> dict[str, Any]:
    """What the mechanisms are, for a budget: ε per month, its split, the noise scales.
    Computed from the budget and the fixed lists of kinds and reasons, never from data."""
    mechs = measurements(b, kinds=KINDS, reasons=REASONS)
    return {
        "epsilon": b.epsilon,
        "budget_split": budget_split(b),
        "noise_scales": {name: m.scale for name, m in mechs.items()},
        "mechanisms": {name: m.description for name, m in mechs.items()},
        "min_cell": b.min_cell,
        "rounding": b.rounding,
    }


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_truth(month: date) -> MonthTruth:
    """The true figures of the local month starting ``month`` (its first day), from the
    reporting store. Each incident lands in exactly one bin of each partition."""
    month = month.replace(day=1)
    facts = IncidentFact.objects.filter(day__gte=month, day__lt=next_month(month))
    by_kind = dict.fromkeys(KINDS, 0)
    served = {"community": 0, "crisis_team": 0, "none": 0}
    unserved = dict.fromkeys(REASONS, 0)
    for row in facts.values("kind", "served_by", "unserved_reason").annotate(n=Count("id")):
        n = row["n"]
        by_kind[row["kind"] if row["kind"] in by_kind else Kind.OTHER.value] += n
        if row["served_by"] in REACHED and not row["unserved_reason"]:  # not UNREACHED
            served[row["served_by"]] += n
        else:  # "" (nobody reached the scene), or a value this version does not know
            served["none"] += n
            reason = row["unserved_reason"]
            unserved[reason if reason in unserved else NOT_RECORDED] += n
    counts = facts.aggregate(
        reversed=Count("id", filter=Q(kind=Kind.OVERDOSE.value, naloxone_doses__gt=0,
                                      responsive_after="yes")),
        ems=Count("id", filter=Q(ambulance_requested=True)))
    on_scene = [s for s in facts.filter(served_by__in=REACHED, to_on_scene__isnull=False)
                .exclude(UNREACHED).values_list("to_on_scene", flat=True) if s is not None]
    return MonthTruth(by_kind=by_kind, served=served, unserved_by_reason=unserved,
                      reversed_overdoses=counts["reversed"], ems_requested=counts["ems"],
                      on_scene_seconds=on_scene)


def first_month() -> date | None:
    """The first month the dashboard releases: the program's first month.

    Once a month is released it is the earliest release, stored for good. Before any,
    it is the month of the earliest incident in the reporting store: when the program
    began, a public fact. This is the only choice of months that depends on the data,
    and only once; every ended month after it is released whatever its count. None
    while the store is empty (there is no program to report on yet)."""
    first: date | None = Release.objects.aggregate(m=Min("month"))["m"]
    if first is None:
        first = IncidentFact.objects.aggregate(d=Min("day"))["d"]
    return None if first is None else first.replace(day=1)


def months_due(*, now: datetime) -> list[date]:
    """Every ended month (past its grace day) from the program's first month, at most
    SPOTLINE_DASHBOARD_MONTHS back, with no release yet; oldest first. From the
    calendar: a month with no incident is due like any other."""
    tz = local_tz()
    current = now.astimezone(tz).date().replace(day=1)
    oldest = current
    for _ in range(settings.SPOTLINE_DASHBOARD_MONTHS):
        oldest = (oldest - timedelta(days=1)).replace(day=1)
    # The first month not yet past its grace: the current one, or the one before it
    # during the first day of a month.
    upto = current
    previous = (current - timedelta(days=1)).replace(day=1)
    if datetime.combine(current, time(), tzinfo=tz) + GRACE > now:
        upto = previous
    start = first_month()
    if start is None:
        return []
    released = set(Release.objects.filter(month__gte=oldest, month__lt=upto)
                   .values_list("month", flat=True))
    due, month = [], max(start, oldest)
    while month < upto:
        if month not in released:
            due.append(month)
        month = next_month(month)
    return due


def release_due(*, now: datetime, noise: Noise | None = None) -> int:
    """The worker's step: release every month that is due, once. Returns how many.

    ``noise`` is for tests (``core.publicdp.release``); the worker leaves it to OpenDP.
    """
    b = budget()
    done = 0
    for month in months_due(now=now):
        # 1. Draw the figures outside the transaction: no lock is held while OpenDP works.
        drawn = release(month_truth(month), month=f"{month:%Y-%m}", budget=b,
                        kinds=KINDS, reasons=REASONS, noise=noise)
        stored = {**drawn.as_json(), "noise_scales": parameters(b)["noise_scales"]}
        # 2. Store them unless someone has. The unique month is the guard: a second
        # worker racing this one fails its insert and keeps the first one's figures (a
        # discarded draw was never published, so it costs no privacy).
        try:
            with transaction.atomic():
                if Release.objects.filter(month=month).exists():
                    continue
                Release.objects.create(month=month, released_at=now, epsilon=b.epsilon,
                                       figures=stored)
        except IntegrityError:
            log.info("dashboard month %s was released by another worker", f"{month:%Y-%m}")
            continue
        log.info("dashboard month %s released", f"{month:%Y-%m}")
        done += 1
    return done


@dataclass(frozen=True)
class Published:
    """A stored release as the dashboard shows it: the month, the day it was released
    (never the time) and the stored JSON."""

    month: date
    released_on: date
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {**self.data, "released_on": self.released_on.isoformat()}


def releases_shown(*, limit: int | None = None) -> list[Published]:
    """The stored releases, newest first, at most SPOTLINE_DASHBOARD_MONTHS of them,
    each in the published order (``in_order``)."""
    limit = settings.SPOTLINE_DASHBOARD_MONTHS if limit is None else limit
    tz = local_tz()
    rows = Release.objects.order_by("-month").values_list("month", "released_at", "figures")
    return [Published(month=m, released_on=at.astimezone(tz).date(), data=in_order(figures))
            for m, at, figures in rows[:limit]]


V = TypeVar("V")


def ordered(items: dict[str, V], order: tuple[str, ...]) -> dict[str, V]:
    """``items`` with the keys of ``order`` first, in it, then any others by name (a
    figure from an older version, say): never the order a database kept."""
    rank = {k: i for i, k in enumerate(order)}
    return dict(sorted(items.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def in_order(data: dict[str, Any]) -> dict[str, Any]:
    """A stored release with its keys, figures, split and scales in the published order."""
    out = dict(data)
    out["figures"] = ordered({k: ordered(f, FIGURE_KEYS) if isinstance(f, dict) else f
                              for k, f in data.get("figures", {}).items()}, FIGURES)
    for key in ("budget_split", "noise_scales"):
        if isinstance(data.get(key), dict):
            out[key] = ordered(data[key], RELEASES)
    return ordered(out, MONTH_KEYS)
