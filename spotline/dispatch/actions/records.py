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
from spotline.core.lifecycle import Event as Move
from spotline.core.policy import Actor
from spotline.core.tally import seconds_since, served_kind
from spotline.dispatch.models import Incident, IncidentEvent, Offer, Outcome, Timer, TimerKind
from spotline.live.publish import incident_changed
from spotline.responders.models import Responder
from spotline.tally.actions import durations, incident_fact_new, incident_fact_update


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
    counted(incident, type=type, now=now)
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


def _coarse(incident: Incident) -> dict[str, Any]:
    """What the reporting store keeps of the incident as it stands now."""
    return {
        "kind": incident.kind, "priority": incident.priority, "area": incident.area,
        "state": incident.state, "closed": incident.closed_at is not None,
        "ambulance_requested": incident.ems_requested_at is not None,
        "unserved_reason": incident.unserved_reason,
        **durations(opened_at=incident.opened_at, assigned_at=incident.assigned_at,
                    on_scene_at=incident.on_scene_at, closed_at=incident.closed_at),
    }


def fact_open(incident: Incident, *, offered: bool) -> None:
    """The new incident's row in the reporting store, inserted before the incident
    that points at it (``opening``)."""
    fact = incident_fact_new(opened_at=incident.opened_at, fields={
        **_coarse(incident), "source": incident.source,
        "to_first_offer": 0 if offered else None})
    sql.insert([fact], ids=True)
    incident.fact = fact


def counted(incident: Incident, *, type: str, now: datetime) -> None:
    """The incident's row in the reporting store follows the change, in the same
    transaction: reports are written by the actions, not rebuilt from logs."""
    if incident.fact_id is None:
        if incident.purged_at is not None:
            return  # let go of at the purge (``timed.incident_purge``)
        # Opened by a version before the store (a rolling upgrade): its row now.
        fact_open(incident, offered=False)
        Incident.objects.filter(pk=incident.pk).update(fact=incident.fact)
    fields = _coarse(incident)
    if type in ("offers_made", Move.ASSIGN.value):
        # A dispatcher's direct assignment is the incident's first offer, if it is one.
        fields["to_first_offer"] = seconds_since(incident.opened_at, now)
    elif type == Move.ON_SCENE.value and incident.assigned_responder_id is not None:
        skills = (Responder.objects.filter(pk=incident.assigned_responder_id)
                  .values_list("skills", flat=True).first())
        fields["served_by"] = served_kind(list(skills or []))
    elif type == "outcome":
        outcome = Outcome.objects.filter(incident=incident).first()
        if outcome is not None:
            fields.update(outcome=True, naloxone_doses=outcome.naloxone_doses,
                          responsive_after=outcome.responsive_after, ems=outcome.ems,
                          referrals=sorted(outcome.referrals or []))
    if incident.fact_id is not None:
        incident_fact_update(incident.fact_id, fields=fields)
