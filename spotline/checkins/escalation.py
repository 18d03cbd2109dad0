"""What a check-in's deadlines do: ask, ask louder, then send whom the plan names.

The timer engine (``deadlines``) claims each due ``CheckInDeadline`` and calls
``deadline_reached`` in its transaction. A missed check opens an incident through the
one door (``dispatch.actions.opening.incident_open``) and/or texts the person's trusted
person; then the check-in forgets the place, which the incident and the outbox now hold
under their own retention windows.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from spotline.checkins.actions import checkin_move, locked, place_forget
from spotline.checkins.models import CheckIn, CheckInDeadline
from spotline.core.checkin import CheckEvent, CheckState, OnMiss, Send, plan_sends
from spotline.core.geo import Point
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import LocatedBy, Source
from spotline.notify.actions import message_queue

log = logging.getLogger(__name__)


def deadline_reached(deadline: CheckInDeadline, now: datetime) -> None:
    """A deadline came: ask, ask louder, or send help, unless an OK or a DONE
    superseded it."""
    checkin = locked(deadline.checkin_id)
    if deadline.generation != checkin.generation:
        return  # superseded by an OK or a DONE: nothing to do
    new = checkin_move(checkin, CheckEvent(deadline.event), now=now)
    if new in (CheckState.ASKED, CheckState.WARNED):
        _ask(checkin, louder=new is CheckState.WARNED, now=now)
    elif new is CheckState.ESCALATED:
        _escalate(checkin, now=now)
    checkin.save()


def _ask(checkin: CheckIn, *, louder: bool, now: datetime) -> None:
    """"Are you OK?" by text; the second time by a call. Through the outbox."""
    if not checkin.phone_sealed:
        return  # the page's countdown and alarm are the only channel
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
    sends = _sends(checkin)
    place = json.loads(checkin.place_sealed)
    point = (Point(place["lat"], place["lon"])
             if place.get("lat") is not None and place.get("lon") is not None else None)
    access = place.get("access") or ""
    if sends & {Send.RESPONDERS, Send.EMS}:
        details = "Missed check-in: the person stopped answering."
        if access:
            details += f" How to get in: {access}"
        if Send.TRUSTED in sends:
            details += " Their trusted person was texted too."
        opened = incident_open(IncidentRequest(
            kind=Kind.OVERDOSE, location=point,
            # Found from their words when it started: approximate (``checkin_start``).
            located_by=place.get("located_by") or "", accuracy_m=place.get("radius_m"),
            description=place.get("description") or "Check-in: place given as coordinates",
            details=details, callback_phone=checkin.phone_sealed, language=checkin.language,
            source=Source.CHECKIN, send_responders=Send.RESPONDERS in sends,
            request_ems=Send.EMS in sends,
        ), now=now)
        checkin.incident = opened.incident
    if Send.TRUSTED in sends and checkin.trusted_sealed:
        _text_trusted(checkin, place, sends, now=now)
    checkin.escalated_at = now
    place_forget(checkin, now=now)  # now held by the incident / the outbox, under their windows
    log.info("check-in escalated id=%s incident=%s", checkin.pk, checkin.incident_id)


def _text_trusted(checkin: CheckIn, place: dict[str, Any], sends: frozenset[Send], *,
                  now: datetime) -> None:
    """Tell the person's trusted person where they are and how to get in."""
    trusted = json.loads(checkin.trusted_sealed)
    spanish = checkin.language == "es"
    who = trusted.get("from_name") or ("Alguien que confía en usted" if spanish else
                                       "Someone who trusts you")
    where = place.get("description") or ""
    # A map link for a point from the phone; a point found from their words is only
    # our reading of them, and the words go as they wrote them.
    if (place.get("lat") is not None and place.get("lon") is not None
            and place.get("located_by") != LocatedBy.WORDS):
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
