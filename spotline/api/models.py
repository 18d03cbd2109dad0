from __future__ import annotations

from django.db import models


class IdempotentRequest(models.Model):
    """The first answer to a request sent with an ``Idempotency-Key`` header.

    A retry with the same key gets the same answer and creates nothing. The stored
    answer holds a tracking token, so rows are deleted after a day by the worker's
    housekeeping (``api.housekeeping.idempotency_expire``).
    """

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="one_answer_per_idempotency_key")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_age")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.pk}"
