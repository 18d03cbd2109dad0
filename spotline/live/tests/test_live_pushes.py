"""Live pushes reach the right WebSocket clients, only after commit, carrying IDs only."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.asgi import application
from spotline.conftest import CENTRE, HANG_SECONDS, T0, login_staff
from spotline.core.geo import Point
from spotline.core.policy import Actor
from spotline.core.triage import Kind
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, Opened, incident_open
from spotline.dispatch.models import Offer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Any:
    # The in-memory layer is process-wide: start each test with an empty one, so no
    # group keeps channels from an earlier test's (closed) event loop.

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()

ORIGIN = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
# Waiting for a message that should come is a hang guard (HANG_SECONDS): only a missing
# push reaches it. Waiting for one that should not (receive_nothing) is short: a busy
# machine can only make that check miss a stray push, never fail a good run.


def run(coro_fn: Any) -> Any:
    return async_to_sync(coro_fn)()


def session_headers(username: str) -> list[tuple[bytes, bytes]]:

    client = Client()
    login_staff(client, get_user_model().objects.get(username=username))
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return [*ORIGIN, (b"cookie", cookie.encode())]


async def connect(path: str, headers: list[tuple[bytes, bytes]] | None = None
                  ) -> tuple[WebsocketCommunicator, bool, Any]:
    comm = WebsocketCommunicator(application, path, headers=headers or ORIGIN)
    connected, code = await comm.connect(timeout=HANG_SECONDS)
    return comm, connected, code


def open_incident() -> Opened:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)


def test_it_tells_the_status_page_when_a_responder_accepts(make_responder: Any) -> None:
    responder = make_responder("sam", north_m=100)
    opened = open_incident()

    async def story() -> dict[str, Any]:
        comm, connected, _ = await connect(f"/ws/track/{opened.tracking_token}/")
        assert connected
        assert (await comm.receive_json_from(timeout=HANG_SECONDS))["type"] == "hello"
        offer = await database_sync_to_async(
            lambda: Offer.objects.get(incident=opened.incident, responder=responder))()
        await database_sync_to_async(offer_accept)(
            offer_id=offer.pk, responder=responder, now=T0)
        message = await comm.receive_json_from(timeout=HANG_SECONDS)
        # One push per commit, however many events the action wrote.
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect(timeout=HANG_SECONDS)
        return message

    before = time.time()
    message = run(story)
    # "at" is when the push left, after the commit (the push-latency benchmark uses it).
    assert before <= message.pop("at") <= time.time()
    assert message == {"type": "changed", "what": "incident", "id": opened.incident.pk}


def test_it_pushes_nothing_for_a_rolled_back_transaction(make_responder: Any) -> None:
    make_responder("sam", north_m=100)
    user_create(name="disp", role=Role.DISPATCHER, password=None)
    headers = session_headers("disp")

    def open_then_roll_back() -> None:
        with transaction.atomic():
            open_incident()
            transaction.set_rollback(True)

    async def story() -> bool:
        comm, connected, _ = await connect("/ws/console/", headers)
        assert connected
        await comm.receive_json_from(timeout=HANG_SECONDS)
        await database_sync_to_async(open_then_roll_back)()
        silent = await comm.receive_nothing(timeout=0.5)
        # The rolled-back push must not suppress later ones (same ids may be reused).
        opened = await database_sync_to_async(open_incident)()
        later = await comm.receive_json_from(timeout=HANG_SECONDS)
        await comm.disconnect(timeout=HANG_SECONDS)
        return silent and later["id"] == opened.incident.pk

    assert run(story)


def test_it_tells_the_console_and_the_offered_responder_about_a_new_incident(
    make_responder: Any,
) -> None:
    responder = make_responder("sam", north_m=100)
    far = make_responder("far", at=Point(CENTRE.lat + 1, CENTRE.lon), skills=("first_aid",))
    user_create(name="disp", role=Role.DISPATCHER, password=None)
    headers = {name: session_headers(name) for name in ("disp", "sam", "far")}

    async def story() -> tuple[Any, Any, bool]:
        console, ok1, _ = await connect("/ws/console/", headers["disp"])
        mine, ok2, _ = await connect("/ws/responder/", headers["sam"])
        other, ok3, _ = await connect("/ws/responder/", headers["far"])
        assert ok1 and ok2 and ok3
        for c in (console, mine, other):
            await c.receive_json_from(timeout=HANG_SECONDS)
        opened = await database_sync_to_async(open_incident)()
        got_console = await console.receive_json_from(timeout=HANG_SECONDS)
        got_mine = await mine.receive_json_from(timeout=HANG_SECONDS)
        # The unqualified responder got no offer, so hears nothing about it.
        other_silent = await other.receive_nothing(timeout=0.5)
        for c in (console, mine, other):
            await c.disconnect(timeout=HANG_SECONDS)
        assert got_console["id"] == got_mine["id"] == opened.incident.pk
        return got_console, got_mine, other_silent

    _, _, other_silent = run(story)
    assert other_silent
    assert far.pk != responder.pk


@pytest.mark.parametrize("path,who", [
    ("/ws/console/", None),
    ("/ws/console/", "sam"),  # a responder is not a dispatcher
    ("/ws/responder/", None),
    ("/ws/responder/", "disp"),  # a dispatcher has no responder inbox
    ("/ws/track/not-a-token/", None),
])
def test_it_refuses_sockets_to_those_who_may_not_listen(
    make_responder: Any, path: str, who: str | None
) -> None:
    make_responder("sam")
    user_create(name="disp", role=Role.DISPATCHER, password=None)
    headers = session_headers(who) if who else ORIGIN

    async def story() -> tuple[bool, Any]:
        comm, connected, code = await connect(path, headers)
        await comm.disconnect(timeout=HANG_SECONDS)
        return connected, code

    connected, code = run(story)
    assert not connected
    assert code == 4403


def test_it_refuses_a_socket_from_a_foreign_origin(make_responder: Any) -> None:
    opened = open_incident()

    async def story() -> bool:
        comm, connected, _ = await connect(
            f"/ws/track/{opened.tracking_token}/",
            [(b"origin", b"http://evil.example"), (b"host", b"testserver")])
        await comm.disconnect(timeout=HANG_SECONDS)
        return connected

    assert run(story) is False


def test_it_keeps_serving_when_the_channel_layer_fails(make_responder: Any,
                                                       settings: Any) -> None:
    # A broken layer (Redis down) loses the push, never the request.
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
    }}

    channel_layers.backends.clear()
    try:
        make_responder("sam", north_m=100)
        opened = open_incident()
        assert Offer.objects.filter(incident=opened.incident).count() == 1
    finally:
        channel_layers.backends.clear()


def test_it_pushes_through_a_real_redis_between_separate_layers(make_responder: Any,
                                                                settings: Any) -> None:
    """Production: a worker process's push reaches a web process's socket via Redis.

    Two separate layer instances stand for the two processes: the socket listens on
    one, the action publishes through another, and only Redis connects them.
    """

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set (make test starts Redis and sets it)")
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [url]}}}

    make_responder("sam", north_m=100)
    opened = open_incident()

    def publish_from_another_process() -> None:
        channel_layers.backends.clear()  # a fresh layer object, as in another process
        incident_cancel(incident_id=opened.incident.pk, actor=Actor.PERSON,
                                user_id=None, now=T0)

    async def story() -> dict[str, Any]:
        comm, connected, _ = await connect(f"/ws/track/{opened.tracking_token}/")
        assert connected
        await comm.receive_json_from(timeout=HANG_SECONDS)
        await database_sync_to_async(publish_from_another_process)()
        message = await comm.receive_json_from(timeout=HANG_SECONDS)
        await comm.disconnect(timeout=HANG_SECONDS)
        return message

    message = run(story)
    assert isinstance(message.pop("at"), float)
    assert message == {"type": "changed", "what": "incident", "id": opened.incident.pk}
