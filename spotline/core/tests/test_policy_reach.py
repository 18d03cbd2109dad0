"""The rules issue 15 added to the policy: the distance cap, asking decliners again
after a cool-down, a freed responder's next incident, an ambulance proposed at once.

Properties run on generated rosters and are checked against brute force; the named
cases pin down the numbers the defaults promise.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotline.core.geo import Mode, Point, StraightLineEstimator
from spotline.core.lifecycle import State
from spotline.core.policy import (
    DEFAULT_POLICY,
    Candidate,
    OfferStatus,
    PastOffer,
    PriorityPolicy,
    Round,
    Shortfall,
    ems_at_once,
    may_offer,
    plan_round,
)
from spotline.core.triage import Kind, Priority, Skill
from spotline.core.waiting import Waiting, choose_waiting

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
CENTRE = Point(60.1699, 24.9384)
ESTIMATOR = StraightLineEstimator()
P1, P2 = DEFAULT_POLICY[Priority.P1], DEFAULT_POLICY[Priority.P2]
NALOXONE = frozenset({Skill.NALOXONE})


def at(north_m: float) -> Point:
    return Point(CENTRE.lat + north_m / 111_195, CENTRE.lon)


def cand(rid: int, north_m: float = 200, *, mode: Mode = Mode.WALK, busy: bool = False,
         skills: frozenset[Skill] = NALOXONE) -> Candidate:
    return Candidate(rid, at(north_m), mode, skills, True, busy)


def eta(c: Candidate, place: Point = CENTRE) -> float:
    assert c.location is not None
    return ESTIMATOR.eta_seconds(c.location, place, c.mode)


def plan(candidates: list[Candidate], past: list[PastOffer] | None = None, *,
         policy: PriorityPolicy = P1, now: datetime = NOW, asked: bool = False) -> Round:
    return plan_round(location=CENTRE, required=NALOXONE, candidates=candidates,
                      past_offers=past or [], policy=policy, estimator=ESTIMATOR, now=now,
                      asked=asked)


roster = st.lists(
    st.builds(cand, rid=st.integers(1, 10_000), north_m=st.floats(-8000, 8000),
              mode=st.sampled_from(Mode), busy=st.booleans()),
    max_size=12, unique_by=lambda c: c.responder_id)


# -- the cap ---------------------------------------------------------------------------------


@given(roster, st.sampled_from(list(Priority)))
def test_no_offer_beyond_the_cap_is_made_automatically(candidates: list[Candidate],
                                                        priority: Priority) -> None:
    policy = DEFAULT_POLICY[priority]
    assert policy.max_eta is not None
    by_id = {c.responder_id: c for c in candidates}
    r = plan(candidates, policy=policy)
    for offer in r.offers:
        assert eta(by_id[offer.responder_id]) <= policy.max_eta.total_seconds()
    within = [c for c in candidates if not c.busy
              and eta(c) <= policy.max_eta.total_seconds()]
    assert len(r.offers) == min(policy.offers_per_round, len(within))
    if not within and any(not c.busy for c in candidates):
        assert r.shortfall is Shortfall.OUT_OF_REACH
        assert r.nearest_beyond is not None
        nearest = min(eta(c) for c in candidates if not c.busy)
        assert r.nearest_beyond.eta_seconds == nearest


def test_a_walker_20_km_away_is_not_offered_a_welfare_check() -> None:
    # The replay's 366-minute offer: now nobody is offered, and the dispatcher is told
    # how far the nearest is.
    r = plan([cand(1, 20_000)], policy=P2)
    assert r.offers == ()
    assert r.shortfall is Shortfall.OUT_OF_REACH
    assert r.nearest_beyond is not None and r.nearest_beyond.eta_seconds is not None
    assert round(r.nearest_beyond.eta_seconds / 60) == 359


def test_the_defaults_cap_p1_at_20_minutes_and_p2_p3_at_45() -> None:
    caps = [DEFAULT_POLICY[p].max_eta for p in (Priority.P1, Priority.P2, Priority.P3)]
    assert caps == [timedelta(minutes=20), timedelta(minutes=45), timedelta(minutes=45)]


def test_a_dispatcher_who_asks_gets_the_nearest_whatever_the_cap() -> None:
    r = plan([cand(1, 20_000)], asked=True)
    assert [o.responder_id for o in r.offers] == [1]


def test_a_bike_beyond_a_walkers_reach_is_within_the_cap() -> None:
    # 2 km: a walker needs ~36 min, a bike ~11.
    r = plan([cand(1, 2000), cand(2, 2000, mode=Mode.BIKE)])
    assert [o.responder_id for o in r.offers] == [2]


def test_no_cap_offers_anyone() -> None:
    r = plan([cand(1, 20_000)], policy=replace(P1, max_eta=None))
    assert [o.responder_id for o in r.offers] == [1]


# -- asking again after a cool-down ----------------------------------------------------------


@pytest.mark.parametrize("status", [OfferStatus.DECLINED, OfferStatus.EXPIRED,
                                    OfferStatus.RELEASED])
def test_a_decliner_is_asked_again_after_the_cool_down_doubling_each_time(
    status: OfferStatus,
) -> None:
    assert P1.reoffer_after == timedelta(minutes=2)
    for asks, wait in ((1, 120), (2, 240), (3, 480)):
        past = PastOffer(1, status, NOW, asks)
        assert not may_offer(past, P1, NOW + timedelta(seconds=wait - 1))
        assert may_offer(past, P1, NOW + timedelta(seconds=wait))


@pytest.mark.parametrize("status", [OfferStatus.PENDING, OfferStatus.ACCEPTED])
def test_someone_who_holds_the_offer_is_not_offered_it_again(status: OfferStatus) -> None:
    assert not may_offer(PastOffer(1, status, NOW), P1, NOW + timedelta(days=1))


def test_without_a_cool_down_a_decliner_is_never_asked_again() -> None:
    policy = replace(P1, reoffer_after=None)
    assert not may_offer(PastOffer(1, OfferStatus.DECLINED, NOW), policy,
                         NOW + timedelta(days=1))


def test_the_only_near_responder_who_declined_is_asked_again_not_left_a_dead_end() -> None:
    past = [PastOffer(1, OfferStatus.DECLINED, NOW)]
    first = plan([cand(1)], past, now=NOW + timedelta(seconds=30))
    assert first.offers == () and first.shortfall is Shortfall.ALL_DECLINED
    later = plan([cand(1)], past, now=NOW + timedelta(minutes=2))
    assert [o.responder_id for o in later.offers] == [1]


@given(roster, st.data())
def test_a_round_offers_someone_or_says_why_not(candidates: list[Candidate],
                                                data: st.DataObject) -> None:
    past = [PastOffer(c.responder_id, data.draw(st.sampled_from(OfferStatus)),
                      NOW - timedelta(seconds=data.draw(st.integers(0, 600))),
                      data.draw(st.integers(1, 4)))
            for c in candidates if data.draw(st.booleans())]
    r = plan(candidates, past, now=NOW)
    pending = {o.responder_id for o in past
               if o.status in (OfferStatus.PENDING, OfferStatus.ACCEPTED)}
    # Either offers, or a reason, or someone within reach still has it open.
    assert r.offers or r.shortfall is not None or pending


# -- an ambulance at once ---------------------------------------------------------------------


def test_an_overdose_nobody_can_reach_in_8_minutes_gets_an_ambulance_proposed_at_once() -> None:
    assert P1.ems_target == timedelta(minutes=8)
    far = eta(cand(1, 900))  # a walker 900 m away: about 16 min
    d = ems_at_once(kind=Kind.OVERDOSE, state=State.DISPATCHING, policy=P1, located=True,
                    offered_etas=[far])
    assert d.propose_ems and not d.mark_unanswered and not d.request_ems
    assert ems_at_once(kind=Kind.OVERDOSE, state=State.DISPATCHING,
                       policy=replace(P1, auto_ems=True), located=True,
                       offered_etas=[]).request_ems


@pytest.mark.parametrize(("kind", "state", "located", "etas"), [
    (Kind.OVERDOSE, State.DISPATCHING, True, [300.0]),  # someone 5 min away
    (Kind.MENTAL_HEALTH, State.DISPATCHING, True, []),  # not an overdose
    (Kind.OVERDOSE, State.ASSIGNED, True, []),  # someone is on the way
    (Kind.OVERDOSE, State.DISPATCHING, False, []),  # no place: ask for it first
])
def test_no_ambulance_at_once_otherwise(kind: Kind, state: State, located: bool,
                                        etas: list[float]) -> None:
    d = ems_at_once(kind=kind, state=state, policy=P1, located=located, offered_etas=etas)
    assert not d.propose_ems


def test_p2_has_no_ems_target_by_default() -> None:
    assert not ems_at_once(kind=Kind.OVERDOSE, state=State.DISPATCHING, policy=P2,
                           located=True, offered_etas=[]).propose_ems


# -- a freed responder's next incident --------------------------------------------------------


def waiting(iid: int, priority: Priority, minute: int, north_m: float = 0,
            past: PastOffer | None = None, required: frozenset[Skill] = NALOXONE) -> Waiting:
    return Waiting(iid, priority, NOW + timedelta(minutes=minute), at(north_m), None,
                   required, past)


def choose(responder: Candidate, queue: list[Waiting]) -> int | None:
    got = choose_waiting(responder=responder, waiting=queue, policy=DEFAULT_POLICY,
                         estimator=ESTIMATOR, now=NOW + timedelta(hours=1))
    return got[0].incident_id if got else None


def test_a_freed_responder_gets_the_older_p1_not_the_nearer_newer_p2() -> None:
    queue = [waiting(2, Priority.P2, minute=5, north_m=100),
             waiting(1, Priority.P1, minute=0, north_m=600)]
    assert choose(cand(9, 150), queue) == 1


def test_a_freed_responder_skips_what_they_cannot_take_or_reach() -> None:
    queue = [waiting(1, Priority.P1, 0, north_m=5000),  # beyond 20 min on foot
             waiting(2, Priority.P1, 1, required=frozenset({Skill.CRISIS_TEAM})),
             waiting(3, Priority.P2, 2)]
    assert choose(cand(9), queue) == 3


def test_a_responder_already_asked_for_the_most_urgent_is_not_sent_another() -> None:
    queue = [waiting(1, Priority.P1, 0, past=PastOffer(9, OfferStatus.PENDING)),
             waiting(2, Priority.P2, 1)]
    assert choose(cand(9), queue) is None


def test_a_busy_responder_gets_nothing() -> None:
    assert choose(cand(9, busy=True), [waiting(1, Priority.P1, 0)]) is None


@given(
    st.lists(st.tuples(st.sampled_from(list(Priority)), st.integers(0, 60),
                       st.floats(-3000, 3000), st.booleans()), max_size=8),
    st.sampled_from(Mode),
)
def test_a_freed_responder_gets_the_most_urgent_reachable_waiting_incident(
    specs: list[tuple[Priority, int, float, bool]], mode: Mode,
) -> None:
    responder = cand(9, 0, mode=mode)
    queue = [waiting(i, p, minute, north_m,
                     required=NALOXONE if qualified else frozenset({Skill.CRISIS_TEAM}))
             for i, (p, minute, north_m, qualified) in enumerate(specs)]
    takeable = [w for w in queue if w.required <= responder.skills and w.location
                and eta(responder, w.location)
                <= (DEFAULT_POLICY[w.priority].max_eta or timedelta.max).total_seconds()]
    best = min(takeable, key=lambda w: (w.priority, w.opened_at, w.incident_id), default=None)
    assert choose(responder, queue) == (best.incident_id if best else None)
