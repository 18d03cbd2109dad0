from __future__ import annotations

from datetime import datetime, timedelta

from spotline.api.models import IdempotentRequest

# Long enough for any client's retries; short, because the stored answer holds a
# tracking token.
IDEMPOTENCY_TTL = timedelta(hours=24)


def idempotency_expire(*, now: datetime) -> int:
    deleted, _ = IdempotentRequest.objects.filter(created_at__lt=now - IDEMPOTENCY_TTL).delete()
    return deleted
