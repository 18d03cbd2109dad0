"""The one write path for check-ins. A missed check here is a death, so it is built
like the dispatch loop: rows, one transaction per change, deadlines claimed once."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from spotline.audit.actions import atomic as audit_atomic
from spotline.audit.actions import record
from spotline.checkins.models import CheckIn, CheckInDeadline, SavedPlan
from spotline.core.checkin import (
    DEFAULT_MINUTES,
    OPEN_STATES,
    BadPlan,
    CheckEvent,
    CheckState,
    IllegalCheck,
    OnMiss,
    Purpose,
    Send,
    check_transition,
    deadline_after,
    plan_sends,
)
from spotline.core.geo import Point
from spotline.errors import Conflict, NotFound
from spotline.privacy.crypto import normalize_phone, phone_digest, token_digest
from spotline.privacy.keys import key_destroy

log = logging.getLogger(__name__)


def _grace() -> timedelta:
    return timedelta(seconds=settings.SPOTLINE_CHECKIN_GRACE_SECONDS)


@dataclass(frozen=True)
class Trusted:
    """A trusted person of the user's own, texted the place if they stop answering."""

    phone: str
    name: str = ""  # the trusted person's name, so the page can say whom we texted
    from_name: str = ""  # the user's name as the trusted person knows them


@dataclass(frozen=True)
class Plan:
    """A personal response plan: where, how to get in, when, and whom to send."""

    location: Point | None
    description: str
    access: str = ""
    minutes: int = DEFAULT_MINUTES
    on_miss: OnMiss = OnMiss.RESPONDERS
    send: frozenset[Send] | None = None  # None: from on_miss (the fixed contract)
    trusted: Trusted | None = None
    phone: str = ""  # the user's own, for "are you OK?" texts and calls

    def to_json(self) -> str:
        return json.dumps({
            "lat": self.location.lat if self.location else None,
            "lon": self.location.lon if self.location else None,
            "description": self.description, "access": self.access,
            "minutes": self.minutes, "on_miss": self.on_miss.value,
            "send": sorted(s.value for s in self.send) if self.send is not None else None,
            "trusted": ({"phone": self.trusted.phone, "name": self.trusted.name,
                         "from_name": self.trusted.from_name} if self.trusted else None),
            "phone": self.phone,
        })

    @classmethod
    def from_json(cls, text: str) -> Plan:
        d = json.loads(text)
        point = (Point(d["lat"], d["lon"])
                 if d.get("lat") is not None and d.get("lon") is not None else None)
        trusted = Trusted(**d["trusted"]) if d.get("trusted") else None
        send = frozenset(Send(v) for v in d["send"]) if d.get("send") is not None else None
        return cls(location=point, description=d.get("description", ""),
                   access=d.get("access", ""), minutes=d.get("minutes", DEFAULT_MINUTES),
                   on_miss=OnMiss(d.get("on_miss", "responders")), send=send,
                   trusted=trusted, phone=d.get("phone", ""))


@dataclass(frozen=True)
class Started:
    checkin: CheckIn
    token: str
    plan_token: str = ""  # set when the person asked to save the plan


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
    _audit_move(checkin, event, now=now)
    return new


def _audit_move(checkin: CheckIn, event: CheckEvent, *, now: datetime) -> None:
    """Audit every move, a person's check-in and a responder's safety timer alike.

    A due or grace deadline is the system; "I'm OK" is the person, or the responder
    whose safety timer it is; a safety timer ends with the incident's own (audited)
    state change or a newer timer, so that end is the system too.
    """
    safety = checkin.purpose == Purpose.SAFETY
    actor, user_id = "system", None
    if event is CheckEvent.OK and safety:
        from spotline.responders.models import Responder

        actor = "responder"
        user_id = (Responder.objects.filter(pk=checkin.responder_id or 0)
                   .values_list("user_id", flat=True).first())
    elif event in (CheckEvent.OK, CheckEvent.DONE) and not safety:
        actor = "person"
    record(f"checkin.{event.value}", object_type="checkin", object_id=checkin.pk, now=now,
           actor=actor, actor_user_id=user_id)


def _forget_place(checkin: CheckIn, *, now: datetime) -> None:
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
    from spotline.errors import Invalid

    if location is None and not description.strip():
        raise Invalid("a check-in needs where you are: lat and lon, or a description")
    try:
        sends = plan_sends(send, on_miss, bool(trusted and trusted.phone.strip()))
    except BadPlan as exc:
        raise Invalid(str(exc)) from None
    token = secrets.token_urlsafe(18)
    place = {"lat": location.lat if location else None,
             "lon": location.lon if location else None,
             "description": description.strip(), "access": access.strip()}
    plan_token = ""
    with audit_atomic():
        if phone and replace_running:
            # One running check-in per phone: "OK" answers the newest, so an older one
            # left running would send help to a place the person has left.
            for older in CheckIn.objects.select_for_update().filter(
                    purpose=Purpose.PERSON, phone_digest=phone_digest(phone),
                    state__in=[s.value for s in OPEN_STATES]):
                _move(older, CheckEvent.DONE, now=now)
                older.ended_at = now
                _forget_place(older, now=now)
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


# -- saved plans: kept because the person asked, deleted when they say ------------------


def plan_save(plan: Plan, *, now: datetime, phone_key: str = "") -> str:
    """Keep a plan for next time; returns the token that opens it (shown once).

    ``phone_key`` (the sender of a text) lets "SPOT" alone reuse it; that phone's
    older plan is replaced, so a number never accumulates plans.
    """
    token = secrets.token_urlsafe(18)
    digest = phone_digest(phone_key) if phone_key else ""
    with audit_atomic():
        if digest:
            plan_delete(phone=phone_key)
        SavedPlan.objects.create(token_digest=token_digest(token), phone_digest=digest,
                                 sealed=plan.to_json(),
                                 created_at=now, used_at=now)
    log.info("plan saved")
    return token


def _plan_row(token: str) -> SavedPlan:
    row = SavedPlan.objects.filter(token_digest=token_digest(token)).first()
    if row is None:
        raise NotFound("no such saved plan")
    return row


def plan_load(token: str) -> Plan:
    return Plan.from_json(_plan_row(token).sealed)


def plan_for_phone(phone: str) -> Plan | None:
    row = SavedPlan.objects.filter(phone_digest=phone_digest(phone)).first()
    return Plan.from_json(row.sealed) if row and row.sealed else None


def _plans(*, token: str, phone: str) -> QuerySet[SavedPlan]:
    """A person's plans: by the token that opens one, else by the phone that saved it."""
    if token:
        return SavedPlan.objects.filter(token_digest=token_digest(token))
    return SavedPlan.objects.filter(phone_digest=phone_digest(phone))


def _destroy(rows: QuerySet[SavedPlan], *, now: datetime) -> int:
    """Destroy the plans' data keys (every copy unreadable), then the rows."""
    for key_id in rows.values_list("data_key_id", flat=True):
        key_destroy(key_id, now=now)
    deleted, _ = rows.delete()
    return deleted


def plan_used(*, token: str = "", phone: str = "", now: datetime) -> None:
    _plans(token=token, phone=phone).update(used_at=now)


def plan_delete(*, token: str = "", phone: str = "") -> int:
    """The person deletes their plan: the row goes, sealed text and all."""
    if not token and not phone:
        return 0
    deleted = _destroy(_plans(token=token, phone=phone), now=timezone.now())
    log.info("plan deleted count=%s", deleted)
    return deleted


def plans_expire(*, now: datetime) -> int:
    """Plans unused for SPOTLINE_PLAN_KEEP_DAYS are deleted (worker housekeeping)."""
    cutoff = now - timedelta(days=settings.SPOTLINE_PLAN_KEEP_DAYS)
    deleted = _destroy(SavedPlan.objects.filter(used_at__lt=cutoff), now=now)
    if deleted:
        log.info("unused saved plans deleted count=%s", deleted)
    return deleted


def checkin_by_token(token: str) -> CheckIn:
    checkin = CheckIn.objects.filter(token_digest=token_digest(token)).first()
    if checkin is None:
        raise NotFound("no such check-in")
    return checkin


def _locked(checkin_id: int) -> CheckIn:
    return CheckIn.objects.select_for_update().get(pk=checkin_id)


def checkin_ok(*, checkin_id: int, now: datetime) -> CheckIn:
    """I'm OK: the next check comes after the same interval."""
    with audit_atomic():
        checkin = _locked(checkin_id)
        _move(checkin, CheckEvent.OK, now=now)
        checkin.save()
    return checkin


def checkin_done(*, checkin_id: int, now: datetime) -> CheckIn:
    """Ended safely: the place and phone are destroyed at once. Safe to repeat."""
    with audit_atomic():
        checkin = _locked(checkin_id)
        if checkin.state == CheckState.ENDED:
            return checkin
        _move(checkin, CheckEvent.DONE, now=now)
        checkin.ended_at = now
        _forget_place(checkin, now=now)
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
                  to=checkin.phone_sealed, now=now)


def _sends(checkin: CheckIn) -> frozenset[Send]:
    if checkin.send:
        return frozenset(Send(v) for v in checkin.send)
    return plan_sends(None, OnMiss(checkin.on_miss), has_trusted_phone=False)


def _escalate(checkin: CheckIn, *, now: datetime) -> None:
    """Silence after both attempts: whom their plan names is sent, with their notes.

    Responders and/or an ambulance: a P1 overdose incident at their place. A trusted
    person: a text with the place and how to get in.
    """
    from spotline.core.policy import Actor, EscalationTarget
    from spotline.core.triage import Kind
    from spotline.dispatch import actions
    from spotline.dispatch.models import Source

    sends = _sends(checkin)
    place = json.loads(checkin.place_sealed)
    point = (Point(place["lat"], place["lon"])
             if place.get("lat") is not None and place.get("lon") is not None else None)
    phone = checkin.phone_sealed
    access = place.get("access") or ""
    if sends & {Send.RESPONDERS, Send.EMS}:
        details = "Missed check-in: the person stopped answering."
        if access:
            details += f" How to get in: {access}"
        if Send.TRUSTED in sends:
            details += " Their trusted person was texted too."
        opened = actions.incident_open(
            kind=Kind.OVERDOSE, location=point,
            description=place.get("description") or "Check-in: place given as coordinates",
            details=details, callback_phone=phone, language=checkin.language,
            source=Source.CHECKIN, now=now, make_offers=Send.RESPONDERS in sends,
        )
        if Send.EMS in sends:
            actions.incident_escalate(incident_id=opened.incident.pk, to=EscalationTarget.EMS,
                                      user_id=None, now=now, actor=Actor.POLICY)
        checkin.incident = opened.incident
    if Send.TRUSTED in sends and checkin.trusted_sealed:
        _text_trusted(checkin, place, sends, now=now)
    checkin.escalated_at = now
    _forget_place(checkin, now=now)  # now held by the incident / the outbox, under their windows
    log.info("check-in escalated id=%s incident=%s", checkin.pk, checkin.incident_id)


def _text_trusted(checkin: CheckIn, place: dict[str, Any], sends: frozenset[Send], *,
                  now: datetime) -> None:
    """Tell the person's trusted person where they are and how to get in."""
    from spotline.notify.actions import message_queue

    trusted = json.loads(checkin.trusted_sealed)
    spanish = checkin.language == "es"
    who = trusted.get("from_name") or ("Alguien que confía en usted" if spanish else
                                       "Someone who trusts you")
    where = place.get("description") or ""
    if place.get("lat") is not None and place.get("lon") is not None:
        lat, lon = place["lat"], place["lon"]
        where = (f"{where} " if where else "") + (
            f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}"
            f"#map=18/{lat:.5f}/{lon:.5f}")
    access = place.get("access") or ""
    if spanish:
        body = (f"Spotline: {who} está usando solo/a y dejó de responder. Vaya ahora. "
                f"Dónde: {where}." + (f" Cómo entrar: {access}." if access else "")
                + " Lleve naloxona si tiene.")
        if Send.RESPONDERS in sends:
            body += " También enviamos personal comunitario."
    else:
        body = (f"Spotline: {who} is using alone and stopped answering. Please go now. "
                f"Where: {where}." + (f" How to get in: {access}." if access else "")
                + " Bring naloxone if you have it.")
        if Send.RESPONDERS in sends:
            body += " Community responders are on the way too."
    message_queue(key=f"checkin-trusted:{checkin.pk}", purpose="checkin_trusted", body=body,
                  channels=["sms", "voice"], to=trusted["phone"], now=now)


def deadline_reached(deadline: CheckInDeadline, now: datetime) -> None:
    """A deadline came (claimed by the timer engine, in its transaction): ask, ask
    louder, or send help, unless an OK or a DONE superseded it."""
    watched = (CheckIn.objects.filter(pk=deadline.checkin_id)
               .values_list("watch_incident_id", flat=True).first())
    if watched is not None:
        from spotline.dispatch.actions import _lock

        _lock(watched)  # a safety timer: incident first, the global lock order
    checkin = _locked(deadline.checkin_id)
    if deadline.generation != checkin.generation:
        return  # superseded by an OK or a DONE: nothing to do
    new = _move(checkin, CheckEvent(deadline.event), now=now)
    safety = checkin.purpose == Purpose.SAFETY
    if new in (CheckState.ASKED, CheckState.WARNED):
        louder = new is CheckState.WARNED
        if safety:
            from spotline.checkins import safety as responder_safety

            responder_safety.ask(checkin, louder=louder, now=now)
        else:
            _ask(checkin, louder=louder, now=now)
    elif new is CheckState.ESCALATED:
        if safety:
            from spotline.checkins import safety as responder_safety

            responder_safety.escalate(checkin, now=now)
        else:
            _escalate(checkin, now=now)
    checkin.save()
