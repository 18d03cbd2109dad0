"""The one write path for check-ins (never use alone). A missed check here is a death,
so it is built like the dispatch loop: rows, one transaction per change, deadlines
claimed once (``deadlines``), and what a missed check does is in ``escalation``."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from spotline.audit.actions import atomic as audit_atomic
from spotline.audit.actions import record
from spotline.checkins.models import CheckIn, CheckInDeadline
from spotline.checkins.plans import Plan, Trusted, plan_save
from spotline.core.checkin import (
    OPEN_STATES,
    BadPlan,
    CheckEvent,
    CheckState,
    IllegalCheck,
    OnMiss,
    Send,
    check_transition,
    deadline_after,
    plan_sends,
)
from spotline.core.geo import Point
from spotline.core.policy import Actor
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.models import LocatedBy
from spotline.errors import Conflict, Invalid, NotFound
from spotline.places.finding import place_find
from spotline.privacy.crypto import normalize_phone, phone_digest, token_digest
from spotline.privacy.keys import key_destroy
from spotline.tally.actions import checkin_fact_new, checkin_fact_update

log = logging.getLogger(__name__)


def grace() -> timedelta:
    return timedelta(seconds=settings.SPOTLINE_CHECKIN_GRACE_SECONDS)


@dataclass(frozen=True)
class Started:
    checkin: CheckIn
    token: str
    plan_token: str = ""  # set when the person asked to save the plan


def _arm(checkin: CheckIn, *, now: datetime) -> None:
    deadline = deadline_after(CheckState(checkin.state), now=now, minutes=checkin.minutes,
                              grace=grace())
    checkin.next_at = deadline.due_at if deadline else None
    if deadline is not None:
        CheckInDeadline.objects.create(checkin=checkin, generation=checkin.generation,
                                       event=deadline.event.value, due_at=deadline.due_at)


def checkin_move(checkin: CheckIn, event: CheckEvent, *, now: datetime) -> CheckState:
    """Move a (locked) check-in, arm its next deadline, audit it; the caller saves.

    A due or grace deadline is the system's move; "I'm OK" and "I'm done" are the
    person's.
    """
    try:
        new = check_transition(CheckState(checkin.state), event)
    except IllegalCheck as exc:
        raise Conflict(str(exc)) from None
    checkin.state = new.value
    checkin.generation += 1
    if checkin.fact_id is not None:
        checkin_fact_update(checkin.fact_id, asked=new in (CheckState.ASKED, CheckState.WARNED),
                            escalated=new is CheckState.ESCALATED,
                            ended=new is CheckState.ENDED)
    checkin.updated_at = now
    _arm(checkin, now=now)
    actor = ("person" if event in (CheckEvent.OK, CheckEvent.DONE, CheckEvent.CALL_OFF)
             else "system")
    record(f"checkin.{event.value}", object_type="checkin", object_id=checkin.pk, now=now,
           actor=actor)
    return new


def place_forget(checkin: CheckIn, *, now: datetime) -> None:
    """Destroy the check-in's data key (every copy of its sealed fields is unreadable
    from now on) and blank the fields."""
    key_destroy(checkin.data_key_id, now=now)
    checkin.place_sealed = ""
    checkin.phone_sealed = ""
    checkin.phone_digest = ""
    checkin.trusted_sealed = ""


def checkin_start(*, location: Point | None, description: str, minutes: int,
                  on_miss: OnMiss, phone: str, language: str, now: datetime,
                  access: str = "", send: frozenset[Send] | None = None,
                  trusted: Trusted | None = None, save_plan: bool = False,
                  replace_running: bool = False) -> Started:
    """Start a check-in. ``replace_running``: the phone itself asked (a text from it),
    so its running check-in ends — OK answers only the newest. Never from the web or
    the API, where a phone number is only a claim: anyone could end someone else's."""
    if location is None and not description.strip():
        raise Invalid("a check-in needs where you are: lat and lon, or a description")
    try:
        sends = plan_sends(send, on_miss, bool(trusted and trusted.phone.strip()))
    except BadPlan as exc:
        raise Invalid(str(exc)) from None
    token = secrets.token_urlsafe(18)
    # A place in words is looked up now, so that a missed check sends help to a point
    # (approximate, with its radius) rather than to words; only when the geocoder is
    # sure. A saved plan keeps the words, and is looked up again when it is used.
    point, located_by, radius = location, "", None
    if point is None and description.strip():
        best = place_find(description, language=language).best
        if best is not None:
            point, located_by, radius = best.point, LocatedBy.WORDS.value, best.radius_m
    place = {"lat": point.lat if point else None, "lon": point.lon if point else None,
             "located_by": located_by, "radius_m": radius,
             "description": description.strip(), "access": access.strip()}
    plan_token = ""
    with audit_atomic():
        if phone and replace_running:
            # One running check-in per phone: "OK" answers the newest, so an older one
            # left running would send help to a place the person has left.
            for older in CheckIn.objects.select_for_update().filter(
                    phone_digest=phone_digest(phone),
                    state__in=[s.value for s in OPEN_STATES]):
                checkin_move(older, CheckEvent.DONE, now=now)
                older.ended_at = now
                place_forget(older, now=now)
                older.save()
        checkin = CheckIn(
            token_digest=token_digest(token), minutes=minutes, on_miss=on_miss.value,
            send=sorted(s.value for s in sends),
            place_sealed=json.dumps(place),
            phone_digest=phone_digest(phone) if phone else "",
            phone_sealed=normalize_phone(phone) if phone else "",
            trusted_sealed=json.dumps({
                "phone": normalize_phone(trusted.phone), "name": trusted.name.strip(),
                "from_name": trusted.from_name.strip()})
            if trusted and Send.TRUSTED in sends else "",
            language=language, created_at=now, updated_at=now,
            fact=checkin_fact_new(started_at=now, minutes=minutes),
        )
        checkin.save()
        _arm(checkin, now=now)
        checkin.save(update_fields=["next_at"])
        if save_plan:
            plan_token = plan_save(Plan(
                location=location, description=description.strip(), access=access.strip(),
                minutes=minutes, on_miss=on_miss, send=send, trusted=trusted, phone=phone,
            ), now=now)
    log.info("check-in started id=%s minutes=%s", checkin.pk, minutes)
    return Started(checkin=checkin, token=token, plan_token=plan_token)


def checkin_start_plan(plan: Plan, *, language: str, now: datetime,
                       minutes: int | None = None, replace_running: bool = False) -> Started:
    return checkin_start(
        location=plan.location, description=plan.description, access=plan.access,
        minutes=minutes or plan.minutes, on_miss=plan.on_miss, send=plan.send,
        trusted=plan.trusted, phone=plan.phone, language=language, now=now,
        replace_running=replace_running)


def checkin_by_token(token: str) -> CheckIn:
    checkin = CheckIn.objects.filter(token_digest=token_digest(token)).first()
    if checkin is None:
        raise NotFound("no such check-in")
    return checkin


def locked(checkin_id: int) -> CheckIn:
    return CheckIn.objects.select_for_update().get(pk=checkin_id)


HELP_SENT = "help was already sent: if you are OK, call it off (cancel help)"


def checkin_ok(*, checkin_id: int, now: datetime) -> CheckIn:
    """I'm OK: the next check comes after the same interval."""
    with audit_atomic():
        checkin = locked(checkin_id)
        if checkin.state == CheckState.ESCALATED:
            raise Conflict(HELP_SENT)
        checkin_move(checkin, CheckEvent.OK, now=now)
        checkin.save()
    return checkin


def checkin_done(*, checkin_id: int, now: datetime) -> CheckIn:
    """Ended safely: the place and phone are destroyed at once. Safe to repeat."""
    with audit_atomic():
        checkin = locked(checkin_id)
        if checkin.state == CheckState.ENDED:
            return checkin
        if checkin.state == CheckState.ESCALATED:
            raise Conflict(HELP_SENT)
        checkin_move(checkin, CheckEvent.DONE, now=now)
        checkin.ended_at = now
        place_forget(checkin, now=now)
        checkin.save()
    log.info("check-in ended id=%s", checkin.pk)
    return checkin


def checkin_call_off(*, checkin_id: int, now: datetime) -> CheckIn:
    """"I'm OK, cancel help", after help was sent: the incident is cancelled by the
    person (its responder is told at once, ``moves.stand_down``) and the check-in ends
    like a safe one, its place destroyed. Safe to repeat. Refused (409) while a
    responder is already with the person: they can tell them."""
    with audit_atomic():
        checkin = locked(checkin_id)
        if checkin.state == CheckState.ENDED:
            return checkin
        if checkin.state != CheckState.ESCALATED:
            raise Conflict("no help was sent: answer I'm OK, or end the check-in")
        if checkin.incident_id is not None:
            incident_cancel(incident_id=checkin.incident_id, actor=Actor.PERSON,
                            user_id=None, now=now)
        checkin_move(checkin, CheckEvent.CALL_OFF, now=now)
        checkin.ended_at = now
        place_forget(checkin, now=now)
        checkin.save()
    log.info("check-in called off id=%s incident=%s", checkin.pk, checkin.incident_id)
    return checkin
