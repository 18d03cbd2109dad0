"""Web Push subscriptions of the responder app: the key to subscribe with, register,
unregister. Responders only; mounted at /api/v1/me/push."""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from pydantic import AfterValidator, Field, StringConstraints

from spotline.api import schemas as s
from spotline.api.auth import AUTH, require_responder
from spotline.api.fields import no_nul, trimmed
from spotline.notify.providers.webpush.subscriptions import subscription_delete, subscription_save

router = Router(auth=AUTH, tags=["responder"])


# What a browser's PushSubscription.toJSON() gives, as patterns: the schema states them
# and the validators check them (the decoder and urlsplit alone are lenient: they skip
# a newline, or a character outside the alphabet, that nobody's browser sends).
ENDPOINT_PATTERN = (r"https://[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z][a-z0-9-]*(:[0-9]{1,5})?"
            r"([/?#][!-~]*)?")
P256DH_PATTERN = r"B[A-P][A-Za-z0-9_+/-]{85}=?"  # base64url of 65 bytes starting with 4
AUTH_PATTERN = r"[A-Za-z0-9_+/-]{22}(==?)?"  # base64url of 16 bytes


def _unb64url(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise ValueError("not base64url") from None


def _endpoint(value: str) -> str:
    """A push service's URL: https to a named host. Plain http only to 127.0.0.1, and
    only on a local deployment (development and tests)."""
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme == "http" and host == "127.0.0.1":
        if not settings.SPOTLINE_SITE_URL.startswith(("http://127.0.0.1", "http://localhost")):
            raise ValueError("must be an https:// URL")
        return value
    if (re.fullmatch(ENDPOINT_PATTERN, value) is None
            or parts.scheme != "https" or not host or parts.username or parts.password):
        raise ValueError("must be an https:// URL")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError("must name the push service's host, not an IP address")
    if "." not in host or host.endswith(".localhost"):
        raise ValueError("must name a public host")
    return value


def _p256dh(value: str) -> str:
    point = _unb64url(value) if re.fullmatch(P256DH_PATTERN, value) else b""
    if len(point) != 65 or point[0] != 4:
        raise ValueError("must be a base64url P-256 public key (65 bytes, uncompressed)")
    return value


def _auth(value: str) -> str:
    if re.fullmatch(AUTH_PATTERN, value) is None or len(_unb64url(value)) != 16:
        raise ValueError("must be a base64url 16-byte secret")
    return value


def _pattern(pattern: str) -> Any:
    # The schema's half of the validator (not "*.localhost": a pattern without
    # lookarounds cannot say it; nor the plain-http endpoint of a local deployment).
    return Field(json_schema_extra={"pattern": f"^{pattern}$"})


# Taken as sent, not trimmed: a browser sends none, and a trimmed text's length is not
# one the schema can state.
Endpoint = Annotated[str, StringConstraints(max_length=500), AfterValidator(_endpoint),
                     _pattern(ENDPOINT_PATTERN)]


class PushKeysIn(Schema):
    p256dh: Annotated[str, StringConstraints(max_length=200), AfterValidator(_p256dh),
                      _pattern(P256DH_PATTERN)]
    auth: Annotated[str, StringConstraints(max_length=100), AfterValidator(_auth),
                    _pattern(AUTH_PATTERN)]


class PushSubscriptionIn(Schema):
    """What the browser's ``PushSubscription.toJSON()`` gives (expirationTime ignored)."""

    endpoint: Endpoint
    keys: PushKeysIn


class PushEndpointIn(Schema):
    # Any text: one that was never registered removes nothing. No NUL, which PostgreSQL
    # refuses in a query (a 500 there, before).
    endpoint: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500),
                        AfterValidator(no_nul),
                        Field(json_schema_extra=trimmed(r"[^\x00]{0,500}"))]


class PushKeyOut(Schema):
    public_key: str


class PushSubscribedOut(Schema):
    created: bool


@router.get("/key", response={200: PushKeyOut, 401: s.ErrorOut, 403: s.ErrorOut,
                              404: s.ErrorOut},
            summary="The VAPID public key to subscribe with (applicationServerKey)")
def push_key(request: HttpRequest) -> Any:
    require_responder(request)
    if "webpush" not in settings.SPOTLINE_PROVIDERS:
        raise HttpError(404, "web push is not configured on this server")
    return {"public_key": settings.SPOTLINE_VAPID_PUBLIC_KEY}


@router.put("", response={200: PushSubscribedOut, 201: PushSubscribedOut, 401: s.ErrorOut,
                          403: s.ErrorOut, 404: s.ErrorOut, 422: s.ErrorOut},
            summary="Register this browser for offers by push (the same endpoint again: 200)")
def push_subscribe(request: HttpRequest, payload: PushSubscriptionIn) -> Any:
    responder = require_responder(request)
    created = subscription_save(responder=responder, endpoint=payload.endpoint,
                                p256dh=payload.keys.p256dh, auth=payload.keys.auth,
                                now=timezone.now())
    return Status(201 if created else 200, {"created": created})


@router.delete("", response={204: None, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut,
                             422: s.ErrorOut},
               summary="Stop pushes to this browser")
def push_unsubscribe(request: HttpRequest, payload: PushEndpointIn) -> Any:
    responder = require_responder(request)
    subscription_delete(responder=responder, endpoint=payload.endpoint)
    return Status(204, None)
