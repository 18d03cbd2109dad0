"""Bad input gets a clear 4xx with a "detail", never a 500, and writes nothing.

The matrix sends one bad request per case against a small standing world (a responder
on shift holding one offer, a dispatcher) and compares the row counts before and after.
Generated requests (schemathesis, every check it has) are test_schema_conformance.py's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine

from spotline.accounts.actions import token_create, user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, Api, api_for
from spotline.dispatch.models import Incident, IncidentEvent, Offer, Outcome, Timer
from spotline.responders.models import Responder

HUGE = "99999999999999999999999"
URL = "/api/v1/incidents"


def good(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "overdose",
                            "location": {"lat": CENTRE.lat, "lon": CENTRE.lon}}
    body.update(overrides)
    return body


def at(**location: Any) -> dict[str, Any]:
    return good(location=location)


def raw(text: str) -> bytes:
    return text.encode()


@dataclass(frozen=True)
class Bad:
    id: str
    body: Any = None  # a dict is sent as JSON; bytes are sent as they are
    path: str = URL
    method: str = "post"
    who: str = "public"  # public | responder | dispatcher
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None  # exact status where the contract names one, else any 4xx


CASES = [
    # coordinates
    Bad("lat-91", at(lat=91, lon=CENTRE.lon)),
    Bad("lat-minus-91", at(lat=-91, lon=CENTRE.lon)),
    Bad("lon-minus-181", at(lat=CENTRE.lat, lon=-181)),
    Bad("lon-181", at(lat=CENTRE.lat, lon=181)),
    Bad("lat-NaN-literal", raw('{"kind": "overdose", "location": {"lat": NaN, "lon": 24.9}}')),
    Bad("lon-Infinity-literal",
        raw('{"kind": "overdose", "location": {"lat": 60.1, "lon": Infinity}}')),
    Bad("lat-minus-Infinity-literal",
        raw('{"kind": "overdose", "location": {"lat": -Infinity, "lon": 24.9}}')),
    Bad("lat-1e400-overflows-to-infinity",
        raw('{"kind": "overdose", "location": {"lat": 1e400, "lon": 24.9}}')),
    Bad("accuracy-NaN-literal",
        raw('{"kind": "overdose", "location": {"lat": 60.1, "lon": 24.9, "accuracy_m": NaN}}')),
    Bad("accuracy-negative", at(lat=CENTRE.lat, lon=CENTRE.lon, accuracy_m=-5)),
    Bad("lat-string", at(lat="45", lon=CENTRE.lon)),
    Bad("lat-true", at(lat=True, lon=CENTRE.lon)),
    Bad("lat-list", at(lat=[60.1], lon=CENTRE.lon)),
    Bad("lat-object", at(lat={"value": 60.1}, lon=CENTRE.lon)),
    # kind
    Bad("kind-police", good(kind="police")),
    Bad("kind-arrest", good(kind="arrest")),
    Bad("kind-POLICE", good(kind="POLICE")),
    Bad("kind-empty", good(kind="")),
    Bad("kind-number", good(kind=1)),
    Bad("kind-missing", {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon}}),
    # location
    Bad("location-missing", {"kind": "overdose"}),
    Bad("location-null", good(location=None)),
    Bad("location-string", good(location="the park")),
    Bad("location-only-lat", at(lat=CENTRE.lat)),
    Bad("location-only-lon", at(lon=CENTRE.lon)),
    Bad("location-empty", at()),
    Bad("empty-description-no-coordinates", at(description="")),
    Bad("blank-description-no-coordinates", at(description="   \t ")),
    Bad("description-over-500", at(description="x" * 501)),
    # other fields
    Bad("details-over-2000", good(details="x" * 2001)),
    Bad("details-number", good(details=5)),
    Bad("breathing-maybe", good(breathing="maybe")),
    Bad("conscious-true", good(conscious=True)),
    Bad("danger-police", good(danger="police")),
    Bad("callback-phone-abc", good(callback_phone="abc")),
    Bad("callback-phone-too-long", good(callback_phone="+1" + "2" * 40)),
    Bad("callback-phone-number", good(callback_phone=3585551234)),
    Bad("language-bad", good(language="english please")),
    # NUL characters: PostgreSQL text and jsonb cannot hold them, so they must be refused
    # before they reach the database (on SQLite they would be stored as they are).
    Bad("details-with-NUL", good(details="took \u0000 something")),
    Bad("description-with-NUL", at(description="behind \u0000 the station")),
    Bad("idempotency-key-with-NUL", good(), headers={"HTTP_IDEMPOTENCY_KEY": "k\x00k"}),
    # the body itself
    Bad("oversized-body", good(details="x" * 17 * 1024), status=413),
    Bad("oversized-raw-body", b"{" + b" " * (16 * 1024 + 1) + b"}", status=413),
    Bad("malformed-json", raw('{"kind": "overdose", "location": {"lat": 60.1,')),
    Bad("trailing-garbage", raw('{"kind": "overdose", "location": {}} trailing')),
    Bad("single-quotes", raw("{'kind': 'overdose'}")),
    Bad("json-array", raw(json.dumps([good()]))),
    Bad("json-string", raw('"help"')),
    Bad("json-number", raw("42")),
    Bad("json-null", raw("null")),
    Bad("empty-body", b""),
    Bad("non-utf8-bytes", b'{"kind": "overdose", "details": "\xff\xfe\xfa", "location": {}}'),
    Bad("non-utf8-garbage", b"\xff\xfe\x00\x01\x80\x81"),
    Bad("form-encoded", b"kind=overdose&location=park",
        content_type="application/x-www-form-urlencoded"),
    Bad("multipart",
        b'--x\r\nContent-Disposition: form-data; name="kind"\r\n\r\noverdose\r\n--x--',
        content_type="multipart/form-data; boundary=x"),
    Bad("content-length-not-a-number", good(), headers={"CONTENT_LENGTH": "lots"}),
    Bad("idempotency-key-too-long", good(), headers={"HTTP_IDEMPOTENCY_KEY": "k" * 201}),
    # responder bodies
    Bad("shift-lat-91", {"on_shift": True, "lat": 91, "lon": 24.9}, "/api/v1/me/shift", "put",
        "responder"),
    Bad("shift-on-shift-string", {"on_shift": "yes"}, "/api/v1/me/shift", "put", "responder"),
    Bad("shift-on-shift-missing", {"lat": 60.1, "lon": 24.9}, "/api/v1/me/shift", "put",
        "responder"),
    Bad("shift-only-lat", {"on_shift": True, "lat": 60.1}, "/api/v1/me/shift", "put",
        "responder"),
    Bad("location-NaN-literal", raw('{"lat": NaN, "lon": 24.9}'), "/api/v1/me/location", "put",
        "responder"),
    Bad("location-lon-minus-181", {"lat": 60.1, "lon": -181}, "/api/v1/me/location", "put",
        "responder"),
    Bad("location-lat-string", {"lat": "60.1", "lon": 24.9}, "/api/v1/me/location", "put",
        "responder"),
    Bad("location-missing-lon", {"lat": 60.1}, "/api/v1/me/location", "put", "responder"),
    Bad("event-type-police", {"type": "police"}, "/api/v1/incidents/{incident}/events", "post",
        "responder"),
    # huge, negative and non-numeric ids in paths
    *[
        Bad(f"{who}-{method}-{template.format(id='ID')}-{label}", body,
            template.format(id=value), method, who, status=status)
        for label, value, status in [
            ("huge", HUGE, 404), ("max-bigint", str(2**63 - 1), 404),
            ("2pow63", str(2**63), 404), ("2pow64", str(2**64), 404),
            ("zero", "0", 404), ("negative", "-1", 404), ("word", "abc", None),
            ("float", "1.5", None),
        ]
        for who, method, template, body in [
            ("responder", "post", "/api/v1/offers/{id}/accept", None),
            ("responder", "post", "/api/v1/offers/{id}/decline", None),
            ("responder", "post", "/api/v1/incidents/{id}/events", {"type": "en_route"}),
            ("responder", "post", "/api/v1/incidents/{id}/outcome",
             {"naloxone_doses": 0, "responsive_after": "yes", "ems": "not_needed"}),
            ("dispatcher", "get", "/api/v1/incidents/{id}", None),
            ("dispatcher", "post", "/api/v1/incidents/{id}/assign", {"responder_id": 1}),
            ("dispatcher", "post", "/api/v1/incidents/{id}/escalate", {"to": "ems"}),
            ("dispatcher", "post", "/api/v1/incidents/{id}/cancel", None),
        ]
    ],
    Bad("assign-huge-responder-id", raw(f'{{"responder_id": {HUGE}}}'),
        "/api/v1/incidents/{incident}/assign", who="dispatcher"),
    Bad("assign-responder-id-string", {"responder_id": "1"},
        "/api/v1/incidents/{incident}/assign", who="dispatcher"),
    Bad("assign-responder-id-zero", {"responder_id": 0},
        "/api/v1/incidents/{incident}/assign", who="dispatcher"),
    Bad("escalate-police", {"to": "police"}, "/api/v1/incidents/{incident}/escalate",
        who="dispatcher"),
    Bad("escalate-NaN", raw('{"to": NaN}'), "/api/v1/incidents/{incident}/escalate",
        who="dispatcher"),
    Bad("list-state-bogus", None, "/api/v1/incidents?state=bogus", "get", "dispatcher"),
    Bad("track-unknown", None, "/api/v1/track/" + "z" * 40, "get", status=404),
    Bad("track-cancel-unknown", None, "/api/v1/track/" + "z" * 40 + "/cancel", status=404),
]


@pytest.fixture
def world(make_responder, dispatcher_api, public_api) -> dict[str, Any]:
    responder = make_responder(north_m=150)
    with time_machine.travel(T0, tick=False):
        created = public_api.post(URL, good()).json()
    assert Offer.objects.filter(responder=responder).count() == 1
    return {
        "public": public_api,
        "responder": api_for(responder),
        "dispatcher": dispatcher_api,
        "incident": created["id"],
    }


def snapshot() -> dict[str, Any]:
    return {
        "incidents": Incident.objects.count(),
        "offers": Offer.objects.count(),
        "timers": Timer.objects.count(),
        "events": IncidentEvent.objects.count(),
        "incident_rows": list(Incident.objects.order_by("pk").values_list(
            "pk", "state", "version", "assigned_responder_id", "ems_requested_at")),
        "offer_rows": list(Offer.objects.order_by("pk").values_list("pk", "status")),
        "responders": list(Responder.objects.order_by("pk").values_list(
            "pk", "on_shift_since", "lat", "lon")),
    }


def send(api: Api, case: Bad, path: str) -> Any:
    extra: dict[str, Any] = {"headers": api.headers}
    extra.update(case.headers)
    if case.method == "get":
        return api.client.get(path, **extra)
    body = case.body
    data = body if isinstance(body, bytes) else json.dumps(body if body is not None else {})
    return getattr(api.client, case.method)(path, data=data,
                                            content_type=case.content_type, **extra)


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_it_answers_bad_input_with_a_clear_4xx_and_writes_nothing(world, case):
    path = case.path.format(incident=world["incident"])
    before = snapshot()
    with time_machine.travel(T0, tick=False):
        r = send(world[case.who], case, path)
    if case.status is not None:
        assert r.status_code == case.status, r.content
    assert 400 <= r.status_code < 500, r.content
    assert r["Content-Type"].startswith("application/json"), r.content[:200]
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail.strip(), r.content
    assert snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize("extra", [
    {"notes": "gave \u0000 water"},
    {"referrals": ["detox\u0000"]},
], ids=["notes-with-NUL", "referral-with-NUL"])
def test_it_refuses_nul_characters_in_an_outcome(world, extra):
    responder, incident_id = world["responder"], world["incident"]
    offer = responder.get("/api/v1/me/offers").json()[0]
    assert responder.post(f"/api/v1/offers/{offer['id']}/accept").status_code == 200
    r = responder.post(f"/api/v1/incidents/{incident_id}/events", {"type": "on_scene"})
    assert r.status_code == 200, r.content
    before = snapshot()
    r = responder.post(f"/api/v1/incidents/{incident_id}/outcome", {
        "naloxone_doses": 1, "responsive_after": "yes", "ems": "not_needed", **extra})
    assert 400 <= r.status_code < 500, r.content
    assert r.json()["detail"]
    assert snapshot() == before
    assert not Outcome.objects.exists()


@pytest.mark.django_db
def test_it_never_echoes_a_rejected_phone_number_or_coordinate(world):
    r = world["public"].post(URL, good(callback_phone="555-CALL-ME-ON-4471",
                                       location={"lat": 91.123456, "lon": 24.987654}))
    assert r.status_code == 422
    text = r.content.decode()
    assert "4471" not in text
    assert "91.123456" not in text and "24.987654" not in text
    assert "location" in r.json()["detail"]


@pytest.mark.django_db
def test_it_refuses_a_boolean_where_a_number_or_a_flag_is_asked(world):
    # Issue 13, item 19: false is not 0 m, and 0 is not "off duty".
    before = snapshot()
    r = world["public"].post(URL, good(location={"lat": CENTRE.lat, "lon": CENTRE.lon,
                                                 "accuracy_m": False}))
    assert r.status_code == 422 and "accuracy_m" in json.dumps(r.json())
    assert snapshot() == before
    user_create(name="duty-dispatcher", role=Role.DISPATCHER, password=None)
    api = Api(token_create(name="duty-dispatcher", now=T0))
    for value in (0, 1, "yes", "true", None):
        assert api.put("/api/v1/me/duty", {"on_duty": value}).status_code == 422, value
    assert api.put("/api/v1/me/duty", {"on_duty": True}).json() == {"on_duty": True}


@pytest.mark.django_db
def test_it_takes_a_whole_number_written_with_a_point_as_the_integer_it_is(world):
    # JSON has one kind of number, and to the schema's "integer" 5.0 is 5 (schemathesis
    # sends it so). What is not a whole number, or not a number, is still refused.
    public = world["public"]
    body = {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon}}
    for value in (5.5, True, "5", 0.0, 31.0):
        before = snapshot()
        r = public.post("/api/v1/checkins", {**body, "minutes": value})
        assert r.status_code == 422 and "minutes" in r.json()["detail"], (value, r.content)
        assert snapshot() == before
    r = public.post("/api/v1/checkins", {**body, "minutes": 5.0})
    assert r.status_code == 201, r.content
    assert public.get(f"/api/v1/checkins/{r.json()['token']}").json()["minutes"] == 5
    r = world["dispatcher"].post(f"/api/v1/incidents/{world['incident']}/assign",
                                 raw('{"responder_id": 1e300}'))
    assert r.status_code == 404, r.content  # a whole number, but no responder has it


@pytest.mark.django_db
def test_it_refuses_a_json_body_sent_as_plain_text(world):
    # A text/plain POST is a "simple" cross-site request (no CORS preflight): a JSON API
    # must insist on application/json, or any web page can file requests for help.
    before = snapshot()
    r = world["public"].client.post(URL, data=json.dumps(good()), content_type="text/plain")
    assert r.status_code in (400, 415), r.content
    assert r.json()["detail"]
    assert snapshot() == before


def _asgi_post(path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """POST through Django's ASGI handler (what uvicorn runs), in chunks."""
    from django.core.asgi import get_asgi_application  # noqa: PLC0415 (imported when the test runs: it builds the app)

    app = get_asgi_application()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }
    chunks = [body[i:i + 4096] for i in range(0, len(body), 4096)]
    messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                for i, c in enumerate(chunks)]
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        never = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await never.wait()  # the client stays connected
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)

    asyncio.run(run())
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.django_db(transaction=True)
def test_it_answers_413_to_an_oversized_chunked_body_over_asgi():
    # No Content-Length (Transfer-Encoding: chunked), so the size check must not rely on
    # the header alone.
    body = json.dumps(good(details="x" * 1000, padding="y" * 20 * 1024)).encode()
    status, content = _asgi_post(URL, body, [(b"content-type", b"application/json"),
                                             (b"transfer-encoding", b"chunked")])
    assert status == 413, content[:300]
    assert json.loads(content)["detail"]
    assert Incident.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("language", "words"), [("en", "Too long to send"),
                                                 ("es", "Demasiado largo para enviar")])
@pytest.mark.parametrize("chunked", [True, False])
def test_the_help_form_answers_an_oversized_body_with_a_page(caplog, language, words,
                                                              chunked):
    form = urlencode({"kind": "overdose", "where": "behind the station",
                      "details": "x" * 20 * 1024}).encode()
    headers = [(b"content-type", b"application/x-www-form-urlencoded"),
               (b"accept-language", language.encode())]
    headers.append((b"transfer-encoding", b"chunked") if chunked else
                   (b"content-length", str(len(form)).encode()))
    with caplog.at_level(logging.INFO):
        status, content = _asgi_post("/", form, headers)
    assert status == 413, content[:300]
    page = content.decode()
    assert words in page and 'href="/"' in page
    assert Incident.objects.count() == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "behind the station" not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_it_opens_an_incident_from_a_small_chunked_body_over_asgi():
    body = json.dumps(good()).encode()
    status, content = _asgi_post(URL, body, [(b"content-type", b"application/json"),
                                             (b"transfer-encoding", b"chunked")])
    assert status == 201, content[:300]
    assert Incident.objects.filter(pk=json.loads(content)["id"]).exists()
