"""The one door for a new incident: an ``IncidentRequest`` in, an incident out.

Every way a request arrives builds the same typed request and calls
``incident_open``: the help page, the API, an SMS conversation, the hotline's
voicemail, a dispatcher's entry for a caller, a missed check-in, and backup for a
responder in trouble. The doors differ only in how they read their input.

``incident_open`` is the hottest write path, so it writes in bulk. It plans the first
round before anything is written (the plan needs only the place and the skills), then
inserts the incident already dispatching, and its offers, their messages, its two
timers and its first events with one statement each; the audit entries go in with one
more at commit (``audit.atomic``). About ten statements in all, whatever the round's
size; ``dispatch/tests/test_statements.py`` holds it to that.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from spotline import sql
from spotline.audit.actions import atomic as audit_atomic
from spotline.core import lifecycle
from spotline.core.geo import Point, area_cell
from spotline.core.lifecycle import Effect, Event, State
from spotline.core.policy import Actor
from spotline.core.stage import Stage
from spotline.core.triage import Answer, Kind, Priority, triage
from spotline.dispatch.actions.ambulance import ems_request
from spotline.dispatch.actions.person import tell_the_person
from spotline.dispatch.actions.records import Event as NewEvent
from spotline.dispatch.actions.records import event, events, fact_open, flag
from spotline.dispatch.actions.rounds import (
    ems_decision,
    find,
    nobody_data,
    nobody_stage,
    offer_messages,
    offer_rows,
)
from spotline.dispatch.actions.search import policy_for
from spotline.dispatch.models import Incident, LocatedBy, Source, Timer, TimerKind
from spotline.errors import Conflict, Invalid, NotFound
from spotline.notify.actions import messages_queue
from spotline.privacy.crypto import normalize_phone, token_digest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncidentRequest:
    """A request for help, however it arrived. Only ``kind`` and a place (coordinates
    or a description) are needed; everything else has the default a person asking on
    the help page would get."""

    kind: Kind
    location: Point | None = None
    accuracy_m: float | None = None  # for a place found from words: its radius
    # How the point was found (dispatch.models.LocatedBy); "" with a point: the device.
    located_by: str = ""
    description: str = ""  # where, in words (the only place an SMS or a call gives)
    details: str = ""
    breathing: Answer = Answer.UNKNOWN
    conscious: Answer = Answer.UNKNOWN
    danger: Answer = Answer.UNKNOWN
    callback_phone: str = ""
    language: str = "en"
    source: Source = Source.WEB
    opened_by_user_id: int | None = None  # a dispatcher entering it for a caller
    priority: Priority | None = None  # raises (never lowers) the triaged priority
    backup_for_id: int | None = None  # other responders sent to a responder in trouble
    # False: no offers; the incident waits, flagged, for a dispatcher (a check-in plan
    # that asked for an ambulance and no responders).
    send_responders: bool = True
    # An ambulance is requested at once, by the person's own plan (a check-in's).
    request_ems: bool = False
    # Why a dispatcher should look at once (the hotline's voicemail: "call_back").
    attention: str = ""


@dataclass(frozen=True)
class Opened:
    incident: Incident
    tracking_token: str


def incident_open(request: IncidentRequest, *, now: datetime) -> Opened:
    """Turn a request for help into an incident and make the first round of offers.

    Everything happens in one transaction: once it commits (and only then does the
    caller answer 201), the incident, its offers, their messages and its timers all
    exist, so a crash right after the answer loses nothing.
    """
    if request.location is None and not request.description.strip():
        raise Invalid("a location needs lat and lon, or a description of the place")
    t = triage(request.kind, breathing=request.breathing, conscious=request.conscious,
               danger=request.danger)
    chosen = min(t.priority, request.priority) if request.priority else t.priority
    token = secrets.token_urlsafe(18)
    location = request.location
    incident = Incident(
        kind=request.kind.value,
        priority=chosen.value,
        required_skills=sorted(s.value for s in t.skills),
        backup_for_id=request.backup_for_id,
        source=request.source.value,
        breathing=request.breathing.value,
        conscious=request.conscious.value,
        danger=request.danger.value,
        language=request.language,
        lat=location.lat if location else None,
        lon=location.lon if location else None,
        accuracy_m=request.accuracy_m,
        located_by=(request.located_by or LocatedBy.DEVICE) if location else LocatedBy.UNKNOWN,
        location_description=request.description.strip(),
        details=request.details.strip(),
        callback_phone=(normalize_phone(request.callback_phone)
                        if request.callback_phone.strip() else ""),
        area=area_cell(location) if location else "",
        tracking_digest=token_digest(token),
        opened_at=now,
        updated_at=now,
    )
    actor = Actor.DISPATCHER if request.opened_by_user_id else Actor.PERSON
    opened = NewEvent("opened", actor, request.opened_by_user_id,
                      {"kind": incident.kind, "priority": chosen.value,
                       "source": incident.source})
    # No savepoint when a caller's transaction holds this one (the API's idempotency
    # row, an SMS conversation, a check-in's deadline): if opening fails, all of it
    # must roll back anyway, and the savepoint would be two more statements.
    with audit_atomic(savepoint=False):
        if request.send_responders:
            _open_dispatching(incident, opened, now=now)
        else:
            fact_open(incident, offered=False)
            incident.save()
            events(incident, [opened], now=now, responders=())
            flag(incident, "no_responders_wanted", now=now)
        if request.attention:
            flag(incident, request.attention, now=now)
        if request.request_ems:
            ems_request(incident, actor=Actor.POLICY, user_id=None, now=now)
    log.info("incident opened id=%s kind=%s priority=%s", incident.pk, incident.kind,
             chosen.value)
    return Opened(incident=incident, tracking_token=token)


def _open_dispatching(incident: Incident, opened: NewEvent, *, now: datetime) -> None:
    """New, then at once dispatching with its first round: the lifecycle's DISPATCH
    and its START_OFFERS effect (``moves.move`` and ``rounds.round_start``), written in
    bulk for a row nobody else can see yet."""
    t = lifecycle.transition(State.NEW, Event.DISPATCH, now=now)
    if t.effects != (Effect.START_OFFERS,):
        raise RuntimeError("the lifecycle table changed what DISPATCH does: update this")
    found = find(incident, now=now, first=True)
    plan = found.round
    shortfall = plan.shortfall.value if plan.shortfall else ""
    incident.state = t.new.value
    incident.version = 1
    incident.dispatched_at = now
    incident.current_round = 1
    incident.round_shortfall = shortfall
    if not plan.offers and shortfall:
        incident.attention, incident.attention_at = shortfall, now
    # An overdose nobody offered can reach in time: an ambulance proposed now, in the
    # same inserts (rounds.ems_check for later rounds).
    ems, ems_data = ems_decision(incident, [r.eta_seconds for r in plan.offers])
    if ems.propose_ems:
        incident.ems_proposed_at = now
    # One statement per kind of row, none through the ORM's query compiler (spotline.sql).
    incident.key_if_needed()
    fact_open(incident, offered=bool(plan.offers))
    sql.insert([incident], ids=True)
    offers = offer_rows(incident, plan, now=now)
    sql.insert(offers, ids=True)
    messages_queue(offer_messages(incident, plan.offers,
                                  {o.responder_id: o.pk for o in offers}, found.contacts,
                                  now=now), now=now)
    sql.insert([
        Timer(incident=incident, kind=TimerKind.ROUND_EXPIRY, round=1, due_at=plan.expires_at),
        Timer(incident=incident, kind=TimerKind.DEADLINE, round=1,
              due_at=now + policy_for(incident).deadline),
    ])
    offered = [r.responder_id for r in plan.offers]
    first_round = (NewEvent("offers_made", Actor.SYSTEM, None,
                            {"round": 1, "responder_ids": offered}) if offered else
                   NewEvent("no_offers", Actor.SYSTEM, None,
                            {"round": 1, **nobody_data(plan)}))
    events(incident, [
        opened,
        NewEvent(Event.DISPATCH.value, Actor.SYSTEM, None,
                 {"from": t.old.value, "to": t.new.value}),
        # Like round_start: a round that offers nobody says why, once it has a reason.
        *([first_round] if offered or shortfall else []),
        *([NewEvent("ems_proposed", Actor.POLICY, None, ems_data)] if ems.propose_ems
          else []),
    ], now=now, responders=offered)
    # One text: an ambulance proposed (or requested) says nobody near is free too.
    if ems.request_ems:
        ems_request(incident, actor=Actor.POLICY, user_id=None, now=now)
    elif ems.propose_ems:
        tell_the_person(incident, Stage.AMBULANCE_PROPOSED, now=now)
    elif not offered and shortfall:
        tell_the_person(incident, nobody_stage(shortfall), now=now)


def incident_ask_again(token: str, *, now: datetime) -> Opened:
    """"Ask for help again" after the person cancelled: a new request with the same
    details, through the one door. The old one stays cancelled (its timeline says it
    was asked again). Refused once its details are destroyed: then the help page."""
    old = incident_by_token(token)
    if old.state_enum is not State.CANCELLED or old.closed_by != Actor.PERSON.value:
        raise Conflict("only a request you cancelled can be asked again")
    if old.purged_at is not None:
        raise Conflict("this request's details were already destroyed: ask on the help page")
    location = (Point(old.lat, old.lon) if old.lat is not None and old.lon is not None
                else None)
    with audit_atomic():
        opened = incident_open(IncidentRequest(
            kind=Kind(old.kind), location=location, accuracy_m=old.accuracy_m,
            located_by=old.located_by, description=old.location_description, details=old.details,
            breathing=Answer(old.breathing), conscious=Answer(old.conscious),
            danger=Answer(old.danger), callback_phone=old.callback_phone,
            language=old.language, source=Source(old.source)), now=now)
        event(old, "asked_again", actor=Actor.PERSON, now=now,
              incident_id=opened.incident.pk)
    return opened


def incident_by_token(token: str) -> Incident:
    try:
        return Incident.objects.get(tracking_digest=token_digest(token))
    except Incident.DoesNotExist:
        raise NotFound("no such request") from None

