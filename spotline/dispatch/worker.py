"""The timer worker: fires due timer rows, exactly once, surviving restarts.

1. Read the ids of due, unfired timers (no lock).
2. For each, in its own transaction: claim it with ``claim.claim_unfired`` —
   ``select_for_update(skip_locked=True)`` on PostgreSQL, so a second worker skips it
   instead of waiting, or a compare-and-set
   ``UPDATE ... WHERE fired_at IS NULL`` with a row-count check on SQLite, whose
   IMMEDIATE transactions already serialize writers — then run its handler and stamp
   ``fired_at`` in the same transaction. The claim and the effect commit together: a
   crash in between rolls both back and the timer fires after the restart; two workers
   can never both fire it.
3. Handlers only write rows (offers, events, outbox); nothing here holds a lock across
   network I/O.
4. A handler that raises is not retried in a tight loop: its timer is pushed forward
   with backoff and the error's class name recorded, so one poison row cannot stall
   every other incident.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from datetime import datetime, timedelta
from types import FrameType

from django.db import close_old_connections, connections
from django.utils import timezone

from spotline.api.housekeeping import idempotency_expire
from spotline.audit.actions import atomic as audit_atomic
from spotline.checkins.actions import fire_due_checkins, plans_expire
from spotline.dispatch.actions import TIMER_HANDLERS
from spotline.dispatch.claim import claim_unfired
from spotline.dispatch.models import Timer
from spotline.intake.sms import inbound_expire
from spotline.notify.sender import send_due
from spotline.privacy.purge import clean_residue_if_destroyed_since

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=5)
HOUSEKEEPING_EVERY_SECONDS = 60.0
# While the database is unreachable, passes back off up to this: short, because every
# timer that fell due during the outage must fire within seconds of its return.
MAX_FAILURE_BACKOFF_SECONDS = 2.0
FAILURE_WARN_EVERY_SECONDS = 10.0


def due_timer_ids(*, now: datetime, limit: int = 200) -> list[int]:
    return list(
        Timer.objects.filter(fired_at__isnull=True, due_at__lte=now)
        .order_by("due_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def fire_timer(timer_id: int, *, now: datetime) -> bool:
    """Claim and fire one timer. True if this call fired it."""
    try:
        with audit_atomic():
            timer = claim_unfired(Timer, timer_id, now=now)
            if timer is None:
                return False
            TIMER_HANDLERS[timer.kind](timer=timer, now=now)
    except Exception as exc:
        _postpone(timer_id, exc, now=now)
        return False
    log.info("timer fired id=%s kind=%s lateness_ms=%d", timer.pk, timer.kind,
             (now - timer.due_at).total_seconds() * 1000)
    return True


def _postpone(timer_id: int, exc: Exception, *, now: datetime) -> None:
    # The frames, not the message: a database error's message can quote a row, and a
    # row can hold a phone number or coordinates.
    log.error("timer failed id=%s error=%s\n%s", timer_id, type(exc).__name__,
              "".join(traceback.format_tb(exc.__traceback__)))
    timer = Timer.objects.filter(pk=timer_id, fired_at__isnull=True).first()
    if timer is None:
        return
    delay = min(timedelta(seconds=2 ** min(timer.attempts, 16)), MAX_BACKOFF)
    Timer.objects.filter(pk=timer_id, fired_at__isnull=True).update(
        attempts=timer.attempts + 1, due_at=now + delay, last_error=type(exc).__name__[:200]
    )


def fire_due(*, now: datetime, limit: int = 200) -> int:
    """One pass: fire every timer due at ``now``. Returns how many this worker fired."""
    return sum(fire_timer(tid, now=now) for tid in due_timer_ids(now=now, limit=limit))


class Worker:
    """The loop around ``fire_due``. Stops cleanly between passes on SIGTERM/SIGINT."""

    def __init__(self, *, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self._housekeeping_due = 0.0
        self._last_housekeeping = timezone.now() - timedelta(days=1)
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
        close_old_connections()
        now = timezone.now()
        fired = fire_due(now=now)
        fired += fire_due_checkins(now=now)
        # Messages after timers: a timer's offers are sent in this same pass.
        fired += send_due(now=timezone.now())
        if time.monotonic() >= self._housekeeping_due:
            self._housekeeping_due = time.monotonic() + HOUSEKEEPING_EVERY_SECONDS
            idempotency_expire(now=now)
            inbound_expire(now=now)
            plans_expire(now=now)
            clean_residue_if_destroyed_since(self._last_housekeeping)
            self._last_housekeeping = now
        return fired

    def step_guarded(self) -> float:
        """One pass that survives a failing database; returns how long to wait before
        the next (0 when it fired something: more may be due). ``run`` and the worker
        inside ``spotline run`` both go through here."""
        try:
            fired = self.step()
        except Exception as exc:
            # The database went away (a restart, a failover, a network blip): drop
            # the connection, which may be broken, and try again with backoff. The
            # class name only: a database error's message can quote a row.
            connections.close_all()
            now_m = time.monotonic()
            if self._failing_since is None:
                self._failing_since = self._last_warned = now_m
                log.warning("worker pass failed (%s); retrying", type(exc).__name__)
            elif now_m - self._last_warned >= FAILURE_WARN_EVERY_SECONDS:
                self._last_warned = now_m
                log.warning("worker pass still failing (%s) after %.0f s",
                            type(exc).__name__, now_m - self._failing_since)
            self._backoff = min(self._backoff * 2, MAX_FAILURE_BACKOFF_SECONDS)
            return self._backoff
        if self._failing_since is not None:
            log.warning("worker recovered after %.1f s",
                        time.monotonic() - self._failing_since)
            self._failing_since = None
            self._backoff = self.poll_seconds
        return 0.0 if fired else self.poll_seconds

    def run(self) -> None:
        log.info("worker started")
        while not self.stopping.is_set():
            wait = self.step_guarded()
            if wait:
                self.stopping.wait(wait)
        log.info("worker stopped")
