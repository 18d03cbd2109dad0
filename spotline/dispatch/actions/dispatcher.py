"""What a dispatcher does to an incident: escalate, assign, cancel, add a note.

Cancelling is also the person's own "they are OK now". Every escalation is recorded
with who decided it; the last one is an ambulance, never the police.
"""

from __future__ import annotations

from datetime import datetime

from spotline.audit.actions import atomic as audit_atomic
from spotline.core import lifecycle
from spotline.core.lifecycle import HELD, Event, State
from spotline.core.policy import Actor, EscalationTarget, OfferStatus
from spotline.core.triage import Skill
from spotline.dispatch.actions.ambulance import ems_request
from spotline.dispatch.actions.freed import offer_to_freed
from spotline.dispatch.actions.locks import (
    lock,
    lock_many,
    lock_responder,
    pending_offer_incidents,
    retry_on_deadlock,
)
from spotline.dispatch.actions.moves import move
from spotline.dispatch.actions.offers import holds_open_incident, offers_give_back
from spotline.dispatch.actions.records import event
from spotline.dispatch.actions.rounds import round_start
from spotline.dispatch.models import Incident, IncidentNote, Offer
from spotline.errors import Conflict, Invalid, NotFound


def incident_escalate(
    *, incident_id: int, to: EscalationTarget, user_id: int | None, now: datetime,
    actor: Actor = Actor.DISPATCHER,
) -> Incident:
    with audit_atomic():
        incident = lock(incident_id)
        if not incident.is_open:
            raise Conflict("this incident is closed")
        if to is EscalationTarget.EMS:
            ems_request(incident, actor=actor, user_id=user_id, now=now)
            return incident
        if incident.state_enum is not State.DISPATCHING:
            raise Conflict(
                f"only an incident still looking for a responder can get {to.value}; "
                "this one is held: reassign it instead"
            )
        required = (
            frozenset({Skill.CRISIS_TEAM}) if to is EscalationTarget.CRISIS_TEAM else None
        )
        # A person asked: without a point, every free qualified responder is offered
        # (core.policy.plan_round), where an automatic round offers nobody.
        made = round_start(incident, now=now, required=required, asked=True)
        event(incident, "escalated", actor=actor, now=now, user_id=user_id, to=to.value,
              round=incident.current_round, offers=made)
    return incident


@retry_on_deadlock
def incident_assign(
    *, incident_id: int, responder_id: int, user_id: int | None, now: datetime
) -> Incident:
    """A dispatcher assigns (or reassigns) a responder directly."""
    with audit_atomic():
        # Lock order: the responder, then every incident this touches, by id.
        responder = lock_responder(responder_id)
        locked = lock_many(pending_offer_incidents(responder.pk) | {incident_id})
        if incident_id not in locked:
            raise NotFound("no such incident")
        incident = locked[incident_id]
        name = responder.display_name
        if incident.assigned_responder_id == responder.pk and incident.state_enum in HELD:
            return incident
        if responder.on_shift_since is None:
            raise Conflict(f"{name} is off shift: ask them to go on shift first")
        if holds_open_incident(responder):
            raise Conflict(f"{name} already holds an open incident")
        if (incident.state_enum, Event.ASSIGN) not in lifecycle.TRANSITIONS:
            raise Conflict(f"cannot assign an incident that is {incident.state}")
        Offer.objects.filter(incident=incident, status=OfferStatus.ACCEPTED).update(
            status=OfferStatus.RELEASED, answered_at=now
        )
        offer, created = Offer.objects.get_or_create(
            incident=incident, responder=responder,
            defaults={"round": 0, "status": OfferStatus.ACCEPTED, "created_at": now,
                      "expires_at": now, "answered_at": now},
        )
        if not created:
            Offer.objects.filter(pk=offer.pk).update(status=OfferStatus.ACCEPTED,
                                                     answered_at=now)
        previous = incident.assigned_responder_id
        incident.assigned_responder = responder
        incident.save(update_fields=["assigned_responder"])
        move(incident, Event.ASSIGN, now=now, actor=Actor.DISPATCHER, user_id=user_id,
             responder_id=responder.pk, previous_responder_id=previous)
        # One incident at a time: the assignee's other pending offers go back.
        offers_give_back(responder, now=now, why="responder_busy", keep=incident_id)
        if previous is not None and previous != responder.pk:
            offer_to_freed(previous, now=now)  # reassigned away: free for the next one
    return incident


def incident_cancel(
    *, incident_id: int, actor: Actor, user_id: int | None, now: datetime
) -> Incident:
    """Cancel: by the person ("they are OK now") or by a dispatcher. Safe to repeat."""
    with audit_atomic():
        incident = lock(incident_id)
        if incident.state_enum is State.CANCELLED:
            return incident
        holder = incident.assigned_responder_id if incident.state_enum in HELD else None
        move(incident, Event.CANCEL, now=now, actor=actor, user_id=user_id)
        offer_to_freed(holder, now=now)  # called off on the way: free for the next one
    return incident


def incident_note(*, incident_id: int, text: str, user_id: int | None, now: datetime
                  ) -> IncidentNote:
    """A dispatcher's note. The timeline records that a note was added, not its text."""
    text = text.strip()
    if not text or len(text) > 2000 or "\x00" in text:
        raise Invalid("a note is 1 to 2000 characters of text")
    with audit_atomic():
        incident = lock(incident_id)
        if incident.purged_at is not None:
            raise Conflict("this incident's details were already destroyed")
        note = IncidentNote.objects.create(incident=incident, at=now, user_id=user_id, text=text)
        event(incident, "note", actor=Actor.DISPATCHER, now=now, user_id=user_id,
              note_id=note.pk)
    return note
