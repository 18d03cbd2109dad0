"""Redis down: pushes fail fast and pause, sockets are refused, requests go on.

The layer is a real channels_redis layer pointed at a port where nothing listens (a
stopped Redis refuses connections the same way). ``make faults`` stops a real Redis
under load (faults/).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator

from spotline.asgi import application
from spotline.conftest import CENTRE, T0
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Offer
from spotline.live import publish

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


@pytest.fixture
def redis_down(settings: Any) -> Any:
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
    }}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def test_pushes_pause_after_a_failure_and_requests_go_on(
        redis_down: Any, make_responder: Any, caplog: pytest.LogCaptureFixture) -> None:
    make_responder(north_m=100)
    make_responder(north_m=200)
    with caplog.at_level(logging.WARNING, logger="spotline.live.publish"):
        started = time.monotonic()
        opened = [incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)
                  for _ in range(3)]
        elapsed = time.monotonic() - started
        # Pushes through Redis go out on the process's push thread, not the request's.
        assert publish.wait_until_sent(timeout=publish.PUSH_TIMEOUT + 3)
    assert all(Offer.objects.filter(incident=o.incident).exists() for o in opened)
    failures = [r for r in caplog.records if "live push failed" in r.getMessage()]
    # The first push found no layer; the next ones did not try for PAUSE_AFTER_FAILURE.
    assert len(failures) == 1
    assert "no pushes for 5 s" in failures[0].getMessage()
    assert elapsed < publish.PUSH_TIMEOUT + 3

    assert get_channel_layer().spotline_paused_until > time.monotonic()


def test_a_socket_is_refused_when_the_layer_is_down(redis_down: Any) -> None:
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)

    async def story() -> tuple[bool, Any]:
        comm = WebsocketCommunicator(application, f"/ws/track/{opened.tracking_token}/",
                                     headers=ORIGIN)
        connected, code = await comm.connect(timeout=5)
        await comm.disconnect()
        return connected, code

    started = time.monotonic()
    connected, code = async_to_sync(story)()
    assert connected is False
    assert code == 4503
    assert time.monotonic() - started < publish.PUSH_TIMEOUT + 3
