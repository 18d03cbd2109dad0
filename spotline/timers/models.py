"""What every durable timer row has: when it is due, when it fired, how it failed."""

from __future__ import annotations

from django.db import models


class DurableTimer(models.Model):
    """Abstract: a timer row. Each concrete table adds what the timer is about and a
    partial index on ``due_at`` where ``fired_at`` is null (the engine's only query)."""

    due_at = models.DateTimeField()
    # Stamped by the claim, in the transaction that acts on the timer: set means done.
    fired_at = models.DateTimeField(null=True, blank=True)
    # The poison-row policy (timers.engine): failures so far, and the last one's class.
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        abstract = True
