"""A responder's safety timer: how long until the next "are you OK?", and "I'm OK".

The timer starts when the responder reports on scene and ends when they leave it
(``spotline.dispatch.actions.safety_timers``); here it is only read and extended. Responders only,
and only their own: there is no id in the path, so nobody can ask about another's.
Mounted at /api/v1/me/safety.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from pydantic import Field

from spotline.api import schemas as s
from spotline.api.auth import AUTH, require_responder
from spotline.api.fields import Whole
from spotline.core.checkin import OPEN_STATES, SAFETY_MAX_MINUTES, CheckState
from spotline.dispatch.actions.safety_timers import safety_current, safety_ok
from spotline.dispatch.models import Incident, SafetyTimer

router = Router(auth=AUTH, tags=["responder"])


class SafetyOkIn(Schema):
    # Absent: the next check comes after the same interval as before.
    minutes: Annotated[int, Field(ge=1, le=SAFETY_MAX_MINUTES, strict=True),
                       Whole] | None = None


class SafetyOut(Schema):
    running: bool
    state: Literal["active", "asked", "warned", "escalated", "ended"] | None
    next_check_at: datetime | None
    # When silence sends backup: the app counts down to it once a check is missed.
    backup_at: datetime | None
    minutes: int | None
    incident_id: int | None
    backup_sent: bool


_NONE: dict[str, Any] = {"running": False, "state": None, "next_check_at": None,
                         "backup_at": None, "minutes": None, "incident_id": None,
                         "backup_sent": False}


def _backup_at(timer: SafetyTimer) -> datetime | None:
    """``next_at`` plus the grace periods still to come before the escalation."""
    if timer.next_at is None:
        return None
    grace = timedelta(seconds=settings.SPOTLINE_CHECKIN_GRACE_SECONDS)
    still = {CheckState.ACTIVE: 2, CheckState.ASKED: 1, CheckState.WARNED: 0}
    left = still.get(CheckState(timer.state))
    return timer.next_at + left * grace if left is not None else None


def _out(timer: SafetyTimer | None) -> dict[str, Any]:
    if timer is None:
        return _NONE
    running = CheckState(timer.state) in OPEN_STATES
    # Backup for the incident, however it was sent: a missed check or "need backup".
    backup_sent = timer.backup_id is not None or (
        Incident.objects.filter(backup_for_id=timer.incident_id).exists())
    return {
        "running": running,
        "state": timer.state,
        "next_check_at": timer.next_at if running else None,
        "backup_at": _backup_at(timer) if running else None,
        "minutes": timer.minutes,
        "incident_id": timer.incident_id,
        "backup_sent": backup_sent,
    }


@router.get("", response={200: SafetyOut, 401: s.ErrorOut, 403: s.ErrorOut,
                          404: s.ErrorOut},
            summary="Your safety timer: when the next 'are you OK?' comes")
def safety_get(request: HttpRequest) -> Any:
    return _out(safety_current(require_responder(request)))


@router.post("/ok", response={200: SafetyOut, 401: s.ErrorOut, 403: s.ErrorOut,
                              404: s.ErrorOut, 409: s.ErrorOut, 422: s.ErrorOut},
             summary="I'm OK: the next check after the same interval, or after 'minutes'")
def safety_ok_post(request: HttpRequest, payload: SafetyOkIn | None = None) -> Any:
    responder = require_responder(request)
    minutes = payload.minutes if payload is not None else None
    return _out(safety_ok(responder=responder, minutes=minutes, now=timezone.now()))
