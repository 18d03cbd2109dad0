"""The worker loop rides out a database outage: it warns once, backs off, and fires
every timer that fell due as soon as the database answers again.

"Down" is Django's query hook (``connection.execute_wrapper``) refusing every query of
the worker's passes, as a stopped server does; the loop, its backoff and its
reconnection are the real ones. ``make faults`` (faults/) restarts a real PostgreSQL
under two real worker processes.
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

import pytest
from django.db import OperationalError, connection

from spotline.conftest import CENTRE, T0
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Timer
from spotline.worker.loop import Worker

pytestmark = pytest.mark.django_db(transaction=True)


def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    raise OperationalError("connection refused")


class OutageWorker(Worker):
    """The real loop; its first ``down_for`` passes meet a database that is down, and it
    stops after the first pass that gets through. It notes when each pass began and
    how long the loop chose to wait after it."""

    def __init__(self, *, down_for: int, poll_seconds: float) -> None:
        super().__init__(poll_seconds=poll_seconds)
        self.down_for = down_for
        self.passes: list[tuple[float, bool]] = []
        self.waits: list[float] = []

    def step_guarded(self) -> float:
        wait = super().step_guarded()
        self.waits.append(wait)
        return wait

    def step(self) -> int:
        down = len(self.passes) < self.down_for
        self.passes.append((time.monotonic(), down))
        if down:
            with connection.execute_wrapper(refuse):
                return super().step()
        fired = super().step()
        self.stopping.set()
        return fired


def test_the_worker_survives_an_outage_and_fires_what_fell_due(
        make_responder: Any, caplog: pytest.LogCaptureFixture) -> None:
    for n in range(3):
        make_responder(north_m=100 * (n + 1))
    incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)
    # T0 is in the past: the offers' expiry and the escalation deadline are due now.
    due = Timer.objects.filter(fired_at__isnull=True).count()
    assert due >= 2

    worker = OutageWorker(down_for=4, poll_seconds=0.05)
    with caplog.at_level(logging.INFO, logger="spotline.worker.loop"):
        worker.run()

    assert [down for _, down in worker.passes] == [True] * 4 + [False]
    # Backoff: the loop waits twice as long after each failed pass, and goes straight
    # on after one that fired something. The waits it chose, not the gaps measured
    # between passes: a busy machine stretches those (the cap is tested below).
    assert worker.waits == [0.1, 0.2, 0.4, 0.8, 0.0]
    # ... and it did wait that long (a lower bound: load only makes a gap longer).
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(worker.passes)]
    assert all(gap >= wait - 0.01 for gap, wait in zip(gaps, worker.waits[:-1], strict=True))
    assert Timer.objects.filter(fired_at__isnull=True, due_at__lte=T0).count() == 0
    assert Timer.objects.filter(fired_at__isnull=False).count() >= due
    messages = [r.getMessage() for r in caplog.records]
    # One warning for the outage, however many passes failed, and one for the recovery.
    assert sum("worker pass failed (OperationalError)" in m for m in messages) == 1
    assert sum(m.startswith("worker recovered after") for m in messages) == 1
    assert worker.stopping.is_set()


def test_a_guarded_pass_backs_off_while_failing_and_resets_on_recovery(
        caplog: pytest.LogCaptureFixture) -> None:
    # `spotline run`'s in-process worker and `spotline worker` share step_guarded.
    class Flaky(Worker):
        def __init__(self) -> None:
            super().__init__(poll_seconds=0.1)
            self.failures = 6

        def step(self) -> int:
            if self.failures:
                self.failures -= 1
                raise OperationalError("connection refused")
            return 0

    worker = Flaky()
    with caplog.at_level(logging.WARNING, logger="spotline.worker.loop"):
        waits = [worker.step_guarded() for _ in range(7)]
    # Doubling up to the cap (MAX_FAILURE_BACKOFF_SECONDS), then the poll interval again.
    assert waits == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 0.1]
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "worker pass failed (OperationalError); retrying"
    assert messages[-1].startswith("worker recovered after")
    assert not any("connection refused" in m for m in messages)
