"""Nothing acknowledged is ever lost (ARCHITECTURE.md, non-negotiable 3).

Every due timer fires after a worker is killed and restarted; a worker killed in the
middle of firing leaves nothing half-done; racing workers fire each timer exactly
once; a double accept assigns once. These tests use committed data and real
concurrency: threads with their own database connections, real ``spotline worker``
processes on the test database, and a live HTTP server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from spotline.accounts.actions import token_create
from spotline.conftest import CENTRE, HANG_SECONDS, T0, offset
from spotline.core.geo import Point
from spotline.core.policy import OfferStatus
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, IncidentEvent, Offer, Timer, TimerKind
from spotline.dispatch.timers import fire_due, fire_timer
from spotline.errors import IncidentTaken
from spotline.responders.models import Responder

S = timedelta(seconds=1)
REPO = Path(__file__).resolve().parents[3]

postgres_only = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL"),
        reason="SQLite has no row locks: a second writer waits for the database write "
               "lock instead of skipping a locked row, so there is nothing to skip",
    ),
]


def with_marks(marks: list[pytest.MarkDecorator]) -> Callable[[Any], Any]:
    def apply(fn: Any) -> Any:
        for mark in reversed(marks):
            fn = mark(fn)
        return fn

    return apply


def open_overdose(*, now: datetime, at: Point = CENTRE) -> Incident:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=at, breathing=Answer.NO
           ), now=now).incident


def near_and_far(make_responder: Callable[..., Responder], around: Point = CENTRE,
                 ) -> tuple[set[int], set[int]]:
    near = {make_responder(at=offset(around, n)).pk for n in (100, 200, 300)}
    # 800-1000 m: the next three on foot, within the P1 cap (20 min).
    far = {make_responder(at=offset(around, n)).pk for n in (800, 900, 1000)}
    return near, far


def offered(incident_id: int, *, round: int, status: OfferStatus) -> set[int]:
    return set(Offer.objects.filter(incident_id=incident_id, round=round, status=status)
               .values_list("responder_id", flat=True))


def event_counts(type: str) -> Counter[int]:
    return Counter(IncidentEvent.objects.filter(type=type).values_list("incident_id", flat=True))


def wait_until(predicate: Callable[[], bool], *, what: str, logs: Callable[[], str] = str,
               timeout: float = HANG_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
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


# -- worker processes ---------------------------------------------------------------------


# A worker whose round-expiry handler does its work and then hangs before the commit,
# so the test can kill it at the worst moment. Only the handler is replaced: the claim,
# the transaction and the loop are the real ones.
HANG_SHIM = """
import os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotline.settings")
import django
django.setup()
from spotline.dispatch import timers
original = timers.HANDLERS["round_expiry"]
def hang(*, timer, now):
    original(timer=timer, now=now)
    open(sys.argv[1], "w").close()
    time.sleep(3600)  # until the test kills it, however long it takes to notice
timers.HANDLERS["round_expiry"] = hang
from django.core.management import call_command
call_command("worker")
"""


def worker_env() -> dict[str, str]:
    """The environment that points a ``spotline worker`` at this test's database."""
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SPOTLINE_SQLITE_PATH", "DJANGO_SETTINGS_MODULE")}
    env["SPOTLINE_WORKER_POLL_SECONDS"] = "0.1"
    env["SPOTLINE_LOG_LEVEL"] = "INFO"
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
            f"@{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"
        )
    else:
        env["SPOTLINE_SQLITE_PATH"] = str(db["NAME"])
    return env


class WorkerProcess:
    def __init__(self, log: Path, *, hang_marker: Path | None = None) -> None:
        self.log = log
        if hang_marker is None:
            cmd = [sys.executable, "-m", "spotline", "worker"]
        else:
            cmd = [sys.executable, "-c", HANG_SHIM, str(hang_marker)]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and code
                cmd, cwd=REPO, env=worker_env(), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)

    def output(self) -> str:
        return f"--- {self.log.name}\n{self.log.read_text(errors='replace')}"

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=HANG_SECONDS) == -signal.SIGKILL

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=HANG_SECONDS)


@pytest.fixture
def workers(transactional_db: Any, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(*, hang_marker: Path | None = None) -> WorkerProcess:
        w = WorkerProcess(tmp_path / f"worker{len(started) + 1}.log", hang_marker=hang_marker)
        started.append(w)
        return w

    yield start
    # Before the test database is flushed (or dropped): no worker may outlive its test.
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
        w.proc.wait(timeout=HANG_SECONDS)


def fired(timer_ids: list[int]) -> Callable[[], bool]:
    def check() -> bool:
        return Timer.objects.filter(pk__in=timer_ids, fired_at__isnull=False).count() == len(
            timer_ids)

    return check


@pytest.mark.django_db(transaction=True)
def test_it_fires_timers_that_fell_due_while_the_worker_was_down(make_responder, workers):
    near, far = near_and_far(make_responder)
    first = workers()
    # Proof of life: the first worker fires a timer that is already due.
    alive = open_overdose(now=timezone.now() - 60 * S)
    alive_timer = Timer.objects.get(incident=alive, kind=TimerKind.ROUND_EXPIRY, round=1)
    wait_until(fired([alive_timer.pk]), what="the first worker to fire", logs=first.output)

    first.kill9()
    # While no worker runs, an incident's offers expire and its deadline passes.
    incident = open_overdose(now=timezone.now() - 10 * timedelta(minutes=1))
    due = list(Timer.objects.filter(incident=incident).values_list("pk", flat=True))
    assert len(due) == 2
    time.sleep(0.3)
    assert not fired(due)()
    assert offered(incident.pk, round=1, status=OfferStatus.PENDING) == near

    second = workers()
    wait_until(fired(due), what="the restarted worker to fire the missed timers",
               logs=second.output)

    incident.refresh_from_db()
    assert incident.state == "dispatching"
    assert incident.current_round == 2
    assert offered(incident.pk, round=1, status=OfferStatus.EXPIRED) == near
    assert offered(incident.pk, round=2, status=OfferStatus.PENDING) == far
    assert incident.unanswered_at is not None
    assert incident.ems_proposed_at is not None
    assert event_counts("widened")[incident.pk] == 1
    assert event_counts("unanswered")[incident.pk] == 1
    assert second.stop() == 0


@pytest.mark.django_db(transaction=True)
def test_it_rolls_back_a_fire_cut_short_by_a_crash_and_fires_it_after_restart(
        make_responder, workers, tmp_path):
    near, far = near_and_far(make_responder)
    incident = open_overdose(now=timezone.now() - 60 * S)
    timer = Timer.objects.get(incident=incident, kind=TimerKind.ROUND_EXPIRY, round=1)
    marker = tmp_path / "handler-ran"

    doomed = workers(hang_marker=marker)
    wait_until(marker.exists, what="the handler to run", logs=doomed.output)
    doomed.kill9()

    # The claim and the handler's writes were one transaction: none of it happened.
    timer.refresh_from_db()
    assert timer.fired_at is None
    incident.refresh_from_db()
    assert incident.current_round == 1
    assert offered(incident.pk, round=1, status=OfferStatus.PENDING) == near
    assert event_counts("offers_expired")[incident.pk] == 0

    survivor = workers()
    wait_until(fired([timer.pk]), what="the restarted worker to fire the timer",
               logs=survivor.output)
    incident.refresh_from_db()
    assert incident.current_round == 2
    assert offered(incident.pk, round=2, status=OfferStatus.PENDING) == far
    assert event_counts("offers_expired")[incident.pk] == 1
    assert event_counts("widened")[incident.pk] == 1


@pytest.mark.django_db(transaction=True)
def test_it_stops_cleanly_on_sigterm(workers):
    w = workers()
    wait_until(lambda: "worker started" in w.log.read_text(errors="replace"),
               what="the worker to start", logs=w.output)
    assert w.stop() == 0
    assert "worker stopped" in w.log.read_text(errors="replace")


# -- racing workers -----------------------------------------------------------------------


def assert_each_round_fired_once(incident_ids: list[int]) -> None:
    n = len(incident_ids)
    assert Incident.objects.filter(pk__in=incident_ids, current_round=2).count() == n
    for type in ("offers_expired", "widened"):
        counts = event_counts(type)
        assert {i: counts[i] for i in incident_ids} == dict.fromkeys(incident_ids, 1), type
    assert Offer.objects.filter(incident_id__in=incident_ids, round=2).count() == 3 * n
    assert Timer.objects.filter(incident_id__in=incident_ids, kind=TimerKind.ROUND_EXPIRY,
                                round=1, fired_at__isnull=True).count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_fires_each_timer_once_when_three_workers_race(make_responder):
    near_and_far(make_responder)
    with transaction.atomic():
        incident_ids = [open_overdose(now=T0).pk for _ in range(200)]

    results = run_threads(lambda i: fire_due(now=T0 + 50 * S), 3)

    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 200
    assert_each_round_fired_once(incident_ids)


@pytest.mark.django_db(transaction=True)
def test_it_fires_each_timer_once_when_two_worker_processes_race(make_responder, workers):
    near_and_far(make_responder)
    with transaction.atomic():
        incident_ids = [open_overdose(now=timezone.now() - 10 * timedelta(minutes=1)).pk
                        for _ in range(60)]
    due = list(Timer.objects.filter(incident_id__in=incident_ids).values_list("pk", flat=True))
    assert len(due) == 120  # a round expiry and a deadline each

    pair = [workers(), workers()]
    wait_until(fired(due), what="two workers to fire every due timer",
               logs=lambda: "\n".join(w.output() for w in pair))
    assert [w.stop() for w in pair] == [0, 0]

    assert_each_round_fired_once(incident_ids)
    counts = event_counts("unanswered")
    assert {i: counts[i] for i in incident_ids} == dict.fromkeys(incident_ids, 1)
    # Each worker logs what it fired: between them, every timer exactly once.
    fired_ids = Counter(
        int(line.split("timer fired id=")[1].split()[0])
        for w in pair for line in w.log.read_text(errors="replace").splitlines()
        if "timer fired id=" in line
    )
    assert set(fired_ids) == set(due)
    assert max(fired_ids.values()) == 1


@with_marks(postgres_only)
@pytest.mark.django_db(transaction=True)
def test_it_skips_a_timer_another_worker_holds_instead_of_waiting(make_responder):
    make_responder(north_m=100)
    incident = open_overdose(now=T0)
    timer = Timer.objects.get(incident=incident, kind=TimerKind.ROUND_EXPIRY, round=1)
    locked, release, let_go = threading.Event(), threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(Timer.objects.select_for_update().filter(pk=timer.pk))
                locked.set()
                release.wait(timeout=HANG_SECONDS)
                let_go.set()  # still holding the lock: it goes with the commit
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(timeout=HANG_SECONDS)
        assert fire_timer(timer.pk, now=T0 + 45 * S) is False
        # The holder lets go only when told to (below), or after HANG_SECONDS: a claim
        # that waited for the lock could not have returned before.
        assert not let_go.is_set(), "waited for the lock"
    finally:
        release.set()
        holder.join(timeout=HANG_SECONDS)
    timer.refresh_from_db()
    # Skipping is not failing: no backoff, no error recorded.
    assert (timer.fired_at, timer.attempts, timer.last_error) == (None, 0, "")

    assert fire_timer(timer.pk, now=T0 + 46 * S) is True
    timer.refresh_from_db()
    assert timer.fired_at == T0 + 46 * S


# -- double accept ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_assigns_once_when_three_responders_accept_at_the_same_moment(make_responder):
    for attempt in range(5):
        # Each race on its own incident, far from the others, with its own three.
        place = offset(CENTRE, attempt * 50_000)
        responders = [make_responder(at=offset(place, n)) for n in (100, 200, 300)]
        incident = open_overdose(now=T0, at=place)
        offers = {o.responder_id: o.pk for o in Offer.objects.filter(incident=incident)}
        assert set(offers) == {r.pk for r in responders}

        results = run_threads(
            lambda i, rs=responders, ids=offers: offer_accept(
                offer_id=ids[rs[i].pk], responder=rs[i], now=T0 + 10 * S),
            3,
        )

        winners = [r for r in results if isinstance(r, Offer)]
        losers = [r for r in results if not isinstance(r, Offer)]
        assert len(winners) == 1, results
        assert all(isinstance(r, IncidentTaken) for r in losers), results
        accepted = Offer.objects.filter(incident=incident, status=OfferStatus.ACCEPTED)
        assert list(accepted.values_list("pk", flat=True)) == [winners[0].pk]
        assert Offer.objects.filter(incident=incident,
                                    status=OfferStatus.WITHDRAWN).count() == 2
        incident.refresh_from_db()
        assert incident.state == "assigned"
        assert incident.assigned_responder_id == winners[0].responder_id
        assert event_counts("accept")[incident.pk] == 1


def post(url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL we built
        url, data=b"{}", method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=HANG_SECONDS) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.django_db(transaction=True)
def test_it_answers_one_200_and_one_409_to_two_accepts_over_http(make_responder, live_server):
    a, b = make_responder(north_m=100), make_responder(north_m=200)
    incident = open_overdose(now=timezone.now())
    calls = []
    port = urlsplit(live_server.url).port
    for r in (a, b):
        offer = Offer.objects.get(incident=incident, responder=r)
        calls.append((f"http://127.0.0.1:{port}/api/v1/offers/{offer.pk}/accept",
                      token_create(name=r.user.username, now=timezone.now())))

    results = run_threads(lambda i: post(*calls[i]), 2)

    assert sorted(status for status, _ in results) == [200, 409], results
    [(_, won)] = [(s, body) for s, body in results if s == 200]
    [(_, lost)] = [(s, body) for s, body in results if s == 409]
    assert won["incident_id"] == incident.pk
    assert won["location"]["lat"] == CENTRE.lat
    assert lost["code"] == "incident_taken"
    # The loser learns nothing about where the person is.
    assert "location" not in lost and str(CENTRE.lat) not in json.dumps(lost)
    assert Offer.objects.filter(incident=incident, status=OfferStatus.ACCEPTED).count() == 1
    incident.refresh_from_db()
    assert incident.state == "assigned"
    assert incident.assigned_responder_id == Offer.objects.get(pk=won["offer_id"]).responder_id
