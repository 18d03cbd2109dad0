"""The one write path for check-ins. A missed check here is a death, so it is built
like the dispatch loop: rows, one transaction per change, deadlines claimed once."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from spotline.checkins.models import CheckIn, CheckInDeadline
from spotline.core.checkin import (
    CheckEvent,
    CheckState,
    IllegalCheck,
    OnMiss,
    check_transition,
    deadline_after,
)
from spotline.core.geo import Point
from spotline.dispatch.claim import claim_unfired
from spotline.dispatch.errors import Conflict, NotFound
from spotline.dispatch.models import tracking_digest
from spotline.privacy.crypto import normalize_phone, phone_digest, seal, unseal

log = logging.getLogger(__name__)


def _grace() -> timedelta:
    return timedelta(seconds=settings.SPOTLINE_CHECKIN_GRACE_SECONDS)


@dataclass(frozen=True)
class Started:
    checkin: CheckIn
    token: str


def _arm(checkin: CheckIn, *, now: datetime) -> None:
    deadline = deadline_after(CheckState(checkin.state), now=now, minutes=checkin.minutes,
                              grace=_grace())
    checkin.next_at = deadline.due_at if deadline else None
    if deadline is not None:
        CheckInDeadline.objects.create(checkin=checkin, generation=checkin.generation,
                                       event=deadline.event.value, due_at=deadline.due_at)


def _move(checkin: CheckIn, event: CheckEvent, *, now: datetime) -> CheckState:
    try:
        new = check_transition(CheckState(checkin.state), event)
    except IllegalCheck as exc:
        raise Conflict(str(exc)) from None
    checkin.state = new.value
    checkin.generation += 1
    checkin.updated_at = now
    _arm(checkin, now=now)
    return new


def _forget_place(checkin: CheckIn) -> None:
    checkin.place_sealed = ""
    checkin.phone_sealed = ""
    checkin.phone_digest = ""


def checkin_start(*, location: Point | None, description: str, minutes: int,
                  on_miss: OnMiss, phone: str, language: str, now: datetime) -> Started:
    if location is None and not description.strip():
        from spotline.dispatch.errors import Invalid

        raise Invalid("a check-in needs where you are: lat and lon, or a description")
    token = secrets.token_urlsafe(18)
    place = {"lat": location.lat if location else None,
             "lon": location.lon if location else None,
             "description": description.strip()}
    with transaction.atomic():
        checkin = CheckIn(
            token_digest=tracking_digest(token), minutes=minutes, on_miss=on_miss.value,
            place_sealed=seal(json.dumps(place), context="checkin.place"),
            phone_digest=phone_digest(phone) if phone else "",
            phone_sealed=seal(normalize_phone(phone), context="checkin.phone") if phone else "",
            language=language, created_at=now, updated_at=now,
        )
        checkin.save()
        _arm(checkin, now=now)
        checkin.save(update_fields=["next_at"])
    log.info("check-in started id=%s minutes=%s", checkin.pk, minutes)
    return Started(checkin=checkin, token=token)


def checkin_by_token(token: str) -> CheckIn:
    checkin = CheckIn.objects.filter(token_digest=tracking_digest(token)).first()
    if checkin is None:
        raise NotFound("no such check-in")
    return checkin


def _locked(checkin_id: int) -> CheckIn:
    return CheckIn.objects.select_for_update().get(pk=checkin_id)


def checkin_ok(*, checkin_id: int, now: datetime) -> CheckIn:
    """I'm OK: the next check comes after the same interval."""
    with transaction.atomic():
        checkin = _locked(checkin_id)
        _move(checkin, CheckEvent.OK, now=now)
        checkin.save()
    return checkin


def checkin_done(*, checkin_id: int, now: datetime) -> CheckIn:
    """Ended safely: the place and phone are destroyed at once. Safe to repeat."""
    with transaction.atomic():
        checkin = _locked(checkin_id)
        if checkin.state == CheckState.ENDED:
            return checkin
        _move(checkin, CheckEvent.DONE, now=now)
        checkin.ended_at = now
        _forget_place(checkin)
        checkin.save()
    log.info("check-in ended id=%s", checkin.pk)
    return checkin


def _ask(checkin: CheckIn, *, louder: bool, now: datetime) -> None:
    """"Are you OK?" by text; the second time by a call. Through the outbox."""
    if not checkin.phone_sealed:
        return  # the page's countdown and alarm are the only channel
    from spotline.notify.actions import message_queue

    spanish = checkin.language == "es"
    body = ("Spotline: ¿Está bien? Responda OK." if spanish else
            "Spotline: Are you OK? Reply OK.")
    if louder:
        body = ("Spotline: no respondió. Enviaremos ayuda pronto. Responda OK si está bien."
                if spanish else
                "Spotline: no answer. We will send help soon. Reply OK if you are OK.")
    message_queue(key=f"checkin:{checkin.pk}:{checkin.generation}", purpose="checkin",
                  body=body, channels=["voice", "sms"] if louder else ["sms"],
                  to=unseal(checkin.phone_sealed, context="checkin.phone"), now=now)


def _escalate(checkin: CheckIn, *, now: datetime) -> None:
    """Silence after both attempts: a P1 overdose at their place, with their notes."""
    from spotline.core.policy import Actor, EscalationTarget
    from spotline.core.triage import Kind
    from spotline.dispatch import actions
    from spotline.dispatch.models import Source

    place = json.loads(unseal(checkin.place_sealed, context="checkin.place"))
    point = (Point(place["lat"], place["lon"])
             if place.get("lat") is not None and place.get("lon") is not None else None)
    phone = unseal(checkin.phone_sealed, context="checkin.phone") if checkin.phone_sealed else ""
    opened = actions.incident_open(
        kind=Kind.OVERDOSE, location=point,
        description=place.get("description") or "Check-in: place given as coordinates",
        details="Missed check-in: the person stopped answering.", callback_phone=phone,
        language=checkin.language, source=Source.CHECKIN, now=now,
    )
    if checkin.on_miss == OnMiss.RESPONDERS_AND_EMS:
        actions.incident_escalate(incident_id=opened.incident.pk, to=EscalationTarget.EMS,
                                  user_id=None, now=now, actor=Actor.POLICY)
    checkin.incident = opened.incident
    checkin.escalated_at = now
    _forget_place(checkin)  # now held by the incident, under its retention window
    log.info("check-in escalated id=%s incident=%s", checkin.pk, opened.incident.pk)


def deadline_fire(deadline_id: int, *, now: datetime) -> bool:
    """Claim and act on one due deadline, once (same pattern as dispatch timers)."""
    with transaction.atomic():
        deadline = claim_unfired(CheckInDeadline, deadline_id, now=now)
        if deadline is None:
            return False
        checkin = _locked(deadline.checkin_id)
        if deadline.generation != checkin.generation:
            return True  # superseded by an OK or a DONE: nothing to do
        new = _move(checkin, CheckEvent(deadline.event), now=now)
        if new is CheckState.ASKED:
            _ask(checkin, louder=False, now=now)
        elif new is CheckState.WARNED:
            _ask(checkin, louder=True, now=now)
        elif new is CheckState.ESCALATED:
            _escalate(checkin, now=now)
        checkin.save()
    return True


def fire_due_checkins(*, now: datetime, limit: int = 500) -> int:
    ids = list(CheckInDeadline.objects.filter(fired_at__isnull=True, due_at__lte=now)
               .order_by("due_at", "id").values_list("id", flat=True)[:limit])
    fired = 0
    for deadline_id in ids:
        try:
            fired += deadline_fire(deadline_id, now=now)
        except Exception as exc:
            # Never a crash loop: push it a little forward and keep going.
            log.error("check-in deadline %s failed (%s)", deadline_id, type(exc).__name__)
            CheckInDeadline.objects.filter(pk=deadline_id, fired_at__isnull=True).update(
                due_at=now + timedelta(seconds=5))
    return fired
