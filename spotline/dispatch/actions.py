"""The one write path for incidents and offers.

Every state change of an incident or offer is one of these functions. Each runs in a
transaction and takes its row locks in one global order — the responder's row first
(when the action is about a responder), then incident rows by ascending id, and an
incident before its offers — so two actions cannot wait on each other in a circle.
It asks ``core.lifecycle`` for the transition, persists it with a compare-and-set on
the row's version, and writes the timeline event. A deadlock the database detects
anyway is retried (``retry_on_deadlock``), and answers 503 if it persists.
Functions are keyword-only and take ``now``; repeating a call that already happened
(a double-tapped accept) returns the same result instead of doing it twice.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection
from django.db.models import F

from spotline.audit.actions import atomic as audit_atomic
from spotline.audit.actions import record
from spotline.core import lifecycle, nearest
from spotline.core.geo import Mode, Point, StraightLineEstimator, TravelTimeEstimator, area_cell
from spotline.core.lifecycle import HELD, Effect, Event, IllegalTransition, State
from spotline.core.policy import (
    Actor,
    Candidate,
    EscalationTarget,
    OfferStatus,
    PastOffer,
    PriorityPolicy,
    Round,
    Shortfall,
    on_deadline,
    plan_round,
    should_widen,
    unserved_reason,
)
from spotline.core.triage import Answer, Kind, Priority, Skill, triage
from spotline.dispatch.models import (
    EmsOutcome,
    Incident,
    IncidentEvent,
    IncidentNote,
    Offer,
    Outcome,
    Source,
    Timer,
    TimerKind,
)
from spotline.errors import Conflict, IncidentTaken, Invalid, NotFound
from spotline.live.publish import incident_changed
from spotline.privacy.crypto import normalize_phone, token_digest
from spotline.privacy.keys import key_destroy
from spotline.responders.models import Responder

log = logging.getLogger(__name__)


def estimator() -> StraightLineEstimator:
    return StraightLineEstimator(detour_factor=settings.SPOTLINE_DETOUR_FACTOR)


def policy_for(incident: Incident) -> PriorityPolicy:
    return settings.SPOTLINE_POLICY[Priority(incident.priority)]


def incident_point(incident: Incident) -> Point | None:
    if incident.lat is None or incident.lon is None:
        return None
    return Point(incident.lat, incident.lon)


# -- small helpers ------------------------------------------------------------------


def _event(
    incident: Incident,
    type: str,
    *,
    actor: Actor,
    now: datetime,
    user_id: int | None = None,
    **data: Any,
) -> None:
    IncidentEvent.objects.create(
        incident=incident, at=now, type=type, actor=actor.value, actor_user_id=user_id, data=data
    )
    # And an audit entry, in the same transaction: codes and ids only, never the data.
    record(f"incident.{type}", object_type="incident", object_id=incident.pk, now=now,
           actor=actor.value, actor_user_id=user_id)
    # Every change writes an event, so this is the one place that tells live pages.
    incident_changed(incident.pk)


def _attention(incident: Incident, reason: str, *, now: datetime) -> None:
    """Flag the incident for the dispatcher (the console sorts flagged ones first)."""
    incident.attention = reason
    incident.attention_at = now
    Incident.objects.filter(pk=incident.pk).update(attention=reason, attention_at=now)


def _lock(incident_id: int) -> Incident:
    try:
        return Incident.objects.select_for_update().get(pk=incident_id)
    except Incident.DoesNotExist:
        raise NotFound("no such incident") from None


def _lock_many(ids: Iterable[int]) -> dict[int, Incident]:
    """Lock several incidents in ascending id order (the global lock order)."""
    return {
        i.pk: i
        for i in Incident.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")
    }


def _lock_responder(responder_id: int) -> Responder:
    try:
        return Responder.objects.select_for_update().get(pk=responder_id)
    except Responder.DoesNotExist:
        raise NotFound("no such responder") from None


def _pending_offer_incidents(responder_id: int) -> set[int]:
    return set(Offer.objects.filter(responder_id=responder_id, status=OfferStatus.PENDING)
               .values_list("incident_id", flat=True))


def _give_back_offers(responder: Responder, *, now: datetime, why: str,
                      keep: int | None = None) -> None:
    """A responder who took an incident (or left shift) gives back their other offers.

    Each affected incident (already locked by the caller, in order) gets an event, a
    live push, and at once a wider round if nothing is left pending, so no request
    sits waiting on an offer its responder can no longer take.
    """
    for incident_id in sorted(_pending_offer_incidents(responder.pk) - {keep}):
        incident = _lock(incident_id)  # already held: this only re-reads the row
        Offer.objects.filter(incident=incident, responder=responder,
                             status=OfferStatus.PENDING).update(
            status=OfferStatus.WITHDRAWN, answered_at=now)
        _event(incident, "offer_withdrawn", actor=Actor.SYSTEM, now=now,
               responder_id=responder.pk, why=why)
        pending = Offer.objects.filter(incident=incident, status=OfferStatus.PENDING).exists()
        if should_widen(incident.state_enum) and not pending:
            _widen(incident, now=now, why=why)


def retry_on_deadlock(fn: Any) -> Any:
    """Run a whole action again if the database broke a deadlock by failing it.

    Actions are safe to repeat, and each attempt is its own transaction. If the
    conflict persists the error propagates; the API answers it with 503.
    """
    import functools

    from django.db import OperationalError, connection

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(3):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                code = getattr(exc.__cause__, "sqlstate", None)
                if code not in ("40P01", "40001") or attempt == 2 or connection.in_atomic_block:
                    raise
                log.warning("deadlock in %s; retrying", fn.__name__)
        raise AssertionError("unreachable")

    return wrapper


def _arm(incident: Incident, kind: TimerKind, *, round: int, due_at: datetime) -> None:
    Timer.objects.get_or_create(
        incident=incident, kind=kind.value, round=round, defaults={"due_at": due_at}
    )


# Alarms that a responder taking the incident answers. An ambulance request or a call
# for backup stays flagged until a dispatcher deals with it.
_CLEARED_BY_ASSIGNMENT = frozenset({"widened", "unanswered", "released", *Shortfall})

_STAMPS: dict[State, str] = {
    State.DISPATCHING: "dispatched_at",
    State.ASSIGNED: "assigned_at",
    State.EN_ROUTE: "en_route_at",
    State.ON_SCENE: "on_scene_at",
}


def _apply(
    incident: Incident,
    event: Event,
    *,
    now: datetime,
    actor: Actor,
    user_id: int | None = None,
    **data: Any,
) -> lifecycle.Transition:
    """Move the (locked) incident through the lifecycle and carry out the effects."""
    try:
        t = lifecycle.transition(incident.state_enum, event, now=now)
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from None
    changes: dict[str, Any] = {"state": t.new.value, "updated_at": now}
    stamp = _STAMPS.get(t.new)
    if stamp and (getattr(incident, stamp) is None or t.new is not State.DISPATCHING):
        changes[stamp] = now
    updated = Incident.objects.filter(pk=incident.pk, version=incident.version).update(
        version=F("version") + 1, **changes
    )
    if updated != 1:
        # Only possible if a writer skipped the row lock; never apply a stale decision.
        raise Conflict("the incident changed meanwhile; reload and try again")
    for field, value in changes.items():
        setattr(incident, field, value)
    incident.version += 1
    if t.new is State.ASSIGNED and incident.attention in _CLEARED_BY_ASSIGNMENT:
        _attention(incident, "", now=now)
    # Before the event: the event's audit entry locks the audit head, which must be the
    # last lock a transaction takes (safety timers lock rows of their own).
    _safety_follows(incident, t, now=now)
    _event(incident, event.value, actor=actor, now=now, user_id=user_id,
           **{"from": t.old.value, "to": t.new.value}, **data)
    for effect in t.effects:
        if effect is Effect.WITHDRAW_OFFERS:
            Offer.objects.filter(incident=incident, status=OfferStatus.PENDING).update(
                status=OfferStatus.WITHDRAWN, answered_at=now
            )
        elif effect is Effect.START_OFFERS:
            _start_round(incident, now=now)
            _arm(incident, TimerKind.DEADLINE, round=incident.current_round,
                 due_at=now + policy_for(incident).deadline)
        elif effect is Effect.CLOSE:
            _close(incident, now=now, actor=actor)
    _text_the_person(incident, t.new, now=now)
    return t


def _safety_follows(incident: Incident, t: lifecycle.Transition, *, now: datetime) -> None:
    """Arriving on scene starts the responder's safety timer; leaving the scene ends it.

    Here, in the one place every state change passes, so no path can skip it (the
    incident is locked, then the timer: the lock order of safety deadlines too).
    """
    from spotline.checkins import safety

    if t.new is State.ON_SCENE and t.old is not State.ON_SCENE and incident.assigned_responder_id:
        safety.safety_start(incident=incident, responder_id=incident.assigned_responder_id,
                            now=now)
    elif t.old is State.ON_SCENE and t.new is not State.ON_SCENE:
        safety.safety_end(incident_id=incident.pk, now=now)


def backup_open(incident: Incident, *, why: str, now: datetime, actor: Actor,
                user_id: int | None = None) -> Incident | None:
    """Send the nearest other responders to a responder in trouble on ``incident``.

    A backup is an incident of its own (P1, same place and kind, linked by
    ``backup_for``), so it gets the whole loop: offers to the nearest qualified free
    responders, widening, deadlines, the dispatcher's alarm. The responder in trouble
    holds ``incident``, so they are never offered their own backup. Never the police:
    the last escalation stays an ambulance, decided by a dispatcher. Call with
    ``incident`` locked. Returns the backup, or None when one is already open.
    """
    _attention(incident, why, now=now)
    open_backup = Incident.objects.filter(backup_for=incident, closed_at__isnull=True).first()
    if open_backup is not None:
        _event(incident, "backup_again", actor=actor, now=now, user_id=user_id, why=why,
               backup_id=open_backup.pk)
        return None
    opened = incident_open(
        kind=Kind(incident.kind), location=incident_point(incident), now=now,
        accuracy_m=incident.accuracy_m, description=incident.location_description,
        details=f"Backup for a responder on incident {incident.pk} ({why.replace('_', ' ')}).",
        danger=Answer.YES, language=incident.language, source=Source.BACKUP,
        priority=Priority.P1, backup_for=incident,
        opened_by_user_id=user_id,
    )
    _event(incident, "backup_sent", actor=actor, now=now, user_id=user_id, why=why,
           backup_id=opened.incident.pk)
    return opened.incident


def _text_the_person(incident: Incident, state: State, *, now: datetime) -> None:
    """Someone who asked by SMS hears by SMS how it is going (through the outbox).

    Only a first name or alias, never more; only the states that change what the
    person should do. Their status page says the same, live.
    """
    if incident.source != Source.SMS or not incident.callback_phone:
        return
    from django.utils import translation
    from django.utils.translation import gettext

    from spotline.notify.actions import message_queue

    with translation.override(incident.language or "en"):
        name = (incident.assigned_responder.alias if incident.assigned_responder else "") \
            or gettext("A responder")
        texts = {
            State.ASSIGNED: gettext("%(name)s is coming to help.") % {"name": name},
            State.ON_SCENE: gettext("%(name)s has arrived.") % {"name": name},
            State.UNABLE_TO_LOCATE: gettext(
                "We could not find you. Text us where you are if you still need help."),
        }
        body = texts.get(state)
    if body is None:
        return
    message_queue(
        key=f"status:{incident.pk}:{incident.version}", purpose="status", body=body,
        channels=["sms"], to=incident.callback_number, incident=incident, now=now,
    )


def _candidate(rid: int, lat: float | None, lon: float | None, mode: str,
               skills: list[str], busy: bool) -> Candidate:
    known = Skill._value2member_map_
    return Candidate(
        responder_id=rid,
        location=Point(lat, lon) if lat is not None and lon is not None else None,
        mode=Mode(mode),
        skills=frozenset(Skill(s) for s in skills if s in known),
        on_shift=True,
        busy=busy,
    )


def _candidates(required: frozenset[Skill]) -> list[Candidate]:
    """Everyone on shift, with whether they are busy; the policy filters and ranks.

    The brute-force scan: ``plan_nearest`` falls back to it, and the tests and
    ``bench/nearest.py`` hold the indexed search to its answers.
    """
    busy = set(
        Incident.objects.filter(
            state__in=[s.value for s in HELD], assigned_responder__isnull=False
        ).values_list("assigned_responder_id", flat=True)
    )
    rows = Responder.objects.filter(on_shift_since__isnull=False).values_list(
        "id", "lat", "lon", "mode", "skills"
    )
    return [_candidate(rid, lat, lon, mode, skills, rid in busy)
            for rid, lat, lon, mode, skills in rows]


def _candidates_within(
    boxes: dict[Mode, nearest.Box], required: frozenset[Skill] = frozenset()
) -> list[Candidate]:
    """The on-shift responders of each mode inside that mode's box, in one query.

    Each mode's term is a run of short seeks in the partial index
    responder_on_shift_band (mode, lat_band, lon, lat): one range of longitudes per
    latitude band, the box's latitudes checked in the index too. Each term repeats the
    index's condition so that SQLite can use it for every branch of the OR. Whether a
    responder is busy comes from the same query. Raw SQL: the ORM spent longer building
    this statement than the database spends answering it.
    """
    responders, incidents = Responder._meta.db_table, Incident._meta.db_table
    # Placeholders in the order they appear: the EXISTS first, then the terms.
    params: list[str | int | float] = [s.value for s in HELD]
    terms = []
    for mode, box in boxes.items():
        bands = box.bands
        terms.append(
            f"(r.mode = %s AND r.on_shift_since IS NOT NULL"
            f" AND r.lat_band IN ({', '.join(['%s'] * len(bands))})"
            f" AND r.lon >= %s AND r.lon <= %s AND r.lat >= %s AND r.lat <= %s)")
        params += [mode.value, *bands, box.lon_min, box.lon_max, box.lat_min, box.lat_max]
    where = " OR ".join(terms)
    if required and connection.vendor == "postgresql":
        where = f"({where}) AND r.skills @> %s::jsonb"
        params.append(json.dumps(sorted(required)))
    elif required:
        for skill in sorted(required):
            where = (f"({where}) AND EXISTS (SELECT 1 FROM json_each(r.skills) s"  # noqa: S608
                     f" WHERE s.value = %s)")
            params.append(skill.value)
    held = ", ".join(["%s"] * len(HELD))
    # Only table names and placeholders are formatted in; every value is a parameter.
    sql = (f"SELECT r.id, r.lat, r.lon, r.mode, r.skills, EXISTS (SELECT 1 FROM {incidents} i"  # noqa: S608
           f" WHERE i.assigned_responder_id = r.id AND i.state IN ({held}))"
           f" FROM {responders} r WHERE {where}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_candidate(rid, lat, lon, mode,
                       json.loads(skills) if isinstance(skills, str) else skills, bool(busy))
            for rid, lat, lon, mode, skills, busy in rows]


def plan_nearest(
    *,
    location: Point | None,
    required: frozenset[Skill],
    past_offers: list[PastOffer],
    policy: PriorityPolicy,
    estimator: TravelTimeEstimator,
    now: datetime,
) -> Round:
    """``plan_round`` over everyone on shift, reading only those near enough to matter.

    Looks within growing travel-time budgets (core.nearest) and keeps the first round
    that is provably the full scan's; otherwise (no coordinates, no reach bound, a box
    at a pole or the antimeridian, or nobody close enough) scans everyone.
    """
    def plan(candidates: list[Candidate]) -> Round:
        return plan_round(location=location, required=required, candidates=candidates,
                          past_offers=past_offers, policy=policy, estimator=estimator,
                          now=now)

    k = policy.offers_per_round
    seconds = nearest.FIRST_BUDGET
    while True:
        boxes = nearest.search_boxes(location, seconds, estimator)
        if boxes is None:
            break
        near = _candidates_within(boxes, required)
        found = plan(near)
        if nearest.is_exact(found, k=k, seconds=seconds):
            return found
        if seconds >= nearest.LAST_BUDGET:
            break
        seconds = min(nearest.LAST_BUDGET, nearest.next_budget(seconds, found=len(near), k=k))
    return plan(_candidates(required))


def _past_offers(incident: Incident) -> list[PastOffer]:
    return [
        PastOffer(rid, OfferStatus(status))
        for rid, status in Offer.objects.filter(incident=incident).values_list(
            "responder_id", "status"
        )
    ]


def _start_round(
    incident: Incident, *, now: datetime, required: frozenset[Skill] | None = None
) -> int:
    """Offer the incident to the next K responders and arm the round's expiry timer.

    Always arms the timer, even when nobody could be offered: the next round then
    looks again, so a responder who comes on shift in the meantime gets the offer.
    Returns the number of offers made.
    """
    policy = policy_for(incident)
    skills = required if required is not None else frozenset(
        Skill(s) for s in incident.required_skills
    )
    plan = plan_nearest(
        location=incident_point(incident),
        required=skills,
        past_offers=_past_offers(incident),
        policy=policy,
        estimator=estimator(),
        now=now,
    )
    incident.current_round += 1
    # A responder whose earlier offer was withdrawn before they could answer keeps
    # their row (one offer row per responder per incident): it is reopened.
    existing = dict(
        Offer.objects.filter(
            incident=incident, responder_id__in=[r.responder_id for r in plan.offers]
        ).values_list("responder_id", "id")
    )
    fresh = []
    for r in plan.offers:
        fields = {
            "round": incident.current_round, "status": OfferStatus.PENDING,
            "eta_seconds": r.eta_seconds, "distance_m": r.distance_m,
            "created_at": now, "expires_at": plan.expires_at,
        }
        if r.responder_id in existing:
            Offer.objects.filter(pk=existing[r.responder_id],
                                 status=OfferStatus.WITHDRAWN).update(answered_at=None, **fields)
        else:
            fresh.append(Offer(incident=incident, responder_id=r.responder_id, **fields))
    Offer.objects.bulk_create(fresh)
    _notify_offers(incident, plan.offers, now=now)
    shortfall = plan.shortfall.value if plan.shortfall else ""
    previous = incident.round_shortfall
    incident.round_shortfall = shortfall
    Incident.objects.filter(pk=incident.pk).update(
        current_round=incident.current_round, round_shortfall=shortfall
    )
    _arm(incident, TimerKind.ROUND_EXPIRY, round=incident.current_round, due_at=plan.expires_at)
    if plan.offers:
        _event(incident, "offers_made", actor=Actor.SYSTEM, now=now,
               round=incident.current_round,
               responder_ids=[r.responder_id for r in plan.offers])
    elif shortfall != previous:
        # Say so once per change, not every round: a quiet night must not bury the
        # timeline under identical "still nobody" lines.
        _event(incident, "no_offers", actor=Actor.SYSTEM, now=now,
               round=incident.current_round, shortfall=shortfall)
        if shortfall:
            _attention(incident, shortfall, now=now)
    return len(plan.offers)


def _notify_offers(incident: Incident, ranked: Iterable[Any], *, now: datetime) -> None:
    """Queue an offer message per responder, in this transaction (the outbox).

    The text names the kind, priority and distance, never the place: the exact
    location is for whoever accepts.
    """
    from spotline.notify.actions import messages_queue

    ranked = list(ranked)
    responders = Responder.objects.in_bulk([r.responder_id for r in ranked])
    offers = dict(Offer.objects.filter(
        incident=incident, responder_id__in=list(responders)).values_list("responder_id", "id"))
    queue: list[dict[str, Any]] = []
    for r in ranked:
        responder = responders[r.responder_id]
        eta = f" about {max(1, round(r.eta_seconds / 60))} min away" if r.eta_seconds else ""
        offer_id = offers[r.responder_id]
        body = (f"Spotline: {incident.priority} {incident.kind.replace('_', ' ')}{eta}. "
                f"Reply YES {offer_id} to accept, NO {offer_id} to decline, or open "
                f"{settings.SPOTLINE_SITE_URL}/responder/")
        queue.append({
            "key": f"offer:{offer_id}:{incident.current_round}", "purpose": "offer",
            "body": body, "channels": responder.channels or settings.DEFAULT_OFFER_CHANNELS,
            "responder": responder, "incident": incident, "offer_id": offer_id,
        })
        if incident.priority == Priority.P1 and responder.phone_sealed:
            # Still unanswered after a while: ring their phone ("press 1 to accept").
            # The sender drops the call if the offer was answered or withdrawn by then.
            queue.append({
                "key": f"offer-call:{offer_id}:{incident.current_round}", "purpose": "offer_call",
                "body": body, "channels": ["voice"], "responder": responder, "incident": incident,
                "offer_id": offer_id,
                "not_before": now + timedelta(seconds=settings.SPOTLINE_OFFER_CALL_AFTER_SECONDS),
            })
    # One read and one insert for the round (get_or_create per message was a query,
    # a savepoint and an insert each: a third of a new incident's statements).
    messages_queue(queue, now=now)


def _close(incident: Incident, *, now: datetime, actor: Actor) -> None:
    reason = unserved_reason(
        final_state=incident.state_enum,
        reached_scene=incident.on_scene_at is not None,
        ever_assigned=incident.assigned_at is not None,
        round_shortfall=Shortfall(incident.round_shortfall) if incident.round_shortfall else None,
        past_offers=_past_offers(incident),
        closed_by=actor,
    )
    incident.closed_at = now
    incident.closed_by = actor.value
    incident.unserved_reason = reason.value if reason else ""
    Incident.objects.filter(pk=incident.pk).update(
        closed_at=now, closed_by=actor.value, unserved_reason=incident.unserved_reason
    )
    if reason:
        _event(incident, "unserved", actor=Actor.SYSTEM, now=now, reason=reason.value)
    _arm(incident, TimerKind.PURGE, round=0,
         due_at=now + timedelta(hours=settings.SPOTLINE_RETENTION_HOURS))


# -- opening ------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    incident: Incident
    tracking_token: str


def incident_open(
    *,
    kind: Kind,
    location: Point | None,
    now: datetime,
    accuracy_m: float | None = None,
    description: str = "",
    details: str = "",
    breathing: Answer = Answer.UNKNOWN,
    conscious: Answer = Answer.UNKNOWN,
    danger: Answer = Answer.UNKNOWN,
    callback_phone: str = "",
    language: str = "en",
    source: Source = Source.WEB,
    opened_by_user_id: int | None = None,
    priority: Priority | None = None,
    backup_for: Incident | None = None,
    make_offers: bool = True,
) -> Opened:
    """Turn a request for help into an incident and make the first round of offers.

    Everything happens in one transaction: once it commits (and only then does the
    caller answer 201), the incident, its offers and its timers all exist, so a crash
    right after the answer loses nothing.

    ``priority`` raises (never lowers) the triaged priority. ``make_offers=False``
    (a check-in plan that asked for an ambulance but no responders) leaves the
    incident new and flagged for a dispatcher, who can still send someone.
    """
    if location is None and not description.strip():
        raise Invalid("a location needs lat and lon, or a description of the place")
    t = triage(kind, breathing=breathing, conscious=conscious, danger=danger)
    chosen = min(t.priority, priority) if priority else t.priority  # "P1" < "P2"
    token = secrets.token_urlsafe(18)
    with audit_atomic():
        incident = Incident.objects.create(
            kind=kind.value,
            priority=chosen.value,
            required_skills=sorted(s.value for s in t.skills),
            backup_for=backup_for,
            source=source.value,
            breathing=breathing.value,
            conscious=conscious.value,
            danger=danger.value,
            language=language,
            lat=location.lat if location else None,
            lon=location.lon if location else None,
            accuracy_m=accuracy_m,
            location_description=description.strip(),
            details=details.strip(),
            callback_phone=normalize_phone(callback_phone) if callback_phone.strip() else "",
            area=area_cell(location) if location else "",
            tracking_digest=token_digest(token),
            opened_at=now,
            updated_at=now,
        )
        actor = Actor.DISPATCHER if opened_by_user_id else Actor.PERSON
        _event(incident, "opened", actor=actor, now=now, user_id=opened_by_user_id,
               kind=kind.value, priority=chosen.value, source=source.value)
        if make_offers:
            _apply(incident, Event.DISPATCH, now=now, actor=Actor.SYSTEM)
        else:
            _attention(incident, "no_responders_wanted", now=now)
    log.info("incident opened id=%s kind=%s priority=%s", incident.pk, kind.value,
             chosen.value)
    return Opened(incident=incident, tracking_token=token)


def incident_by_token(token: str) -> Incident:
    try:
        return Incident.objects.get(tracking_digest=token_digest(token))
    except Incident.DoesNotExist:
        raise NotFound("no such request") from None


# -- offers -------------------------------------------------------------------------


def _offer_incident_id(offer_id: int, responder: Responder) -> int:
    incident_id = (
        Offer.objects.filter(pk=offer_id, responder=responder)
        .values_list("incident_id", flat=True)
        .first()
    )
    if incident_id is None:
        raise NotFound("no such offer")
    return incident_id


@retry_on_deadlock
def offer_accept(*, offer_id: int, responder: Responder, now: datetime) -> Offer:
    """First accept wins; the other offers are withdrawn. Safe to repeat while the
    incident is held: once it closes, a repeat is refused, because whoever accepts is
    answered with the exact place, and that is theirs only until closing.

    An offer that merely expired can still be accepted while nobody else holds the
    incident: a responder who answers ten seconds late is still the fastest help.
    """
    incident_id = _offer_incident_id(offer_id, responder)
    try:
        with audit_atomic():
            # Lock order: the responder, then every incident this touches, by id.
            me = _lock_responder(responder.pk)
            incident = _lock_many(_pending_offer_incidents(me.pk) | {incident_id})[incident_id]
            offer = Offer.objects.select_for_update().get(pk=offer_id)
            if offer.status == OfferStatus.ACCEPTED:
                if incident.state_enum not in HELD:
                    raise Conflict("this incident is closed")
                return offer
            if offer.status == OfferStatus.DECLINED:
                raise Conflict("you declined this offer")
            if incident.state != State.DISPATCHING:
                raise IncidentTaken("this incident is already taken or closed")
            if me.on_shift_since is None:
                raise Conflict("go on shift before accepting an offer")
            from spotline.responders.actions import holds_open_incident

            if holds_open_incident(me):
                raise Conflict("you already hold an open incident: finish or release it first")
            offer.status = OfferStatus.ACCEPTED
            offer.answered_at = now
            offer.save(update_fields=["status", "answered_at"])
            incident.assigned_responder = responder
            incident.save(update_fields=["assigned_responder"])
            _apply(incident, Event.ACCEPT, now=now, actor=Actor.RESPONDER,
                   user_id=responder.user_id, responder_id=responder.pk, offer_id=offer.pk)
            # One incident at a time: this responder's other pending offers go back.
            _give_back_offers(me, now=now, why="responder_busy", keep=incident_id)
    except IntegrityError:
        # The partial unique indexes ("one accepted offer per incident", "one held
        # incident per responder") are the backstop.
        raise IncidentTaken("this incident is already taken") from None
    log.info("offer accepted offer=%s incident=%s", offer.pk, incident.pk)
    return offer


def offer_decline(*, offer_id: int, responder: Responder, now: datetime) -> Offer:
    """Decline; if that leaves no pending offer, widen at once rather than wait."""
    incident_id = _offer_incident_id(offer_id, responder)
    with audit_atomic():
        incident = _lock(incident_id)
        offer = Offer.objects.select_for_update().get(pk=offer_id)
        if offer.status == OfferStatus.ACCEPTED:
            raise Conflict("you accepted this offer: release the incident instead")
        if offer.status != OfferStatus.PENDING:
            # Already declined, expired or withdrawn: what became of it feeds the
            # reports, so a late tap changes nothing.
            return offer
        offer.status = OfferStatus.DECLINED
        offer.answered_at = now
        offer.save(update_fields=["status", "answered_at"])
        _event(incident, "offer_declined", actor=Actor.RESPONDER, now=now,
               user_id=responder.user_id, responder_id=responder.pk, offer_id=offer.pk)
        pending = Offer.objects.filter(incident=incident, status=OfferStatus.PENDING).exists()
        if should_widen(incident.state_enum) and not pending:
            _widen(incident, now=now, why="all_declined")
    return offer


def offers_withdraw_for(*, responder: Responder, now: datetime) -> None:
    """A responder leaving shift gives back their pending offers (responder locked)."""
    _lock_many(_pending_offer_incidents(responder.pk))
    _give_back_offers(responder, now=now, why="responder_left")


def _widen(incident: Incident, *, now: datetime, why: str) -> None:
    made = _start_round(incident, now=now)
    _event(incident, "widened", actor=Actor.SYSTEM, now=now, round=incident.current_round,
           offers=made, why=why)
    _attention(incident, "widened", now=now)


# -- timers ---------------------------------------------------------------------------


def round_expire(*, timer: Timer, now: datetime) -> None:
    """A round's offers ran out: expire them and, if still nobody holds it, widen."""
    incident = _lock(timer.incident_id)
    expired = Offer.objects.filter(
        incident=incident, round=timer.round, status=OfferStatus.PENDING
    ).update(status=OfferStatus.EXPIRED, answered_at=now)
    if expired:
        _event(incident, "offers_expired", actor=Actor.SYSTEM, now=now,
               round=timer.round, count=expired)
    # A request nobody could answer for SPOTLINE_MAX_OPEN_HOURS is closed as unserved,
    # so its personal data enters the retention window instead of living forever.
    max_age = timedelta(hours=settings.SPOTLINE_MAX_OPEN_HOURS)
    if incident.state_enum is State.DISPATCHING and now - incident.opened_at >= max_age:
        _event(incident, "expired_unserved", actor=Actor.SYSTEM, now=now,
               hours=settings.SPOTLINE_MAX_OPEN_HOURS)
        _apply(incident, Event.CANCEL, now=now, actor=Actor.SYSTEM)
        return
    # A later round (an escalation, a decline) has its own timer; only the newest
    # round's expiry widens.
    if timer.round == incident.current_round and should_widen(incident.state_enum):
        if expired:
            _widen(incident, now=now, why="no_answer")
        else:
            _start_round(incident, now=now)


def deadline_reach(*, timer: Timer, now: datetime) -> None:
    """Nobody accepted in time: mark unanswered, propose an ambulance, maybe request it."""
    incident = _lock(timer.incident_id)
    if Timer.objects.filter(incident=incident, kind=TimerKind.DEADLINE,
                            round__gt=timer.round).exists():
        return  # a release started a new search with a deadline of its own
    decision = on_deadline(state=incident.state_enum, policy=policy_for(incident))
    if not decision.mark_unanswered:
        return
    incident.unanswered_at = incident.ems_proposed_at = now
    Incident.objects.filter(pk=incident.pk).update(unanswered_at=now, ems_proposed_at=now)
    _event(incident, "unanswered", actor=Actor.POLICY, now=now, round=incident.current_round)
    _event(incident, "ems_proposed", actor=Actor.POLICY, now=now)
    _attention(incident, "unanswered", now=now)
    if decision.request_ems:
        _request_ems(incident, actor=Actor.POLICY, user_id=None, now=now)


def incident_purge(*, timer: Timer, now: datetime) -> None:
    """Destroy the personal data of a closed incident; keep the coarse record."""
    incident = _lock(timer.incident_id)
    if incident.closed_at is None or incident.purged_at is not None:
        return
    # Destroying the data key makes every copy of the sealed fields unreadable (old
    # pages, WAL frames, backups); blanking them tidies the live row.
    key_destroy(incident.data_key_id, now=now)
    Incident.objects.filter(pk=incident.pk).update(
        lat=None, lon=None, accuracy_m=None, location_description="", details="",
        callback_phone="", purged_at=now,
    )
    Outcome.objects.filter(incident=incident).update(notes="")
    IncidentNote.objects.filter(incident=incident).delete()
    from spotline.notify.models import Message

    # Messages are blanked once sent; one never sent (a provider down for days) is too.
    Message.objects.filter(incident=incident).update(to_sealed="", body_sealed="")
    from spotline.intake.sms import conversations_purge

    conversations_purge(incident.pk)
    _event(incident, "purged", actor=Actor.SYSTEM, now=now)


# -- dispatcher actions -----------------------------------------------------------------


def _request_ems(incident: Incident, *, actor: Actor, user_id: int | None,
                 now: datetime) -> bool:
    if incident.ems_requested_at is not None:
        return False
    incident.ems_requested_at = now
    incident.ems_requested_by = actor.value
    Incident.objects.filter(pk=incident.pk).update(ems_requested_at=now,
                                                   ems_requested_by=actor.value)
    _event(incident, "escalated", actor=actor, now=now, user_id=user_id,
           to=EscalationTarget.EMS.value)
    # Spotline does not place the call itself: the console shows "call an ambulance"
    # until a dispatcher confirms it. Nothing here can reach the police.
    _attention(incident, "ems_requested", now=now)
    return True


def incident_escalate(
    *, incident_id: int, to: EscalationTarget, user_id: int | None, now: datetime,
    actor: Actor = Actor.DISPATCHER,
) -> Incident:
    with audit_atomic():
        incident = _lock(incident_id)
        if not incident.is_open:
            raise Conflict("this incident is closed")
        if to is EscalationTarget.EMS:
            _request_ems(incident, actor=actor, user_id=user_id, now=now)
            return incident
        if incident.state_enum is not State.DISPATCHING:
            raise Conflict(
                f"only an incident still looking for a responder can get {to.value}; "
                "this one is held: reassign it instead"
            )
        required = (
            frozenset({Skill.CRISIS_TEAM}) if to is EscalationTarget.CRISIS_TEAM else None
        )
        made = _start_round(incident, now=now, required=required)
        _event(incident, "escalated", actor=actor, now=now, user_id=user_id, to=to.value,
               round=incident.current_round, offers=made)
    return incident


@retry_on_deadlock
def incident_assign(
    *, incident_id: int, responder_id: int, user_id: int | None, now: datetime
) -> Incident:
    """A dispatcher assigns (or reassigns) a responder directly."""
    from spotline.responders.actions import holds_open_incident

    with audit_atomic():
        # Lock order: the responder, then every incident this touches, by id.
        responder = _lock_responder(responder_id)
        locked = _lock_many(_pending_offer_incidents(responder.pk) | {incident_id})
        if incident_id not in locked:
            raise NotFound("no such incident")
        incident = locked[incident_id]
        name = responder.display_name
        if incident.assigned_responder_id == responder.pk and incident.state_enum in HELD:
            return incident
        if responder.on_shift_since is None:
            raise Conflict(f"{name} is off shift: ask them to go on shift first")
        if holds_open_incident(responder):
            raise Conflict(f"{name} already holds an open incident")
        if (incident.state_enum, Event.ASSIGN) not in lifecycle.TRANSITIONS:
            raise Conflict(f"cannot assign an incident that is {incident.state}")
        Offer.objects.filter(incident=incident, status=OfferStatus.ACCEPTED).update(
            status=OfferStatus.RELEASED, answered_at=now
        )
        offer, created = Offer.objects.get_or_create(
            incident=incident, responder=responder,
            defaults={"round": 0, "status": OfferStatus.ACCEPTED, "created_at": now,
                      "expires_at": now, "answered_at": now},
        )
        if not created:
            Offer.objects.filter(pk=offer.pk).update(status=OfferStatus.ACCEPTED,
                                                     answered_at=now)
        previous = incident.assigned_responder_id
        incident.assigned_responder = responder
        incident.save(update_fields=["assigned_responder"])
        _apply(incident, Event.ASSIGN, now=now, actor=Actor.DISPATCHER, user_id=user_id,
               responder_id=responder.pk, previous_responder_id=previous)
        # One incident at a time: the assignee's other pending offers go back.
        _give_back_offers(responder, now=now, why="responder_busy", keep=incident_id)
    return incident


def incident_cancel(
    *, incident_id: int, actor: Actor, user_id: int | None, now: datetime
) -> Incident:
    """Cancel: by the person ("they are OK now") or by a dispatcher. Safe to repeat."""
    with audit_atomic():
        incident = _lock(incident_id)
        if incident.state_enum is State.CANCELLED:
            return incident
        _apply(incident, Event.CANCEL, now=now, actor=actor, user_id=user_id)
    return incident


# -- responder reports ----------------------------------------------------------------

REPORTS: dict[str, Event] = {
    "en_route": Event.EN_ROUTE,
    "on_scene": Event.ON_SCENE,
    "unable_to_locate": Event.UNABLE_TO_LOCATE,
    "resolved": Event.RESOLVE,
    "release": Event.RELEASE,
}

_REPORTED_STATE: dict[Event, State] = {
    Event.EN_ROUTE: State.EN_ROUTE,
    Event.ON_SCENE: State.ON_SCENE,
    Event.RESOLVE: State.RESOLVED,
    Event.UNABLE_TO_LOCATE: State.UNABLE_TO_LOCATE,
}


def _held_by(incident_id: int, responder: Responder | None) -> Incident:
    incident = _lock(incident_id)
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
                _event(incident, "need_backup", actor=actor, now=now, user_id=user_id)
                backup_open(incident, why="need_backup", now=now, actor=actor,
                            user_id=user_id)
            return incident
        event = REPORTS.get(type)
        if event is None:
            raise Invalid(f"unknown event type {type!r}")
        if incident.state_enum is _REPORTED_STATE.get(event):
            return incident
        if event is Event.RELEASE:
            Offer.objects.filter(incident=incident, status=OfferStatus.ACCEPTED).update(
                status=OfferStatus.RELEASED, answered_at=now
            )
            incident.assigned_responder = None
            incident.save(update_fields=["assigned_responder"])
            _attention(incident, "released", now=now)
        _apply(incident, event, now=now, actor=actor, user_id=user_id)
    return incident


def incident_outcome(
    *, incident_id: int, responder: Responder | None, user_id: int | None, now: datetime,
    naloxone_doses: int, responsive_after: Answer, ems: EmsOutcome,
    referrals: Iterable[str], notes: str = "",
) -> Outcome:
    """Record (or correct) the outcome, from on scene until the purge."""
    with audit_atomic():
        incident = _held_by(incident_id, responder)
        if incident.on_scene_at is None:
            raise Conflict("an outcome is recorded once a responder is on scene")
        if incident.purged_at is not None:
            raise Conflict("this incident's details were already destroyed")
        outcome, _ = Outcome.objects.update_or_create(
            incident=incident,
            defaults={
                "recorded_at": now, "recorded_by_user_id": user_id,
                "naloxone_doses": naloxone_doses, "responsive_after": responsive_after.value,
                "ems": ems.value, "referrals": sorted({str(r) for r in referrals}),
                "notes": notes.strip(),
            },
        )
        _event(incident, "outcome", actor=Actor.RESPONDER if responder else Actor.DISPATCHER,
               now=now, user_id=user_id, naloxone_doses=naloxone_doses, ems=ems.value)
    return outcome


def incident_note(*, incident_id: int, text: str, user_id: int | None, now: datetime
                  ) -> IncidentNote:
    """A dispatcher's note. The timeline records that a note was added, not its text."""
    text = text.strip()
    if not text or len(text) > 2000 or "\x00" in text:
        raise Invalid("a note is 1 to 2000 characters of text")
    with audit_atomic():
        incident = _lock(incident_id)
        if incident.purged_at is not None:
            raise Conflict("this incident's details were already destroyed")
        note = IncidentNote.objects.create(incident=incident, at=now, user_id=user_id, text=text)
        _event(incident, "note", actor=Actor.DISPATCHER, now=now, user_id=user_id,
               note_id=note.pk)
    return note
