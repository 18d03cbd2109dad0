"""Rate limits on the public side: a flood gets a clear 429; a person asking for help
never meets one (spotline/ratelimit.py)."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.test import Client, RequestFactory
from django.urls import resolve
from twilio.request_validator import RequestValidator

from spotline import ratelimit
from spotline.conftest import CENTRE, T0
from spotline.dispatch.models import Incident

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(seconds=5)  # T0 is on the minute: 55 s left in this window
INCIDENT = {"kind": "overdose", "location": {"lat": CENTRE.lat, "lon": CENTRE.lon}}
TRACK = "/api/v1/track/no-such-token-0123"
TWILIO_TOKEN = "test-auth-token-0123456789abcdef"
SITE = "https://help.example.org"


@pytest.fixture(autouse=True)
def clock() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def limits(settings: Any, **groups: tuple[int, int]) -> None:
    settings.SPOTLINE_RATE_LIMITS = {**django_settings.SPOTLINE_RATE_LIMITS, **groups}


def client(ip: str = "198.51.100.1") -> Client:
    return Client(REMOTE_ADDR=ip)


def ask_for_help(c: Client) -> Any:
    return c.post("/api/v1/incidents", INCIDENT, content_type="application/json")


# -- what a refusal looks like -------------------------------------------------------------


def test_it_answers_the_eleventh_help_request_in_a_minute_with_429_json() -> None:
    # The real defaults, as shipped.
    assert django_settings.SPOTLINE_RATE_LIMITS["help"] == (10, 600)
    c = client()
    assert [ask_for_help(c).status_code for _ in range(10)] == [201] * 10
    r = ask_for_help(c)
    assert r.status_code == 429
    assert r["Retry-After"] == "55"
    assert r.json() == {"detail": "too many requests from this address: try again in 55 "
                                  "seconds", "retry_after": 55}
    assert Incident.objects.count() == 10


def test_it_lets_the_client_in_again_when_the_minute_is_over(settings: Any, clock: Any
                                                              ) -> None:
    limits(settings, help=(2, 600))
    c = client()
    assert [ask_for_help(c).status_code for _ in range(3)] == [201, 201, 429]
    clock.shift(55)
    assert ask_for_help(c).status_code == 201


def test_it_answers_a_page_with_a_short_page_that_says_what_to_do_now(settings: Any) -> None:
    settings.SPOTLINE_HOTLINE = "+1 555 0100"
    c = client()
    for _ in range(10):
        assert c.post("/", {"kind": "overdose"}).status_code == 400  # incomplete: counted
    r = c.post("/", {"kind": "overdose"})
    assert r.status_code == 429
    assert r["Retry-After"] == "55"
    assert r["Content-Type"].startswith("text/html")
    page = r.content.decode()
    assert "Too many requests from here: try again in 55 seconds." in page
    assert "If someone is in danger now, call +1 555 0100" in page
    assert "naloxone" in page


def test_it_says_it_in_spanish_to_a_spanish_phone(settings: Any) -> None:
    limits(settings, help=(1, 600))
    c = client()
    c.post("/", {"kind": "overdose"})
    r = c.post("/", {"kind": "overdose"}, headers={"accept-language": "es"})
    assert r.status_code == 429
    assert "Demasiadas solicitudes desde aquí" in r.content.decode()


def test_it_limits_staff_sign_in_attempts_per_address() -> None:
    c = client()
    statuses = [c.post("/accounts/login/", {"username": f"nobody{i}",
                                            "password": "not-the-password"}).status_code
                for i in range(21)]
    assert 429 not in statuses[:20]
    assert statuses[20] == 429


# -- who is counted ------------------------------------------------------------------------


def test_it_counts_each_client_on_its_own(settings: Any) -> None:
    limits(settings, track=(3, 1000))
    a, b = client("198.51.100.1"), client("198.51.100.2")
    assert [a.get(TRACK).status_code for _ in range(4)] == [404, 404, 404, 429]
    assert b.get(TRACK).status_code == 404


def test_it_counts_an_ipv6_client_by_its_64_block(settings: Any) -> None:
    limits(settings, track=(2, 1000))
    assert client("2001:db8:1:2::a").get(TRACK).status_code == 404
    assert client("2001:db8:1:2::b").get(TRACK).status_code == 404
    assert client("2001:db8:1:2::c").get(TRACK).status_code == 429  # same /64
    assert client("2001:db8:1:3::a").get(TRACK).status_code == 404


def test_it_ignores_x_forwarded_for_from_a_peer_it_does_not_trust(settings: Any) -> None:
    limits(settings, track=(3, 1000))
    settings.SPOTLINE_TRUSTED_PROXIES = []
    statuses = [client("203.0.113.9").get(TRACK, headers={
        "X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_it_believes_x_forwarded_for_from_a_trusted_proxy(settings: Any) -> None:
    limits(settings, track=(3, 1000))
    settings.SPOTLINE_TRUSTED_PROXIES = ["203.0.113.0/24"]
    proxy = client("203.0.113.9")
    statuses = [proxy.get(TRACK, headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                for i in range(6)]
    assert statuses == [404] * 6
    # A client cannot dodge its limit by writing its own hops to the left of it.
    statuses = [proxy.get(TRACK, headers={"X-Forwarded-For": f"10.0.0.{i}, 198.51.100.7"}
                          ).status_code for i in range(4)]
    assert statuses == [404, 404, 404, 429]


def test_it_walks_the_forwarded_chain_through_trusted_proxies_only(settings: Any) -> None:
    settings.SPOTLINE_TRUSTED_PROXIES = ["10.0.0.0/8", "127.0.0.1"]
    rf = RequestFactory()

    def ip(peer: str, forwarded: str) -> str:
        return ratelimit.client_ip(rf.get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded))

    assert ip("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.1.1.1") == "198.51.100.7"
    assert ip("127.0.0.1", "not-an-address, 10.1.1.1") == "10.1.1.1"
    assert ip("198.51.100.7", "1.2.3.4") == "198.51.100.7"
    assert ip("127.0.0.1", "") == "127.0.0.1"


def test_it_refuses_everyone_once_a_groups_global_limit_is_reached(settings: Any) -> None:
    limits(settings, track=(100, 5))
    assert [client(f"198.51.100.{i}").get(TRACK).status_code for i in range(5)] == [404] * 5
    r = client("198.51.100.99").get(TRACK)
    assert r.status_code == 429
    assert "too many requests right now" in r.json()["detail"]
    assert ask_for_help(client("198.51.100.99")).status_code == 201  # another group


def test_a_client_over_its_own_limit_does_not_use_up_everyones_share(settings: Any) -> None:
    limits(settings, track=(3, 5))
    noisy = client("198.51.100.1")
    assert [noisy.get(TRACK).status_code for _ in range(20)] == [404] * 3 + [429] * 17
    assert client("198.51.100.2").get(TRACK).status_code == 404
    assert client("198.51.100.3").get(TRACK).status_code == 404


def test_it_does_not_count_what_no_rule_names(settings: Any) -> None:
    limits(settings, help=(1, 1), track=(1, 1))
    c = client()
    assert [c.get("/").status_code for _ in range(5)] == [200] * 5
    assert [c.get("/transparency/").status_code for _ in range(5)] == [200] * 5


@pytest.mark.parametrize(("method", "path", "group"), [
    ("POST", "/", "help"),
    ("POST", "/api/v1/incidents", "help"),
    ("POST", "/checkin/", "checkin"),
    ("POST", "/checkin/p/PlanToken0123/", "checkin"),
    ("POST", "/api/v1/checkins", "checkin"),
    ("POST", "/c/CheckinToken0123/ok/", "answer"),
    ("POST", "/c/CheckinToken0123/done/", "answer"),
    ("POST", "/t/TrackingToken0123/cancel/", "answer"),
    ("POST", "/t/TrackingToken0123/more/", "answer"),
    ("POST", "/t/TrackingToken0123/place/", "answer"),
    ("POST", "/checkin/p/PlanToken0123/delete/", "answer"),
    ("POST", "/api/v1/checkins/CheckinToken0123/ok", "answer"),
    ("POST", "/api/v1/checkins/CheckinToken0123/done", "answer"),
    ("POST", "/api/v1/track/TrackingToken0123/cancel", "answer"),
    ("POST", "/api/v1/track/TrackingToken0123/details", "answer"),
    ("DELETE", "/api/v1/checkins/plans/PlanToken0123", "answer"),
    ("GET", "/t/TrackingToken0123/", "track"),
    ("GET", "/t/TrackingToken0123/more/", "track"),
    ("GET", "/t/TrackingToken0123/place/", "track"),
    ("GET", "/places/suggest", "suggest"),
    ("GET", "/c/CheckinToken0123/", "track"),
    ("GET", "/checkin/p/PlanToken0123/", "track"),
    ("GET", "/api/v1/track/TrackingToken0123", "track"),
    ("GET", "/api/v1/checkins/CheckinToken0123", "track"),
    ("GET", "/api/v1/checkins/plans/PlanToken0123", "track"),
    ("POST", "/hooks/twilio/sms", "sms"),
    ("GET", "/api/v1/places/search", "search"),
    ("POST", "/api/v1/alerts", "alerts"),
    ("POST", "/api/v1/alerts/7/publish", "alerts"),
    ("POST", "/api/v1/alerts/7/cancel", "alerts"),
    ("GET", "/api/v1/areas", "alerts"),
    ("POST", "/api/v1/areas", "alerts"),
    ("POST", "/alerts/report", "alert_forms"),
    ("POST", "/planner/", "planner"),
    ("GET", "/planner/", None),
    ("POST", "/alerts/push", "alert_forms"),
    ("POST", "/alerts/push/delete", "alert_forms"),
    ("POST", "/alerts/email", "alert_forms"),
    ("POST", "/alerts/confirm/AbC.def:ghi/", "alert_forms"),
    ("POST", "/alerts/unsubscribe/", "alert_forms"),
    ("GET", "/alerts/report", None),
    ("GET", "/alerts/feed.atom", None),
    ("POST", "/accounts/login/", "login"),
    ("POST", "/accounts/two-factor/", "login"),
    ("GET", "/", None),
    ("GET", "/checkin/", None),
    ("POST", "/hooks/twilio/status", None),
    ("GET", "/api/v1/me", None),
    ("POST", "/console/new/", None),
])
def test_the_table_covers_the_public_endpoints(method: str, path: str, group: str | None
                                               ) -> None:
    resolve(path)  # a real URL
    rule = ratelimit.rule_for(RequestFactory().generic(method, path))
    assert (rule.group if rule else None) == group
    assert {r.group for r in ratelimit.RULES} == set(django_settings.SPOTLINE_RATE_LIMITS)


# -- when the cache is down ----------------------------------------------------------------


def test_it_lets_requests_through_and_says_so_when_the_cache_is_down(
        settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings.CACHES = {**settings.CACHES, "ratelimit": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on port 9
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    limits(settings, help=(1, 1))
    caplog.set_level(logging.INFO, logger="spotline.ratelimit")
    c = client()
    assert [ask_for_help(c).status_code for _ in range(3)] == [201] * 3
    failed = [r for r in caplog.records if "failed open" in r.getMessage()]
    assert len(failed) == 1  # once, not once a request
    assert failed[0].levelno == logging.ERROR
    assert "group=help (ConnectionError)" in failed[0].getMessage()


def test_it_tries_the_cache_again_a_little_later(settings: Any, clock: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    limits(settings, track=(1, 1000))
    calls = []
    working = ratelimit._count

    def flaky(*args: Any) -> int:
        calls.append(args)
        if len(calls) == 1:
            raise OSError("cache unreachable")
        return working(*args)

    monkeypatch.setattr(ratelimit, "_count", flaky)
    c = client()
    assert [c.get(TRACK).status_code for _ in range(3)] == [404] * 3
    assert len(calls) == 1  # while it is open, nothing is counted: no timeout to wait for
    clock.shift(ratelimit.OPEN_FOR)
    assert [c.get(TRACK).status_code for _ in range(2)] == [404, 429]


def test_it_lets_requests_through_when_counting_raises(settings: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    limits(settings, track=(1, 1))

    def broken(*args: Any, **kwargs: Any) -> int:
        raise OSError("cache unreachable")

    monkeypatch.setattr(ratelimit, "_count", broken)
    assert [client().get(TRACK).status_code for _ in range(3)] == [404] * 3


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"),
                    reason="TEST_REDIS_URL is not set (make test starts Redis and sets it)")
def test_it_keeps_the_counts_in_redis_where_every_process_sees_them(settings: Any) -> None:

    url, prefix = os.environ["TEST_REDIS_URL"], f"test-{uuid.uuid4().hex}"
    settings.CACHES = {**settings.CACHES, "ratelimit": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
        "KEY_PREFIX": prefix}}
    limits(settings, track=(2, 1000))
    assert [client().get(TRACK).status_code for _ in range(3)] == [404, 404, 429]
    other_process = RedisCache(url, {"KEY_PREFIX": prefix})
    window = int(NOW.timestamp() // ratelimit.WINDOW)
    assert other_process.get(f"rl:track:*:{window}") == 2
    other_process.delete(f"rl:track:*:{window}")


# -- texts ---------------------------------------------------------------------------------


def text(sender: str, sid: str, *, signed: bool = True) -> Any:
    params = {"From": sender, "Body": "help", "MessageSid": sid}
    headers = {}
    if signed:
        headers["X-Twilio-Signature"] = RequestValidator(TWILIO_TOKEN).compute_signature(
            SITE + "/hooks/twilio/sms", params)
    # Every text comes from Twilio's few addresses, whoever sent it.
    return client("54.172.60.1").post("/hooks/twilio/sms", params, headers=headers)


@pytest.fixture
def twilio(settings: Any) -> None:
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.SPOTLINE_SITE_URL = SITE


@pytest.mark.usefixtures("twilio")
def test_it_limits_texts_per_sending_number_by_its_digest(settings: Any) -> None:
    limits(settings, sms=(2, 100))
    statuses = [text("+15550100111", f"SMa{i}").status_code for i in range(3)]
    assert statuses == [200, 200, 429]
    r = text("+15550100111", "SMa9")
    assert r["Retry-After"] == "55"
    assert r["Content-Type"].startswith("text/plain")
    assert text("+15550100222", "SMb0").status_code == 200  # another phone, same address
    keys = list(caches["ratelimit"]._cache)  # type: ignore[attr-defined]
    assert not any("5550100111" in k for k in keys)
    assert any(ratelimit._digest("sms", "+15550100111") in k for k in keys)


@pytest.mark.usefixtures("twilio")
def test_forged_texts_do_not_use_up_the_global_sms_limit(settings: Any) -> None:
    limits(settings, sms=(100, 2))
    assert [text(f"+1555010030{i}", f"SMf{i}", signed=False).status_code
            for i in range(5)] == [403] * 5
    assert text("+15550100111", "SMa0").status_code == 200
    assert text("+15550100222", "SMb0").status_code == 200
    assert text("+15550100333", "SMc0").status_code == 429


# -- a person is never refused -------------------------------------------------------------


def test_a_person_asking_for_help_and_waiting_is_never_refused(clock: Any) -> None:
    """The real defaults against a real person's worst minutes: a form sent back twice,
    a double tap, then the status page polled every 5 s for ten minutes (the page's
    script, with the WebSocket down), and "they are OK now"."""
    c = client()
    form = {"kind": "overdose", "breathing": "no", "conscious": "no",
            "where": "Behind the red door, Kallio library"}
    assert c.post("/", {"kind": "overdose"}).status_code == 400
    assert c.post("/", {"kind": "overdose", "breathing": "no"}).status_code == 400
    first = c.post("/", form)
    assert first.status_code == 302
    assert c.post("/", form).status_code == 302  # the double tap
    status_url = first["Location"]
    for _ in range(10 * 12):
        clock.shift(5)
        assert c.get(status_url, headers={"X-Live": "1"}).status_code == 200
    assert c.post(status_url + "cancel/", {"confirm": "yes"}).status_code == 302
