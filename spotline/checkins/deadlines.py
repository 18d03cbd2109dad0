"""Check-ins' timer step: ``CheckInDeadline`` rows through the one timer engine.

A missed check here is a death, so the deadlines are built like dispatch's timers:
armed in the transaction that changes the check-in, claimed once by
``spotline.timers.engine``, retried under the same poison-row policy.
"""

from __future__ import annotations

from datetime import datetime

from spotline.checkins.escalation import deadline_reached
from spotline.checkins.models import CheckInDeadline
from spotline.timers import engine


def deadline_fire(deadline_id: int, *, now: datetime) -> bool:
    """Claim and act on one deadline, once. True if this call fired it."""
    return engine.fire_one(CheckInDeadline, deadline_id, deadline_reached, now=now)


def fire_due(*, now: datetime, limit: int = 500) -> int:
    """The worker's step: fire every check-in deadline due at ``now``."""
    return engine.fire_due(CheckInDeadline, deadline_reached, now=now, limit=limit)
