"""Claiming a timer row exactly once. Shared by every kind of durable timer.

Call inside the transaction that acts on the row: the claim and the effect commit
together, so a crash rolls both back and the row fires after the restart.
PostgreSQL: ``select_for_update(skip_locked=True)``, so a second worker skips the row
instead of waiting on it. SQLite: a compare-and-set ``UPDATE ... WHERE fired_at IS
NULL`` with a row-count check (its IMMEDIATE transactions already serialize writers).
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from django.db import connection, models

Row = TypeVar("Row", bound=models.Model)


def claim_unfired(model: type[Row], pk: int, *, now: datetime) -> Row | None:
    """Stamp ``fired_at`` on the row if nobody has; the row if this call claimed it."""
    manager = model._default_manager
    if connection.vendor == "postgresql":
        row = (manager.select_for_update(skip_locked=True)
               .filter(pk=pk, fired_at__isnull=True).first())
        if row is None:
            return None
        manager.filter(pk=pk).update(fired_at=now)
        return row
    if manager.filter(pk=pk, fired_at__isnull=True).update(fired_at=now) != 1:
        return None
    return manager.get(pk=pk)
