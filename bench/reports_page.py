"""The coordinator's program report for a year of a busy program (issue 17).

The world: FACTS incidents (200,000) spread over the last 365 days in the reporting
store (``tally.synthetic``: made-up but plausible kinds, sources, durations, outcomes and
unserved reasons over 60 area cells), with 20,000 check-ins and a year of coverage;
three named areas.

What is measured, in this one process, through Django's test client and the whole
stack (middleware, sign-in session, the view, the queries with their suppression, the
template): GET ``/reports/?from=..&to=..`` for the whole year, everywhere, SAMPLES times
after one warm-up; and the same with one area chosen. The floor, in the same run: one
``SELECT COUNT(*)`` over the same table for the same year. p50 and p95 of each, and
the ratio of the page's median to the floor's.

The check, each run: the page is a 200 holding the year's total as shown on it
(suppressed figures cannot hide a year of 200,000). Exit 1 when it fails. The goal
(p95 ≤ 1 s) is reported, not enforced: a loaded machine is not a wrong report.

Prints one JSON object per line. Usage (``make bench`` runs both databases):
    python bench/reports_page.py
    DATABASE_URL=postgres://.../spotline_bench python bench/reports_page.py

Knobs: BENCH_FACTS (200000), BENCH_SAMPLES (20).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import setup_django

FACTS = int(os.environ.get("BENCH_FACTS", "200000"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "20"))
GOAL_P95_S = 1.0


def say(text: str) -> None:
    print(f"[reports_page] {text}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> int:
    # The bench asks for far more reports a minute than a coordinator may.
    os.environ["SPOTLINE_RATE_REPORTS"] = "0"
    os.environ["SPOTLINE_RATE_REPORTS_GLOBAL"] = "0"
    db = setup_django()
    import h3
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from spotline.accounts.actions import user_create
    from spotline.accounts.models import Role
    from spotline.alerts.actions.areas import area_create
    from spotline.conftest import login_staff
    from spotline.tally import synthetic
    from spotline.tally.actions import local_tz
    from spotline.tally.models import CheckinFact, Coverage, IncidentFact

    now = timezone.now()
    hours = 24 * 365
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    centre = h3.latlng_to_cell(60.1699, 24.9384, 7)
    cells = sorted(h3.grid_disk(centre, 4))[:60]
    say(f"seeding {FACTS} incident facts on {db}")
    t = time.perf_counter()
    IncidentFact.objects.all().delete()
    CheckinFact.objects.all().delete()
    Coverage.objects.all().delete()
    IncidentFact.objects.bulk_create(
        synthetic.incident_facts(start=start, hours=hours, count=FACTS, areas=cells),
        batch_size=2000)
    CheckinFact.objects.bulk_create(
        synthetic.checkin_facts(start=start, hours=hours, count=FACTS // 10), batch_size=2000)
    Coverage.objects.bulk_create(
        synthetic.coverage(start=start, hours=hours, areas=cells[:12], responders=30),
        batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    say(f"seeded in {time.perf_counter() - t:.1f} s")

    box = [[24.93, 60.165], [24.95, 60.165], [24.95, 60.175], [24.93, 60.175], [24.93, 60.165]]
    area = area_create(name="Bench centre", aliases=[], now=now,
                       geometry={"type": "Polygon", "coordinates": [box]})
    user = user_create(name="bench-coordinator", role=Role.COORDINATOR, password=None)
    client = login_staff(Client(), user)
    local_today = now.astimezone(local_tz()).date()
    first, last = local_today - timedelta(days=365), local_today - timedelta(days=1)
    year = f"/reports/?from={first}&to={last}"

    def timed(url: str) -> tuple[float, bytes]:
        t0 = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - t0
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        return elapsed, response.content

    def floor() -> float:
        t0 = time.perf_counter()
        IncidentFact.objects.filter(day__gte=first, day__lte=last).count()
        return time.perf_counter() - t0

    ok = True
    expected = IncidentFact.objects.filter(day__gte=first, day__lte=last).count()
    _, body = timed(year)  # warm-up: templates, the first query plans
    total = re.search(rb'data-cell="kind_by_source/total/total"[^>]*>([^<]+)<', body)
    if not total or int(total.group(1).replace(b",", b"").strip()) != expected:
        say(f"the page does not show the year's total {expected:,}")
        ok = False
    results = {}
    for name, url in (("year", year), ("year_one_area", f"{year}&area={area.pk}")):
        page = [timed(url)[0] for _ in range(SAMPLES)]
        results[name] = page
    floors = [floor() for _ in range(SAMPLES)]
    floor_p50 = statistics.median(floors)
    for name, page in results.items():
        p50, p95 = statistics.median(page), pct(page, 0.95)
        print(json.dumps({
            "bench": "reports_page", "db": db, "case": name, "facts": FACTS,
            "in_period": expected, "samples": SAMPLES,
            "page_p50_s": round(p50, 4), "page_p95_s": round(p95, 4),
            "floor_count_p50_s": round(floor_p50, 5),
            "floor_count_p95_s": round(pct(floors, 0.95), 5),
            "ratio_p50": round(p50 / floor_p50, 1) if floor_p50 else None,
            "goal_p95_s": GOAL_P95_S, "goal_met": p95 <= GOAL_P95_S, "check_ok": ok,
        }), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
