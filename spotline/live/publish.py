"""Live pushes: tell connected pages that something changed, only after commit.

Actions call ``incident_changed`` / ``responder_changed`` inside their transaction; the
push is queued with ``transaction.on_commit``, so a rolled-back transaction never tells
a dispatcher about an offer that does not exist. A push carries IDs only: the page
fetches what it is allowed to see over HTTP, so a push can neither leak data nor get
out of step with the database. A failing channel layer (Redis down) costs the push,
never the request: pages fall back to polling.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

CONSOLE = "console"
ALERTS = "alerts"  # the public alerts page: anyone may listen (alerts are public)


def track_group(incident_id: int) -> str:
    return f"track.{incident_id}"


def responder_group(responder_id: int) -> str:
    return f"responder.{responder_id}"


# How long one push may take in all, and how long to stop trying after a push failed
# for want of a layer (Redis down or hanging). A dead Redis must cost at most
# PUSH_TIMEOUT once every PAUSE_AFTER_FAILURE, not a connect attempt (or a hang) per
# group per change.
PUSH_TIMEOUT = 0.5
PAUSE_AFTER_FAILURE = 5.0


async def _send_all(layer: Any, pushes: list[tuple[list[str], dict[str, Any]]]) -> None:
    # The pause lives on the layer object: a new layer (settings changed) starts fresh.
    if time.monotonic() < getattr(layer, "spotline_paused_until", 0.0):
        return
    try:
        # One failing group (a stale or full channel) must not cost the others.
        results: list[Any] = await asyncio.wait_for(
            asyncio.gather(*(layer.group_send(g, m) for groups, m in pushes for g in groups),
                           return_exceptions=True),
            PUSH_TIMEOUT)
    except Exception as exc:  # the timeout: Redis accepts connections but does not answer
        results = [exc]
    failures = [r for r in results if isinstance(r, BaseException)]
    if not failures:
        return
    names = sorted({type(f).__name__ for f in failures})
    if any(not isinstance(f, ChannelFull) for f in failures):
        layer.spotline_paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
        log.warning("live push failed (%s); clients will poll; no pushes for %.0f s",
                    ",".join(names), PAUSE_AFTER_FAILURE)
    else:
        log.warning("live push failed (%s); clients will poll", ",".join(names))


class _Publisher:
    """A thread with an event loop of its own that sends this process's pushes.

    A push through Redis is several round trips per group (five groups for a new
    incident: about 12 ms measured), and it runs after commit but before the response
    goes out. Handing it to this thread answers the request at once. Pushes queued
    while a batch is being sent go out together in the next batch; a batch checks the
    pause first, so a dead Redis is tried once per pause, not once per queued push.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        # Bound to a loop only when first awaited, which happens on the thread's loop.
        self.queue: asyncio.Queue[tuple[Any, list[str], dict[str, Any]]] = asyncio.Queue()
        self.idle = threading.Event()
        self.idle.set()
        self.pending = 0
        self.pending_lock = threading.Lock()
        threading.Thread(target=self.loop.run_until_complete, args=(self._drain(),),
                         name="spotline-live", daemon=True).start()

    def submit(self, layer: Any, groups: list[str], message: dict[str, Any]) -> None:
        with self.pending_lock:
            self.pending += 1
            self.idle.clear()
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (layer, groups, message))

    async def _drain(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            by_layer: dict[int, tuple[Any, list[tuple[list[str], dict[str, Any]]]]] = {}
            for layer, groups, message in batch:
                by_layer.setdefault(id(layer), (layer, []))[1].append((groups, message))
            for layer, pushes in by_layer.values():
                try:
                    await _send_all(layer, pushes)
                except Exception as exc:  # never let the thread die
                    log.warning("live push failed (%s)", type(exc).__name__)
            with self.pending_lock:
                self.pending -= len(batch)
                if self.pending == 0:
                    self.idle.set()


_publisher: _Publisher | None = None
_publisher_lock = threading.Lock()


def _background() -> _Publisher:
    global _publisher
    with _publisher_lock:
        if _publisher is None:
            _publisher = _Publisher()
        return _publisher


def wait_until_sent(timeout: float = 5.0) -> bool:
    """Wait for this process's queued pushes to go out (tests, benchmarks)."""
    return _publisher is None or _publisher.idle.wait(timeout)


def _send(groups: list[str], message: dict[str, Any], *, at: float | None = None) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # When the change was committed, so a client can measure push latency; a
    # timestamp says nothing about anyone.
    message = {**message, "at": at if at is not None else time.time()}
    if isinstance(layer, InMemoryChannelLayer):
        # One process, no network: sent here, in order, on the caller's loop (the
        # in-memory layer's queues belong to the server's event loop).
        async_to_sync(_send_all)(layer, [(groups, message)])
        return
    _background().submit(layer, groups, message)


Audience = Callable[[], Iterable[int]] | Iterable[int]


def _push_incident(incident_id: int, audiences: list[Audience]) -> None:
    at = time.time()  # just after the commit: reading the audience is part of the push
    responder_ids: set[int] = set()
    for audience in audiences:
        responder_ids.update(audience() if callable(audience) else audience)
    groups = [CONSOLE, track_group(incident_id), *(responder_group(r) for r in responder_ids)]
    _send(groups, {"type": "live.changed", "what": "incident", "id": incident_id}, at=at)


def incident_changed(incident_id: int, *, responders: Audience) -> None:
    """Queue a push about this incident for after the current transaction commits.

    It goes to the console, the person's status page and the responders concerned:
    ``responders`` is their ids, or a function that reads them after the commit (the
    caller knows its own tables; this module knows none). Several calls in one
    transaction make one push, to all of their audiences.
    """
    queued = _queued(("incident", incident_id))
    if queued is not None:
        queued.spotline_audiences.append(responders)
        return
    audiences: list[Audience] = [responders]

    def run() -> None:
        _push_incident(incident_id, audiences)

    run.spotline_audiences = audiences  # type: ignore[attr-defined]
    _on_commit(("incident", incident_id), run)


def responder_changed(responder_id: int) -> None:
    _once_per_transaction(
        ("responder", responder_id),
        lambda: _send([CONSOLE, responder_group(responder_id)],
                      {"type": "live.changed", "what": "responder", "id": responder_id}),
    )


def sms_changed(conversation_id: int) -> None:
    """An SMS conversation changed: the console's conversation pages refresh."""
    _once_per_transaction(
        ("sms", conversation_id),
        lambda: _send([CONSOLE], {"type": "live.changed", "what": "sms", "id": conversation_id}),
    )


def alert_changed(alert_id: int, *, responders: Iterable[int] = ()) -> None:
    """An alert was published, updated or cancelled: the public alerts page, the
    console and the apps of the responders it was sent to refresh their list."""
    groups = [ALERTS, CONSOLE, *(responder_group(r) for r in responders)]
    _once_per_transaction(
        ("alert", alert_id),
        lambda: _send(groups, {"type": "live.changed", "what": "alert", "id": alert_id}),
    )


def _queued(key: tuple[str, int]) -> Any:
    """The push already queued for ``key`` in this transaction, if any (Django drops
    queued callbacks on rollback, so nothing stale can be found here)."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        return None
    for entry in conn.run_on_commit:
        if getattr(entry[1], "spotline_key", None) == key:
            return entry[1]
    return None


def _on_commit(key: tuple[str, int], run: Any) -> None:
    run.spotline_key = key
    transaction.on_commit(run, robust=True)


def _once_per_transaction(key: tuple[str, int], push: Any) -> None:
    # An action changes a row several times; one push per commit is enough.
    if _queued(key) is not None:
        return

    def run() -> None:
        push()

    _on_commit(key, run)
