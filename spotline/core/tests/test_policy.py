"""Dispatch policy: who gets offers, when to raise the alarm, why nobody came.

The ranking properties run on generated candidate sets and are checked against a
brute-force sort; the shortfall and unserved-reason rules are spelled out case by case.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotline.core.geo import Mode, Point, StraightLineEstimator, distance_m
from spotline.core.lifecycle import State
from spotline.core.policy import (
    ASKED_WITHOUT_PLACE_MAX,
    DEFAULT_POLICY,
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
)
from spotline.core.triage import Priority, Skill

NOW = datetime(2026, 11, 27, 3, 0, 0, tzinfo=UTC)
CENTRE = Point(60.1699, 24.9384)
ESTIMATOR = StraightLineEstimator()
P1 = PriorityPolicy(3, timedelta(seconds=45), timedelta(seconds=120))
NALOXONE = frozenset({Skill.NALOXONE})
# What became of an offer that keeps its responder out of later rounds: they answered,
# ignored it, or took the incident and gave it back. Only an offer withdrawn before its
# responder could answer (someone else took the incident) may be made again.
SPENT = [s for s in OfferStatus if s is not OfferStatus.WITHDRAWN]

near = st.builds(
    Point,
    lat=st.floats(min_value=60.10, max_value=60.25),
    lon=st.floats(min_value=24.80, max_value=25.10),
)


@dataclass(frozen=True)
class Scenario:
    location: Point | None
    required: frozenset[Skill]
    candidates: list[Candidate]
    past_offers: list[PastOffer]
    policy: PriorityPolicy

    def plan(self, **overrides: Any) -> Round:
        args: dict[str, Any] = {
            "location": self.location, "required": self.required,
            "candidates": self.candidates, "past_offers": self.past_offers,
            "policy": self.policy, "estimator": ESTIMATOR, "now": NOW,
        }
        return plan_round(**{**args, **overrides})

    @property
    def offered_before(self) -> set[int]:
        return {o.responder_id for o in self.past_offers if o.status in SPENT}

    def eligible(self) -> list[Candidate]:
        return [
            c for c in self.candidates
            if c.on_shift and self.required <= c.skills and not c.busy
            and c.responder_id not in self.offered_before
        ]

    def eta(self, c: Candidate) -> float:
        """Brute force: the ETA, with 'no location' as infinitely far."""
        if self.location is None or c.location is None:
            return math.inf
        return ESTIMATOR.eta_seconds(c.location, self.location, c.mode)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    ids = draw(st.lists(st.integers(1, 60), unique=True, max_size=12))
    candidates = [
        Candidate(
            responder_id=rid,
            location=draw(st.none() | near),
            mode=draw(st.sampled_from(Mode)),
            skills=draw(st.frozensets(st.sampled_from(Skill))),
            on_shift=draw(st.booleans()),
            busy=draw(st.booleans()),
        )
        for rid in ids
    ]
    # Past offers: some of the candidates, and some responders no longer on the roster.
    offered = draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    offered += draw(st.lists(st.integers(61, 70), unique=True, max_size=3))
    past = [PastOffer(rid, draw(st.sampled_from(OfferStatus))) for rid in offered]
    return Scenario(
        # Rounds rank by distance; an incident without a point offers nobody on its
        # own (its own properties, below, replace it with None).
        location=draw(near | st.just(CENTRE)),
        required=draw(st.frozensets(st.sampled_from(Skill), max_size=2)),
        candidates=candidates,
        past_offers=past,
        policy=PriorityPolicy(
            draw(st.integers(1, 5)), timedelta(seconds=draw(st.integers(5, 600))),
            timedelta(seconds=120),
        ),
    )


def cand(
    rid: int,
    *,
    north_m: float | None = 100.0,
    skills: frozenset[Skill] = NALOXONE,
    on_shift: bool = True,
    busy: bool = False,
    mode: Mode = Mode.WALK,
) -> Candidate:
    location = None if north_m is None else Point(CENTRE.lat + north_m / 111_195, CENTRE.lon)
    return Candidate(rid, location, mode, skills, on_shift, busy)


def plan(
    candidates: list[Candidate],
    past: list[PastOffer] | None = None,
    *,
    required: frozenset[Skill] = NALOXONE,
    policy: PriorityPolicy = P1,
    location: Point | None = CENTRE,
    radius_m: float | None = None,
    asked: bool = False,
) -> Round:
    return plan_round(location=location, required=required, candidates=candidates,
                      past_offers=past or [], policy=policy, estimator=ESTIMATOR, now=NOW,
                      radius_m=radius_m, asked=asked)


# -- who gets an offer ------------------------------------------------------------------


@given(scenarios())
def test_it_never_offers_an_off_shift_unqualified_or_busy_responder(s: Scenario) -> None:
    by_id = {c.responder_id: c for c in s.candidates}
    for r in s.plan().offers:
        c = by_id[r.responder_id]
        assert c.on_shift
        assert s.required <= c.skills
        assert not c.busy


@given(scenarios())
def test_it_never_offers_again_to_anyone_who_answered_ignored_or_released_it(
    s: Scenario,
) -> None:
    offered = {r.responder_id for r in s.plan().offers}
    assert not offered & s.offered_before
    assert not offered & {o.responder_id for o in s.past_offers
                          if o.status is OfferStatus.DECLINED}


@given(scenarios())
def test_it_offers_at_most_k_and_exactly_k_when_enough_are_eligible(s: Scenario) -> None:
    offers = s.plan().offers
    assert len(offers) <= s.policy.offers_per_round
    assert len(offers) == min(s.policy.offers_per_round, len(s.eligible()))
    assert len({r.responder_id for r in offers}) == len(offers)


@given(scenarios())
def test_it_offers_the_k_smallest_etas_nearest_first(s: Scenario) -> None:
    by_id = {c.responder_id: c for c in s.candidates}
    offers = s.plan().offers
    chosen = [s.eta(by_id[r.responder_id]) for r in offers]
    brute = sorted(s.eta(c) for c in s.eligible())[: s.policy.offers_per_round]
    assert chosen == brute


@given(scenarios())
def test_it_reports_each_offers_eta_and_distance(s: Scenario) -> None:
    by_id = {c.responder_id: c for c in s.candidates}
    for r in s.plan().offers:
        c = by_id[r.responder_id]
        if s.location is None or c.location is None:
            assert r.eta_seconds is None and r.distance_m is None
        else:
            assert r.eta_seconds == ESTIMATOR.eta_seconds(c.location, s.location, c.mode)
            assert r.distance_m == distance_m(c.location, s.location)


@given(scenarios())
def test_it_ranks_responders_without_a_location_after_those_with_one(s: Scenario) -> None:
    offers = s.plan().offers
    unknown = [r.eta_seconds is None for r in offers]
    assert unknown == sorted(unknown)
    if any(unknown) and s.location is not None:
        # Nobody with a location was left out in favour of someone without one.
        located = {c.responder_id for c in s.eligible() if c.location is not None}
        assert located <= {r.responder_id for r in offers}


@given(scenarios(), st.randoms(use_true_random=False))
def test_it_does_not_depend_on_the_order_of_the_roster(s: Scenario, rnd: random.Random) -> None:
    shuffled = list(s.candidates)
    rnd.shuffle(shuffled)
    past = list(s.past_offers)
    rnd.shuffle(past)
    assert s.plan(candidates=shuffled, past_offers=past) == s.plan()


@given(scenarios())
def test_it_sets_the_round_to_expire_after_the_offer_expiry(s: Scenario) -> None:
    assert s.plan().expires_at == NOW + s.policy.offer_expiry


@given(scenarios())
def test_it_gives_a_shortfall_only_when_nobody_could_be_offered(s: Scenario) -> None:
    r = s.plan()
    if r.offers:
        assert r.shortfall is None
        return
    on_shift = [c for c in s.candidates if c.on_shift]
    qualified = [c for c in on_shift if s.required <= c.skills]
    free = [c for c in qualified if not c.busy]
    if not on_shift:
        assert r.shortfall is Shortfall.NOBODY_ON_SHIFT
    elif not qualified:
        assert r.shortfall is Shortfall.NO_ONE_QUALIFIED
    elif not free:
        assert r.shortfall is Shortfall.ALL_BUSY
    else:
        # Only the offers of those who could come count (free and qualified now).
        free_ids = {c.responder_id for c in free}
        statuses = {o.status for o in s.past_offers if o.responder_id in free_ids}
        waiting = statuses & {OfferStatus.PENDING, OfferStatus.ACCEPTED}
        assert (r.shortfall is None) == bool(waiting)
        assert r.shortfall in (None, Shortfall.ALL_DECLINED, Shortfall.NO_ANSWER)
        if r.shortfall is Shortfall.NO_ANSWER:
            assert statuses != {OfferStatus.DECLINED}
        if r.shortfall is Shortfall.ALL_DECLINED:
            # Someone said no, and nobody merely failed to answer.
            assert OfferStatus.DECLINED in statuses
            assert OfferStatus.EXPIRED not in statuses


def test_it_offers_the_nearest_three_by_travel_time_not_distance() -> None:
    candidates = [
        cand(1, north_m=900),
        cand(2, north_m=2000, mode=Mode.BIKE),  # farther, but faster
        cand(3, north_m=300),
        cand(4, north_m=1500),
        cand(5, north_m=None),
    ]
    r = plan(candidates)
    assert [o.responder_id for o in r.offers] == [3, 2, 1]
    assert r.shortfall is None


def test_it_offers_responders_without_a_location_when_nobody_else_is_left() -> None:
    r = plan([cand(1, north_m=None), cand(2, north_m=500), cand(3, north_m=None)])
    ids = [o.responder_id for o in r.offers]
    assert ids[0] == 2
    assert set(ids) == {1, 2, 3}


# -- an incident without a point, or with an approximate one ------------------------------


@given(scenarios())
def test_it_offers_nobody_automatically_when_the_incident_has_no_point(s: Scenario) -> None:
    r = s.plan(location=None)
    assert r.offers == ()
    # Whoever is on shift, busy or free: the place is what stands in the way.
    assert r.shortfall is Shortfall.LOCATION_UNKNOWN
    assert r.expires_at == NOW + s.policy.offer_expiry


def test_it_no_longer_offers_the_lowest_ids_without_a_point() -> None:
    candidates = [cand(i, north_m=100.0 * i) for i in range(1, 6)]
    assert plan(candidates, location=None).offers == ()
    assert plan(candidates, location=None).shortfall is Shortfall.LOCATION_UNKNOWN


@given(scenarios())
def test_a_dispatchers_widening_without_a_point_offers_every_free_qualified_one(
    s: Scenario,
) -> None:
    r = s.plan(location=None, asked=True)
    eligible = sorted(c.responder_id for c in s.eligible())
    assert [o.responder_id for o in r.offers] == eligible[:ASKED_WITHOUT_PLACE_MAX]
    assert all(o.eta_seconds is None and o.distance_m is None for o in r.offers)
    if eligible:
        assert r.shortfall is None
    else:
        # Nobody to offer even by hand: the usual reasons, never "location unknown".
        assert r.shortfall is not Shortfall.LOCATION_UNKNOWN
        assert r.shortfall == s.plan(asked=True).shortfall


def test_a_dispatchers_widening_without_a_point_is_bounded() -> None:
    candidates = [cand(i) for i in range(1, ASKED_WITHOUT_PLACE_MAX + 6)]
    r = plan(candidates, location=None, asked=True)
    assert [o.responder_id for o in r.offers] == list(range(1, ASKED_WITHOUT_PLACE_MAX + 1))


def test_asking_changes_nothing_when_the_incident_has_a_point() -> None:
    candidates = [cand(i, north_m=100.0 * i) for i in range(1, 8)]
    assert plan(candidates, asked=True) == plan(candidates)


def test_an_approximate_place_adds_its_radius_to_every_travel_estimate() -> None:
    candidates = [cand(1, north_m=300), cand(2, north_m=2000, mode=Mode.BIKE)]
    exact = {o.responder_id: o for o in plan(candidates).offers}
    rough = {o.responder_id: o for o in plan(candidates, radius_m=500).offers}
    for rid, mode in ((1, Mode.WALK), (2, Mode.BIKE)):
        extra = 500 * ESTIMATOR.detour_factor / ESTIMATOR.speeds_mps[mode]
        assert rough[rid].eta_seconds == pytest.approx(exact[rid].eta_seconds + extra)
        # The distance shown is still to the centre of the place.
        assert rough[rid].distance_m == exact[rid].distance_m


def test_an_approximate_place_can_change_who_is_nearest() -> None:
    # A walker 300 m from the centre beats a bike 1.2 km away to an exact point (about
    # 323 s against 400 s); somewhere within 800 m of it, the bike covers the circle
    # faster (about 1185 s against 667 s).
    walker, bike = cand(1, north_m=300), cand(2, north_m=1200, mode=Mode.BIKE)
    exact = plan([walker, bike], policy=PriorityPolicy(1, P1.offer_expiry, P1.deadline))
    rough = plan([walker, bike], policy=PriorityPolicy(1, P1.offer_expiry, P1.deadline),
                 radius_m=800)
    assert [o.responder_id for o in exact.offers] == [1]
    assert [o.responder_id for o in rough.offers] == [2]


def test_a_zero_radius_is_an_exact_place() -> None:
    candidates = [cand(i, north_m=250.0 * i, mode=list(Mode)[i % 3]) for i in range(1, 7)]
    assert plan(candidates, radius_m=0) == plan(candidates)


def test_it_widens_to_the_next_k_after_a_round_expired() -> None:
    candidates = [cand(i, north_m=100.0 * i) for i in range(1, 8)]
    first = plan(candidates)
    past = [PastOffer(o.responder_id, OfferStatus.EXPIRED) for o in first.offers]
    second = plan(candidates, past)
    assert [o.responder_id for o in first.offers] == [1, 2, 3]
    assert [o.responder_id for o in second.offers] == [4, 5, 6]


@pytest.mark.parametrize("status", SPENT)
def test_it_never_re_offers_once_the_responder_answered_ignored_or_released_it(
    status: OfferStatus,
) -> None:
    r = plan([cand(1, north_m=10), cand(2, north_m=5000)], [PastOffer(1, status)])
    assert [o.responder_id for o in r.offers] == [2]


def test_it_offers_again_to_a_responder_whose_offer_was_withdrawn_before_they_answered() -> None:
    # Someone else took the incident and gave it back: this responder never said no.
    past = [PastOffer(1, OfferStatus.WITHDRAWN), PastOffer(2, OfferStatus.RELEASED)]
    r = plan([cand(1, north_m=10), cand(2, north_m=5), cand(3, north_m=5000)], past)
    assert [o.responder_id for o in r.offers] == [1, 3]


# -- why nobody could be offered -----------------------------------------------------------


def test_it_says_nobody_is_on_shift() -> None:
    assert plan([]).shortfall is Shortfall.NOBODY_ON_SHIFT
    assert plan([cand(1, on_shift=False), cand(2, on_shift=False)]).shortfall is (
        Shortfall.NOBODY_ON_SHIFT
    )


def test_it_says_no_one_on_shift_is_qualified() -> None:
    r = plan([cand(1, skills=frozenset({Skill.FIRST_AID})), cand(2, on_shift=False)])
    assert r.offers == ()
    assert r.shortfall is Shortfall.NO_ONE_QUALIFIED


def test_it_says_all_the_qualified_are_busy() -> None:
    r = plan([cand(1, busy=True), cand(2, busy=True), cand(3, skills=frozenset())])
    assert r.offers == ()
    assert r.shortfall is Shortfall.ALL_BUSY


def test_it_says_all_declined() -> None:
    past = [PastOffer(1, OfferStatus.DECLINED), PastOffer(2, OfferStatus.DECLINED)]
    r = plan([cand(1), cand(2)], past)
    assert r.shortfall is Shortfall.ALL_DECLINED


@pytest.mark.parametrize("other", [OfferStatus.WITHDRAWN, OfferStatus.RELEASED])
def test_it_ignores_withdrawn_and_released_offers_when_the_others_declined(
    other: OfferStatus,
) -> None:
    # Responder 2 has left the roster since; responder 1 declined.
    past = [PastOffer(1, OfferStatus.DECLINED), PastOffer(2, other)]
    assert plan([cand(1)], past).shortfall is Shortfall.ALL_DECLINED


@pytest.mark.parametrize(
    "statuses",
    [[OfferStatus.EXPIRED], [OfferStatus.EXPIRED, OfferStatus.DECLINED],
     [OfferStatus.EXPIRED, OfferStatus.WITHDRAWN]],
)
def test_it_says_no_answer_when_an_offer_expired(statuses: list[OfferStatus]) -> None:
    past = [PastOffer(i + 1, s) for i, s in enumerate(statuses)]
    r = plan([cand(1)], past)
    assert r.offers == ()
    assert r.shortfall is Shortfall.NO_ANSWER


@pytest.mark.parametrize("waiting", [OfferStatus.PENDING, OfferStatus.ACCEPTED])
def test_it_gives_no_shortfall_while_an_offer_may_still_come_good(
    waiting: OfferStatus,
) -> None:
    past = [PastOffer(1, OfferStatus.DECLINED), PastOffer(2, waiting),
            PastOffer(3, OfferStatus.EXPIRED)]
    r = plan([cand(1), cand(2), cand(3)], past)
    assert r.offers == ()
    assert r.shortfall is None


def test_it_does_not_say_all_declined_when_nobody_declined() -> None:
    """Withdrawn offers (the incident was taken then released, or the responders went
    off shift) and give-backs are nobody's refusal: reports must not count them as
    declines."""
    for nobody_said_no in (
        [PastOffer(1, OfferStatus.WITHDRAWN), PastOffer(2, OfferStatus.WITHDRAWN)],
        [PastOffer(1, OfferStatus.RELEASED)],
        [PastOffer(1, OfferStatus.RELEASED), PastOffer(2, OfferStatus.WITHDRAWN)],
    ):
        assert plan([cand(1)], nobody_said_no).shortfall is not Shortfall.ALL_DECLINED


# -- the deadline ---------------------------------------------------------------------------


@pytest.mark.parametrize("auto_ems", [False, True])
@pytest.mark.parametrize("state", list(State))
def test_it_raises_the_alarm_at_the_deadline_only_while_dispatching(
    state: State, auto_ems: bool
) -> None:
    policy = replace(P1, auto_ems=auto_ems)
    d = on_deadline(state=state, policy=policy)
    if state is State.DISPATCHING:
        assert d.mark_unanswered and d.propose_ems
        assert d.request_ems is auto_ems
    else:
        assert (d.mark_unanswered, d.propose_ems, d.request_ems) == (False, False, False)


@pytest.mark.parametrize("state", list(State))
def test_it_widens_only_while_nobody_holds_the_incident(state: State) -> None:
    assert should_widen(state) is (state is State.DISPATCHING)


def test_it_escalates_to_an_ambulance_at_most_never_to_the_police() -> None:
    targets = {t.value for t in EscalationTarget}
    assert targets == {"more_responders", "crisis_team", "ems"}
    words = [w.lower() for e in (EscalationTarget, Actor, Shortfall)
             for m in e for w in (m.name, m.value)]
    assert not [w for w in words if "police" in w or "law" in w]


# -- the policy itself -----------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, -1])
def test_it_rejects_fewer_than_one_offer_per_round(k: int) -> None:
    with pytest.raises(ValueError):
        PriorityPolicy(k, timedelta(seconds=45), timedelta(seconds=120))


@pytest.mark.parametrize("bad", [timedelta(0), timedelta(seconds=-1)])
def test_it_rejects_non_positive_durations(bad: timedelta) -> None:
    with pytest.raises(ValueError):
        PriorityPolicy(3, bad, timedelta(seconds=120))
    with pytest.raises(ValueError):
        PriorityPolicy(3, timedelta(seconds=45), bad)


def test_it_accepts_the_smallest_valid_policy() -> None:
    p = PriorityPolicy(1, timedelta(seconds=1), timedelta(seconds=1), auto_ems=True)
    assert (p.offers_per_round, p.auto_ems) == (1, True)


def test_it_defaults_to_three_offers_45_seconds_and_a_two_minute_deadline_for_p1() -> None:
    p1 = DEFAULT_POLICY[Priority.P1]
    assert (p1.offers_per_round, p1.offer_expiry, p1.deadline, p1.auto_ems) == (
        3, timedelta(seconds=45), timedelta(seconds=120), False,
    )
    for priority in Priority:
        # A round expires (and widens) before the alarm goes off.
        assert DEFAULT_POLICY[priority].offer_expiry < DEFAULT_POLICY[priority].deadline
    deadlines = [DEFAULT_POLICY[p].deadline for p in (Priority.P1, Priority.P2, Priority.P3)]
    assert deadlines == sorted(deadlines)
