"""How late do timers fire with 10,000 pending, when real worker processes fire them?

The production shape: ``spotline worker`` processes (WORKERS, default 2) poll the
database and fire whatever is due. 10,000 timers are pending at once, half of them
dispatch deadlines ("nobody accepted in time": mark unanswered, alert a dispatcher) on
incidents, half check-in deadlines ("you did not check in": ask by text). They fall due
spread evenly over SPREAD seconds (default 60 s, about 167 a second). Lateness is the
``fired_at`` the worker stamped minus ``due_at``, read from the database afterwards,
so the benchmark's own process measures nothing but what the workers did.

The floor, measured in the same run with the same workers: one timer due with nothing
else pending. It is dominated by the workers' poll interval (a timer that falls due
just after a pass waits for the next one), not by the work.

Prints one JSON object per line. Usage (``make bench`` runs both databases):
    python bench/timer_lateness.py            # SQLite in a temporary data dir
    DATABASE_URL=postgres://.../spotline_bench python bench/timer_lateness.py
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import checkin_facts, setup_django

N = int(os.environ.get("BENCH_TIMERS", "10000"))
SPREAD = float(os.environ.get("BENCH_SPREAD_SECONDS", "60"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
FLOOR_SAMPLES = 30
ROOT = Path(__file__).resolve().parent.parent


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def start_workers() -> list[subprocess.Popen[bytes]]:
    spotline = str(Path(sys.executable).with_name("spotline"))
    # The bulk check-ins share one data key (see ``checkins`` below), so none may get
    # as far as escalating: that destroys the key, and every other row's place with it
    # (a slow run on a busy machine once outlasted the two 60 s grace periods). Only
    # the first deadline ("due") is measured; the grace ones must not fall due here.
    env = {**os.environ, "SPOTLINE_LOG_LEVEL": "WARNING",
           "SPOTLINE_CHECKIN_GRACE_SECONDS": "86400"}
    return [subprocess.Popen([spotline, "worker"], env=env, cwd=ROOT,  # noqa: S603
                             stdout=subprocess.DEVNULL)
            for _ in range(WORKERS)]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    for w in workers:
        try:
            w.wait(timeout=15)
        except subprocess.TimeoutExpired:
            w.kill()


def main() -> None:
    db = setup_django()
    from django.core.management import call_command
    from django.forms.models import model_to_dict
    from django.utils import timezone

    from spotline.checkins.actions import checkin_start
    from spotline.checkins.models import CheckIn, CheckInDeadline
    from spotline.core.checkin import OnMiss
    from spotline.core.geo import Point
    from spotline.core.triage import Kind
    from spotline.dispatch.actions.opening import IncidentRequest, incident_open
    from spotline.dispatch.models import Incident, Timer, TimerKind
    from spotline.tally.models import IncidentFact

    # Nothing else may be due: on PostgreSQL the benchmarks share one database, and
    # another's leftovers (timers, an outbox sealed under its own data directory's key)
    # would be worked on first. The name check above makes this a benchmark database.
    call_command("flush", interactive=False, verbosity=0)

    # Templates made through the real write paths; the bulk rows copy them (the setup is
    # not what is measured). Nobody is on shift, so the incident makes no offers.
    now = timezone.now()
    template = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=Point(43.04, -87.91),
                                             description="bench"), now=now).incident
    Timer.objects.filter(incident=template, fired_at__isnull=True).update(fired_at=now)
    fields = model_to_dict(template, exclude=["id", "tracking_digest", "assigned_responder",
                                              "backup_for", "fact"])
    fields["data_key_id"] = template.data_key_id
    # Each copy has a row of its own in the reporting store, as a real incident has.
    if template.fact is None:
        raise SystemExit("the template incident has no row in the reporting store")
    fact_fields = model_to_dict(template.fact, exclude=["id"])
    checkin = checkin_start(location=Point(43.04, -87.91), description="", minutes=5,
                            on_miss=OnMiss.RESPONDERS, phone="", language="en",
                            now=now).checkin
    made_incidents = [template.pk]
    made_checkins = [checkin.pk]

    def incidents(count: int, tag: str) -> list[int]:
        facts = IncidentFact.objects.bulk_create(
            [IncidentFact(**fact_fields) for _ in range(count)], batch_size=2000)
        rows = [Incident(**{**fields, "fact": fact, "tracking_digest": f"bench-{tag}-{i:06d}"})
                for i, fact in enumerate(facts)]
        Incident.objects.bulk_create(rows, batch_size=2000)
        ids = list(Incident.objects.filter(tracking_digest__startswith=f"bench-{tag}-")
                   .values_list("id", flat=True))
        made_incidents.extend(ids)
        return ids

    def checkins(count: int, tag: str) -> list[int]:
        # Bulk rows share the template's data key (firing a "due" deadline never
        # destroys a key).
        # And a row each in the reporting store, which every move of theirs updates.
        facts = checkin_facts(count, at=now)
        rows = [CheckIn(token_digest=f"bench-{tag}-{i:06d}", minutes=5, on_miss="responders",
                        place_sealed=checkin.place_sealed, data_key_id=checkin.data_key_id,
                        language="en", created_at=now, updated_at=now, fact=fact)
                for i, fact in enumerate(facts)]
        CheckIn.objects.bulk_create(rows, batch_size=2000)
        ids = list(CheckIn.objects.filter(token_digest__startswith=f"bench-{tag}-")
                   .values_list("id", flat=True))
        made_checkins.extend(ids)
        return ids

    def arm(incident_ids: list[int], checkin_ids: list[int], start: float,
            spread: float) -> None:
        # Interleave the two kinds over the spread, as they would arrive in real life.
        total = len(incident_ids) + len(checkin_ids)
        at = timezone.now() + timedelta(seconds=start)

        def due(i: int) -> object:
            return at + timedelta(seconds=spread * i / max(total, 1))

        Timer.objects.bulk_create(
            [Timer(kind=TimerKind.DEADLINE, incident_id=iid, round=1, due_at=due(2 * i))
             for i, iid in enumerate(incident_ids)], batch_size=2000)
        CheckInDeadline.objects.bulk_create(
            [CheckInDeadline(checkin_id=cid, generation=0, event="due", due_at=due(2 * i + 1))
             for i, cid in enumerate(checkin_ids)], batch_size=2000)
        CheckIn.objects.filter(pk__in=checkin_ids).update(next_at=at)

    def lateness_ms(incident_ids: list[int], checkin_ids: list[int]) -> tuple[list[float], int]:
        late: list[float] = []
        missed = 0
        # Only the deadlines armed here: a fired check-in deadline arms the next one.
        for rows_of, ids in ((lambda part: Timer.objects.filter(
                                  incident_id__in=part, kind=TimerKind.DEADLINE, round=1),
                              incident_ids),
                             (lambda part: CheckInDeadline.objects.filter(
                                 checkin_id__in=part, generation=0), checkin_ids)):
            for chunk in range(0, len(ids), 900):
                rows = rows_of(ids[chunk:chunk + 900]).values_list("due_at", "fired_at")
                for due_at, fired_at in rows:
                    if fired_at is None:
                        missed += 1
                    else:
                        late.append((fired_at - due_at).total_seconds() * 1000)
        return late, missed

    def pending() -> int:
        return (Timer.objects.filter(fired_at__isnull=True, kind=TimerKind.DEADLINE,
                                     round=1).count()
                + CheckInDeadline.objects.filter(fired_at__isnull=True, generation=0,
                                                 checkin__token_digest__startswith="bench-")
                .count())

    workers = start_workers()
    try:
        time.sleep(3)  # the workers' start-up (Django, connections) is not measured
        # Floor: one timer at a time, nothing else due.
        floor: list[float] = []
        for k in range(FLOOR_SAMPLES):
            ids = incidents(1, f"floor{k}") if k % 2 == 0 else []
            cids = [] if ids else checkins(1, f"floor{k}")
            arm(ids, cids, start=0.3, spread=0)
            deadline = time.monotonic() + 10
            while pending() and time.monotonic() < deadline:
                time.sleep(0.05)
            late, missed = lateness_ms(ids, cids)
            if missed:
                sys.exit("floor timer never fired: is the worker running?")
            floor.extend(late)

        half = N // 2
        incident_ids, checkin_ids = incidents(half, "load"), checkins(N - half, "load")
        arm(incident_ids, checkin_ids, start=5, spread=SPREAD)
        end_by = time.monotonic() + 5 + SPREAD + 120
        while pending() and time.monotonic() < end_by:
            time.sleep(1)
        late, missed = lateness_ms(incident_ids, checkin_ids)
    finally:
        stop_workers(workers)

    result = {
        "name": "timer_lateness", "db": db, "timers": N, "workers": WORKERS,
        "spread_s": SPREAD, "n": len(late),
        "p50_ms": round(statistics.median(late), 1) if late else None,
        "p99_ms": round(pct(late, 0.99), 1) if late else None,
        "max_ms": round(max(late), 1) if late else None,
        "floor_p50_ms": round(statistics.median(floor), 1),
        "floor_p99_ms": round(pct(floor, 0.99), 1),
        "missed": missed,
    }
    if late:
        result["ratio"] = round(result["p50_ms"] / max(result["floor_p50_ms"], 0.01), 2)
    print(json.dumps(result), flush=True)
    CheckIn.objects.filter(pk__in=made_checkins).delete()
    for chunk in range(0, len(made_incidents), 900):
        Incident.objects.filter(pk__in=made_incidents[chunk:chunk + 900]).delete()
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
