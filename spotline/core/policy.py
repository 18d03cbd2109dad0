"""Dispatch policy: who gets offers, when to widen, when to escalate, why nobody came.

The same functions run in production (on the wall clock, through ``dispatch.actions``)
and in the planner (on simulated time): one policy, two clocks. Nothing here touches
the database; the shell passes in what it read and persists what comes back. The rules
and their settings, as one table: ``docs/dispatch-policy.md``.

The loop, per incident, with the defaults for P1:

1. ``plan_round`` offers the K=3 nearest available, on-shift, qualified responders who
   can be there within the priority's ``max_eta`` (20 min) at once; the offers expire
   after 45 s. Beyond the cap nobody is offered automatically: the dispatcher sees how
   far the nearest is.
2. The first accept wins (the shell's compare-and-set); the other offers are withdrawn.
3. When a round expires with no acceptance, ``plan_round`` runs again and widens to the
   next K. Someone who declined or let an offer lapse is asked again only after
   ``reoffer_after`` (2 min), doubled for every time they were asked, so that a
   dispatching incident always has someone to ask or says why it has nobody
   (``why_nobody``); the dispatcher and the person are told at once.
4. A responder who comes free (resolves, goes on shift, moves) is offered the most
   urgent, oldest waiting incident they can take and reach (``choose_waiting``) at
   once, not at that incident's next round.
5. An overdose of a priority with an ``ems_target`` (8 min for P1) and nobody offered
   who can be there within it gets an ambulance proposed at once (``ems_at_once``);
   otherwise at the deadline (120 s) with no acceptance, ``on_deadline`` marks the
   incident unanswered and proposes an ambulance, and requests one if the
   organization's policy says so. Rounds go on after the deadline.

Without a point for the place (a text, a call or a typed address that gave only words)
nobody can be ranked by distance, so no round offers anyone automatically: the round's
shortfall is ``location_unknown``, the dispatcher is alerted and the person is asked
where they are. A dispatcher who asks for more responders anyway (an escalation,
``asked=True``) gets every free qualified responder on shift offered at once, up to
``ASKED_WITHOUT_PLACE_MAX``: with no distance to choose the nearest K by, choosing any
K would be a silent guess. An asked round ignores ``max_eta`` (the dispatcher sees the
distances). A point known only approximately (found from words, with a radius) ranks
as usual, with the radius added to each travel estimate (``geo.eta_within_seconds``).
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
from spotline.core.triage import Kind, Priority, Skill


@dataclass(frozen=True, slots=True)
class PriorityPolicy:
    offers_per_round: int
    offer_expiry: timedelta
    deadline: timedelta
    auto_ems: bool = False
    # A responder who needs longer than this to get there is not offered the incident
    # automatically (a dispatcher can still widen or assign). None: no cap.
    max_eta: timedelta | None = None
    # Someone who declined, let an offer lapse or gave the incident back is asked again
    # after this, doubled for each time they were already asked. None: never again.
    reoffer_after: timedelta | None = None
    # An overdose of this priority with nobody offered who can be there within this
    # gets an ambulance proposed at once, not at the deadline. None: at the deadline.
    ems_target: timedelta | None = None

    def __post_init__(self) -> None:
        if self.offers_per_round < 1:
            raise ValueError("offers_per_round must be at least 1")
        if self.offer_expiry <= timedelta(0) or self.deadline <= timedelta(0):
            raise ValueError("offer expiry and deadline must be positive")
        for name in ("max_eta", "reoffer_after", "ems_target"):
            value = getattr(self, name)
            if value is not None and value <= timedelta(0):
                raise ValueError(f"{name} must be positive (or None: off)")


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    by_priority: Mapping[Priority, PriorityPolicy]

    def __getitem__(self, priority: Priority) -> PriorityPolicy:
        return self.by_priority[priority]


def _minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


# A walker covers about 1.1 km in 20 min (with the detour factor); EMS medians are 6-9
# min, so a P1 responder further than that is no help the ambulance would not give.
DEFAULT_POLICY = DispatchPolicy(
    by_priority={
        Priority.P1: PriorityPolicy(3, timedelta(seconds=45), timedelta(seconds=120),
                                    max_eta=_minutes(20), reoffer_after=_minutes(2),
                                    ems_target=_minutes(8)),
        Priority.P2: PriorityPolicy(3, timedelta(seconds=90), timedelta(seconds=300),
                                    max_eta=_minutes(45), reoffer_after=_minutes(5)),
        Priority.P3: PriorityPolicy(2, timedelta(seconds=300), timedelta(seconds=900),
                                    max_eta=_minutes(45), reoffer_after=_minutes(10)),
    }
)

# The kinds ``ems_target`` applies to: an overdose is where minutes decide (brain injury
# from lack of breath begins within about 4-6 minutes).
EMS_TARGET_KINDS = frozenset({Kind.OVERDOSE})


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
    # Every free, qualified responder needs longer than the priority's ``max_eta``.
    OUT_OF_REACH = "out_of_reach"


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
    """A responder's offer for this incident (one per responder), as it stands."""

    responder_id: int
    status: OfferStatus
    answered_at: datetime | None = None  # when it was declined, lapsed or given back
    asks: int = 1  # how many times this responder was offered this incident


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
    # When nobody could be offered: the nearest free, qualified responder beyond the
    # cap, for the dispatcher ("the nearest available is 52 min away").
    nearest_beyond: Ranked | None = None


def qualifies(candidate: Candidate, required: frozenset[Skill]) -> bool:
    return required <= candidate.skills


# Answers after which a responder may be asked again once ``reoffer_after`` has passed.
COOLING = frozenset({OfferStatus.DECLINED, OfferStatus.EXPIRED, OfferStatus.RELEASED})


def may_offer(past: PastOffer | None, policy: PriorityPolicy, now: datetime) -> bool:
    """Whether a round may offer this incident to a responder with this past offer.

    Never offered, or withdrawn before they could answer: yes. Pending or accepted: they
    have it. Declined, lapsed or given back: once ``reoffer_after`` times 2^(asks-1)
    has passed since (2, 4, 8 min... for P1), so nobody is nagged every round but an
    incident never runs out of people to ask while someone could come.
    """
    if past is None or past.status is OfferStatus.WITHDRAWN:
        return True
    if past.status not in COOLING or policy.reoffer_after is None or past.answered_at is None:
        return False
    backoff: int = 2 ** (max(past.asks, 1) - 1)
    return now >= past.answered_at + policy.reoffer_after * backoff


def within_cap(ranked: Ranked, policy: PriorityPolicy) -> bool:
    """Near enough to be offered automatically. An ETA that cannot be known (the
    responder shares no location) is not provably beyond the cap: such responders rank
    last instead."""
    return (policy.max_eta is None or ranked.eta_seconds is None
            or ranked.eta_seconds <= policy.max_eta.total_seconds())


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
    excluded: frozenset[int] = frozenset(),
) -> Round:
    """The next K responders to offer this incident to, nearest (by travel time) first.

    Only free, qualified responders on shift whom ``may_offer`` allows (never offered,
    withdrawn, or cooled down after a decline, a lapse or a give-back) and who are
    ``within_cap``. Responders with no known location rank after all who have one.
    ``radius_m``: the place is somewhere within it of ``location`` (found from words),
    added to every travel estimate. A round that offers nobody says why
    (``why_nobody``).

    When the incident itself has no coordinates (a description only), nobody is
    offered: the shortfall is ``LOCATION_UNKNOWN``, whoever is on shift. Unless
    ``asked``: a dispatcher widened it by hand, and every fresh, free, qualified
    responder is offered (up to ``ASKED_WITHOUT_PLACE_MAX``, in a stable order). An
    asked round with a point offers the nearest K whatever the cap. ``excluded``: never
    offered it, as if not on the roster (the responder a backup is for).
    """
    past = {o.responder_id: o for o in past_offers}
    candidates = [c for c in candidates if c.responder_id not in excluded]
    on_shift = [c for c in candidates if c.on_shift]
    qualified = [c for c in on_shift if qualifies(c, required)]
    free = [c for c in qualified if not c.busy]
    expires_at = now + policy.offer_expiry

    if location is None and not asked:
        return Round(offers=(), expires_at=expires_at, shortfall=Shortfall.LOCATION_UNKNOWN)
    ranked = rank(location=location, candidates=free, estimator=estimator, radius_m=radius_m)
    reachable = [r for r in ranked if asked or within_cap(r, policy)]
    fresh = [r for r in reachable if may_offer(past.get(r.responder_id), policy, now)]
    size = ASKED_WITHOUT_PLACE_MAX if location is None else policy.offers_per_round
    chosen = tuple(fresh[:size])
    if chosen:
        return Round(offers=chosen, expires_at=expires_at, shortfall=None)
    beyond = [r for r in ranked if not within_cap(r, policy)]
    shortfall = why_nobody(
        on_shift=bool(on_shift), qualified=bool(qualified), free=bool(free),
        fates=[past[r.responder_id].status for r in reachable if r.responder_id in past])
    return Round(offers=(), expires_at=expires_at, shortfall=shortfall,
                 nearest_beyond=beyond[0] if beyond and not reachable else None)


# Why a round that has a place could offer nobody new, first match wins. The shortfall
# is the cause of the round, and the last round's cause is why an unserved incident
# went unserved (``unserved_reason``), so reports count staffing gaps as staffing gaps.
WHY_NOBODY: tuple[tuple[str, Shortfall | None], ...] = (
    ("nobody is on shift", Shortfall.NOBODY_ON_SHIFT),
    ("nobody on shift has the skills", Shortfall.NO_ONE_QUALIFIED),
    ("everyone qualified holds another incident", Shortfall.ALL_BUSY),
    ("everyone free and qualified is beyond the priority's max ETA", Shortfall.OUT_OF_REACH),
    ("someone within reach still has the offer open: not a shortfall yet", None),
    ("everyone within reach declined (a give-back is not a decline)", Shortfall.ALL_DECLINED),
    ("otherwise (someone let it lapse, or only give-backs)", Shortfall.NO_ANSWER),
)


def why_nobody(*, on_shift: bool, qualified: bool, free: bool,
               fates: Iterable[OfferStatus]) -> Shortfall | None:
    """``WHY_NOBODY`` for one round. ``fates``: the offers of the free, qualified
    responders within reach, none of whom may be offered now (so each had one)."""
    fates = list(fates)
    if not on_shift:
        return Shortfall.NOBODY_ON_SHIFT
    if not qualified:
        return Shortfall.NO_ONE_QUALIFIED
    if not free:
        return Shortfall.ALL_BUSY
    if not fates:
        return Shortfall.OUT_OF_REACH
    if any(f in (OfferStatus.PENDING, OfferStatus.ACCEPTED) for f in fates):
        return None
    declined = [f for f in fates if f is not OfferStatus.RELEASED]
    if declined and all(f is OfferStatus.DECLINED for f in declined):
        return Shortfall.ALL_DECLINED
    return Shortfall.NO_ANSWER


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


def ems_at_once(*, kind: Kind, state: State, policy: PriorityPolicy, located: bool,
                offered_etas: Iterable[float | None]) -> DeadlineDecision:
    """After a round: propose an ambulance now rather than at the deadline?

    Yes for a kind in ``EMS_TARGET_KINDS`` of a priority with an ``ems_target``, still
    looking for a responder, with a place, when no offer now open is to someone known to
    be within the target. The decision is the deadline's brought forward (an ambulance
    is requested too when ``auto_ems``), without marking it unanswered: offers are out.
    """
    target = policy.ems_target
    if (target is None or kind not in EMS_TARGET_KINDS or state is not State.DISPATCHING
            or not located):
        return DeadlineDecision(False, False, False)
    if any(eta is not None and eta <= target.total_seconds() for eta in offered_etas):
        return DeadlineDecision(False, False, False)
    return DeadlineDecision(mark_unanswered=False, propose_ems=True,
                            request_ems=policy.auto_ems)


def should_widen(state: State) -> bool:
    """When a round's offers expire, widen only while nobody holds the incident."""
    return state is State.DISPATCHING
