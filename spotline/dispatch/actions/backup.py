"""Backup: the nearest other responders sent to a responder in trouble.

Sent when the responder asks ("need backup", ``reports``) or when their safety timer
(``safety_timers``) goes unanswered: asked in the app and by their channels, asked
again louder (a call), then the dispatcher is alerted and backup goes out. Backup is
always other responders, an ambulance at most: never the police.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings

from spotline.core.checkin import CheckEvent, CheckState
from spotline.core.policy import Actor
from spotline.core.triage import Answer, Kind, Priority
from spotline.dispatch.actions.locks import lock
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.records import audience, event, flag
from spotline.dispatch.actions.safety_timers import safety_move
from spotline.dispatch.actions.search import incident_point
from spotline.dispatch.models import Incident, SafetyTimer, Source, Timer
from spotline.live.publish import incident_changed
from spotline.notify.actions import message_queue
from spotline.responders.models import Responder

log = logging.getLogger(__name__)


def backup_open(incident: Incident, *, why: str, now: datetime, actor: Actor,
                user_id: int | None = None) -> Incident | None:
    """Send the nearest other responders to a responder in trouble on ``incident``.

    A backup is an incident of its own (P1, same place and kind, linked by
    ``backup_for``), so it gets the whole loop: offers to the nearest qualified free
    responders, widening, deadlines, the dispatcher's alarm. The responder in trouble
    holds ``incident``, so they are never offered their own backup. Call with
    ``incident`` locked. Returns the backup, or None when one is already open.
    """
    flag(incident, why, now=now)
    open_backup = Incident.objects.filter(backup_for=incident, closed_at__isnull=True).first()
    if open_backup is not None:
        event(incident, "backup_again", actor=actor, now=now, user_id=user_id, why=why,
              backup_id=open_backup.pk)
        return None
    opened = incident_open(IncidentRequest(
        kind=Kind(incident.kind), location=incident_point(incident),
        accuracy_m=incident.accuracy_m, located_by=incident.located_by,
        description=incident.location_description,
        details=f"Backup for a responder on incident {incident.pk} ({why.replace('_', ' ')}).",
        danger=Answer.YES, language=incident.language, source=Source.BACKUP,
        priority=Priority.P1, backup_for_id=incident.pk, opened_by_user_id=user_id,
    ), now=now)
    event(incident, "backup_sent", actor=actor, now=now, user_id=user_id, why=why,
          backup_id=opened.incident.pk)
    return opened.incident


def safety_check_due(*, timer: Timer, now: datetime) -> None:
    """A safety timer's deadline fired (a ``Timer`` of kind ``safety``): ask, ask louder,
    or send backup, unless "I'm OK" or leaving the scene superseded it."""
    lock(timer.incident_id)  # the lock order: the incident, then its safety timer
    if timer.safety_id is None:
        return  # not a safety check (a kind mix-up): nothing to ask
    safety = SafetyTimer.objects.select_for_update().get(pk=timer.safety_id)
    if safety.generation != timer.round:
        return  # superseded by an OK or the end: nothing to do
    due = CheckEvent.DUE if safety.state == CheckState.ACTIVE else CheckEvent.GRACE
    new = safety_move(safety, due, now=now)
    if new in (CheckState.ASKED, CheckState.WARNED):
        _ask(safety, louder=new is CheckState.WARNED, now=now)
    elif new is CheckState.ESCALATED:
        _escalate(safety, now=now)
    safety.save()


def _ask(safety: SafetyTimer, *, louder: bool, now: datetime) -> None:
    """Ask the responder in the app and by their channels; the second time, call."""
    responder = Responder.objects.filter(pk=safety.responder_id).first()
    if responder is None:  # the responder was deleted meanwhile: nobody to ask
        return
    body = (f"Spotline safety check: are you OK? Tap I'm OK in the app. Reply OK "
            f"{safety.pk} by text.")
    channels = list(responder.channels or settings.DEFAULT_OFFER_CHANNELS)
    if louder:
        body = ("Spotline safety check, second try: if you do not answer, backup is sent "
                f"to you. Tap I'm OK in the app or reply OK {safety.pk}.")
        channels = ["voice", *[c for c in channels if c != "voice"]]
    message_queue(key=f"safety:{safety.pk}:{safety.generation}", purpose="safety",
                  body=body, channels=channels, responder_id=responder.pk,
                  incident_id=safety.incident_id, now=now)
    # The app and the console look again.
    incident_changed(safety.incident_id, responders=lambda: audience(safety.incident_id))


def _escalate(safety: SafetyTimer, *, now: datetime) -> None:
    """A missed safety check: the dispatcher is alerted and backup is sent."""
    incident = lock(safety.incident_id)  # already held: this only re-reads the row
    backup = backup_open(incident, why="missed_safety_check", now=now, actor=Actor.SYSTEM)
    if backup is not None:
        safety.backup = backup
    safety.escalated_at = now
    log.info("safety check missed timer=%s incident=%s", safety.pk, incident.pk)
