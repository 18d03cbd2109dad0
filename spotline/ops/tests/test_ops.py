"""Health, readiness and metrics through real requests, on the suite's real database."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from spotline.conftest import CENTRE
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.timers import fire_due
from spotline.notify.sender import send_due
from spotline.ops import health
from spotline.responders.models import Responder

DESCRIPTION = "behind the green door of the laundry"
PHONE = "+15550100177"


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(client: Client | None = None, **extra: Any) -> str:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# -- liveness ---------------------------------------------------------------------------------


def test_healthz_answers_without_touching_the_database() -> None:
    # No ``db`` fixture: pytest-django refuses any query, so a query here would fail.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_healthz_refuses_writes(db: Any) -> None:
    assert Client().post("/healthz").status_code == 405


# -- readiness --------------------------------------------------------------------------------


def test_readyz_is_ready_when_the_database_answers(db: Any, settings: Any) -> None:
    settings.REDIS_URL = ""
    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert body["database"]["status"] == "ok"
    assert body["redis"] == "off"
    assert body["timers"]["status"] == "ok"
    assert body["timers"]["late"] == {"timers": 0, "checkin_deadlines": 0, "alert_fanouts": 0,
                                      "outbox": 0}
    assert "no-store" in response["Cache-Control"]
    assert "Retry-After" not in response


def test_readyz_reports_redis_but_stays_ready_without_it(db: Any, settings: Any) -> None:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set (make test starts Redis and sets it)")
    settings.REDIS_URL = url  # only PING is sent: nothing is written to any database
    assert Client().get("/readyz").json()["redis"] == "ok"

    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = Client().get("/readyz")
    # A dead Redis costs a short timeout, no more: the probe's client is built with one
    # (a stopwatch round the request would measure the machine, not the timeout).
    client = health._redis_client(settings.REDIS_URL)
    assert client.connection_pool.connection_kwargs["socket_connect_timeout"] == (
        health.REDIS_TIMEOUT_SECONDS)
    assert client.connection_pool.connection_kwargs["socket_timeout"] == (
        health.REDIS_TIMEOUT_SECONDS)
    assert health.REDIS_TIMEOUT_SECONDS <= 1
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["redis"] == "down"


def test_readyz_reports_late_timers_without_turning_unready(
        db: Any, make_responder: Callable[..., Responder]) -> None:
    """Work due for over 30 s with no worker to do it: a round expiry and the offer
    messages. Reported as late (an alert), still ready (see views.py: why); a worker
    pass clears it."""
    make_responder(north_m=100)
    past = timezone.now() - timedelta(minutes=5)
    incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE, breathing=Answer.NO,
        description=DESCRIPTION, callback_phone=PHONE), now=past)
    response = Client().get("/readyz")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ready"
    assert body["timers"]["status"] == "late"
    assert body["timers"]["late"]["timers"] >= 1
    assert body["timers"]["late"]["outbox"] >= 1
    assert body["timers"]["oldest_lateness_seconds"] > 200
    assert DESCRIPTION not in response.content.decode()

    now = timezone.now()
    fire_due(now=now)
    send_due(now=now)
    body = Client().get("/readyz").json()
    assert body["timers"]["status"] == "ok", body


# -- metrics: who may scrape ------------------------------------------------------------------


def test_metrics_are_for_this_machine_only_without_a_token(db: Any, settings: Any) -> None:
    settings.SPOTLINE_METRICS_TOKEN = ""
    settings.SPOTLINE_TRUSTED_PROXIES = ["127.0.0.1", "::1"]
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 404
    # Through the local reverse proxy, the client is the one it vouches for.
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1",
                        HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404


def test_metrics_need_the_token_when_one_is_set(db: Any, settings: Any) -> None:
    settings.SPOTLINE_METRICS_TOKEN = "scrape-secret-0123456789"
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert Client().get("/metrics").status_code == 404  # loopback is not enough now
    assert Client().get("/metrics", headers={
        "Authorization": "Bearer wrong-secret-0123456789"}, **remote).status_code == 404
    assert Client().get("/metrics", headers={
        "Authorization": "Basic scrape-secret-0123456789"}, **remote).status_code == 404
    ok = Client().get("/metrics", headers={
        "Authorization": "Bearer scrape-secret-0123456789"}, **remote)
    assert ok.status_code == 200
    assert "spotline_database_up 1.0" in ok.content.decode()


# -- metrics: what they say -------------------------------------------------------------------


def test_requests_are_counted_by_route_never_by_path(
        db: Any, make_responder: Callable[..., Responder]) -> None:
    make_responder(north_m=100)
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                 breathing=Answer.NO, description=DESCRIPTION, callback_phone=PHONE
             ), now=timezone.now())
    token = opened.tracking_token
    route = {"route": "t/<str:token>/", "method": "GET"}
    before = scrape()
    for _ in range(3):
        assert Client().get(f"/t/{token}/").status_code == 200
    assert Client().get("/t/no-such-token-000000/").status_code == 404
    assert Client().get("/no/such/page/at/all").status_code == 404
    after = scrape()

    count = "spotline_http_requests_total"
    assert value(after, count, **route, status="2xx") - value(before, count, **route,
                                                              status="2xx") == 3
    assert value(after, count, **route, status="4xx") - value(before, count, **route,
                                                              status="4xx") == 1
    assert value(after, count, route="<unmatched>", method="GET", status="4xx") - value(
        before, count, route="<unmatched>", method="GET", status="4xx") == 1
    hist = "spotline_http_request_duration_seconds_count"
    assert value(after, hist, **route) - value(before, hist, **route) == 4
    for secret in (token, DESCRIPTION, PHONE, "no/such/page", f"{CENTRE.lat:.4f}"):
        assert secret not in after


def test_gauges_count_the_dispatch_state(
        db: Any, make_responder: Callable[..., Responder]) -> None:
    for n in range(3):
        make_responder(north_m=100 + n * 50)
    now = timezone.now()
    incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE, breathing=Answer.NO
    ), now=now)
    text = scrape()
    assert value(text, "spotline_database_up") == 1
    assert value(text, "spotline_incidents_open", state="dispatching", priority="P1") == 1
    assert value(text, "spotline_incidents_open", state="new", priority="P3") == 0
    assert value(text, "spotline_offers_pending") == 3
    assert value(text, "spotline_outbox_pending") >= 3
    assert value(text, "spotline_work_late", queue="timers") == 0
    assert value(text, "spotline_checkins_active") == 0

    fire_due(now=now)
    send_due(now=now)
    text = scrape()
    assert value(text, "spotline_outbox_pending") == 0
    assert value(text, "spotline_outbox_oldest_pending_age_seconds") == 0


def test_unknown_methods_share_one_label(db: Any) -> None:
    # A client can send any word as a method; each new word must not become a series.
    count = "spotline_http_requests_total"
    before = scrape()
    for word in ("BREW", "WHEN", "X1"):
        Client().generic(word, "/healthz")
    after = scrape()
    assert value(after, count, route="healthz", method="OTHER", status="2xx") + value(
        after, count, route="healthz", method="OTHER", status="4xx") - value(
        before, count, route="healthz", method="OTHER", status="2xx") - value(
        before, count, route="healthz", method="OTHER", status="4xx") == 3
    assert "BREW" not in after and "WHEN" not in after
