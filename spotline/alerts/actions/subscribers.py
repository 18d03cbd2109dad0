"""Subscribing to alerts without an account: by SMS, Web Push or email.

The address is sealed and found by a keyed digest. Unsubscribing deletes the row (its
areas go with it), at once: nothing about a former subscriber is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from spotline.alerts.models import Area, Subscriber, SubscriberChannel
from spotline.audit.actions import atomic, record
from spotline.errors import Invalid
from spotline.privacy.crypto import normalize_phone, phone_digest, seal

LANGUAGES = ("en", "es")


def address_digest(channel: str, address: str) -> str:
    """The keyed digest a subscriber is found by. SMS: the same digest as everywhere
    else in Spotline (STOP and the outbox's opt-out find it)."""
    if channel == SubscriberChannel.SMS:
        return phone_digest(normalize_phone(address))
    # The phone digest's key (SPOTLINE_HASH_KEY), which a KEK rotation leaves alone.
    return hmac.new(settings.SPOTLINE_HASH_KEY, f"{channel}:{address}".encode(),
                    hashlib.sha256).hexdigest()


def _subscribe(*, channel: str, address: str, area_ids: Sequence[int], all_areas: bool,
               language: str, now: datetime, confirmed: bool) -> Subscriber:
    if not all_areas and not area_ids:
        raise Invalid("Choose at least one area, or all areas.")
    areas = list(Area.objects.filter(pk__in=area_ids))
    if len(areas) != len(set(area_ids)):
        raise Invalid("An area chosen does not exist.")
    language = language if language in LANGUAGES else "en"
    digest = address_digest(channel, address)
    with atomic():
        subscriber, created = Subscriber.objects.update_or_create(
            channel=channel, digest=digest,
            defaults={"language": language, "all_areas": all_areas,
                      "address_sealed": seal(address, context="subscriber.address")},
            create_defaults={"language": language, "all_areas": all_areas, "created_at": now,
                             "address_sealed": seal(address, context="subscriber.address"),
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
    subscriber = _subscribe(channel=SubscriberChannel.PUSH, address=endpoint,
                            area_ids=area_ids, all_areas=all_areas, language=language,
                            now=now, confirmed=True)
    Subscriber.objects.filter(pk=subscriber.pk).update(
        address_sealed=seal(address, context="subscriber.address"))
    return subscriber


def subscribe_email(*, email: str, area_ids: Sequence[int], all_areas: bool, language: str,
                    now: datetime) -> Subscriber:
    """An email subscription, unconfirmed until its link is followed (so nobody can
    sign up someone else): ``subscriber_confirm``."""
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid("That is not an email address.") from None
    return _subscribe(channel=SubscriberChannel.EMAIL, address=email.lower(),
                      area_ids=area_ids, all_areas=all_areas, language=language, now=now,
                      confirmed=False)


def subscriber_confirm(*, subscriber_id: int, now: datetime) -> bool:
    with atomic():
        done = Subscriber.objects.filter(pk=subscriber_id, confirmed_at__isnull=True).update(
            confirmed_at=now)
        if done:
            record("alerts.subscription_confirmed", object_type="subscriber",
                   object_id=subscriber_id, now=now, actor="public")
    return bool(done)


def unsubscribe(*, channel: str, address: str, now: datetime) -> bool:
    """Delete the subscriber with this address. True when there was one."""
    digest = address_digest(channel, address if channel != SubscriberChannel.EMAIL
                            else address.strip().lower())
    with atomic():
        ids = list(Subscriber.objects.filter(channel=channel, digest=digest)
                   .values_list("pk", flat=True))
        Subscriber.objects.filter(pk__in=ids).delete()
        for pk in ids:
            record("alerts.unsubscribed", object_type="subscriber", object_id=pk, now=now,
                   actor="public")
    return bool(ids)


def unsubscribe_phone(*, phone: str, now: datetime) -> bool:
    """STOP, ALERTS STOP: the number is forgotten at once."""
    return unsubscribe(channel=SubscriberChannel.SMS, address=phone, now=now)


def unsubscribe_by_id(*, subscriber_id: int, now: datetime) -> bool:
    """The unsubscribe link of an email, or a push service that forgot the browser."""
    with atomic():
        deleted, _ = Subscriber.objects.filter(pk=subscriber_id).delete()
        if deleted:
            record("alerts.unsubscribed", object_type="subscriber", object_id=subscriber_id,
                   now=now, actor="public")
    return bool(deleted)
