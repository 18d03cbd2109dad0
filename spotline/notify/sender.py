"""The outbox sender, one step of the worker.

1. Lease a due message with a compare-and-set on ``leased_until``, at the clock's time
   when this message's turn comes (not the pass's start: a slow pass must not hand out
   a lease that is already over). An expired lease means the last sender died or
   stalled, so the message is due again. Every later write to the message is
   conditional on still holding that same lease: a sender that stalled past its lease
   cannot overwrite what the sender that took over did.
2. Skip channels that have no enabled provider or no address, and drop an offer
   message whose offer closed meanwhile (someone else took the incident).
3. Record the attempt as a ``Delivery`` ("sending") and commit, before any I/O.
4. Right before the provider call, read the clock again and check that this sender
   still holds an unexpired lease on a message still open. If not (the process was
   paused, or the pass was slow, past the lease, and another sender may already have
   sent it), the provider is not called: the attempt is recorded "superseded".
5. Call the provider with no transaction open and no row locked, passing the key
   "<message key>:<channel>". Delivery is at least once: a resend after a crash, or
   after the lease ran out during the call itself, carries the same key, so the
   provider can drop the duplicate.
6. Record the outcome at the clock's time after the call: sent (and blank the sealed
   address and body); a transient failure, or any unexpected error, retries with
   backoff on the same channel up to MAX_TRIES_PER_CHANNEL; a permanent one falls back
   to the next channel in the message's order. With no channel left the message is
   marked failed. Nothing is dropped silently, and one bad message never stops the rest
   of the pass. The attempt's own ``Delivery`` always records what the provider said
   (a text it accepted was sent); the message's outcome is written only under the
   lease, so when the lease was lost during the call the sender that took over decides
   it, the message keeps one ``sent_at``, and a warning names the message id. Once the
   provider accepted, the record is written again through a database restart
   (``_through_a_blip``): lost, the message would come due and be sent twice.

``send_due`` is given the pass's ``now`` (which messages are due) and a ``clock`` read
for each message; the worker passes the real one. Without a clock, ``now`` stands for
every moment of the pass, as a caller passing a simulated time expects.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q

from spotline.core.policy import OfferStatus
from spotline.notify.actions import is_opted_out
from spotline.notify.models import Delivery, DeliveryStatus, Message
from spotline.notify.providers.base import PermanentError, TransientError, Transport
from spotline.notify.providers.registry import registry
from spotline.privacy.crypto import unseal

log = logging.getLogger(__name__)

MAX_TRIES_PER_CHANNEL = 3

Clock = Callable[[], datetime]


def _open() -> Q:
    return Q(sent_at__isnull=True, failed_at__isnull=True, cancelled_at__isnull=True)


def _frozen(moment: datetime) -> Clock:
    return lambda: moment


def _lease_end(at: datetime) -> datetime:
    return at + timedelta(seconds=settings.SPOTLINE_OUTBOX_LEASE_SECONDS)


def due_message_ids(*, now: datetime, limit: int = 50) -> list[int]:
    return list(
        Message.objects.filter(_open(), next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        # Urgent before bulk (Message.priority), then oldest due first.
        .order_by("priority", "next_attempt_at", "id").values_list("id", flat=True)[:limit]
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
        number = unseal(responder.phone_sealed, context="responder.phone")
        # A responder who texted STOP gets no texts or calls either (carriers require
        # it); their other channels (the app's push, email) still carry offers.
        return None if is_opted_out(number) else number
    if channel == "email":
        return responder.user.email or None
    return f"responder:{responder.pk}"  # push and console: the provider resolves it


def send_one(message_id: int, *, now: datetime,
             transports: dict[str, Transport] | None = None,
             clock: Clock | None = None) -> bool:
    """Lease the message at ``now`` and make one attempt (steps 1-6 above). ``clock``
    is read after the lease; without it every moment is ``now``. True when the
    provider accepted the message from this sender."""
    clock = clock if clock is not None else _frozen(now)
    lease = _lease_end(now)
    leased = Message.objects.filter(_open(), pk=message_id).filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    ).update(leased_until=lease, attempts=F("attempts") + 1)
    if leased != 1:
        return False
    mine = Message.objects.filter(pk=message_id, leased_until=lease)

    def finish(**fields: object) -> bool:
        return mine.update(**fields) == 1

    message = Message.objects.select_related("responder__user", "offer").get(pk=message_id)
    if message.offer is not None and message.offer.status != OfferStatus.PENDING:
        finish(cancelled_at=now, leased_until=None, to_sealed="", body_sealed="",
               last_error="offer closed")
        return False
    if (message.to_sealed and set(message.channels) <= {"sms", "voice"}
            and is_opted_out(unseal(message.to_sealed, context="message.to"))):
        # They texted STOP: nothing more goes to that number, ever, until START.
        finish(cancelled_at=now, leased_until=None, to_sealed="", body_sealed="",
               last_error="opted out")
        return False
    transports = transports if transports is not None else registry()
    index, transport, address = message.channel_index, None, None
    while index < len(message.channels):
        channel = str(message.channels[index])
        transport = transports.get(channel)
        address = _address(message, channel) if transport is not None else None
        if transport is not None and address is not None:
            break
        index += 1
    if transport is None or address is None:
        finish(channel_index=index, failed_at=now, leased_until=None, to_sealed="",
               body_sealed="", last_error="no usable channel")
        log.warning("message failed: no usable channel id=%s", message.pk)
        return False
    if index != message.channel_index:
        finish(channel_index=index)
    # A superseded attempt never reached the provider: it spends no try of the channel.
    tries = message.deliveries.filter(channel=channel).exclude(
        status=DeliveryStatus.SUPERSEDED).count() + 1
    delivery = Delivery.objects.create(
        message=message, channel=channel, provider=transport.name, attempt=tries,
        status=DeliveryStatus.SENDING, at=now, updated_at=now)
    attempt = Delivery.objects.filter(pk=delivery.pk)
    # Step 4: the time since the lease may have been long (a pause, a slow pass); once
    # the lease is over another sender may have sent this very message.
    checked = clock()
    if not mine.filter(_open(), leased_until__gt=checked).exists():
        attempt.update(status=DeliveryStatus.SUPERSEDED, updated_at=checked)
        log.warning("message lease lost before the provider call, not sent by this "
                    "sender id=%s", message.pk)
        return False
    error: str | None = None
    permanent = False
    try:
        sent = transport.send(channel=channel, to=address,
                              body=unseal(message.body_sealed, context="message.body"),
                              key=f"{message.key}:{channel}")
    except PermanentError as exc:
        error, permanent = str(exc), True
    except TransientError as exc:
        error = str(exc)
    except Exception as exc:  # a provider bug: retried with backoff, never a crash loop
        error = f"unexpected {type(exc).__name__}"
        log.error("provider %s raised %s for message id=%s", transport.name,
                  type(exc).__name__, message.pk)
    done = clock()
    if error is None:
        # The provider has it: this attempt was sent, whoever holds the lease now. The
        # record must reach the database, or the message comes due again and is sent a
        # second time: through a database restart it is written again until it lands.
        def record_sent() -> int:
            try:
                with transaction.atomic():  # a savepoint: the error must not end the pass
                    return attempt.update(status=DeliveryStatus.SENT, provider_ref=sent.ref,
                                          updated_at=done)
            except IntegrityError:
                # The provider dropped a resend under the same key and answered with the
                # first send's id, which the other attempt of this message holds: this
                # attempt was sent too (it is that same text), and the id stays there.
                return attempt.update(status=DeliveryStatus.SENT, updated_at=done)

        _through_a_blip(record_sent, message.pk)
        if _through_a_blip(lambda: finish(sent_at=done, leased_until=None, to_sealed="",
                                          body_sealed=""), message.pk):
            log.info("message sent id=%s channel=%s provider=%s", message.pk, channel,
                     transport.name)
        else:
            _lost_during_call(message.pk)
        return True
    attempt.update(status=DeliveryStatus.FAILED, error=error[:120], updated_at=done)
    if permanent or tries >= MAX_TRIES_PER_CHANNEL:
        if index + 1 < len(message.channels):
            held = finish(channel_index=index + 1, next_attempt_at=done, leased_until=None,
                          last_error=error[:120])
        else:
            held = finish(failed_at=done, leased_until=None, to_sealed="", body_sealed="",
                          last_error=error[:120])
            if held:
                log.warning("message failed on every channel id=%s purpose=%s",
                            message.pk, message.purpose)
    else:
        held = finish(next_attempt_at=done + timedelta(seconds=2 ** tries),
                      leased_until=None, last_error=error[:120])
    if not held:
        _lost_during_call(message.pk)
    return False


RECORD_TRIES = 20  # 10 s at RECORD_PAUSE: a PostgreSQL restart, within the lease
RECORD_PAUSE_SECONDS = 0.5

T = TypeVar("T")


def _through_a_blip(write: Callable[[], T], message_id: int) -> T:
    """``write()``, tried again while the database is unreachable (a restart, a dropped
    connection), with a new connection each time. Only after the provider accepted a
    message: a failure before that is simply retried later, but losing this record
    would send the text again. Gives up (raises) after RECORD_TRIES."""
    for tries in range(1, RECORD_TRIES + 1):
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            if tries == RECORD_TRIES or connection.in_atomic_block:
                raise
            log.warning("recording a sent message failed (%s), trying again id=%s",
                        type(exc).__name__, message_id)
            connection.close()
            time.sleep(RECORD_PAUSE_SECONDS)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _lost_during_call(message_id: int) -> None:
    # The id only: the provider may now have this message twice under one key.
    log.warning("message lease lost during the provider call; its outcome is left to "
                "the sender that took over id=%s", message_id)


def send_due(*, now: datetime, limit: int = 50, clock: Clock | None = None) -> int:
    """Send the messages due at ``now``, each leased at ``clock()`` when its turn comes
    (``now`` throughout without a clock)."""
    clock = clock if clock is not None else _frozen(now)
    transports = registry()
    sent = 0
    for message_id in due_message_ids(now=now, limit=limit):
        at = clock()
        try:
            sent += send_one(message_id, now=at, transports=transports, clock=clock)
        except Exception as exc:  # e.g. a sealed value that no longer opens
            log.error("message %s could not be processed (%s)", message_id,
                      type(exc).__name__)
            # Only under this pass's lease: another sender may hold the message by now.
            Message.objects.filter(pk=message_id, leased_until=_lease_end(at)).update(
                next_attempt_at=at + timedelta(minutes=1), leased_until=None,
                last_error=type(exc).__name__)
    return sent
