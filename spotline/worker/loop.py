"""The worker loop: run every app's step, pass after pass, surviving failures.

A pass runs the steps of ``steps.default_steps()`` in order (timers before the outbox, so a
timer's offers go out in the same pass). Every step goes through the same guard:

1. A step that is not due yet (housekeeping runs once a minute) is skipped.
2. A step that raises is recorded (``StepRecord``: failures in a row, the exception's
   class name, since when) and backed off on its own — twice the poll interval, doubling
   up to ``MAX_STEP_BACKOFF`` — while the other steps go on: one broken step never stops
   timers from firing. Its first failure is logged, then once every
   ``FAILURE_WARN_EVERY_SECONDS``; recovery is logged too. Only the class name is kept,
   never the message: a database error's message can quote a row.
3. When the database itself is in trouble (``OperationalError``: a restart, a failover,
   a lost connection), every step would fail the same way, each after a connect
   timeout: the pass stops, the connections are dropped, and the whole loop backs off
   (up to ``MAX_FAILURE_BACKOFF_SECONDS``; short, because every timer that fell due
   during the outage must fire within seconds of its return).

Steps are plain functions of ``now``; tests call them directly, or ``Worker.step()``
for one pass.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

from django.db import InterfaceError, OperationalError, close_old_connections, connections
from django.utils import timezone

from spotline.worker.steps import Step, default_steps

log = logging.getLogger(__name__)

# While the database is unreachable, passes back off up to this.
MAX_FAILURE_BACKOFF_SECONDS = 2.0
# A step failing on its own (a bug, a poison row outside the timer tables) waits longer.
MAX_STEP_BACKOFF_SECONDS = 60.0
FAILURE_WARN_EVERY_SECONDS = 10.0


@dataclass
class StepRecord:
    """How one step is doing: the one error record the worker keeps for every step."""

    failures: int = 0  # in a row; 0 once it succeeds again
    last_error: str = ""  # the exception's class name
    failing_since: float | None = None  # time.monotonic()
    last_warned: float = 0.0
    next_run: float = 0.0  # time.monotonic(): not before


def database_trouble(exc: BaseException) -> bool:
    """True when the error is about reaching the database (down, restarting, a lost
    connection, a lock that timed out), not about what a step did: then every step
    would fail alike, so the pass stops and the loop backs off."""
    return isinstance(exc, OperationalError | InterfaceError)


class Worker:
    """Runs ``steps`` in passes until stopped. Stops cleanly between passes on
    SIGTERM/SIGINT (``install_signal_handlers``) or when ``stopping`` is set."""

    def __init__(self, *, poll_seconds: float, steps: Sequence[Step] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.poll_seconds = poll_seconds
        self.steps = list(steps) if steps is not None else default_steps()
        self.clock = clock
        self.stopping = threading.Event()
        self.records: dict[str, StepRecord] = {s.name: StepRecord() for s in self.steps}
        self.last_pass: dict[str, int] = {}  # what each step did in the last pass
        self._failing_since: float | None = None
        self._last_warned = 0.0
        self._backoff = poll_seconds

    def install_signal_handlers(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("worker stopping on signal %s", signum)
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def step(self) -> int:
        """One pass over every due step; returns how much work they did. Raises only
        when the database is unreachable (``step_guarded`` handles that)."""
        close_old_connections()
        done = 0
        self.last_pass = {}
        for step in self.steps:
            record = self.records[step.name]
            moment = self.clock()
            if moment < record.next_run:
                continue
            try:
                did = step.run(now=timezone.now())
            except Exception as exc:
                if database_trouble(exc):
                    raise
                self._failed(step, record, exc, moment)
                continue
            done += did
            self.last_pass[step.name] = did
            if record.failures:
                log.warning("worker step %r recovered after %d failure(s)", step.name,
                            record.failures)
            record.failures, record.failing_since = 0, None
            record.next_run = moment + step.every
        return done

    def _failed(self, step: Step, record: StepRecord, exc: Exception, moment: float) -> None:
        record.failures += 1
        record.last_error = type(exc).__name__
        delay = min(self.poll_seconds * 2 ** record.failures, MAX_STEP_BACKOFF_SECONDS)
        record.next_run = moment + max(delay, step.every)
        if record.failing_since is None:
            record.failing_since = record.last_warned = moment
            log.error("worker step %r failed (%s); retrying in %.1f s", step.name,
                      record.last_error, delay)
        elif moment - record.last_warned >= FAILURE_WARN_EVERY_SECONDS:
            record.last_warned = moment
            log.error("worker step %r still failing (%s) after %.0f s, %d time(s)",
                      step.name, record.last_error, moment - record.failing_since,
                      record.failures)

    def step_guarded(self) -> float:
        """One pass that survives a database outage; returns how long to wait before
        the next (0 when it did something: more may be due). ``run`` and the worker
        inside ``spotline run`` both go through here."""
        try:
            done = self.step()
        except Exception as exc:
            # Drop the connection, which may be broken, and try again with backoff.
            connections.close_all()
            moment = self.clock()
            if self._failing_since is None:
                self._failing_since = self._last_warned = moment
                log.warning("worker pass failed (%s); retrying", type(exc).__name__)
            elif moment - self._last_warned >= FAILURE_WARN_EVERY_SECONDS:
                self._last_warned = moment
                log.warning("worker pass still failing (%s) after %.0f s",
                            type(exc).__name__, moment - self._failing_since)
            self._backoff = min(self._backoff * 2, MAX_FAILURE_BACKOFF_SECONDS)
            return self._backoff
        if self._failing_since is not None:
            log.warning("worker recovered after %.1f s", self.clock() - self._failing_since)
            self._failing_since = None
            self._backoff = self.poll_seconds
        return 0.0 if done else self.poll_seconds

    def run(self) -> None:
        log.info("worker started")
        while not self.stopping.is_set():
            wait = self.step_guarded()
            if wait:
                self.stopping.wait(wait)
        log.info("worker stopped")
