"""Redis down: pushes fail fast and pause, sockets are refused, requests go on.

The layer is a real channels_redis layer pointed at a port where nothing listens (a
stopped Redis refuses connections the same way). ``make faults`` stops a real Redis
under load (faults/).
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator

from spotline.asgi import application
from spotline.conftest import CENTRE, HANG_SECONDS, T0
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
    started = time.monotonic()
    make_responder(north_m=100)
    make_responder(north_m=200)
    with caplog.at_level(logging.WARNING, logger="spotline.live.publish"):
        opened = [incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)
                  for _ in range(3)]
        assert publish.wait_until_sent(timeout=HANG_SECONDS)  # a hang guard
        sent = time.monotonic()
    assert all(Offer.objects.filter(incident=o.incident).exists() for o in opened)
    failures = [r for r in caplog.records if "live push failed" in r.getMessage()]
    # The first push found no layer; the next ones did not try for PAUSE_AFTER_FAILURE.
    # (Usually one failure in all; a machine so busy that the test outlasts the pause
    # sees one more try per pause, never one per push.)
    assert failures
    assert all("no pushes for 5 s" in r.getMessage() for r in failures)
    gaps = [b.created - a.created for a, b in itertools.pairwise(failures)]
    assert all(gap >= publish.PAUSE_AFTER_FAILURE - 0.1 for gap in gaps), gaps
    # Pushes through Redis go out on the process's push thread, not the request's: a
    # dead Redis never held up a request (said by where it failed, not by a stopwatch
    # that a busy machine would stop).
    assert {r.threadName for r in failures} == {"spotline-live"}

    # Paused for PAUSE_AFTER_FAILURE from the last failure, which came between these two.
    paused_until = get_channel_layer().spotline_paused_until
    assert started + publish.PAUSE_AFTER_FAILURE <= paused_until
    assert paused_until <= sent + publish.PAUSE_AFTER_FAILURE


def test_a_socket_is_refused_when_the_layer_is_down(redis_down: Any) -> None:
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)

    async def story() -> tuple[bool, Any]:
        comm = WebsocketCommunicator(application, f"/ws/track/{opened.tracking_token}/",
                                     headers=ORIGIN)
        # A hang guard: the consumer itself gives the layer PUSH_TIMEOUT (consumers.py).
        connected, code = await comm.connect(timeout=HANG_SECONDS)
        await comm.disconnect(timeout=HANG_SECONDS)
        return connected, code

    connected, code = async_to_sync(story)()
    assert connected is False
    assert code == 4503
