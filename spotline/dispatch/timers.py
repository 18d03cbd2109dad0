"""Dispatch's timer step: which handler fires which kind of ``Timer`` row.

The rows (offer expiry, escalation deadline, purge, a responder's safety check) are
armed by the actions in the same transaction as the change that makes them due;
``spotline.timers.engine`` claims, fires and retries them; the handlers below only
write rows. The worker runs
``fire_due`` on every pass, and ``spotline purge`` runs ``purge_due``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from spotline.dispatch.actions.backup import safety_check_due
from spotline.dispatch.actions.timed import deadline_reach, incident_purge, round_expire
from spotline.dispatch.models import Timer, TimerKind
from spotline.timers import engine

HANDLERS: dict[str, Callable[..., None]] = {
    TimerKind.ROUND_EXPIRY.value: round_expire,
    TimerKind.DEADLINE.value: deadline_reach,
    TimerKind.PURGE.value: incident_purge,
    TimerKind.SAFETY.value: safety_check_due,
}


def fire(timer: Timer, now: datetime) -> None:
    """The engine's handler for every dispatch timer: the one its kind names."""
    HANDLERS[timer.kind](timer=timer, now=now)


def fire_timer(timer_id: int, *, now: datetime) -> bool:
    """Claim and fire one timer. True if this call fired it."""
    return engine.fire_one(Timer, timer_id, fire, now=now)


def fire_due(*, now: datetime, limit: int = 200) -> int:
    """The worker's step: fire every dispatch timer due at ``now``."""
    return engine.fire_due(Timer, fire, now=now, limit=limit)


def purge_due(*, now: datetime, batch: int = 500) -> int:
    """Only the purges that are due (``spotline purge``), all of them; returns how many
    fired. A purge that fails is postponed by the engine, so this always ends."""
    fired = 0
    while True:
        ids = engine.due_ids(Timer, now=now, limit=batch, kind=TimerKind.PURGE)
        fired += sum(fire_timer(pk, now=now) for pk in ids)
        if len(ids) < batch:
            return fired
