"""Subscribing to alerts without an account: by SMS, Web Push or email.

The address is sealed and found by a keyed digest. Unsubscribing deletes the row (its
areas go with it), at once: nothing about a former subscriber is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from spotline.alerts.models import Area, Subscriber, SubscriberChannel
from spotline.audit.actions import atomic, record
from spotline.errors import Invalid
from spotline.notify.actions import messages_withdraw_to
from spotline.privacy.crypto import normalize_phone, phone_digest, seal

LANGUAGES = ("en", "es")
UNSUBSCRIBE_SALT = "spotline.alerts.unsubscribe"


def address_digest(channel: str, address: str) -> str:
    """The keyed digest a subscriber is found by. SMS: the same digest as everywhere
    else in Spotline (STOP and the outbox's opt-out find it)."""
    if channel == SubscriberChannel.SMS:
        return phone_digest(normalize_phone(address))
    # The phone digest's key (SPOTLINE_HASH_KEY), which a KEK rotation leaves alone.
    return hmac.new(settings.SPOTLINE_HASH_KEY, f"{channel}:{address}".encode(),
                    hashlib.sha256).hexdigest()


def _areas(area_ids: Sequence[int], all_areas: bool) -> list[Area]:
    if not all_areas and not area_ids:
        raise Invalid("Choose at least one area, or all areas.")
    areas = list(Area.objects.filter(pk__in=area_ids))
    if len(areas) != len(set(area_ids)):
        raise Invalid("An area chosen does not exist.")
    return areas


def _subscribe(*, channel: str, address: str, area_ids: Sequence[int], all_areas: bool,
               language: str, now: datetime, confirmed: bool, found_by: str = "") -> Subscriber:
    """Create the subscriber, or change an existing one's areas and language.

    ``found_by``: what the digest is of, when not the address itself (a push
    subscription is found by its endpoint; its address is the whole subscription)."""
    areas = _areas(area_ids, all_areas)
    language = language if language in LANGUAGES else "en"
    digest = address_digest(channel, found_by or address)
    sealed = seal(address, context="subscriber.address")
    with atomic():
        subscriber, created = Subscriber.objects.update_or_create(
            channel=channel, digest=digest,
            defaults={"language": language, "all_areas": all_areas, "address_sealed": sealed},
            create_defaults={"language": language, "all_areas": all_areas, "created_at": now,
                             "address_sealed": sealed,
                             "confirmed_at": now if confirmed else None})
        subscriber.areas.set([] if all_areas else areas)
        record("alerts.subscribed" if created else "alerts.subscription_changed",
               object_type="subscriber", object_id=subscriber.pk, now=now, actor="public")
    return subscriber


def subscribe_sms(*, phone: str, area_ids: Sequence[int], all_areas: bool, language: str,
                  now: datetime) -> Subscriber:
    number = normalize_phone(phone)
    if not number.lstrip("+"):
        raise Invalid("No phone number.")
    return _subscribe(channel=SubscriberChannel.SMS, address=number, area_ids=area_ids,
                      all_areas=all_areas, language=language, now=now, confirmed=True)


def subscribe_push(*, endpoint: str, p256dh: str, auth: str, area_ids: Sequence[int],
                   all_areas: bool, language: str, now: datetime) -> Subscriber:
    if not endpoint.startswith("https://") or len(endpoint) > 500:
        raise Invalid("A push subscription's endpoint is an https URL.")
    host = (urlsplit(endpoint).hostname or "").lower()
    if not any(host == known or host.endswith("." + known)
               for known in settings.SPOTLINE_PUSH_SERVICE_HOSTS):
        raise Invalid("That push service is not one this site sends to.")
    if not p256dh or not auth or len(p256dh) > 200 or len(auth) > 100:
        raise Invalid("A push subscription needs its keys.")
    address = json.dumps({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}})
    # Found by its endpoint alone, so a browser that renews its keys stays one subscriber.
    return _subscribe(channel=SubscriberChannel.PUSH, address=address, found_by=endpoint,
                      area_ids=area_ids, all_areas=all_areas, language=language, now=now,
                      confirmed=True)


@dataclass(frozen=True)
class EmailAsked:
    """What the email form did: a new (unconfirmed) subscriber, or a confirmed one whose
    change waits for its owner to confirm it (``change``, for the signed link)."""

    subscriber: Subscriber
    change: dict[str, Any] | None


def subscribe_email(*, email: str, area_ids: Sequence[int], all_areas: bool, language: str,
                    now: datetime) -> EmailAsked:
    """An email subscription, unconfirmed until its link is followed (so nobody can
    sign up someone else): ``subscriber_confirm``. For an address already confirmed,
    nothing changes until its owner follows a new link: someone who knows the address
    must not be able to change or stop what it receives."""
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid("That is not an email address.") from None
    address = email.lower()
    existing = Subscriber.objects.filter(
        channel=SubscriberChannel.EMAIL,
        digest=address_digest(SubscriberChannel.EMAIL, address)).first()
    if existing is not None and existing.confirmed_at is not None:
        _areas(area_ids, all_areas)  # the same clear error as for a new one
        return EmailAsked(existing, {"areas": sorted(set(area_ids)), "all": all_areas,
                                     "language": language if language in LANGUAGES else "en"})
    return EmailAsked(_subscribe(channel=SubscriberChannel.EMAIL, address=address,
                                 area_ids=area_ids, all_areas=all_areas, language=language,
                                 now=now, confirmed=False), None)


def subscriber_change(*, subscriber_id: int, change: dict[str, Any], now: datetime) -> bool:
    """Its owner confirmed a change of a subscription (the signed link)."""
    areas = _areas([int(a) for a in change.get("areas", [])], bool(change.get("all")))
    with atomic():
        subscriber = Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        if subscriber is None:
            return False
        subscriber.all_areas = bool(change.get("all"))
        language = str(change.get("language", subscriber.language))
        subscriber.language = language if language in LANGUAGES else subscriber.language
        subscriber.save(update_fields=["all_areas", "language"])
        subscriber.areas.set([] if subscriber.all_areas else areas)
        record("alerts.subscription_changed", object_type="subscriber",
               object_id=subscriber_id, now=now, actor="public")
    return True


def unsubscribe_token(subscriber: Subscriber) -> str:
    """The signed token of a subscriber's own unsubscribe link (no expiry: an old email's
    link must still work). It names the address's digest too, so a token outlives no
    subscriber: a new one with a recycled id is not stopped by it."""
    return signing.dumps({"s": subscriber.pk, "d": subscriber.digest[:16]},
                         salt=UNSUBSCRIBE_SALT)


def subscriber_of_token(token: str) -> Subscriber | None:
    """The subscriber an unsubscribe link names, or None (bad, forged, already gone)."""
    try:
        value = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        subscriber = Subscriber.objects.filter(pk=int(value["s"])).first()
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if subscriber is None or subscriber.digest[:16] != str(value["d"]):
        return None
    return subscriber


def subscriber_confirm(*, subscriber_id: int, now: datetime) -> bool:
    with atomic():
        done = Subscriber.objects.filter(pk=subscriber_id, confirmed_at__isnull=True).update(
            confirmed_at=now)
        if done:
            record("alerts.subscription_confirmed", object_type="subscriber",
                   object_id=subscriber_id, now=now, actor="public")
    return bool(done)


def _delete(ids: Sequence[int], *, now: datetime) -> None:
    """Delete subscribers and drop their alert messages not yet sent (texts waiting for
    the carrier's rate): "no more alerts" means none, at once."""
    Subscriber.objects.filter(pk__in=ids).delete()
    for pk in ids:
        messages_withdraw_to(key_suffix=f":s{pk}", purpose_prefix="alert_",
                             why="unsubscribed", now=now)
        record("alerts.unsubscribed", object_type="subscriber", object_id=pk, now=now,
               actor="public")


def unsubscribe(*, channel: str, address: str, now: datetime) -> bool:
    """Delete the subscriber with this address. True when there was one."""
    digest = address_digest(channel, address if channel != SubscriberChannel.EMAIL
                            else address.strip().lower())
    with atomic():
        ids = list(Subscriber.objects.filter(channel=channel, digest=digest)
                   .values_list("pk", flat=True))
        _delete(ids, now=now)
    return bool(ids)


def unsubscribe_phone(*, phone: str, now: datetime) -> bool:
    """STOP, ALERTS STOP: the number is forgotten at once."""
    return unsubscribe(channel=SubscriberChannel.SMS, address=phone, now=now)


def unsubscribe_by_id(*, subscriber_id: int, now: datetime) -> bool:
    """The unsubscribe link of an email, or a push service that forgot the browser."""
    with atomic():
        ids = list(Subscriber.objects.filter(pk=subscriber_id).values_list("pk", flat=True))
        _delete(ids, now=now)
    return bool(ids)
