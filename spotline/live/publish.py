"""Live pushes: tell connected pages that something changed, only after commit.

Actions call ``incident_changed`` / ``responder_changed`` inside their transaction; the
push is queued with ``transaction.on_commit``, so a rolled-back transaction never tells
a dispatcher about an offer that does not exist. A push carries IDs only: the page
fetches what it is allowed to see over HTTP, so a push can neither leak data nor get
out of step with the database. A failing channel layer (Redis down) costs the push,
never the request: pages fall back to polling.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

CONSOLE = "console"


def track_group(incident_id: int) -> str:
    return f"track.{incident_id}"


def responder_group(responder_id: int) -> str:
    return f"responder.{responder_id}"


def _send(groups: list[str], message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        # One failing group (a stale or full channel) must not cost the others.
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception as exc:
            log.warning("live push failed (%s); clients will poll", type(exc).__name__)


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
