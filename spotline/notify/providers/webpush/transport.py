"""Web Push (RFC 8030) with VAPID (RFC 8292), through pywebpush.

Settings: ``SPOTLINE_VAPID_PRIVATE_KEY`` (PEM, base64 DER or the base64url raw 32-byte
key), ``SPOTLINE_VAPID_PUBLIC_KEY`` (base64url uncompressed point, the browser's
``applicationServerKey``) and ``SPOTLINE_VAPID_SUBJECT``. The address is
``responder:<id>``: the message goes to every browser that responder subscribed; one
that takes it is enough. The push service sees only the encrypted payload (RFC 8291).

A push service answering 404 or 410 has forgotten the subscription: it is deleted, and
with none left the channel fails permanently (the outbox falls back to SMS). 429, 5xx
and network errors are transient. Endpoints are capability URLs and payloads carry the
message: neither is ever logged, nor put in an error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from typing import Any, ClassVar

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from spotline.notify.models import PushSubscription
from spotline.notify.providers.base import PermanentError, Sent, TransientError, Transport

log = logging.getLogger(__name__)

TTL_SECONDS = 120  # an offer older than this is stale: the push service may drop it
ALERT_TTL_SECONDS = 12 * 3600  # a drug alert is still worth reading hours later
TIMEOUT_SECONDS = 10.0  # for all of a responder's browsers together (the outbox lease)
MAX_BODY_CHARS = 1000  # the encrypted payload must stay under 4 kB


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def vapid_key() -> Vapid:
    """The configured private key, in any of the forms py_vapid reads."""
    raw = settings.SPOTLINE_VAPID_PRIVATE_KEY.strip()
    if raw.startswith("-----BEGIN"):
        return Vapid.from_pem(raw.encode())
    return Vapid.from_string(raw)


def public_key_of(key: Vapid) -> str:
    return _b64url(key.public_key.public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint))


def topic_of(key: str) -> str:
    # Topic (RFC 8030 5.4): a resend of the same message replaces the one still waiting
    # at the push service. At most 32 URL-safe characters; hex is.
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _unsaved(address: str) -> PushSubscription:
    """A subscription given as its JSON ({"endpoint", "keys": {"p256dh", "auth"}})."""
    try:
        info = json.loads(address)
        return PushSubscription(endpoint=str(info["endpoint"]),
                                p256dh=str(info["keys"]["p256dh"]),
                                auth=str(info["keys"]["auth"]))
    except (ValueError, KeyError, TypeError):
        raise PermanentError("push subscription unreadable") from None


class WebPushTransport(Transport):
    name: ClassVar[str] = "webpush"
    channels: ClassVar[frozenset[str]] = frozenset({"push"})
    redact: ClassVar[frozenset[str]] = frozenset({"endpoint", "p256dh", "auth", "body"})

    def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
        prefix, _, rest = to.partition(":")
        if prefix == "subscription":
            # An alert subscriber's browser: the subscription itself, not a stored row.
            subscriptions = [_unsaved(rest)]
        elif prefix == "responder" and rest.isdigit():
            subscriptions = list(PushSubscription.objects.filter(responder_id=int(rest))
                                 .order_by("-created_at", "-id"))
        else:
            raise PermanentError("push goes to a responder or a subscription")
        if not subscriptions:
            raise PermanentError("no push subscription")
        try:
            vapid = vapid_key()
        except Exception as exc:
            log.error("SPOTLINE_VAPID_PRIVATE_KEY cannot be read (%s)", type(exc).__name__)
            raise PermanentError("vapid key unusable") from None
        if public_key_of(vapid) != settings.SPOTLINE_VAPID_PUBLIC_KEY.strip().rstrip("="):
            # Browsers subscribed with the public key: pushes signed with another would
            # all be refused. Fall back to SMS rather than retry in vain.
            log.error("SPOTLINE_VAPID_PUBLIC_KEY is not the private key's public key")
            raise PermanentError("vapid keys do not match")
        data = json.dumps({"title": "Spotline", "body": body[:MAX_BODY_CHARS],
                           "url": "/alerts/" if prefix == "subscription" else "/responder/",
                           "tag": key})
        deadline = time.monotonic() + TIMEOUT_SECONDS
        delivered, transient, gone, errors = 0, 0, 0, []
        for sub in subscriptions:
            remaining = deadline - time.monotonic()
            if remaining < 1:
                transient += 1
                errors.append("timeout")
                continue
            status = self._push(sub, data=data, vapid=vapid, key=key,
                                timeout=min(TIMEOUT_SECONDS, remaining),
                                ttl=ALERT_TTL_SECONDS if prefix == "subscription"
                                else TTL_SECONDS)
            if status is not None and status <= 202:
                delivered += 1
            elif status in (404, 410):
                if sub.pk is not None:
                    PushSubscription.objects.filter(pk=sub.pk).delete()
                gone += 1
                errors.append(f"push {status}")
            elif status is None or status == 429 or status >= 500:
                transient += 1
                errors.append(f"push {status}" if status else "push unreachable")
            else:
                # 400 (bad request), 403 (VAPID refused), 413 (too big): not by retrying.
                if status in (401, 403):
                    log.error("a push service refused our VAPID signature (%s)", status)
                errors.append(f"push {status}")
        if delivered:
            if gone:
                log.info("push: %s subscription(s) gone, deleted", gone)
            return Sent(ref="webpush-" + secrets.token_hex(8))
        if transient:
            raise TransientError(", ".join(errors))
        raise PermanentError(", ".join(errors) or "no push subscription")

    def _push(self, sub: PushSubscription, *, data: str, vapid: Vapid, key: str,
              timeout: float, ttl: int = TTL_SECONDS) -> int | None:
        """The push service's status code; None when it could not be reached."""
        info: dict[str, Any] = {"endpoint": sub.endpoint,
                                "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
        try:
            response = webpush(
                info, data, vapid_private_key=vapid,
                vapid_claims={"sub": settings.SPOTLINE_VAPID_SUBJECT},
                headers={"Topic": topic_of(key), "Urgency": "high"},
                ttl=ttl, timeout=timeout,
            )
        except WebPushException as exc:
            status = exc.status_code
            return int(status) if status else None
        except OSError as exc:  # requests' connection errors and timeouts
            log.info("push service unreachable (%s)", type(exc).__name__)
            return None
        except (ValueError, TypeError):
            # The browser's keys do not decode: this subscription cannot work.
            log.warning("push subscription id=%s has unusable keys", sub.pk)
            return 400
        except Exception as exc:  # http_ece, py_vapid: a bug or a setting; retried
            log.error("push failed unexpectedly (%s)", type(exc).__name__)
            return None
        return int(getattr(response, "status_code", 201))
