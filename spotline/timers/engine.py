"""Claim, fire, retry and postpone durable timer rows: one engine for every table.

1. ``due_ids`` reads the ids of due, unfired rows (no lock), oldest first.
2. ``fire_one`` fires one row in its own transaction (``audit.atomic``): it claims the
   row with ``claim`` — ``select_for_update(skip_locked=True)`` on PostgreSQL, so a
   second worker skips it instead of waiting, or a compare-and-set ``UPDATE ... WHERE
   fired_at IS NULL`` with a row-count check on SQLite, whose IMMEDIATE transactions
   already serialize writers — then runs the handler, and the claim and the handler's
   writes commit together. A crash in between rolls both back, so the row fires after
   the restart; two workers can never both fire it.
3. Handlers only write rows (offers, events, outbox messages); nothing holds a lock
   across network I/O.
4. The poison-row policy: a handler that raises is rolled back and its row is pushed
   forward with exponential backoff (1 s, 2 s, 4 s, ... at most ``MAX_BACKOFF``), with
   ``attempts`` counted and ``last_error`` holding the exception's class name (never
   its message: a database error can quote a row, and rows hold phone numbers). One bad
   row never stalls the others. At ``ALERT_AFTER`` failures it is logged as CRITICAL,
   once, and it counts in ``failing_count`` (the console and /metrics show that), so a
   person notices before a missed check-in is a death.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import connection

from spotline.audit.actions import atomic as audit_atomic
from spotline.timers.models import DurableTimer

log = logging.getLogger(__name__)

Row = TypeVar("Row", bound=DurableTimer)
Handler = Callable[[Row, datetime], None]

MAX_BACKOFF = timedelta(minutes=5)
ALERT_AFTER = 5  # failures of one row before someone must look


def claim(model: type[Row], pk: int, *, now: datetime) -> Row | None:
    """Stamp ``fired_at`` on the row if nobody has; the row if this call claimed it.

    Call inside the transaction that acts on the row (see the module docstring).
    """
    manager = model._default_manager
    if connection.vendor == "postgresql":
        row = (manager.select_for_update(skip_locked=True)
               .filter(pk=pk, fired_at__isnull=True).first())
        if row is None:
            return None
        manager.filter(pk=pk).update(fired_at=now)
        row.fired_at = now
        return row
    if manager.filter(pk=pk, fired_at__isnull=True).update(fired_at=now) != 1:
        return None
    return manager.get(pk=pk)


def due_ids(model: type[DurableTimer], *, now: datetime, limit: int,
            **where: object) -> list[int]:
    return list(model._default_manager.filter(fired_at__isnull=True, due_at__lte=now, **where)
                .order_by("due_at", "pk").values_list("pk", flat=True)[:limit])


def fire_one(model: type[Row], pk: int, handler: Handler[Row], *, now: datetime) -> bool:
    """Claim and fire one row. True if this call fired it."""
    try:
        with audit_atomic():
            row = claim(model, pk, now=now)
            if row is None:
                return False
            handler(row, now)
    except Exception as exc:
        postpone(model, pk, exc, now=now)
        return False
    log.info("timer fired id=%s table=%s lateness_ms=%d", pk, model._meta.db_table,
             (now - row.due_at).total_seconds() * 1000)
    return True


def fire_due(model: type[Row], handler: Handler[Row], *, now: datetime, limit: int = 200,
             **where: object) -> int:
    """One pass over ``model``: fire every row due at ``now`` (and matching ``where``).
    Returns how many this call fired."""
    return sum(fire_one(model, pk, handler, now=now)
               for pk in due_ids(model, now=now, limit=limit, **where))


def backoff(attempts: int) -> timedelta:
    """How long a row that has failed ``attempts`` times waits before the next try."""
    return min(timedelta(seconds=2 ** min(attempts, 16)), MAX_BACKOFF)


def postpone(model: type[DurableTimer], pk: int, exc: BaseException, *,
             now: datetime) -> None:
    """The poison-row policy (module docstring, step 4)."""
    table = model._meta.db_table
    # The frames, not the message: a database error's message can quote a row.
    log.error("timer failed id=%s table=%s error=%s\n%s", pk, table, type(exc).__name__,
              "".join(traceback.format_tb(exc.__traceback__)))
    manager = model._default_manager
    attempts = manager.filter(pk=pk, fired_at__isnull=True).values_list(
        "attempts", flat=True).first()
    if attempts is None:
        return  # fired meanwhile by another worker, or gone
    manager.filter(pk=pk, fired_at__isnull=True).update(
        attempts=attempts + 1, due_at=now + backoff(attempts),
        last_error=type(exc).__name__[:200])
    if attempts + 1 == ALERT_AFTER:
        log.critical("timer keeps failing table=%s id=%s attempts=%d error=%s: it is retried "
                     "with backoff (at most every %d s) until someone fixes the cause", table,
                     pk, attempts + 1, type(exc).__name__, MAX_BACKOFF.total_seconds())


def failing_count(model: type[DurableTimer]) -> int:
    """Unfired rows that have failed ``ALERT_AFTER`` times or more."""
    return model._default_manager.filter(fired_at__isnull=True,
                                         attempts__gte=ALERT_AFTER).count()
