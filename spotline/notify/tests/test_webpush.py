"""Web Push goes to a local push endpoint (http.server on 127.0.0.1) started by the test.

The endpoint plays the push service and the browser both: it checks the VAPID
Authorization header as a push service does (RFC 8292: the JWT's ES256 signature
verifies with the key in ``k``, that key is ours, ``aud`` is its own origin, ``exp`` is
in the future, ``sub`` is set) and decrypts the aes128gcm body (RFC 8291) with the
subscription's private key, as the browser would. The keys are generated here.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.test import Client
from py_vapid import Vapid02

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, api_for, offset
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.shifts import shift_set
from spotline.notify.models import Delivery, Message, PushSubscription
from spotline.notify.providers.base import PermanentError, TransientError
from spotline.notify.providers.console import transport as console_provider
from spotline.notify.providers.webpush.transport import WebPushTransport
from spotline.notify.sender import send_due
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

PLACE = "behind the 7-11 on 5th"
DETAILS = "blue door, second floor"
SUBJECT = "mailto:dispatch@help.example.org"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.X962,
                            serialization.PublicFormat.UncompressedPoint)


@dataclass
class Browser:
    """The browser's side of a subscription: its key pair and auth secret."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(raw_public(self.private_key.public_key()))


@dataclass
class Push:
    path: str
    headers: dict[str, str]  # names in lower case
    claims: dict[str, Any]
    payload: dict[str, Any]


class PushService:
    """A push service on 127.0.0.1: verifies, decrypts, records; answers as told."""

    def __init__(self, vapid_public_key: str) -> None:
        self.vapid_public_key = vapid_public_key
        self.browsers: dict[str, Browser] = {}  # path -> the browser subscribed there
        self.status: dict[str, int] = {}  # path -> status to answer (default 201)
        self.received: list[Push] = []
        self.refused: list[str] = []  # why a push did not verify or decrypt
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    push = service.verify(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                except (AssertionError, InvalidSignature, ValueError, KeyError) as exc:
                    service.refused.append(f"{type(exc).__name__}: {exc}")
                    self.send_response(403)
                    self.end_headers()
                    return
                service.received.append(push)
                status = service.status.get(self.path, 201)
                self.send_response(status)
                if status == 201:
                    self.send_header("Location", f"{service.origin}/message{len(service.received)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def subscribe(self, responder: Responder, name: str) -> PushSubscription:
        """A browser subscribes at /push/<name> and the app registers it."""
        browser = Browser()
        self.browsers[f"/push/{name}"] = browser
        return PushSubscription.objects.create(
            responder=responder, endpoint=f"{self.origin}/push/{name}",
            p256dh=browser.p256dh, auth=b64url(browser.auth), created_at=T0)

    def verify(self, path: str, headers: dict[str, str], body: bytes) -> Push:
        scheme, _, params = headers["authorization"].partition(" ")
        assert scheme.lower() == "vapid", f"Authorization scheme {scheme!r}"
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        token, k = parts["t"], parts["k"]
        assert k == self.vapid_public_key, "k is not the server's VAPID public key"
        head_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(unb64url(head_b64))
        assert header == {"typ": "JWT", "alg": "ES256"}, header
        signature = unb64url(signature_b64)
        assert len(signature) == 64, "an ES256 JWS signature is r || s, 64 bytes"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(k))
        public.verify(
            encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                 int.from_bytes(signature[32:], "big")),
            f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        claims = json.loads(unb64url(claims_b64))
        assert claims["aud"] == self.origin, f"aud {claims['aud']!r}"
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600, "exp"
        assert claims["sub"], "sub"
        assert headers["content-encoding"] == "aes128gcm"
        browser = self.browsers[path]
        plain = http_ece.decrypt(body, private_key=browser.private_key,
                                 auth_secret=browser.auth, version="aes128gcm")
        return Push(path=path, headers=headers, claims=claims, payload=json.loads(plain))

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return [p.payload for p in self.received]


def vapid_keys() -> tuple[Vapid02, str]:
    vapid = Vapid02()
    vapid.generate_keys()
    return vapid, b64url(raw_public(vapid.public_key))


@pytest.fixture
def vapid(settings) -> Vapid02:
    key, public = vapid_keys()
    settings.SPOTLINE_VAPID_PRIVATE_KEY = key.private_pem().decode()
    settings.SPOTLINE_VAPID_PUBLIC_KEY = public
    settings.SPOTLINE_VAPID_SUBJECT = SUBJECT
    settings.SPOTLINE_PROVIDERS = ["webpush", "console"]
    return key


@pytest.fixture
def push_service(settings, vapid: Vapid02) -> Iterator[PushService]:
    service = PushService(settings.SPOTLINE_VAPID_PUBLIC_KEY)
    service.thread.start()
    try:
        yield service
    finally:
        service.server.shutdown()
        service.server.server_close()


@pytest.fixture
def responder() -> Responder:
    user = user_create(name="sam", role=Role.RESPONDER, password=None, skills=("naloxone",),
                       phone="+15550100100")
    Responder.objects.filter(user=user).update(channels=["push", "sms"])
    return shift_set(responder=Responder.objects.get(user=user), on_shift=True,
                     location=offset(CENTRE, 100), now=T0)


def send(responder: Responder, body: str = "Spotline: P1 overdose about 2 min away.",
         key: str = "offer:7:1:push") -> Any:
    return WebPushTransport().send(channel="push", to=f"responder:{responder.pk}", body=body,
                                   key=key)


# -- sending ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key_format", ["pem", "raw", "der"])
def test_it_delivers_a_signed_encrypted_payload(settings, vapid, push_service, responder,
                                                key_format):
    if key_format == "raw":
        raw = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
        settings.SPOTLINE_VAPID_PRIVATE_KEY = b64url(raw)
    elif key_format == "der":
        settings.SPOTLINE_VAPID_PRIVATE_KEY = b64url(vapid.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    push_service.subscribe(responder, "phone")

    sent = send(responder)

    assert push_service.refused == []
    assert sent.ref.startswith("webpush-")
    assert push_service.payloads == [{"title": "Spotline", "body":
                                      "Spotline: P1 overdose about 2 min away.",
                                      "url": "/responder/", "tag": "offer:7:1:push"}]
    push = push_service.received[0]
    assert push.claims["sub"] == SUBJECT
    assert push.headers["ttl"] == "120"
    assert push.headers["urgency"] == "high"
    # The same key gives the same topic: a resend replaces the copy still waiting.
    topic = push.headers["topic"]
    assert len(topic) <= 32 and topic.isalnum()
    send(responder)
    assert push_service.received[1].headers["topic"] == topic
    assert push_service.payloads[1]["tag"] == "offer:7:1:push"


def test_it_sends_to_every_browser_the_responder_subscribed(push_service, responder):
    push_service.subscribe(responder, "phone")
    push_service.subscribe(responder, "laptop")

    send(responder)

    assert sorted(p.path for p in push_service.received) == ["/push/laptop", "/push/phone"]


@pytest.mark.parametrize("status", [404, 410])
def test_it_deletes_a_gone_subscription_and_keeps_the_live_one(push_service, responder,
                                                               status):
    gone = push_service.subscribe(responder, "old-phone")
    live = push_service.subscribe(responder, "phone")
    push_service.status["/push/old-phone"] = status

    assert send(responder).ref.startswith("webpush-")

    assert list(PushSubscription.objects.values_list("pk", flat=True)) == [live.pk]
    assert not PushSubscription.objects.filter(pk=gone.pk).exists()


def test_it_fails_permanently_when_the_only_subscription_is_gone(push_service, responder,
                                                                 caplog):
    # INFO, the default level (urllib3 logs request paths at DEBUG: see settings.LOGGING).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="spotline")
    push_service.subscribe(responder, "phone")
    push_service.status["/push/phone"] = 410

    with pytest.raises(PermanentError):
        send(responder, body="Spotline: P1 overdose, secret body 77")

    assert PushSubscription.objects.count() == 0
    # Endpoints are capability URLs, bodies the message: neither reaches the log.
    assert "/push/phone" not in caplog.text
    assert "secret body 77" not in caplog.text


@pytest.mark.parametrize("status", [429, 500, 503])
def test_it_calls_a_busy_or_failing_push_service_transient(push_service, responder, status):
    push_service.subscribe(responder, "phone")
    push_service.status["/push/phone"] = status

    with pytest.raises(TransientError):
        send(responder)

    assert PushSubscription.objects.count() == 1  # kept for the retry


def test_it_calls_an_unreachable_push_service_transient(vapid, responder):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once closed
    PushSubscription.objects.create(responder=responder, endpoint=f"http://127.0.0.1:{port}/x",
                                    p256dh=Browser().p256dh, auth=b64url(os.urandom(16)),
                                    created_at=T0)
    with pytest.raises(TransientError):
        send(responder)


def test_it_fails_permanently_without_a_subscription(vapid, responder):
    with pytest.raises(PermanentError, match="no push subscription"):
        send(responder)


def test_it_fails_permanently_when_the_vapid_keys_do_not_match(settings, push_service,
                                                               responder):
    push_service.subscribe(responder, "phone")
    settings.SPOTLINE_VAPID_PUBLIC_KEY = vapid_keys()[1]

    with pytest.raises(PermanentError, match="vapid"):
        send(responder)

    assert push_service.received == []


def test_it_falls_back_when_the_push_service_refuses_our_signature(push_service, responder):
    # The push service holds another key for this subscription (ours was rotated).
    push_service.vapid_public_key = vapid_keys()[1]
    push_service.subscribe(responder, "phone")

    with pytest.raises(PermanentError, match="403"):
        send(responder)

    assert len(push_service.refused) == 1
    assert push_service.refused[0].startswith("AssertionError: k is not the server's VAPID")
    assert push_service.received == []


# -- the outbox, end to end ------------------------------------------------------------------


def test_it_sends_an_offer_by_push_without_the_place(push_service, responder):
    push_service.subscribe(responder, "phone")
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                   breathing=Answer.NO, description=PLACE, details=DETAILS), now=T0).incident
    message = Message.objects.get(purpose="offer", incident=incident, responder=responder)
    assert message.channels == ["push", "sms"]

    assert send_due(now=T0) == 1

    assert push_service.refused == []
    [payload] = push_service.payloads
    assert payload["tag"] == f"{message.key}:push"
    assert payload["url"] == "/responder/"
    assert "P1" in payload["body"] and "overdose" in payload["body"]
    for secret in (PLACE, "7-11", DETAILS, str(CENTRE.lat), str(CENTRE.lon), "60.1", "24.9"):
        assert secret not in json.dumps(payload)
    delivery = Delivery.objects.get(message=message)
    assert (delivery.channel, delivery.provider, delivery.status) == ("push", "webpush", "sent")


def test_it_falls_back_to_sms_when_the_browser_unsubscribed(push_service, responder):
    push_service.subscribe(responder, "phone")
    push_service.status["/push/phone"] = 410
    console_provider.SENT.clear()
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                   breathing=Answer.NO), now=T0).incident
    message = Message.objects.get(purpose="offer", incident=incident, responder=responder)

    assert send_due(now=T0) == 0  # push: gone
    assert send_due(now=T0) == 1  # then SMS, at once

    assert PushSubscription.objects.count() == 0
    assert list(message.deliveries.order_by("id").values_list("channel", "provider", "status")
                ) == [("push", "webpush", "failed"), ("sms", "console", "sent")]
    assert [key for _, key, _ in console_provider.SENT] == [f"{message.key}:sms"]


# -- the API ---------------------------------------------------------------------------------


def subscription_body(endpoint: str = "https://push.example.net/send/abc123",
                      browser: Browser | None = None) -> dict[str, Any]:
    browser = browser or Browser()
    return {"endpoint": endpoint, "expirationTime": None,
            "keys": {"p256dh": browser.p256dh, "auth": b64url(browser.auth)}}


def test_it_gives_the_public_key_to_subscribe_with(vapid, settings, responder):
    r = api_for(responder).get("/api/v1/me/push/key")
    assert r.status_code == 200, r.content
    assert r.json() == {"public_key": settings.SPOTLINE_VAPID_PUBLIC_KEY}


def test_it_says_when_push_is_not_configured(settings, responder):
    settings.SPOTLINE_PROVIDERS = ["console"]
    r = api_for(responder).get("/api/v1/me/push/key")
    assert r.status_code == 404


def test_it_registers_a_subscription_once_and_removes_it(vapid, responder):
    api = api_for(responder)
    body = subscription_body()

    r = api.put("/api/v1/me/push", body)
    assert (r.status_code, r.json()) == (201, {"created": True})
    newer = subscription_body(browser=Browser())
    r = api.put("/api/v1/me/push", newer)  # the same endpoint, new keys
    assert (r.status_code, r.json()) == (200, {"created": False})
    sub = PushSubscription.objects.get()
    assert (sub.responder_id, sub.endpoint, sub.p256dh, sub.auth) == (
        responder.pk, body["endpoint"], newer["keys"]["p256dh"], newer["keys"]["auth"])

    for _ in range(2):  # removing is idempotent too
        r = api.client.delete("/api/v1/me/push", data={"endpoint": body["endpoint"]},
                              content_type="application/json", headers=api.headers)
        assert r.status_code == 204, r.content
        assert PushSubscription.objects.count() == 0


def test_it_takes_keys_in_plain_base64_and_padded_as_before(vapid, responder):
    browser = Browser()
    body = subscription_body(browser=browser)
    body["keys"] = {  # "+", "/" and "=" where base64url would have "-", "_" and none
        "p256dh": base64.b64encode(raw_public(browser.private_key.public_key())).decode(),
        "auth": base64.b64encode(browser.auth).decode()}
    assert api_for(responder).put("/api/v1/me/push", body).status_code == 201


def test_it_refuses_to_remove_an_endpoint_with_a_nul_in_it(vapid, responder):
    # PostgreSQL refuses NUL even in a query: without the check, a 500 there.
    api = api_for(responder)
    r = api.client.delete("/api/v1/me/push", data={"endpoint": "https://a.example/\x00"},
                          content_type="application/json", headers=api.headers)
    assert r.status_code == 422, r.content
    assert "NUL" in r.json()["detail"]


def test_it_moves_an_endpoint_to_whoever_signed_in_on_that_browser(vapid, responder):
    other = Responder.objects.get(user=user_create(name="kim", role=Role.RESPONDER,
                                                   password=None))
    body = subscription_body()
    assert api_for(responder).put("/api/v1/me/push", body).status_code == 201
    assert api_for(other).put("/api/v1/me/push", body).status_code == 200
    assert PushSubscription.objects.get().responder_id == other.pk
    # And the first cannot remove what is no longer theirs.
    api = api_for(responder)
    api.client.delete("/api/v1/me/push", data={"endpoint": body["endpoint"]},
                      content_type="application/json", headers=api.headers)
    assert PushSubscription.objects.count() == 1


@pytest.mark.parametrize("endpoint", [
    "http://push.example.net/send/abc",  # not https
    "ftp://push.example.net/abc",
    "https://10.0.0.5/send/abc",  # an address inside the network
    "https://localhost/send/abc",
    "https://user:pw@push.example.net/abc",
    "push.example.net/abc",
    "https://push.example.net/" + "a" * 500,
    # What the schema's pattern refuses, the server refuses too (urlsplit alone skips a
    # newline; nobody's browser sends spaces around its endpoint).
    "https://push.example.net/send/a\nb",
    "https://push.example.net/send/a b",
    " https://push.example.net/send/abc",
    "HTTPS://PUSH.EXAMPLE.NET/send/abc",
])
def test_it_refuses_an_endpoint_that_is_not_a_push_service(vapid, responder, endpoint):
    r = api_for(responder).put("/api/v1/me/push", subscription_body(endpoint))
    assert r.status_code == 422, r.content
    assert PushSubscription.objects.count() == 0


@pytest.mark.parametrize("keys", [
    {"p256dh": b64url(b"\x04" + b"x" * 10), "auth": b64url(os.urandom(16))},
    {"p256dh": Browser().p256dh, "auth": b64url(os.urandom(8))},
    {"p256dh": "not base64 at all!", "auth": b64url(os.urandom(16))},
    {"p256dh": Browser().p256dh},
    # The lenient decoder skips what is not in the alphabet: the pattern does not.
    {"p256dh": Browser().p256dh[:40] + "\n" + Browser().p256dh[40:],
     "auth": b64url(os.urandom(16))},
    {"p256dh": Browser().p256dh, "auth": "!" + b64url(os.urandom(16))},
])
def test_it_refuses_keys_that_are_not_a_browsers(vapid, responder, keys):
    body = {"endpoint": "https://push.example.net/send/abc", "keys": keys}
    r = api_for(responder).put("/api/v1/me/push", body)
    assert r.status_code == 422, r.content


def test_it_takes_a_local_endpoint_only_on_a_local_deployment(settings, vapid, responder):
    body = subscription_body("http://127.0.0.1:9/push/x")
    settings.SPOTLINE_SITE_URL = "https://help.example.org"
    assert api_for(responder).put("/api/v1/me/push", body).status_code == 422
    settings.SPOTLINE_SITE_URL = "http://127.0.0.1:8000"
    assert api_for(responder).put("/api/v1/me/push", body).status_code == 201


def test_it_is_for_responders_only(vapid, dispatcher_api, public_api, responder):
    body = subscription_body()
    for api, status in ((dispatcher_api, 404), (public_api, 401)):
        assert api.get("/api/v1/me/push/key").status_code == status
        assert api.put("/api/v1/me/push", body).status_code == status
        r = api.client.delete("/api/v1/me/push", data={"endpoint": body["endpoint"]},
                              content_type="application/json", headers=api.headers)
        assert r.status_code == status
    assert PushSubscription.objects.count() == 0


def test_it_registers_through_the_app_session_with_the_csrf_token(vapid, responder):
    """What responder.js does: the signed-in session, X-CSRFToken from the cookie."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(responder.user)
    token = "a" * 32
    client.cookies["csrftoken"] = token
    body = json.dumps(subscription_body())

    r = client.put("/api/v1/me/push", body, content_type="application/json")
    assert r.status_code == 403  # no CSRF token
    r = client.put("/api/v1/me/push", body, content_type="application/json",
                   headers={"X-CSRFToken": token})
    assert r.status_code == 201, r.content
