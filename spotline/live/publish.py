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
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

CONSOLE = "console"


def track_group(incident_id: int) -> str:
    return f"track.{incident_id}"


def responder_group(responder_id: int) -> str:
    return f"responder.{responder_id}"


# How long one push may take in all, and how long to stop trying after a push failed
# for want of a layer (Redis down or hanging). Pushes run after commit, in the request
# that made the change: a dead Redis must cost a request at most PUSH_TIMEOUT once
# every PAUSE_AFTER_FAILURE, not a connect attempt (or a hang) per group per request.
PUSH_TIMEOUT = 0.5
PAUSE_AFTER_FAILURE = 5.0


def _send(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # The pause lives on the layer object: a new layer (settings changed) starts fresh.
    if time.monotonic() < getattr(layer, "spotline_paused_until", 0.0):
        return
    # When the push left (after commit), so a client can measure push latency; a
    # timestamp says nothing about anyone.
    message = {**message, "at": time.time()}

    async def send_all() -> list[BaseException | None]:
        # One failing group (a stale or full channel) must not cost the others.
        return await asyncio.wait_for(
            asyncio.gather(*(layer.group_send(g, message) for g in groups),
                           return_exceptions=True),
            PUSH_TIMEOUT)

    try:
        results: list[BaseException | None] = async_to_sync(send_all)()
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


def _push_incident(incident_id: int) -> None:
    from spotline.dispatch.models import Incident, Offer

    responder_ids = set(
        Offer.objects.filter(incident_id=incident_id).values_list("responder_id", flat=True)
    )
    assigned = (
        Incident.objects.filter(pk=incident_id)
        .values_list("assigned_responder_id", flat=True)
        .first()
    )
    if assigned:
        responder_ids.add(assigned)
    groups = [CONSOLE, track_group(incident_id), *(responder_group(r) for r in responder_ids)]
    _send(groups, {"type": "live.changed", "what": "incident", "id": incident_id})


def incident_changed(incident_id: int) -> None:
    """Queue a push about this incident for after the current transaction commits."""
    _once_per_transaction(("incident", incident_id), lambda: _push_incident(incident_id))


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


def _once_per_transaction(key: tuple[str, int], push: Any) -> None:
    # An action writes several events for one incident; one push per commit is enough.
    # Look for a push already queued in this transaction (Django drops queued
    # callbacks on rollback, so nothing stale can suppress a later push).
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(
        getattr(entry[1], "spotline_key", None) == key for entry in conn.run_on_commit
    ):
        return

    def run() -> None:
        push()

    run.spotline_key = key  # type: ignore[attr-defined]
    transaction.on_commit(run, robust=True)
