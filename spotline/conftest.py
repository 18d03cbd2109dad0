"""The standing cast for tests: a dispatcher, responders around a point, an outsider.

Tests talk HTTP through Django's test client (or a live server where a real socket
matters) and call actions directly for setup.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import django_otp
import pytest
from django.db import connection
from django.http import HttpRequest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from spotline import ratelimit
from spotline.accounts.actions import token_create, user_create
from spotline.accounts.models import Role
from spotline.checkins import deadlines as checkin_deadlines
from spotline.core.geo import Mode, Point
from spotline.dispatch import timers as dispatch_timers
from spotline.dispatch.actions.shifts import shift_set
from spotline.responders.models import Responder

CENTRE = Point(60.1699, 24.9384)  # central Helsinki
T0 = datetime(2026, 11, 27, 3, 0, 0, tzinfo=UTC)  # 3 a.m.

# A hang guard, never a bound on speed: how long a test waits for a process, a thread or
# a server before it calls it stuck. Generous on purpose: CI shares two cores with other
# work, where a process start alone has taken over 3 s. Only something truly stuck
# reaches it; a test that wants a figure belongs in bench/.
HANG_SECONDS = 120.0

# Hypothesis times each example (200 ms by default) and calls slow data generation a
# failed health check: wall-clock bounds that a loaded machine breaks. Examples are
# judged by what they do, never by how fast.
hypothesis_settings.register_profile(
    "spotline", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("spotline")


def offset(p: Point, north_m: float, east_m: float = 0.0) -> Point:
    return Point(p.lat + north_m / 111_320,
                 p.lon + east_m / (111_320 * math.cos(math.radians(p.lat))))


class Api:
    """A JSON client for one identity (anonymous, or a bearer token)."""

    def __init__(self, token: str | None = None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        fn = getattr(self.client, method)
        kwargs: dict[str, Any] = {"headers": {**self.headers, **headers}}
        if body is not None:
            kwargs["data"] = body
            kwargs["content_type"] = "application/json"
        return fn(path, **kwargs)

    def get(self, path: str, **headers: str) -> Any:
        return self._call("get", path, **headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self._call("post", path, body if body is not None else {}, **headers)

    def put(self, path: str, body: Any = None, **headers: str) -> Any:
        return self._call("put", path, body if body is not None else {}, **headers)


def fire_timers(*, now: datetime) -> int:
    """Both timer steps of a worker pass, at ``now``: dispatch's timers (offer expiry,
    deadlines, purges, responders' safety checks) and people's check-in deadlines."""
    return dispatch_timers.fire_due(now=now) + checkin_deadlines.fire_due(now=now)


@pytest.fixture
def make_responder(db: Any) -> Callable[..., Responder]:
    counter = {"n": 0}

    def make(
        name: str | None = None,
        *,
        skills: tuple[str, ...] = ("naloxone",),
        mode: Mode = Mode.WALK,
        at: Point | None = None,
        north_m: float = 0.0,
        on_shift: bool = True,
        now: datetime = T0,
        phone: str = "",
    ) -> Responder:
        counter["n"] += 1
        name = name or f"responder{counter['n']}"
        user = user_create(name=name, role=Role.RESPONDER, password=None, skills=skills,
                           alias=name.capitalize(), mode=mode, phone=phone)
        responder = Responder.objects.get(user=user)
        if on_shift:
            location = at if at is not None else offset(CENTRE, north_m)
            responder = shift_set(responder=responder, on_shift=True, location=location, now=now)
        return responder

    return make


@pytest.fixture
def dispatcher_api(db: Any) -> Api:
    user_create(name="dispatcher", role=Role.DISPATCHER, password=None)
    return Api(token_create(name="dispatcher", now=T0))


def login_staff(client: Client, user: Any) -> Client:
    """Sign ``user`` in as the sign-in pages would: the session, plus (whatever the
    role) a second factor verified with a confirmed authenticator, as the staff pages
    of SPOTLINE_2FA_ROLES require. For a session waiting for its code, use
    ``client.force_login`` alone."""

    client.force_login(user)
    device = (TOTPDevice.objects.filter(user=user, confirmed=True).first()
              or TOTPDevice.objects.create(user=user, name="test", confirmed=True))
    request = HttpRequest()
    request.session = client.session
    request.user = user
    django_otp.login(request, device)
    request.session.save()
    return client


def totp_code(device: Any, *, steps_ahead: int = 0) -> str:
    """The code an authenticator app with ``device``'s key shows now (or ``steps_ahead``
    30-second steps later), computed with django-otp's own TOTP."""


    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def api_for(responder: Responder) -> Api:
    return Api(token_create(name=responder.user.username, now=T0))


@pytest.fixture
def public_api() -> Api:
    return Api()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Each test starts with empty rate-limit counters (spotline/ratelimit.py), at the
    real limits."""

    ratelimit.reset()


def raw_rows(model: Any) -> list[str]:
    """Each row of ``model``'s table as stored, one string per row (no field decoding:
    sealed fields stay sealed), for tests that look for plain text in the database."""

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
        return [" ".join(str(v) for v in row) for row in cursor.fetchall()]
