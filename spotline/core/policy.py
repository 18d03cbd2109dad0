"""Dispatch policy: who gets offers, when to widen, when to escalate, why nobody came.

The same functions run in production (on the wall clock, through ``dispatch.actions``)
and in the planner (on simulated time): one policy, two clocks. Nothing here touches
the database; the shell passes in what it read and persists what comes back.

The loop, per incident, with the defaults for P1:

1. ``plan_round`` offers the K=3 nearest available, on-shift, qualified responders at
   once; the offers expire after 45 s.
2. The first accept wins (the shell's compare-and-set); the other offers are withdrawn.
3. When a round expires with no acceptance, ``plan_round`` runs again and widens to the
   next K, never re-offering anyone who already had an offer for this incident; the
   dispatcher is alerted.
4. At the deadline (120 s) with no acceptance, ``on_deadline`` marks the incident
   unanswered and proposes an ambulance, and requests one if the organization's
   policy says so. Rounds go on after the deadline, so a responder who comes on shift
   still gets the offer.

Without a point for the place (a text, a call or a typed address that gave only words)
nobody can be ranked by distance, so no round offers anyone automatically: the round's
shortfall is ``location_unknown``, the dispatcher is alerted and the person is asked
where they are. A dispatcher who asks for more responders anyway (an escalation,
``asked=True``) gets every free qualified responder on shift offered at once, up to
``ASKED_WITHOUT_PLACE_MAX``: with no distance to choose the nearest K by, choosing any
K would be a silent guess. Once the place is set, rounds go on as above. A point known
only approximately (found from words, with a radius) ranks as usual, with the radius
added to each travel estimate (``geo.eta_within_seconds``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from spotline.core.geo import (
    Mode,
    Point,
    TravelTimeEstimator,
    distance_m,
    eta_within_seconds,
)
from spotline.core.lifecycle import State
from spotline.core.triage import Priority, Skill


@dataclass(frozen=True, slots=True)
class PriorityPolicy:
    offers_per_round: int
    offer_expiry: timedelta
    deadline: timedelta
    auto_ems: bool = False

    def __post_init__(self) -> None:
        if self.offers_per_round < 1:
            raise ValueError("offers_per_round must be at least 1")
        if self.offer_expiry <= timedelta(0) or self.deadline <= timedelta(0):
            raise ValueError("offer expiry and deadline must be positive")


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    by_priority: Mapping[Priority, PriorityPolicy]

    def __getitem__(self, priority: Priority) -> PriorityPolicy:
        return self.by_priority[priority]


DEFAULT_POLICY = DispatchPolicy(
    by_priority={
        Priority.P1: PriorityPolicy(3, timedelta(seconds=45), timedelta(seconds=120)),
        Priority.P2: PriorityPolicy(3, timedelta(seconds=90), timedelta(seconds=300)),
        Priority.P3: PriorityPolicy(2, timedelta(seconds=300), timedelta(seconds=900)),
    }
)


# At most this many offers when a dispatcher widens an incident that has no point (a
# bound on the messages one click sends; beyond it, the dispatcher assigns directly).
ASKED_WITHOUT_PLACE_MAX = 20


class OfferStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    # The incident was taken, assigned or closed before this responder answered. They
    # never said no, so they may be offered it again (after a release, say).
    WITHDRAWN = "withdrawn"
    RELEASED = "released"  # accepted, then given back or reassigned away


class Shortfall(StrEnum):
    """Why a request ended without a responder on scene. Feeds the reports."""

    NOBODY_ON_SHIFT = "nobody_on_shift"
    NO_ONE_QUALIFIED = "no_one_qualified"
    ALL_BUSY = "all_busy"
    ALL_DECLINED = "all_declined"
    NO_ANSWER = "no_answer"
    CANCELLED_BY_PERSON = "cancelled_by_person"
    CANCELLED_BY_DISPATCHER = "cancelled_by_dispatcher"
    UNABLE_TO_LOCATE = "unable_to_locate"
    # No point for the place: nobody can be ranked by distance, so nobody is offered
    # it automatically; the dispatcher sets the place or chooses responders.
    LOCATION_UNKNOWN = "location_unknown"


class EscalationTarget(StrEnum):
    MORE_RESPONDERS = "more_responders"
    CRISIS_TEAM = "crisis_team"
    EMS = "ems"  # an ambulance: the last escalation. There is no police target.


class Actor(StrEnum):
    """Who or what decided something; every escalation records one."""

    PERSON = "person"  # the person who asked for help (tracking token)
    RESPONDER = "responder"
    DISPATCHER = "dispatcher"
    POLICY = "policy"  # the organization's automatic policy
    SYSTEM = "system"  # timers: expiry, widening


@dataclass(frozen=True, slots=True)
class Candidate:
    responder_id: int
    location: Point | None
    mode: Mode
    skills: frozenset[Skill]
    on_shift: bool
    busy: bool  # holds another open incident


@dataclass(frozen=True, slots=True)
class PastOffer:
    responder_id: int
    status: OfferStatus


@dataclass(frozen=True, slots=True)
class Ranked:
    responder_id: int
    eta_seconds: float | None
    distance_m: float | None


@dataclass(frozen=True, slots=True)
class Round:
    offers: tuple[Ranked, ...]
    expires_at: datetime
    # Set when the round could make no offer at all: why.
    shortfall: Shortfall | None


def qualifies(candidate: Candidate, required: frozenset[Skill]) -> bool:
    return required <= candidate.skills


def plan_round(
    *,
    location: Point | None,
    required: frozenset[Skill],
    candidates: Iterable[Candidate],
    past_offers: Iterable[PastOffer],
    policy: PriorityPolicy,
    estimator: TravelTimeEstimator,
    now: datetime,
    radius_m: float | None = None,
    asked: bool = False,
) -> Round:
    """The next K responders to offer this incident to, nearest (by travel time) first.

    Anyone who already answered or ignored an offer for this incident is left out:
    widening never re-offers a declined responder, one who let an offer expire is not
    nagged again (a dispatcher can still assign them directly), and one who released
    it does not get it back. Only an offer withdrawn before its responder could answer
    (someone else took the incident, then gave it back) can be made again.
    Responders with no known location rank after all who have one. ``radius_m``: the
    place is somewhere within it of ``location`` (found from words), added to every
    travel estimate.

    When the incident itself has no coordinates (a description only), nobody is
    offered: the shortfall is ``LOCATION_UNKNOWN``, whoever is on shift, since without
    a place nobody can be sent even once someone is free. Unless ``asked``: a
    dispatcher widened it by hand, and every fresh, free, qualified responder is
    offered (up to ``ASKED_WITHOUT_PLACE_MAX``, in a stable order); a round that still
    finds nobody says why as usual.
    """
    past = list(past_offers)
    offered = {o.responder_id for o in past if o.status is not OfferStatus.WITHDRAWN}
    candidates = list(candidates)
    on_shift = [c for c in candidates if c.on_shift]
    qualified = [c for c in on_shift if qualifies(c, required)]
    free = [c for c in qualified if not c.busy]
    fresh = [c for c in free if c.responder_id not in offered]

    if location is None and not asked:
        return Round(offers=(), expires_at=now + policy.offer_expiry,
                     shortfall=Shortfall.LOCATION_UNKNOWN)
    ranked = rank(location=location, candidates=fresh, estimator=estimator,
                  radius_m=radius_m)
    size = ASKED_WITHOUT_PLACE_MAX if location is None else policy.offers_per_round
    chosen = tuple(ranked[:size])

    shortfall: Shortfall | None = None
    if not chosen:
        if not on_shift:
            shortfall = Shortfall.NOBODY_ON_SHIFT
        elif not qualified:
            shortfall = Shortfall.NO_ONE_QUALIFIED
        elif not free:
            shortfall = Shortfall.ALL_BUSY
        else:
            # Everyone free already had an offer: the offers' fate is the reason, or
            # None while some are still pending.
            shortfall = offers_shortfall(past)
    return Round(offers=chosen, expires_at=now + policy.offer_expiry, shortfall=shortfall)


def rank(
    *,
    location: Point | None,
    candidates: Iterable[Candidate],
    estimator: TravelTimeEstimator,
    radius_m: float | None = None,
) -> list[Ranked]:
    """Candidates nearest by travel time first; those whose ETA cannot be known (no
    location, theirs or the incident's) after, in a stable order. The order rounds
    offer in, and the order a dispatcher is shown free responders in.

    For an approximate place (``radius_m``), the ETA is to anywhere within the radius
    (``geo.eta_within_seconds``), so a fast responder a little farther away can outrank
    a walker next to the centre; the distance stays the distance to the centre."""
    ranked: list[Ranked] = []
    for c in candidates:
        if location is None or c.location is None:
            ranked.append(Ranked(c.responder_id, None, None))
        else:
            ranked.append(
                Ranked(
                    c.responder_id,
                    eta_within_seconds(estimator, c.location, location, c.mode,
                                       radius_m or 0.0),
                    distance_m(c.location, location),
                )
            )
    ranked.sort(
        key=lambda r: (r.eta_seconds is None, r.eta_seconds or 0.0, r.responder_id)
    )
    return ranked


def offers_shortfall(past_offers: Iterable[PastOffer]) -> Shortfall | None:
    """Why the offers made so far brought nobody, or None if one may still come."""
    statuses = [o.status for o in past_offers]
    if not statuses or any(
        s in (OfferStatus.PENDING, OfferStatus.ACCEPTED) for s in statuses
    ):
        return None
    answered = [s for s in statuses if s not in (OfferStatus.WITHDRAWN, OfferStatus.RELEASED)]
    if answered and all(s is OfferStatus.DECLINED for s in answered):
        return Shortfall.ALL_DECLINED
    return Shortfall.NO_ANSWER


@dataclass(frozen=True, slots=True)
class DeadlineDecision:
    mark_unanswered: bool
    propose_ems: bool
    request_ems: bool


def on_deadline(*, state: State, policy: PriorityPolicy) -> DeadlineDecision:
    """At the escalation deadline: raise the alarm if nobody has accepted yet."""
    if state is not State.DISPATCHING:
        return DeadlineDecision(False, False, False)
    return DeadlineDecision(
        mark_unanswered=True, propose_ems=True, request_ems=policy.auto_ems
    )


def should_widen(state: State) -> bool:
    """When a round's offers expire, widen only while nobody holds the incident."""
    return state is State.DISPATCHING


def unserved_reason(
    *,
    final_state: State,
    reached_scene: bool,
    ever_assigned: bool,
    round_shortfall: Shortfall | None,
    past_offers: Iterable[PastOffer],
    closed_by: Actor,
) -> Shortfall | None:
    """Why an incident ended without a responder on scene (None if one got there).

    A failure of the dispatch itself (nobody on shift, nobody qualified, everybody
    declined or silent) is the reason even when the person later cancels: someone who
    gives up after two minutes of nobody answering was not served, and the report must
    say why. A cancel while a responder held the incident, or before the dispatch had
    failed, is the canceller's.

    Precedence, first match wins:

    1. a responder reached the scene: None (served);
    2. the responder could not find them: ``unable_to_locate``;
    3. never held by anyone, and the last round could offer nobody because the place
       was not known: ``location_unknown`` (whatever offers a dispatcher made by hand
       before, and whoever closed it: the place was what stood in the way);
    4. never held, the last round found nobody on shift, qualified or free: the fate
       of earlier offers if they all failed (``all_declined``/``no_answer``), else that
       round's shortfall;
    5. never held, and every offer made failed: ``all_declined`` or ``no_answer``;
    6. cancelled by the person: ``cancelled_by_person``;
    7. closed for age by Spotline: the round's shortfall, the offers' fate, or
       ``no_answer``;
    8. otherwise: ``cancelled_by_dispatcher``.
    """
    if reached_scene:
        return None
    if final_state is State.UNABLE_TO_LOCATE:
        return Shortfall.UNABLE_TO_LOCATE
    if not ever_assigned and round_shortfall is Shortfall.LOCATION_UNKNOWN:
        return Shortfall.LOCATION_UNKNOWN
    if not ever_assigned:
        from_offers = offers_shortfall(past_offers)
        if round_shortfall is not None and round_shortfall not in (
            Shortfall.ALL_DECLINED,
            Shortfall.NO_ANSWER,
        ):
            # The last round found nobody to offer to: if earlier offers were made and
            # failed, that failure is the more specific story.
            return from_offers or round_shortfall
        if from_offers is not None:
            return from_offers
    if closed_by is Actor.PERSON:
        return Shortfall.CANCELLED_BY_PERSON
    if closed_by is Actor.SYSTEM:
        # Closed for age with nobody ever holding it: the search simply never succeeded.
        return round_shortfall or offers_shortfall(past_offers) or Shortfall.NO_ANSWER
    return Shortfall.CANCELLED_BY_DISPATCHER
