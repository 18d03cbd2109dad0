"""The outbox sender, one step of the worker.

1. Lease a due message with a compare-and-set on ``leased_until`` (an expired lease
   means the last sender died: the message is due again).
2. Record the attempt as a ``Delivery`` ("sending") and commit, before any I/O.
3. Call the provider with no transaction open and no row locked, passing the key
   "<message key>:<channel>": a resend after a crash carries the same key, so the
   provider can drop the duplicate.
4. Record the outcome: sent (and blank the sealed address and body), or a transient
   failure (retry with backoff on the same channel, up to MAX_TRIES), or a permanent
   one (fall back to the next channel in the message's order). With no channel left
   the message is marked failed; nothing is dropped silently.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from spotline.notify.models import Delivery, DeliveryStatus, Message
from spotline.notify.providers import PermanentError, TransientError, Transport, registry
from spotline.privacy.crypto import unseal

log = logging.getLogger(__name__)

MAX_TRIES_PER_CHANNEL = 3


def due_message_ids(*, now: datetime, limit: int = 50) -> list[int]:
    return list(
        Message.objects.filter(sent_at__isnull=True, failed_at__isnull=True,
                               next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit]
    )


def _address(message: Message, channel: str) -> str | None:
    if message.to_sealed:
        return unseal(message.to_sealed, context="message.to")
    responder = message.responder
    if responder is None:
        return "console" if channel == "console" else None
    if channel in ("sms", "voice"):
        if not responder.phone_sealed:
            return None
        return unseal(responder.phone_sealed, context="responder.phone")
    return f"responder:{responder.pk}"  # push and console: the provider resolves it


def _advance(message: Message, *, now: datetime, error: str) -> None:
    """Fall back to the next channel, or give up if there is none."""
    nxt = message.channel_index + 1
    if nxt < len(message.channels):
        Message.objects.filter(pk=message.pk).update(
            channel_index=nxt, next_attempt_at=now, leased_until=None, last_error=error[:120])
    else:
        Message.objects.filter(pk=message.pk).update(
            failed_at=now, leased_until=None, last_error=error[:120],
            to_sealed="", body_sealed="")
        log.warning("message failed on every channel id=%s purpose=%s", message.pk,
                    message.purpose)


def send_one(message_id: int, *, now: datetime,
             transports: dict[str, Transport] | None = None) -> bool:
    lease = timedelta(seconds=settings.SPOTLINE_OUTBOX_LEASE_SECONDS)
    leased = Message.objects.filter(
        pk=message_id, sent_at__isnull=True, failed_at__isnull=True
    ).filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now)).update(
        leased_until=now + lease, attempts=F("attempts") + 1)
    if leased != 1:
        return False
    message = Message.objects.select_related("responder").get(pk=message_id)
    transports = transports if transports is not None else registry()
    channel = message.channel
    if channel is None:
        _advance(message, now=now, error="no channel")
        return False
    transport = transports.get(channel)
    address = _address(message, channel) if transport is not None else None
    if transport is None or address is None:
        _advance(message, now=now, error=f"{channel} unavailable")
        return False
    tries = message.deliveries.filter(channel=channel).count() + 1
    delivery = Delivery.objects.create(
        message=message, channel=channel, provider=transport.name, attempt=tries,
        status=DeliveryStatus.SENDING, at=now, updated_at=now)
    try:
        sent = transport.send(channel=channel, to=address,
                              body=unseal(message.body_sealed, context="message.body"),
                              key=f"{message.key}:{channel}")
    except TransientError as exc:
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED,
                                                       error=str(exc)[:120])
        if tries >= MAX_TRIES_PER_CHANNEL:
            _advance(message, now=now, error=str(exc))
        else:
            Message.objects.filter(pk=message.pk).update(
                next_attempt_at=now + timedelta(seconds=2 ** tries), leased_until=None,
                last_error=str(exc)[:120])
        return False
    except PermanentError as exc:
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED,
                                                       error=str(exc)[:120])
        _advance(message, now=now, error=str(exc))
        return False
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT,
                                                   provider_ref=sent.ref, updated_at=now)
    Message.objects.filter(pk=message.pk).update(sent_at=now, leased_until=None,
                                                 to_sealed="", body_sealed="")
    log.info("message sent id=%s channel=%s provider=%s", message.pk, channel, transport.name)
    return True


def send_due(*, now: datetime, limit: int = 50) -> int:
    transports = registry()
    return sum(send_one(mid, now=now, transports=transports)
               for mid in due_message_ids(now=now, limit=limit))
