"""Responder safety timers: the check-in machinery, turned on the responders.

Arriving on scene starts a timer (``SPOTLINE_SAFETY_MINUTES``, default 15); the
responder taps "I'm OK" (optionally for longer) to extend it. A miss is asked about
in the app and by text, then by a call, and after the second grace period the
dispatcher is alerted and the nearest other responders are sent as backup
(``dispatch.actions.backup_open``). "Need help" sends backup at once. Leaving the
scene ends the timer.

Lock order: a safety deadline locks the watched incident before the timer, the same
order as a state change of the incident (which starts and ends timers).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings

from spotline.audit.actions import atomic as audit_atomic
from spotline.checkins.models import CheckIn
from spotline.core.checkin import (
    SAFETY_MAX_MINUTES,
    CheckEvent,
    CheckState,
    OnMiss,
    Purpose,
)
from spotline.dispatch.models import Incident
from spotline.errors import Invalid, NotFound
from spotline.privacy.crypto import token_digest
from spotline.responders.models import Responder

log = logging.getLogger(__name__)

_OPEN = [CheckState.ACTIVE.value, CheckState.ASKED.value, CheckState.WARNED.value]


def safety_start(*, incident: Incident, responder_id: int, now: datetime) -> CheckIn:
    """Start (or restart) the responder's timer. Call with ``incident`` locked."""
    import secrets

    from spotline.checkins.actions import _arm, _move

    for stale in CheckIn.objects.select_for_update().filter(
            purpose=Purpose.SAFETY, responder_id=responder_id, state__in=_OPEN):
        # One open timer per responder: an older one (another incident) is superseded.
        _move(stale, CheckEvent.DONE, now=now)
        stale.ended_at = now
        stale.save()
    checkin = CheckIn(
        # Nobody outside holds a token for a safety timer: a random digest keeps the
        # column unique without being a way in.
        token_digest=token_digest(secrets.token_urlsafe(18)),
        purpose=Purpose.SAFETY.value, responder_id=responder_id, watch_incident=incident,
        minutes=settings.SPOTLINE_SAFETY_MINUTES, on_miss=OnMiss.RESPONDERS.value,
        language=incident.language, created_at=now, updated_at=now,
    )
    checkin.save()
    _arm(checkin, now=now)
    checkin.save(update_fields=["next_at"])
    log.info("safety timer started checkin=%s incident=%s", checkin.pk, incident.pk)
    return checkin


def safety_end(*, incident_id: int, now: datetime) -> None:
    """The responder left the scene: their timer ends. Call with the incident locked."""
    from spotline.checkins.actions import _move

    for checkin in CheckIn.objects.select_for_update().filter(
            purpose=Purpose.SAFETY, watch_incident_id=incident_id, state__in=_OPEN):
        _move(checkin, CheckEvent.DONE, now=now)
        checkin.ended_at = now
        checkin.save()


def safety_current(responder: Responder) -> CheckIn | None:
    return (CheckIn.objects.filter(purpose=Purpose.SAFETY, responder=responder)
            .order_by("-created_at", "-pk").first())


def safety_ok(*, responder: Responder, minutes: int | None, now: datetime) -> CheckIn:
    """I'm OK: the next check after ``minutes`` (or the same interval as before)."""
    from spotline.checkins.actions import _locked, _move
    from spotline.dispatch.actions import _lock

    if minutes is not None and not 1 <= minutes <= SAFETY_MAX_MINUTES:
        raise Invalid(f"minutes is 1 to {SAFETY_MAX_MINUTES}")
    peek = (CheckIn.objects.filter(purpose=Purpose.SAFETY, responder=responder,
                                   state__in=_OPEN).values("pk", "watch_incident_id").first())
    if peek is None:
        raise NotFound("no safety timer is running")
    with audit_atomic():
        _lock(peek["watch_incident_id"])  # the lock order: incident, then timer
        checkin = _locked(peek["pk"])
        if minutes is not None:
            checkin.minutes = minutes
        _move(checkin, CheckEvent.OK, now=now)
        checkin.save()
    return checkin


def ask(checkin: CheckIn, *, louder: bool, now: datetime) -> None:
    """Ask the responder in the app and by their channels; the second time, call."""
    from spotline.notify.actions import message_queue

    responder = Responder.objects.filter(pk=checkin.responder_id or 0).first()
    if responder is None:  # the responder was deleted meanwhile: nobody to ask
        return
    body = (f"Spotline safety check: are you OK? Tap I'm OK in the app. Reply OK "
            f"{checkin.pk} by text.")
    channels = list(responder.channels or settings.DEFAULT_OFFER_CHANNELS)
    if louder:
        body = ("Spotline safety check, second try: if you do not answer, backup is sent "
                f"to you. Tap I'm OK in the app or reply OK {checkin.pk}.")
        channels = ["voice", *[c for c in channels if c != "voice"]]
    message_queue(key=f"safety:{checkin.pk}:{checkin.generation}", purpose="safety",
                  body=body, channels=channels, responder=responder,
                  incident=checkin.watch_incident, now=now)
    from spotline.live.publish import incident_changed

    if checkin.watch_incident_id is not None:
        incident_changed(checkin.watch_incident_id)  # the app and the console look again


def escalate(checkin: CheckIn, *, now: datetime) -> None:
    """A missed safety check: the dispatcher is alerted and backup is sent."""
    from spotline.core.policy import Actor
    from spotline.dispatch.actions import _lock, backup_open

    if checkin.watch_incident_id is None:  # the incident was deleted: nothing to back up
        return
    incident = _lock(checkin.watch_incident_id)  # already held by deadline_fire
    backup = backup_open(incident, why="missed_safety_check", now=now, actor=Actor.SYSTEM)
    if backup is not None:
        checkin.incident = backup
    checkin.escalated_at = now
    log.info("safety check missed checkin=%s incident=%s", checkin.pk, incident.pk)
