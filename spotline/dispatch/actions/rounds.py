"""A round of offers: the next nearest responders, their offer messages, the expiry
timer; and widening when a round ran out.

The offer text names the kind, priority and distance, never the place: the exact
location is for whoever accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F

from spotline.core.policy import (
    COOLING,
    EMS_TARGET_KINDS,
    Actor,
    DeadlineDecision,
    OfferStatus,
    Ranked,
    Round,
    Shortfall,
    ems_at_once,
)
from spotline.core.stage import Stage
from spotline.core.triage import Kind, Priority, Skill
from spotline.dispatch.actions.ambulance import ems_propose
from spotline.dispatch.actions.person import tell_the_person
from spotline.dispatch.actions.records import arm, event, flag
from spotline.dispatch.actions.search import (
    Contact,
    Found,
    backup_for_responders,
    estimator,
    incident_point,
    incident_radius,
    past_offers,
    policy_for,
    search,
)
from spotline.dispatch.models import Incident, Offer, TimerKind
from spotline.notify.actions import messages_queue


def find(incident: Incident, *, now: datetime, required: frozenset[Skill] | None = None,
         first: bool = False, asked: bool = False) -> Found:
    """The next round for this incident (``first``: it has had no offers yet; ``asked``:
    a dispatcher asked for it, which offers even without a point)."""
    skills = required if required is not None else frozenset(
        Skill(s) for s in incident.required_skills)
    return search(location=incident_point(incident), required=skills,
                  past_offers=[] if first else past_offers(incident),
                  policy=policy_for(incident), estimator=estimator(), now=now,
                  radius_m=incident_radius(incident), asked=asked,
                  excluded=backup_for_responders(incident))


def nobody_stage(shortfall: str) -> Stage:
    """What to tell the person when a round could offer nobody: where they are, when
    that is what is missing; otherwise that nobody is free."""
    return (Stage.LOCATION_NEEDED if shortfall == Shortfall.LOCATION_UNKNOWN
            else Stage.UNANSWERED)


def offer_rows(incident: Incident, plan: Round, *, now: datetime) -> list[Offer]:
    """A first round's offers, unsaved (``incident.current_round`` already advanced)."""
    return [Offer(incident=incident, responder_id=r.responder_id, round=incident.current_round,
                  status=OfferStatus.PENDING, eta_seconds=r.eta_seconds,
                  distance_m=r.distance_m, created_at=now, expires_at=plan.expires_at)
            for r in plan.offers]


def minutes(seconds: float) -> int:
    """A travel time as texts and timeline lines say it: whole minutes, at least 1."""
    return max(1, round(seconds / 60))


def offer_messages(incident: Incident, ranked: Iterable[Ranked], offer_ids: dict[int, int],
                   contacts: dict[int, Contact], *, now: datetime) -> list[dict[str, Any]]:
    """One offer message per responder (and, for a P1, a call if still unanswered)."""
    queue: list[dict[str, Any]] = []
    for r in ranked:
        contact = contacts[r.responder_id]
        eta = f" about {minutes(r.eta_seconds)} min away" if r.eta_seconds else ""
        # The responder decides knowing how sure the place is (never the place itself).
        where = {"approximate": " (place approximate)",
                 "unknown": " (place not known yet)"}.get(incident.location_status, "")
        offer_id = offer_ids[r.responder_id]
        body = (f"Spotline: {incident.priority} {incident.kind.replace('_', ' ')}{eta}"
                f"{where}. "
                f"Reply YES {offer_id} to accept, NO {offer_id} to decline, or open "
                f"{settings.SPOTLINE_SITE_URL}/responder/")
        queue.append({
            "key": f"offer:{offer_id}:{incident.current_round}", "purpose": "offer",
            "body": body, "channels": contact.channels or settings.DEFAULT_OFFER_CHANNELS,
            "responder_id": r.responder_id, "incident_id": incident.pk, "offer_id": offer_id,
        })
        if incident.priority == Priority.P1 and contact.has_phone:
            # Still unanswered after a while: ring their phone ("press 1 to accept").
            # The sender drops the call if the offer was answered or withdrawn by then.
            queue.append({
                "key": f"offer-call:{offer_id}:{incident.current_round}",
                "purpose": "offer_call", "body": body, "channels": ["voice"],
                "responder_id": r.responder_id, "incident_id": incident.pk,
                "offer_id": offer_id,
                "not_before": now + timedelta(seconds=settings.SPOTLINE_OFFER_CALL_AFTER_SECONDS),
            })
    return queue


def offer_round(incident: Incident, ranked: Sequence[Ranked], *, expires_at: datetime,
                contacts: dict[int, Contact], now: datetime, shortfall: str = "") -> None:
    """A new round offering the (locked) incident to ``ranked``: their offer rows, their
    messages, the round's expiry timer, and ``shortfall`` (why it offers nobody, if so)
    as the incident's ``round_shortfall``. Nothing is decided here.

    One offer row per responder per incident: a responder asked before (withdrawn
    before they could answer, or asked again after a cool-down) has theirs reopened,
    counting the ask unless it was withdrawn unanswered."""
    incident.current_round += 1
    existing = dict(Offer.objects.filter(
        incident=incident, responder_id__in=[r.responder_id for r in ranked],
    ).values_list("responder_id", "id"))
    fresh = []
    for r in ranked:
        fields = {
            "round": incident.current_round, "status": OfferStatus.PENDING,
            "eta_seconds": r.eta_seconds, "distance_m": r.distance_m,
            "created_at": now, "expires_at": expires_at, "answered_at": None,
        }
        if r.responder_id in existing:
            reopen = Offer.objects.filter(pk=existing[r.responder_id])
            reopen.filter(status__in=COOLING).update(asks=F("asks") + 1, **fields)
            reopen.filter(status=OfferStatus.WITHDRAWN).update(**fields)
        else:
            fresh.append(Offer(incident=incident, responder_id=r.responder_id, **fields))
    Offer.objects.bulk_create(fresh)
    offer_ids = {**existing, **{o.responder_id: o.pk for o in fresh}}
    # One insert for the round's messages (a get_or_create per message was a query, a
    # savepoint and an insert each: a third of a new incident's statements).
    messages_queue(offer_messages(incident, ranked, offer_ids, contacts, now=now), now=now)
    incident.round_shortfall = shortfall
    Incident.objects.filter(pk=incident.pk).update(current_round=incident.current_round,
                                                   round_shortfall=shortfall)
    arm(incident, TimerKind.ROUND_EXPIRY, round=incident.current_round, due_at=expires_at)
    if ranked and incident.attention in SHORTFALLS:
        # "No one left to ask" is no longer true: someone is being asked again.
        flag(incident, "widened", now=now)


# Alarms a round that offers someone answers. Not "location unknown": whoever accepts
# still needs the place, so "set the place" stays the dispatcher's alarm.
SHORTFALLS = frozenset(s.value for s in Shortfall) - {Shortfall.LOCATION_UNKNOWN.value}


def nobody_data(plan: Round) -> dict[str, Any]:
    """What a "no_offers" event says: why, and how far the nearest beyond the cap is."""
    data: dict[str, Any] = {"shortfall": plan.shortfall.value if plan.shortfall else ""}
    beyond = plan.nearest_beyond
    if beyond is not None and beyond.eta_seconds is not None:
        data["nearest_minutes"] = minutes(beyond.eta_seconds)
    return data


def ems_decision(incident: Incident, etas: Sequence[float | None]
                 ) -> tuple[DeadlineDecision, dict[str, Any]]:
    """``core.policy.ems_at_once`` for this incident, whose open offers have ``etas``,
    and what its "ems_proposed" event says. Reads nothing."""
    policy = policy_for(incident)
    decision = ems_at_once(kind=Kind(incident.kind), state=incident.state_enum,
                           policy=policy, located=incident_point(incident) is not None,
                           offered_etas=etas)
    data: dict[str, Any] = {"why": "beyond_target"}
    if policy.ems_target is not None:
        data["target_minutes"] = round(policy.ems_target.total_seconds() / 60)
    known = [e for e in etas if e is not None]
    if known:
        data["nearest_minutes"] = minutes(min(known))
    return decision, data


def ems_check(incident: Incident, *, now: datetime) -> bool:
    """After a round: an overdose nobody offered can reach within the target gets an
    ambulance proposed now (``core.policy.ems_at_once``), not at the deadline. True if
    it was proposed by this call (the person was told)."""
    if (incident.ems_proposed_at is not None or incident.ems_requested_at is not None
            or policy_for(incident).ems_target is None
            or incident.kind not in EMS_TARGET_KINDS):
        return False  # nothing to decide, nothing to read
    etas = list(Offer.objects.filter(incident=incident, status=OfferStatus.PENDING)
                .values_list("eta_seconds", flat=True))
    decision, data = ems_decision(incident, etas)
    ems_propose(incident, decision, now=now, **data)
    return decision.propose_ems


def round_start(incident: Incident, *, now: datetime,
                required: frozenset[Skill] | None = None, asked: bool = False) -> int:
    """Offer the (locked) incident to the next K responders and arm the round's expiry.

    Always arms the timer, even when nobody could be offered: the next round then
    looks again, so a responder who comes on shift, cools down after declining, or a
    place that is set in the meantime gets the offer. A round that offers nobody
    alerts the dispatcher and tells the person at once, each time the reason changes.
    ``asked``: a dispatcher asked for this round (see ``core.policy.plan_round``).
    Returns the number of offers made.
    """
    found = find(incident, now=now, required=required, asked=asked)
    plan = found.round
    shortfall = plan.shortfall.value if plan.shortfall else ""
    previous = incident.round_shortfall
    offer_round(incident, plan.offers, expires_at=plan.expires_at, contacts=found.contacts,
                now=now, shortfall=shortfall)
    if plan.offers:
        event(incident, "offers_made", actor=Actor.SYSTEM, now=now,
              round=incident.current_round,
              responder_ids=[r.responder_id for r in plan.offers])
    elif shortfall != previous:
        # Say so once per change, not every round: a quiet night must not bury the
        # timeline under identical "still nobody" lines.
        event(incident, "no_offers", actor=Actor.SYSTEM, now=now,
              round=incident.current_round, **nobody_data(plan))
        if shortfall:
            flag(incident, shortfall, now=now)
    # An ambulance proposed now tells the person that nobody near is free, and what
    # they can do: one text, not that and "nobody is free" just before it.
    told = ems_check(incident, now=now)
    if not plan.offers and shortfall and shortfall != previous and not told:
        tell_the_person(incident, nobody_stage(shortfall), now=now)
    return len(plan.offers)


def widen(incident: Incident, *, now: datetime, why: str) -> None:
    """A wider round at once (the last one ran out, or its offers came back)."""
    made = round_start(incident, now=now)
    event(incident, "widened", actor=Actor.SYSTEM, now=now, round=incident.current_round,
          offers=made, why=why)
    if made:
        # Offered to nobody, the round's own alarm ("no one left to ask: everyone
        # declined", "set the place") stands: "widened" would hide it.
        flag(incident, "widened", now=now)
        tell_the_person(incident, Stage.WIDENING, now=now)
