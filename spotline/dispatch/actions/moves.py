"""Moving an incident through the lifecycle (``core.lifecycle``), and the effects.

``move`` is the one place every state change of an incident passes: the transition
from the table, the compare-and-set on the version, the timeline event, the effects
(withdraw offers, start the first round, close), the responder's safety timer, and a
text to a person who asked by SMS.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F

from spotline.core import lifecycle
from spotline.core.lifecycle import HELD, Effect, Event, IllegalTransition, State
from spotline.core.policy import Actor, OfferStatus, Shortfall
from spotline.core.unserved import unserved_reason
from spotline.dispatch.actions.person import text_the_person
from spotline.dispatch.actions.records import arm, counted, event, flag
from spotline.dispatch.actions.rounds import round_start
from spotline.dispatch.actions.safety_timers import safety_end, safety_start
from spotline.dispatch.actions.search import policy_for
from spotline.dispatch.models import Incident, Offer, TimerKind
from spotline.errors import Conflict
from spotline.notify.actions import message_queue

# Alarms that a responder taking the incident answers. An ambulance request or a call
# for backup stays flagged until a dispatcher deals with it.
CLEARED_BY_ASSIGNMENT = frozenset({"widened", "unanswered", "released", *Shortfall})

# The timestamp each state stamps when entered.
STAMPS: dict[State, str] = {
    State.DISPATCHING: "dispatched_at",
    State.ASSIGNED: "assigned_at",
    State.EN_ROUTE: "en_route_at",
    State.ON_SCENE: "on_scene_at",
}


def move(incident: Incident, to: Event, *, now: datetime, actor: Actor,
         user_id: int | None = None, **data: Any) -> lifecycle.Transition:
    """Move the (locked) incident through the lifecycle and carry out the effects."""
    try:
        t = lifecycle.transition(incident.state_enum, to, now=now)
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from None
    changes: dict[str, Any] = {"state": t.new.value, "updated_at": now}
    stamp = STAMPS.get(t.new)
    if stamp and (getattr(incident, stamp) is None or t.new is not State.DISPATCHING):
        changes[stamp] = now
    updated = Incident.objects.filter(pk=incident.pk, version=incident.version).update(
        version=F("version") + 1, **changes
    )
    if updated != 1:
        # Only possible if a writer skipped the row lock; never apply a stale decision.
        raise Conflict("the incident changed meanwhile; reload and try again")
    for name, value in changes.items():
        setattr(incident, name, value)
    incident.version += 1
    if t.new is State.ASSIGNED and incident.attention in CLEARED_BY_ASSIGNMENT:
        flag(incident, "", now=now)
    safety_follows(incident, t, now=now)
    event(incident, to.value, actor=actor, now=now, user_id=user_id,
          **{"from": t.old.value, "to": t.new.value}, **data)
    for effect in t.effects:
        if effect is Effect.WITHDRAW_OFFERS:
            Offer.objects.filter(incident=incident, status=OfferStatus.PENDING).update(
                status=OfferStatus.WITHDRAWN, answered_at=now
            )
        elif effect is Effect.START_OFFERS:
            round_start(incident, now=now)
            arm(incident, TimerKind.DEADLINE, round=incident.current_round,
                due_at=now + policy_for(incident).deadline)
        elif effect is Effect.CLOSE:
            close(incident, now=now, actor=actor, held=t.old in HELD)
    text_the_person(incident, t.new, now=now)
    if t.new is State.CANCELLED and t.old in (State.ASSIGNED, State.EN_ROUTE):
        stand_down(incident, actor=actor, now=now)
    return t


def stand_down(incident: Incident, *, actor: Actor, now: datetime) -> None:
    """The responder on their way hears at once that it was called off, on their own
    channels (their app updates live too, but the phone may be in a pocket)."""
    responder = incident.assigned_responder
    if responder is None:
        return
    why = (" The person says they are OK." if actor is Actor.PERSON else "")
    message_queue(
        key=f"stand-down:{incident.pk}", purpose="stand_down",
        body=(f"Spotline: {incident.priority} {incident.kind.replace('_', ' ')} "
              f"(incident {incident.pk}) was cancelled.{why} You can stand down."),
        channels=list(responder.channels or settings.DEFAULT_OFFER_CHANNELS),
        responder_id=responder.pk, incident_id=incident.pk, now=now)


def safety_follows(incident: Incident, t: lifecycle.Transition, *, now: datetime) -> None:
    """Arriving on scene starts the responder's safety timer; leaving the scene ends it.

    Here, in the one place every state change passes, so no path can skip it (the
    incident is locked, then the timer: the lock order of safety deadlines too).
    """
    if t.new is State.ON_SCENE and t.old is not State.ON_SCENE and incident.assigned_responder_id:
        safety_start(incident=incident, responder_id=incident.assigned_responder_id, now=now)
    elif t.old is State.ON_SCENE and t.new is not State.ON_SCENE:
        safety_end(incident_id=incident.pk, now=now)


def close(incident: Incident, *, now: datetime, actor: Actor, held: bool) -> None:
    """Record why the incident ended (if nobody reached the scene) and arm the purge.
    ``held``: a responder held it until this move (``core.unserved``)."""
    reason = unserved_reason(
        final_state=incident.state_enum,
        reached_scene=incident.on_scene_at is not None,
        held=held,
        round_shortfall=Shortfall(incident.round_shortfall) if incident.round_shortfall else None,
        closed_by=actor,
    )
    incident.closed_at = now
    incident.closed_by = actor.value
    incident.unserved_reason = reason.value if reason else ""
    Incident.objects.filter(pk=incident.pk).update(
        closed_at=now, closed_by=actor.value, unserved_reason=incident.unserved_reason
    )
    if reason:
        event(incident, "unserved", actor=Actor.SYSTEM, now=now, reason=reason.value)
    else:
        # The move's own event came before the close: the store learns of it here.
        counted(incident, type="closed", now=now)
    arm(incident, TimerKind.PURGE, round=0,
        due_at=now + timedelta(hours=settings.SPOTLINE_RETENTION_HOURS))
