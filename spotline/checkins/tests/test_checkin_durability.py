"""Check-ins are as durable as the dispatch loop (issue 5, "Durability").

A deadline that fell due while the worker was down fires in the first pass of the
worker that starts next (real ``spotline worker`` processes on the test database), and
racing workers never escalate the same check-in twice (threads with their own database
connections). How late deadlines fire is a figure, measured by bench/checkin_lateness.py.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.utils import timezone

from spotline.checkins.actions import checkin_start
from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn, CheckInDeadline
from spotline.conftest import CENTRE, HANG_SECONDS
from spotline.core.checkin import OnMiss
from spotline.dispatch.models import Incident, Source

S = timedelta(seconds=1)
GRACE = 60 * S
REPO = Path(__file__).resolve().parents[3]
# The restarted worker's poll interval: long, so that "fired in the first pass" can be
# told from "fired in a later one" by the worker's own clock, whatever the machine's load.
POLL_SECONDS = 30.0


@pytest.fixture(autouse=True)
def grace(settings):
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = int(GRACE.total_seconds())


def wait_until(predicate: Callable[[], bool], *, what: str, logs: Callable[[], str] = str,
               timeout: float = HANG_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs()}")


def run_threads(target: Callable[[int], Any], n: int) -> list[Any]:
    """Run target(i) in n threads released together; each uses and closes its own
    database connection. Returns the results (or the exceptions raised) in order."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=HANG_SECONDS)
            results[i] = target(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=HANG_SECONDS)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


def walk_to_warned(*, started: datetime, minutes: int = 1, count: int = 1) -> list[int]:
    """Start check-ins at ``started`` and let both attempts go unanswered in-process, so
    that only the escalation deadline (``started + minutes + 2 * grace``) is left."""
    with transaction.atomic():
        ids = [checkin_start(location=CENTRE, description="back bedroom, door unlocked",
                             minutes=minutes, on_miss=OnMiss.RESPONDERS, phone="",
                             language="en", now=started).checkin.pk
               for _ in range(count)]
    due = started + timedelta(minutes=minutes)
    assert fire_due_checkins(now=due) == count  # asked
    assert fire_due_checkins(now=due + GRACE) == count  # warned
    assert CheckIn.objects.filter(pk__in=ids, state="warned").count() == count
    pending = CheckInDeadline.objects.filter(checkin_id__in=ids, fired_at__isnull=True)
    assert pending.count() == count
    assert all(d.event == "grace" and d.due_at == due + 2 * GRACE for d in pending)
    return ids


# -- worker processes ---------------------------------------------------------------------


def worker_env() -> dict[str, str]:
    """The environment that points a ``spotline worker`` at this test's database, with
    this process's keys so that it can unseal the place."""
    db = django_settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SPOTLINE_SQLITE_PATH", "DJANGO_SETTINGS_MODULE")}
    env["SPOTLINE_WORKER_POLL_SECONDS"] = str(POLL_SECONDS)
    env["SPOTLINE_LOG_LEVEL"] = "INFO"
    env["SPOTLINE_LOG_FORMAT"] = "json"  # the test reads the start time from the log
    env["SPOTLINE_CHECKIN_GRACE_SECONDS"] = "10"
    env["SPOTLINE_KEK"] = base64.urlsafe_b64encode(django_settings.SPOTLINE_KEK).decode()
    env["SPOTLINE_HASH_KEY"] = base64.urlsafe_b64encode(
        django_settings.SPOTLINE_HASH_KEY).decode()
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
            f"@{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"
        )
    else:
        env["SPOTLINE_SQLITE_PATH"] = str(db["NAME"])
    return env


class WorkerProcess:
    def __init__(self, log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "spotline", "worker"], cwd=REPO, env=worker_env(),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def output(self) -> str:
        return f"--- {self.log.name}\n{self.log.read_text(errors='replace')}"

    def started_at(self) -> datetime | None:
        """When the worker logged that it started, by its own clock: its loop's first
        pass reads the time right after (spotline/worker/loop.py, Worker.run)."""
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"worker started"' in line:
                return datetime.fromisoformat(json.loads(line)["time"])
        return None

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=HANG_SECONDS) == -signal.SIGKILL

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=HANG_SECONDS)


@pytest.fixture
def workers(transactional_db: Any, tmp_path: Path) -> Iterator[Callable[[], WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        w = WorkerProcess(tmp_path / f"worker{len(started) + 1}.log")
        started.append(w)
        return w

    yield start
    # Before the test database is flushed (or dropped): no worker may outlive its test.
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
        w.proc.wait(timeout=HANG_SECONDS)


@pytest.mark.django_db(transaction=True)
def test_a_restarted_worker_escalates_a_missed_check_in_in_its_first_pass(workers):
    first = workers()
    wait_until(lambda: first.started_at() is not None,
               what="the first worker to start", logs=first.output)
    first.kill9()

    # While no worker runs, the person stops answering and the last deadline passes.
    [checkin_id] = walk_to_warned(started=timezone.now() - 10 * timedelta(minutes=1))
    time.sleep(0.2)
    assert CheckIn.objects.get(pk=checkin_id).state == "warned"
    assert not Incident.objects.filter(source=Source.CHECKIN).exists()
    [missed] = CheckInDeadline.objects.filter(checkin_id=checkin_id, fired_at__isnull=True)

    second = workers()

    def escalated() -> bool:
        checkin = CheckIn.objects.get(pk=checkin_id)
        return (checkin.state == "escalated" and checkin.incident_id is not None
                and Incident.objects.filter(pk=checkin.incident_id).exists())

    wait_until(escalated, what="the restarted worker to escalate", logs=second.output)

    # Promptly means in the restarted worker's first pass, which reads the clock just
    # after "worker started": a later pass would come at least POLL_SECONDS after it.
    # Measured from the worker's own start, not from the launch of its process, so a
    # slow interpreter start on a busy machine cannot fail the test (the figure is
    # bench/checkin_lateness.py's).
    started = second.started_at()
    assert started is not None, second.output()
    missed.refresh_from_db()
    assert missed.fired_at is not None
    assert started <= missed.fired_at < started + timedelta(seconds=POLL_SECONDS), (
        f"started {started}, fired {missed.fired_at}\n{second.output()}")
    print(f"worker start to escalation: "
          f"{(missed.fired_at - started).total_seconds() * 1000:.0f} ms ({connection.vendor})")

    # Once: one incident, nothing left to fire.
    checkin = CheckIn.objects.get(pk=checkin_id)
    [incident] = Incident.objects.filter(source=Source.CHECKIN)
    assert incident.pk == checkin.incident_id
    assert incident.kind == "overdose"
    assert incident.priority == "P1"
    assert checkin.place_sealed == ""
    assert not CheckInDeadline.objects.filter(checkin_id=checkin_id,
                                              fired_at__isnull=True).exists()
    assert second.stop() == 0


# -- racing workers -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_three_racing_workers_escalate_each_check_in_once():
    ids = walk_to_warned(started=timezone.now() - 10 * timedelta(minutes=1), count=50)

    results = run_threads(lambda i: fire_due_checkins(now=timezone.now()), 3)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 50, results
    assert Incident.objects.filter(source=Source.CHECKIN).count() == 50
    checkins = CheckIn.objects.filter(pk__in=ids)
    assert all(c.state == "escalated" and c.incident_id is not None for c in checkins)
    incident_ids = [c.incident_id for c in checkins]
    assert len(set(incident_ids)) == 50
    assert set(incident_ids) == set(
        Incident.objects.filter(source=Source.CHECKIN).values_list("pk", flat=True))
    assert not CheckInDeadline.objects.filter(checkin_id__in=ids,
                                              fired_at__isnull=True).exists()
