"""How fast is the nearest-responder search among 1,000 / 10,000 / 100,000 on shift?

Seeds on-shift responders (in bulk) around the real call locations of a month of
Milwaukee calls for service (``bench/data/milwaukee_call_points.csv``, see its README; rows
without coordinates and the few hundred geocoded far outside the city are skipped),
with mixed modes and skills, a few without a shared location and some busy (holding an
assigned incident). Then, per size, for QUERIES incident points drawn from the same
calls (with a mix of required skills and, for some, responders who already declined),
it times what a round of offers does before writing them, in the same run:

- indexed: ``dispatch.actions.search.plan_nearest`` (the banded index, growing
  travel-time budgets from a first one sized to the roster, fall back to a scan when
  nothing is provably exact);
- brute force: ``candidates_all`` (every on-shift row) + ``plan_round``.

Every indexed round must equal the brute-force round (offers, ETAs, shortfall): exit 1
on any mismatch. At sizes above 10,000 a timed brute-force query takes over a second,
so only the first BENCH_NEAREST_BRUTE_LARGE (40) are timed; the other indexed answers
are checked against ``plan_round`` over the full scan read once (nothing is written
while the queries run, so it is what ``candidates_all`` would return).

Prints one JSON object per size. Usage (``make bench`` runs both databases):
    python bench/nearest.py            # SQLite in a temporary data dir
    DATABASE_URL=postgres://.../spotline_nearest_bench python bench/nearest.py
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import setup_django

SIZES = [int(n) for n in os.environ.get("BENCH_NEAREST_SIZES", "1000,10000,100000").split(",")]
QUERIES = int(os.environ.get("BENCH_NEAREST_QUERIES", "300"))
BRUTE_LARGE = int(os.environ.get("BENCH_NEAREST_BRUTE_LARGE", "40"))
WARMUP = 10
CALLS = Path(os.environ.get(
    "BENCH_CALLS_CSV",
    Path(__file__).resolve().parent / "data" / "milwaukee_call_points.csv"))
PREFIX = "bench-nearest-"
# Responders stand within a few hundred metres of where calls come from.
SPREAD_M = 300.0


def call_points() -> list[tuple[float, float]]:
    with CALLS.open(newline="") as f:
        points = [(float(r["latitude"]), float(r["longitude"])) for r in csv.DictReader(f)
                  if r["latitude"].strip() and r["longitude"].strip()]
    # A few hundred rows are geocoded to other states and continents: keep the city.
    mid_lat = statistics.median(p[0] for p in points)
    mid_lon = statistics.median(p[1] for p in points)
    return [p for p in points if abs(p[0] - mid_lat) < 0.5 and abs(p[1] - mid_lon) < 0.5]


def jitter(rng: random.Random, lat: float, lon: float) -> tuple[float, float]:
    north, east = rng.gauss(0, SPREAD_M), rng.gauss(0, SPREAD_M)
    return (lat + north / 111_320, lon + east / (111_320 * math.cos(math.radians(lat))))


def percentile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[max(0, math.ceil(len(sorted_ms) * q) - 1)]


def main() -> None:
    db = setup_django()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection, transaction
    from django.utils import timezone

    from spotline.core.geo import Mode, Point
    from spotline.core.policy import OfferStatus, PastOffer, plan_round
    from spotline.core.triage import Priority, Skill
    from spotline.dispatch.actions.search import (
        candidates_all,
        estimator,
        plan_nearest,
        roster_forget,
    )
    from spotline.dispatch.models import Incident
    from spotline.responders.models import Responder


    def clean() -> None:
        Incident.objects.filter(tracking_digest__startswith=PREFIX).delete()
        Responder.objects.filter(user__username__startswith=PREFIX).delete()
        User.objects.filter(username__startswith=PREFIX).delete()

    clean()  # what an interrupted run left
    rng = random.Random(7)  # noqa: S311 - repeatable positions, not a secret
    calls = call_points()
    now = timezone.now()
    est = estimator()
    modes = [Mode.WALK] * 4 + [Mode.BIKE] * 3 + [Mode.CAR] * 3
    skill_odds = {Skill.NALOXONE: 0.9, Skill.FIRST_AID: 0.5, Skill.DE_ESCALATION: 0.4,
                  Skill.CRISIS_INTERVENTION: 0.2, Skill.CRISIS_TEAM: 0.03}
    wanted = ([frozenset({Skill.NALOXONE})] * 12 + [frozenset({Skill.FIRST_AID})] * 3
              + [frozenset({Skill.DE_ESCALATION})] * 2
              + [frozenset({Skill.CRISIS_INTERVENTION})] * 2 + [frozenset({Skill.CRISIS_TEAM})])
    policies = [settings.SPOTLINE_POLICY[p] for p in (Priority.P1, Priority.P1, Priority.P3)]
    failed = False
    seeded = 0
    try:
        for size in SIZES:
            # 1. Grow the roster to `size` (sizes are cumulative), in bulk.
            add = size - seeded
            with transaction.atomic():
                User.objects.bulk_create(
                    [User(username=f"{PREFIX}{seeded + i}", password="!") for i in range(add)],
                    batch_size=5000)
                user_ids = list(User.objects.filter(username__startswith=PREFIX)
                                .exclude(responder__isnull=False).values_list("id", flat=True))
                rows = []
                for uid in user_ids:
                    lat: float | None
                    lon: float | None
                    lat, lon = jitter(rng, *rng.choice(calls))
                    if rng.random() < 0.02:  # on shift, location not shared
                        lat = lon = None
                    rows.append(Responder(
                        user_id=uid, alias="", mode=rng.choice(modes).value,
                        skills=[s.value for s, p in skill_odds.items() if rng.random() < p],
                        on_shift_since=now, lat=lat, lon=lon,
                        located_at=now if lat is not None else None))
                Responder.objects.bulk_create(rows, batch_size=5000)
                # About 3% are busy: each holds an assigned incident.
                new_ids = list(Responder.objects.filter(user_id__in=user_ids)
                               .values_list("id", flat=True))
                Incident.objects.bulk_create(
                    [Incident(kind="overdose", priority="P1", required_skills=["naloxone"],
                              state="assigned", assigned_responder_id=rid,
                              tracking_digest=f"{PREFIX}{rid}", opened_at=now, updated_at=now,
                              assigned_at=now)
                     for rid in new_ids if rng.random() < 0.03], batch_size=5000)
            seeded = size
            # Rows written behind the app's back: its cached count of who is on shift
            # (which sizes the first search box) must be read again.
            roster_forget()
            if db == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE responders_responder")
                    cursor.execute("ANALYZE dispatch_incident")

            # 2. The queries: a call location, a skill, a policy, sometimes a round
            # that already went out and was declined (so the next K are wanted).
            # Nothing is written while they run, so the full scan read once here is what
            # `candidates_all` returns for every query: the reference every indexed answer
            # is checked against. At 100,000 one timed brute-force query takes over a
            # second, so only the first BRUTE_LARGE are timed there.
            everyone = candidates_all(frozenset())
            timed_brute = QUERIES if size <= 10_000 else min(QUERIES, BRUTE_LARGE)
            indexed_ms: list[float] = []
            brute_ms: list[float] = []
            mismatches = 0
            for q in range(-WARMUP, QUERIES):
                location = Point(*rng.choice(calls))
                required = rng.choice(wanted)
                policy = rng.choice(policies)
                common: dict[str, Any] = {"location": location, "required": required,
                                          "policy": policy, "estimator": est, "now": now}
                past: list[PastOffer] = []
                if rng.random() < 0.2:
                    first = plan_round(candidates=everyone, past_offers=(), **common)
                    past = [PastOffer(r.responder_id, OfferStatus.DECLINED)
                            for r in first.offers]
                t = time.perf_counter()
                indexed = plan_nearest(past_offers=past, **common)
                took = (time.perf_counter() - t) * 1000
                if q >= 0:
                    indexed_ms.append(took)
                if q < timed_brute:
                    t = time.perf_counter()
                    brute = plan_round(candidates=candidates_all(required), past_offers=past,
                                       **common)
                    took = (time.perf_counter() - t) * 1000
                    if q >= 0:
                        brute_ms.append(took)
                else:
                    brute = plan_round(candidates=everyone, past_offers=past, **common)
                if indexed != brute:
                    mismatches += 1
            indexed_ms.sort()
            brute_ms.sort()
            result = {
                "name": "nearest_responders", "db": db, "responders": size,
                "n": len(indexed_ms),
                "p50_ms": round(statistics.median(indexed_ms), 3),
                "p99_ms": round(percentile(indexed_ms, 0.99), 3),
                "brute_p50_ms": round(statistics.median(brute_ms), 2),
                "brute_p99_ms": round(percentile(brute_ms, 0.99), 2),
                "brute_n": len(brute_ms),
            }
            result["speedup"] = round(result["brute_p50_ms"] / result["p50_ms"], 1)
            if mismatches:
                result["mismatches"] = mismatches
                failed = True
            print(json.dumps(result), flush=True)
    finally:
        clean()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
