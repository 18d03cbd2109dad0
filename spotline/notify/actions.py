"""The one write path for the outbox: messages queued, forgotten, their delivery
status; and the numbers that opted out of texts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from spotline import sql
from spotline.notify.models import Delivery, DeliveryStatus, Message, SmsOptOut
from spotline.privacy.crypto import normalize_phone, phone_digest, seal

URGENT, BULK = 0, 1  # Message.priority


def message_queue(
    *, key: str, purpose: str, body: str, channels: Sequence[str], now: datetime,
    responder_id: int | None = None, to: str = "", incident_id: int | None = None,
    offer_id: int | None = None, not_before: datetime | None = None, bulk: bool = False,
) -> Message:
    """Queue a message in the caller's transaction. Same key: the existing message."""
    message, _ = Message.objects.get_or_create(
        key=key,
        defaults={
            "purpose": purpose, "responder_id": responder_id, "incident_id": incident_id,
            "offer_id": offer_id,
            "to_sealed": seal(to, context="message.to"),
            "body_sealed": seal(body, context="message.body"),
            "channels": list(channels), "created_at": now,
            "next_attempt_at": not_before or now, "priority": BULK if bulk else URGENT,
        },
    )
    return message


def messages_queue(messages: Sequence[dict[str, Any]], *, now: datetime) -> None:
    """Queue several messages (a round of offers) with one insert.

    Each item holds ``message_queue``'s keyword arguments (without ``now``). A key that
    already exists is left as it is, like ``message_queue``'s get_or_create, whether it
    was there before or another transaction inserts it at the same moment (the unique
    key and ``ON CONFLICT DO NOTHING``).
    """
    sql.insert([
        Message(key=m["key"], purpose=m["purpose"], responder_id=m.get("responder_id"),
                incident_id=m.get("incident_id"), offer_id=m.get("offer_id"),
                to_sealed=seal(m.get("to", ""), context="message.to"),
                body_sealed=seal(m["body"], context="message.body"),
                channels=list(m["channels"]), created_at=now,
                next_attempt_at=m.get("not_before") or now,
                priority=BULK if m.get("bulk") else URGENT)
        for m in messages
    ], ignore_conflicts=True)  # one statement, not through the ORM's compiler


def _prefixed(prefixes: Sequence[str]) -> Q:
    keys = Q(pk__in=[])
    for prefix in prefixes:
        keys |= Q(key__startswith=prefix)
    return keys


def messages_withdraw(*, key_prefixes: Sequence[str], why: str, now: datetime) -> int:
    """Drop the messages not yet sent whose key starts with one of ``key_prefixes`` (a
    withdrawn alert's texts still waiting for the carrier's rate). A message a sender
    holds right now may still go out; the rest never will."""
    if not key_prefixes:
        return 0
    return Message.objects.filter(_prefixed(key_prefixes), sent_at__isnull=True,
                                  failed_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=now, to_sealed="", body_sealed="", last_error=why[:120])


def messages_withdraw_to(*, key_suffix: str, purpose_prefix: str, why: str,
                         now: datetime) -> int:
    """Drop the unsent messages whose key ends with ``key_suffix`` and whose purpose
    starts with ``purpose_prefix`` (an alert subscriber who unsubscribed)."""
    return Message.objects.filter(
        key__endswith=key_suffix, purpose__startswith=purpose_prefix, sent_at__isnull=True,
        failed_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=now, to_sealed="", body_sealed="", last_error=why[:120])


def sent_keys(*, key_prefixes: Sequence[str]) -> list[str]:
    """The keys, among those starting with ``key_prefixes``, of messages that went out
    (or are going out now): who got something, so that a follow-up reaches them."""
    if not key_prefixes:
        return []
    return list(Message.objects.filter(_prefixed(key_prefixes))
                .filter(Q(sent_at__isnull=False) | Q(leased_until__isnull=False,
                                                     cancelled_at__isnull=True,
                                                     failed_at__isnull=True))
                .values_list("key", flat=True))


def messages_forget(*, incident_id: int, now: datetime) -> int:
    """The incident's purge: blank the address and text of its messages. They are
    blanked once sent anyway; this catches one never sent (a provider down for days, or
    a retention shorter than the outbox's delay: a stand-down queued as the incident
    closed). One not sent yet is cancelled too: with its text gone it can only fail at
    the provider (an empty body), which would count as a failed delivery."""
    Message.objects.filter(incident_id=incident_id, sent_at__isnull=True,
                           failed_at__isnull=True, cancelled_at__isnull=True).update(
        cancelled_at=now, leased_until=None, last_error="incident purged")
    return Message.objects.filter(incident_id=incident_id).update(to_sealed="", body_sealed="")


def is_opted_out(phone: str) -> bool:
    """True when this number texted STOP (and not START since): send it nothing."""
    number = normalize_phone(phone)
    if not number.lstrip("+"):
        return False
    return SmsOptOut.objects.filter(phone_digest=phone_digest(number)).exists()


def optout_record(*, phone: str, now: datetime) -> bool:
    """The number texted STOP. True when it was not opted out already."""
    _, created = SmsOptOut.objects.get_or_create(phone_digest=phone_digest(phone),
                                                 defaults={"at": now})
    return created


def optout_remove(*, phone: str) -> None:
    """The number texted START."""
    SmsOptOut.objects.filter(phone_digest=phone_digest(phone)).delete()


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
