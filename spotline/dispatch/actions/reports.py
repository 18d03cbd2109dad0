"""What the assigned responder reports (or a dispatcher on their behalf): en route, on
scene, unable to locate, resolved, released, need backup; and the outcome."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

from spotline.audit.actions import atomic as audit_atomic
from spotline.core.lifecycle import HELD, Event, State
from spotline.core.policy import Actor, OfferStatus
from spotline.core.triage import Answer
from spotline.dispatch.actions.backup import backup_open
from spotline.dispatch.actions.freed import offer_to_freed
from spotline.dispatch.actions.locks import lock
from spotline.dispatch.actions.moves import move
from spotline.dispatch.actions.records import event, flag
from spotline.dispatch.models import EmsOutcome, Incident, Offer, Outcome
from spotline.errors import Conflict, Invalid, NotFound
from spotline.responders.models import Responder

REPORTS: dict[str, Event] = {
    "en_route": Event.EN_ROUTE,
    "on_scene": Event.ON_SCENE,
    "unable_to_locate": Event.UNABLE_TO_LOCATE,
    "resolved": Event.RESOLVE,
    "release": Event.RELEASE,
}

# The state a report leads to: reporting it again changes nothing.
_REPORTED_STATE: dict[Event, State] = {
    Event.EN_ROUTE: State.EN_ROUTE,
    Event.ON_SCENE: State.ON_SCENE,
    Event.RESOLVE: State.RESOLVED,
    Event.UNABLE_TO_LOCATE: State.UNABLE_TO_LOCATE,
}


def _held_by(incident_id: int, responder: Responder | None) -> Incident:
    incident = lock(incident_id)
    if responder is not None and incident.assigned_responder_id != responder.pk:
        raise NotFound("no such incident")
    return incident


def incident_report(
    *, incident_id: int, type: str, now: datetime, responder: Responder | None,
    user_id: int | None,
) -> Incident:
    """A status report from the assigned responder (or a dispatcher on their behalf).

    Reporting the state the incident is already in is a no-op, so a retried request
    on a bad connection does no harm.
    """
    actor = Actor.RESPONDER if responder is not None else Actor.DISPATCHER
    with audit_atomic():
        incident = _held_by(incident_id, responder)
        if type == "need_backup":
            if not incident.is_open:
                raise Conflict("this incident is closed")
            if incident.backup_requested_at is None:
                incident.backup_requested_at = now
                Incident.objects.filter(pk=incident.pk).update(backup_requested_at=now)
                event(incident, "need_backup", actor=actor, now=now, user_id=user_id)
                backup_open(incident, why="need_backup", now=now, actor=actor,
                            user_id=user_id)
            return incident
        report = REPORTS.get(type)
        if report is None:
            raise Invalid(f"unknown event type {type!r}")
        if incident.state_enum is _REPORTED_STATE.get(report):
            return incident
        holder = incident.assigned_responder_id
        if report is Event.RELEASE:
            Offer.objects.filter(incident=incident, status=OfferStatus.ACCEPTED).update(
                status=OfferStatus.RELEASED, answered_at=now
            )
            incident.assigned_responder = None
            incident.save(update_fields=["assigned_responder"])
            flag(incident, "released", now=now)
        move(incident, report, now=now, actor=actor, user_id=user_id)
        if incident.state_enum not in HELD:
            # Done, could not find them, or gave it back: free for the next one now.
            offer_to_freed(holder, now=now)
    return incident


class Saved(Enum):
    """``incident_outcome(replaces=Saved.ANY)``: record or correct whatever is saved."""

    ANY = "any"


def incident_outcome(
    *, incident_id: int, responder: Responder | None, user_id: int | None, now: datetime,
    naloxone_doses: int, responsive_after: Answer, ems: EmsOutcome,
    referrals: Iterable[str] | None = None, notes: str | None = None,
    replaces: datetime | Saved | None = Saved.ANY,
) -> Outcome:
    """Record (or correct) the outcome, from on scene until the purge.

    ``referrals`` and ``notes`` left out (None) keep what is saved: a correction of the
    counts never wipes them. ``replaces`` says what the caller's form was built from,
    so a form of defaults can never overwrite a saved outcome: None, no outcome (one
    saved since is refused); the ``recorded_at`` of the saved outcome being edited (one
    changed since is refused); ``Saved.ANY`` (the API), whatever is saved.
    """
    with audit_atomic():
        incident = _held_by(incident_id, responder)
        if incident.on_scene_at is None:
            raise Conflict("an outcome is recorded once a responder is on scene")
        if incident.purged_at is not None:
            raise Conflict("this incident's details were already destroyed")
        # The incident's lock guards its outcome too: nobody saves one in between.
        outcome = Outcome.objects.filter(incident=incident).first()
        if replaces is None and outcome is not None:
            raise Conflict("an outcome is already saved for this incident: edit it "
                           "instead of recording a new one")
        if isinstance(replaces, datetime) and (outcome is None
                                               or outcome.recorded_at != replaces):
            raise Conflict("the outcome was changed since you opened it: look at the "
                           "saved one and edit it again")
        corrected = outcome is not None
        if outcome is None:
            outcome = Outcome(incident=incident, referrals=[], notes="")
        outcome.recorded_at = now
        outcome.recorded_by_user_id = user_id
        outcome.naloxone_doses = naloxone_doses
        outcome.responsive_after = responsive_after.value
        outcome.ems = ems.value
        if referrals is not None:
            outcome.referrals = sorted({str(r) for r in referrals})
        if notes is not None:
            outcome.notes = notes.strip()
        outcome.save()
        event(incident, "outcome", actor=Actor.RESPONDER if responder else Actor.DISPATCHER,
              now=now, user_id=user_id, naloxone_doses=naloxone_doses, ems=ems.value,
              corrected=corrected)
    return outcome
