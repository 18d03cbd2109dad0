"""The one write path for the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction

from spotline.dispatch.models import Incident
from spotline.notify.models import Delivery, DeliveryStatus, Message
from spotline.privacy.crypto import seal
from spotline.responders.models import Responder


def message_queue(
    *, key: str, purpose: str, body: str, channels: Sequence[str], now: datetime,
    responder: Responder | None = None, to: str = "", incident: Incident | None = None,
    offer_id: int | None = None, not_before: datetime | None = None,
) -> Message:
    """Queue a message in the caller's transaction. Same key: the existing message."""
    message, _ = Message.objects.get_or_create(
        key=key,
        defaults={
            "purpose": purpose, "responder": responder, "incident": incident,
            "offer_id": offer_id,
            "to_sealed": seal(to, context="message.to"),
            "body_sealed": seal(body, context="message.body"),
            "channels": list(channels), "created_at": now,
            "next_attempt_at": not_before or now,
        },
    )
    return message


def delivery_status_update(*, provider_ref: str, status: str, error: str, now: datetime
                           ) -> bool:
    """A provider's status callback. Unknown references are ignored (and say so)."""
    mapping = {
        "delivered": DeliveryStatus.DELIVERED, "sent": DeliveryStatus.SENT,
        "failed": DeliveryStatus.FAILED, "undelivered": DeliveryStatus.UNDELIVERED,
        "completed": DeliveryStatus.DELIVERED, "busy": DeliveryStatus.FAILED,
        "no-answer": DeliveryStatus.FAILED, "canceled": DeliveryStatus.FAILED,
    }
    new = mapping.get(status)
    if new is None:
        return True  # queued, ringing, in-progress...: nothing final to record
    with transaction.atomic():
        updated = Delivery.objects.filter(provider_ref=provider_ref).update(
            status=new, error=error[:120], updated_at=now)
    return updated == 1
