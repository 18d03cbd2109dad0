"""How late do check-in deadlines fire with 10,000 check-ins running?

10,000 active check-ins get their next check due spread evenly over SPREAD seconds
(default 60 s: about 167 a second, five times the rate of 10,000 people checking in
every five minutes). The worker's own firing function handles each due deadline on
the wall clock; lateness is when it was handled minus when it was due. The floor,
measured in the same run on the same database, is one deadline fired with nothing
else due.

Prints one JSON object per line. Usage (``make bench`` runs both databases):
    python bench/checkin_lateness.py            # SQLite in a temporary data dir
    DATABASE_URL=postgres://... python bench/checkin_lateness.py
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import checkin_facts, setup_django

N = int(os.environ.get("BENCH_CHECKINS", "10000"))
SPREAD = float(os.environ.get("BENCH_SPREAD_SECONDS", "60"))


def main() -> None:
    db = setup_django()
    from django.utils import timezone

    from spotline.checkins.actions import checkin_start
    from spotline.checkins.deadlines import deadline_fire
    from spotline.checkins.models import CheckIn, CheckInDeadline
    from spotline.core.checkin import OnMiss
    from spotline.core.geo import Point

    made: list[int] = []

    # Floor: one check-in's deadline fired alone.
    floor = []
    for _ in range(30):
        started = checkin_start(location=Point(60.17, 24.94), description="", minutes=1,
                                on_miss=OnMiss.RESPONDERS, phone="", language="en",
                                now=timezone.now() - timedelta(minutes=2))
        made.append(started.checkin.pk)
        deadline = CheckInDeadline.objects.get(checkin=started.checkin, fired_at__isnull=True)
        t = time.perf_counter()
        deadline_fire(deadline.pk, now=timezone.now())
        floor.append((time.perf_counter() - t) * 1000)

    # 10,000 check-ins, set up in bulk (the setup is not what is measured).
    template = checkin_start(location=Point(60.17, 24.94), description="bench", minutes=5,
                             on_miss=OnMiss.RESPONDERS, phone="", language="en",
                             now=timezone.now()).checkin
    made.append(template.pk)
    start = timezone.now() + timedelta(seconds=5)
    # Bulk rows share the template's data key (one key each would only slow the setup;
    # firing a "due" deadline never destroys a key).
    # And a row each in the reporting store, which every move of theirs updates.
    facts = checkin_facts(N, at=start)
    rows = [CheckIn(token_digest=f"bench-{i:06d}", minutes=5, on_miss="responders",
                    place_sealed=template.place_sealed, data_key_id=template.data_key_id,
                    language="en", created_at=start, updated_at=start, fact=fact)
            for i, fact in enumerate(facts)]
    CheckIn.objects.bulk_create(rows, batch_size=2000)
    ids = list(CheckIn.objects.filter(token_digest__startswith="bench-")
               .order_by("id").values_list("id", flat=True))
    CheckInDeadline.objects.bulk_create(
        [CheckInDeadline(checkin_id=cid, generation=0, event="due",
                         due_at=start + timedelta(seconds=SPREAD * i / N))
         for i, cid in enumerate(ids)], batch_size=2000)
    CheckIn.objects.filter(pk__in=ids).update(next_at=start)

    # The worker's loop, on the wall clock, with lateness taken per deadline. Only the
    # first checks are measured (each one arms a grace deadline a minute later).
    pending = CheckInDeadline.objects.filter(checkin__token_digest__startswith="bench-",
                                             generation=0, event="due", fired_at__isnull=True)
    lateness: list[float] = []
    end_by = time.monotonic() + SPREAD + 300
    while time.monotonic() < end_by:
        due = list(pending.filter(due_at__lte=timezone.now())
                   .order_by("due_at").values_list("id", "due_at")[:500])
        if not due:
            if not pending.exists():
                break
            time.sleep(0.05)
            continue
        for deadline_id, due_at in due:
            deadline_fire(deadline_id, now=timezone.now())
            lateness.append((timezone.now() - due_at).total_seconds() * 1000)
    missed = pending.count()

    lateness.sort()
    result = {
        "name": "checkin_lateness", "db": db, "n": len(lateness), "checkins": N,
        "spread_s": SPREAD,
        "p50_ms": round(statistics.median(lateness), 1),
        "p99_ms": round(lateness[int(len(lateness) * 0.99) - 1], 1),
        "max_ms": round(lateness[-1], 1),
        "floor_p50_ms": round(statistics.median(floor), 2),
        "missed": missed,
    }
    result["ratio"] = round(result["p50_ms"] / max(result["floor_p50_ms"], 0.01), 1)
    print(json.dumps(result))
    CheckInDeadline.objects.filter(checkin__token_digest__startswith="bench-").delete()
    CheckIn.objects.filter(token_digest__startswith="bench-").delete()
    CheckIn.objects.filter(pk__in=made).delete()
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
