"""A responder's safety timer while on scene: start, end, "I'm OK".

Arriving on scene starts a timer (``SPOTLINE_SAFETY_MINUTES``, default 15); the
responder taps "I'm OK" (optionally for longer) to extend it; leaving the scene ends
it. Its states and deadlines are the check-in machinery's (``core.checkin``): due,
asked, warned, escalated. A due check is a ``Timer`` row of kind ``safety`` (round = the
timer's generation); what happens when one fires is in ``backup`` (asking, then
sending backup). The incident is locked before its timer: the lock order of every
state change of the incident, which starts and ends timers.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings

from spotline.audit.actions import atomic as audit_atomic
from spotline.audit.actions import record
from spotline.core.checkin import (
    OPEN_STATES,
    SAFETY_MAX_MINUTES,
    CheckEvent,
    CheckState,
    IllegalCheck,
    check_transition,
    deadline_after,
)
from spotline.dispatch.actions.locks import lock
from spotline.dispatch.models import Incident, SafetyTimer, Timer, TimerKind
from spotline.errors import Conflict, Invalid, NotFound
from spotline.responders.models import Responder

log = logging.getLogger(__name__)

OPEN = [s.value for s in OPEN_STATES]


def grace() -> timedelta:
    return timedelta(seconds=settings.SPOTLINE_CHECKIN_GRACE_SECONDS)


def _arm(timer: SafetyTimer, *, now: datetime) -> None:
    deadline = deadline_after(CheckState(timer.state), now=now, minutes=timer.minutes,
                              grace=grace())
    timer.next_at = deadline.due_at if deadline else None
    if deadline is not None:
        Timer.objects.create(kind=TimerKind.SAFETY, incident_id=timer.incident_id,
                             safety=timer, round=timer.generation, due_at=deadline.due_at)


def safety_move(timer: SafetyTimer, event: CheckEvent, *, now: datetime,
                user_id: int | None = None) -> CheckState:
    """Move a (locked) safety timer, arm its next deadline, audit it; the caller saves."""
    try:
        new = check_transition(CheckState(timer.state), event)
    except IllegalCheck as exc:
        raise Conflict(str(exc)) from None
    timer.state = new.value
    timer.generation += 1
    timer.updated_at = now
    if new is CheckState.ENDED:
        timer.ended_at = now
    _arm(timer, now=now)
    # "I'm OK" is the responder's; a due or grace deadline, and the end that comes with
    # the incident's own (audited) state change, are the system's.
    record(f"safety.{event.value}", object_type="safety_timer", object_id=timer.pk, now=now,
           actor="responder" if event is CheckEvent.OK else "system", actor_user_id=user_id)
    return new


def safety_start(*, incident: Incident, responder_id: int, now: datetime) -> SafetyTimer:
    """Start (or restart) the responder's timer. Call with ``incident`` locked."""
    for stale in SafetyTimer.objects.select_for_update().filter(responder_id=responder_id,
                                                                state__in=OPEN):
        # One open timer per responder: an older one (another incident) is superseded.
        safety_move(stale, CheckEvent.DONE, now=now)
        stale.save()
    timer = SafetyTimer.objects.create(
        responder_id=responder_id, incident=incident,
        minutes=settings.SPOTLINE_SAFETY_MINUTES, created_at=now, updated_at=now)
    _arm(timer, now=now)
    timer.save(update_fields=["next_at"])
    log.info("safety timer started timer=%s incident=%s", timer.pk, incident.pk)
    return timer


def safety_end(*, incident_id: int, now: datetime) -> None:
    """The responder left the scene: their timer ends. Call with the incident locked."""
    for timer in SafetyTimer.objects.select_for_update().filter(incident_id=incident_id,
                                                                state__in=OPEN):
        safety_move(timer, CheckEvent.DONE, now=now)
        timer.save()


def safety_current(responder: Responder) -> SafetyTimer | None:
    """The responder's latest timer (running or not)."""
    return (SafetyTimer.objects.filter(responder=responder)
            .order_by("-created_at", "-pk").first())


def safety_ok(*, responder: Responder, minutes: int | None, now: datetime) -> SafetyTimer:
    """I'm OK: the next check after ``minutes`` (or the same interval as before)."""
    if minutes is not None and not 1 <= minutes <= SAFETY_MAX_MINUTES:
        raise Invalid(f"minutes is 1 to {SAFETY_MAX_MINUTES}")
    peek = (SafetyTimer.objects.filter(responder=responder, state__in=OPEN)
            .values_list("pk", "incident_id").first())
    if peek is None:
        raise NotFound("no safety timer is running")
    with audit_atomic():
        lock(peek[1])  # the lock order: incident, then timer
        timer = SafetyTimer.objects.select_for_update().get(pk=peek[0])
        if minutes is not None:
            timer.minutes = minutes
        safety_move(timer, CheckEvent.OK, now=now, user_id=responder.user_id)
        timer.save()
    return timer
