"""What readiness and the metrics read: the database, Redis, and the work that is late.

Every function here answers with counts, ages and error class names only: never a row's
content, so nothing personal can reach a probe's log or a metrics store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import redis
from django.db import connection, transaction
from django.db.models import Min, Q

from spotline.alerts.models import Fanout
from spotline.checkins.models import CheckInDeadline
from spotline.dispatch.models import Timer
from spotline.notify.models import Message
from spotline.timers import engine

# A trivial query slower than this means the database cannot serve a help request in
# any useful time: unready. On PostgreSQL it is also the statement timeout, so a hung
# database cannot hang the probe.
DB_TIMEOUT_SECONDS = 2.0
# Due work older than this is late: the worker polls every 0.5 s and fires a pass in
# milliseconds, so 30 s late means no worker is running (or all of them are stuck).
LATE_AFTER = timedelta(seconds=30)
REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class DbCheck:
    ok: bool
    seconds: float
    error: str = ""  # the exception's class name, never its message (it can quote a row)


def check_database() -> DbCheck:
    started = time.monotonic()
    try:
        if connection.vendor == "postgresql":
            # LOCAL: ends with this transaction, never leaks into the persistent
            # connection's next request.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SET LOCAL statement_timeout = {int(DB_TIMEOUT_SECONDS * 1000)}")
                cursor.execute("SELECT 1")
                cursor.fetchone()
        else:
            # Outside a transaction: SQLite's transactions here are IMMEDIATE, and a
            # probe must never queue behind (or hold up) a writer for the write lock.
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
    except Exception as exc:
        return DbCheck(False, time.monotonic() - started, type(exc).__name__)
    seconds = time.monotonic() - started
    if seconds > DB_TIMEOUT_SECONDS:
        return DbCheck(False, seconds, "Slow")
    return DbCheck(True, seconds)


@lru_cache(maxsize=4)
def _redis_client(url: str) -> Any:
    # Short timeouts: a Redis that is down must not make the probe slow, and it is not a
    # reason to be unready at all (see views.readyz).
    return redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                socket_timeout=REDIS_TIMEOUT_SECONDS)


def check_redis(url: str) -> str:
    """"ok", "down", or "off" when no REDIS_URL is set (one process: no Redis needed)."""
    if not url:
        return "off"
    try:
        return "ok" if _redis_client(url).ping() else "down"
    except Exception:
        return "down"


@dataclass(frozen=True)
class Queue:
    """Work that is due and not done, of one kind: how much, and how late the oldest."""

    name: str
    due: int
    late: int  # due for longer than LATE_AFTER
    oldest_lateness_seconds: float  # 0 when nothing is due


def failing_timers() -> dict[str, int]:
    """Timer rows that keep failing (``timers.engine.ALERT_AFTER`` tries or more), by
    table: a person should look, because the engine only retries them."""
    return {"timers": engine.failing_count(Timer),
            "checkin_deadlines": engine.failing_count(CheckInDeadline),
            "alert_fanouts": engine.failing_count(Fanout)}


def due_work(*, now: datetime) -> list[Queue]:
    """Timers, check-in deadlines and outbox messages that are due and not yet done.

    The filters are the ones the worker uses to pick work (so "due" here is exactly what
    a running worker would take next), and each one runs on its partial index.
    """
    open_message = Q(sent_at__isnull=True, failed_at__isnull=True, cancelled_at__isnull=True)
    not_leased = Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    sources: list[tuple[str, Any, str]] = [
        ("timers", Timer.objects.filter(fired_at__isnull=True), "due_at"),
        ("checkin_deadlines", CheckInDeadline.objects.filter(fired_at__isnull=True), "due_at"),
        ("alert_fanouts", Fanout.objects.filter(fired_at__isnull=True), "due_at"),
        ("outbox", Message.objects.filter(open_message).filter(not_leased), "next_attempt_at"),
    ]
    queues = []
    for name, rows, field in sources:
        due = rows.filter(**{f"{field}__lte": now})
        found = due.aggregate(oldest=Min(field))
        oldest = found["oldest"]
        if oldest is None:
            queues.append(Queue(name, 0, 0, 0.0))
            continue
        lateness = max(0.0, (now - oldest).total_seconds())
        late = (due.filter(**{f"{field}__lte": now - LATE_AFTER}).count()
                if lateness > LATE_AFTER.total_seconds() else 0)
        queues.append(Queue(name, due.count(), late, lateness))
    return queues
