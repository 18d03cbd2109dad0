"""The rows every action writes: timeline events, attention flags and timers.

An event is the one place a change is told: it is the timeline row, its audit entry
(codes and ids only, never the data) in the same transaction, and a live push after the
commit. Call these with the incident locked (``locks.lock``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from spotline import sql
from spotline.audit.actions import record
from spotline.core.policy import Actor
from spotline.dispatch.models import Incident, IncidentEvent, Offer, Timer, TimerKind
from spotline.live.publish import incident_changed


def audience(incident_id: int) -> Iterable[int]:
    """Who hears about a change of the incident, read after the commit: every responder
    it was offered to, and whoever holds it (a dispatcher may assign anyone)."""
    ids = set(Offer.objects.filter(incident_id=incident_id).values_list("responder_id",
                                                                        flat=True))
    held = (Incident.objects.filter(pk=incident_id)
            .values_list("assigned_responder_id", flat=True).first())
    if held:
        ids.add(held)
    return ids


def event(incident: Incident, type: str, *, actor: Actor, now: datetime,
          user_id: int | None = None, **data: Any) -> None:
    """Write one timeline event, with its audit entry and a live push after commit."""
    IncidentEvent.objects.create(
        incident=incident, at=now, type=type, actor=actor.value, actor_user_id=user_id, data=data
    )
    record(f"incident.{type}", object_type="incident", object_id=incident.pk, now=now,
           actor=actor.value, actor_user_id=user_id)
    incident_changed(incident.pk, responders=lambda: audience(incident.pk))


@dataclass(frozen=True)
class Event:
    """An event to write in bulk (``events``)."""

    type: str
    actor: Actor
    user_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def events(incident: Incident, items: Sequence[Event], *, now: datetime,
           responders: Iterable[int]) -> None:
    """Several events in one insert (a new incident's first moments). ``responders``:
    everyone the push must reach, known to the caller, so nothing is read for it."""
    sql.insert([
        IncidentEvent(incident=incident, at=now, type=e.type, actor=e.actor.value,
                      actor_user_id=e.user_id, data=e.data)
        for e in items])
    for e in items:
        record(f"incident.{e.type}", object_type="incident", object_id=incident.pk, now=now,
               actor=e.actor.value, actor_user_id=e.user_id)
    incident_changed(incident.pk, responders=frozenset(responders))


def flag(incident: Incident, reason: str, *, now: datetime) -> None:
    """Flag the incident for the dispatcher (the console sorts flagged ones first);
    "" clears the flag."""
    incident.attention = reason
    incident.attention_at = now
    Incident.objects.filter(pk=incident.pk).update(attention=reason, attention_at=now)


def arm(incident: Incident, kind: TimerKind, *, round: int, due_at: datetime) -> None:
    """A timer row, once per incident, kind and round (arming again changes nothing)."""
    Timer.objects.get_or_create(
        incident=incident, kind=kind.value, round=round, safety=None,
        defaults={"due_at": due_at})
