"""The planner's simulation (core.plan.simulate) and its oracle, on hand-made calls."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import timedelta

import pytest

from spotline.core import policy as policy_module
from spotline.core import waiting as waiting_module
from spotline.core.geo import EARTH_RADIUS_M, Mode, Point, StraightLineEstimator
from spotline.core.plan import simulate as simulate_module
from spotline.core.plan.metrics import summarize
from spotline.core.plan.model import (
    WEEK_HOURS,
    Assumptions,
    SimCall,
    SimResponder,
    Staffing,
)
from spotline.core.plan.oracle import simulate_oracle
from spotline.core.plan.simulate import simulate
from spotline.core.policy import DEFAULT_POLICY, DispatchPolicy, Shortfall
from spotline.core.triage import BASE_PRIORITY, Kind, Priority, Skill

HOME = Point(60.0, 24.0)
# One metre a second on every mode, straight: a distance in metres is seconds.
METRE_A_SECOND = StraightLineEstimator(detour_factor=1.0, speeds_mps=dict.fromkeys(Mode, 1.0))
EVERY_SKILL = frozenset(Skill)


def north(point: Point, metres: float) -> Point:
    return Point(point.lat + math.degrees(metres / EARTH_RADIUS_M), point.lon)


def responder(rid: int, home: Point = HOME, skills: frozenset[Skill] = EVERY_SKILL,
              mode: Mode = Mode.WALK) -> SimResponder:
    return SimResponder(responder_id=rid, home=home, mode=mode, skills=skills)


def always(*responders: SimResponder) -> Staffing:
    return Staffing(per_hour=(len(responders),) * WEEK_HOURS, responders=responders)


def call(cid: int, at: float, point: Point | None, kind: Kind = Kind.WELFARE_CHECK,
         priority: Priority | None = None, backup: bool = False) -> SimCall:
    return SimCall(call_id=cid, at=at, how=int(at // 3600) % WEEK_HOURS, point=point,
                   kind=kind, priority=priority or BASE_PRIORITY[kind], backup=backup)


# Every offer accepted 20 s after it is made; 60 s turnout; 10 minutes on scene, exactly.
SURE = Assumptions(accept_probability=1.0, answer_seconds=(20.0, 20.0), turnout_seconds=60.0,
                   scene_minutes=dict.fromkeys(Kind, 10.0), scene_spread=0.0)


def policy_with(priority: Priority, **changes: object) -> DispatchPolicy:
    by = dict(DEFAULT_POLICY.by_priority)
    by[priority] = replace(by[priority], **changes)  # type: ignore[arg-type]
    return DispatchPolicy(by_priority=by)


class TestHandComputed:
    def test_it_gives_the_exact_times_of_one_responder_and_two_calls(self) -> None:
        a, b = north(HOME, 600), north(HOME, 900)  # b is 300 m beyond a
        calls = [call(1, 100.0, a), call(2, 400.0, b)]
        result = simulate(calls, always(responder(7)), SURE, METRE_A_SECOND)
        first, second = result.outcomes
        # 1: offered at 100, accepted at 120, 60 s turnout and 600 m walked: on scene at
        # 780 (680 s after the call), free at 1380 at a.
        assert first.responder_id == 7
        assert first.accepted_after == pytest.approx(20.0)
        assert first.on_scene_after == pytest.approx(680.0)
        assert (first.rounds, first.offers, first.ems_proposed) == (1, 1, False)
        # 2: comes at 400 while they are busy; its rounds (every 300 s, P3) offer nobody.
        # Freed at 1380, they are offered it at once (choose_waiting), not at its next
        # round at 1600: accepted at 1400, 60 s + 300 m from a, on scene at 1760.
        assert second.responder_id == 7
        assert second.accepted_after == pytest.approx(1000.0)
        assert second.on_scene_after == pytest.approx(1360.0)
        assert (second.rounds, second.offers) == (1, 1)
        # Its P3 deadline (900 s, at 1300) passed with nobody: an ambulance proposed.
        assert second.ems_proposed
        # Busy 120-1380 and 1400-2360; on shift until 400 + the longest give-up (2700).
        assert result.busy_seconds[7] == pytest.approx(1260.0 + 960.0)
        assert result.shift_seconds == {7: pytest.approx(3100.0)}

    def test_it_reports_progress_for_every_call_at_most_100_times(self) -> None:
        calls = [call(i, 60.0 * i, north(HOME, 100)) for i in range(250)]
        seen: list[int] = []
        simulate(calls, always(responder(1)), SURE, METRE_A_SECOND, progress=seen.append)
        assert seen[-1] == 250
        assert len(seen) <= 101
        assert seen == sorted(seen)


class TestProductionPolicy:
    def test_it_serves_nobody_beyond_a_tiny_max_eta(self) -> None:
        calls = [call(1, 0.0, north(HOME, 600))]
        served = simulate(calls, always(responder(1)), SURE, METRE_A_SECOND)
        tiny = replace(SURE, policy=policy_with(Priority.P3, max_eta=timedelta(minutes=1)))
        capped = simulate(calls, always(responder(1)), tiny, METRE_A_SECOND)
        assert served.outcomes[0].unserved is None
        assert capped.outcomes[0].unserved is Shortfall.OUT_OF_REACH
        assert capped.outcomes[0].on_scene_after is None

    def test_the_round_size_decides_how_many_are_asked(self) -> None:
        # Nobody answers; P1 rounds expire at 45 s, the call gives up at 60 s. One a round:
        # r1 at 0, r2 at 45. Three a round: all three at 0, and at 45 nobody new (each
        # lapsed and cools down for 2 min), so the reason is "no answer".
        crew = always(responder(1), responder(2, north(HOME, 10)), responder(3, north(HOME, 20)))
        silent = replace(SURE, accept_probability=0.0, decline_share=0.0,
                         give_up_seconds=dict.fromkeys(Priority, 60.0))
        calls = [call(1, 0.0, north(HOME, 100), Kind.OVERDOSE)]
        one = replace(silent, policy=policy_with(Priority.P1, offers_per_round=1))
        three = replace(silent, policy=policy_with(Priority.P1, offers_per_round=3))
        by_one = simulate(calls, crew, one, METRE_A_SECOND).outcomes[0]
        by_three = simulate(calls, crew, three, METRE_A_SECOND).outcomes[0]
        assert (by_one.offers, by_one.rounds) == (2, 2)
        assert (by_three.offers, by_three.rounds) == (3, 1)
        assert by_three.unserved is Shortfall.NO_ANSWER

    def test_it_runs_plan_round_and_choose_waiting_of_production(
            self, monkeypatch: pytest.MonkeyPatch) -> None:
        rounds: list[object] = []
        chosen: list[object] = []
        real_round, real_choose = policy_module.plan_round, waiting_module.choose_waiting

        def plan_round(**kwargs: object) -> object:
            rounds.append(kwargs["policy"])
            return real_round(**kwargs)  # type: ignore[arg-type]

        def choose_waiting(**kwargs: object) -> object:
            chosen.append(kwargs["now"])
            return real_choose(**kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(simulate_module, "plan_round", plan_round)
        monkeypatch.setattr(simulate_module, "choose_waiting", choose_waiting)
        calls = [call(1, 100.0, north(HOME, 600)), call(2, 400.0, north(HOME, 900))]
        result = simulate(calls, always(responder(7)), SURE, METRE_A_SECOND)
        # Call 1: one round. Call 2: rounds at 400, 700, 1000 and 1300, all offering
        # nobody; then choose_waiting when the responder is freed at 1380.
        assert rounds == [DEFAULT_POLICY[Priority.P3]] * 5
        assert len(chosen) == 2  # freed at 1380 (takes 2), freed at 2360 (nothing)
        assert result.outcomes[1].on_scene_after == pytest.approx(1360.0)


class TestReasons:
    def test_nobody_on_shift(self) -> None:
        staffing = Staffing(per_hour=(0,) * WEEK_HOURS, responders=(responder(1),))
        result = simulate([call(1, 10.0, north(HOME, 50))], staffing, SURE, METRE_A_SECOND)
        assert result.outcomes[0].unserved is Shortfall.NOBODY_ON_SHIFT
        assert result.busy_seconds == {1: 0.0}

    def test_no_one_qualified(self) -> None:
        walker = responder(1, skills=frozenset({Skill.FIRST_AID}))
        result = simulate([call(1, 10.0, north(HOME, 50), Kind.OVERDOSE)], always(walker),
                          SURE, METRE_A_SECOND)
        assert result.outcomes[0].unserved is Shortfall.NO_ONE_QUALIFIED

    def test_a_call_with_no_place_is_never_offered(self) -> None:
        result = simulate([call(1, 10.0, None)], always(responder(1)), SURE, METRE_A_SECOND)
        outcome = result.outcomes[0]
        assert outcome.unserved is Shortfall.LOCATION_UNKNOWN
        assert (outcome.offers, outcome.responder_id) == (0, None)

    def test_a_call_nobody_takes_in_time_gives_up_as_all_busy(self) -> None:
        long_scene = replace(SURE, scene_minutes=dict.fromkeys(Kind, 120.0))
        calls = [call(1, 0.0, north(HOME, 60)), call(2, 100.0, north(HOME, 60), Kind.OVERDOSE)]
        result = simulate(calls, always(responder(1)), long_scene, METRE_A_SECOND)
        second = result.outcomes[1]
        assert second.unserved is Shortfall.ALL_BUSY
        assert second.accepted_after is None and second.on_scene_after is None
        # An overdose with nobody within the 8 minutes: an ambulance proposed at once.
        assert second.ems_proposed

    def test_someone_going_off_shift_finishes_the_call_they_hold(self) -> None:
        # On shift in hour 0 only; the call comes at 3000 and keeps them until 3680.
        staffing = Staffing(per_hour=(1,) + (0,) * (WEEK_HOURS - 1), responders=(responder(1),))
        calls = [call(1, 3000.0, north(HOME, 0)), call(2, 3650.0, north(HOME, 0))]
        result = simulate(calls, staffing, SURE, METRE_A_SECOND)
        first, second = result.outcomes
        assert first.on_scene_after == pytest.approx(80.0)
        assert second.unserved is Shortfall.NOBODY_ON_SHIFT
        assert result.busy_seconds[1] == pytest.approx(660.0)


class TestBackupAndDeterminism:
    def test_a_backup_call_sends_a_second_responder(self) -> None:
        crew = always(responder(1), responder(2, north(HOME, 100)))
        result = simulate([call(1, 0.0, north(HOME, 50), backup=True)], crew, SURE,
                          METRE_A_SECOND)
        outcome = result.outcomes[0]
        # The nearest (1, 50 m) takes it; 2 is asked as the backup (1 never is).
        assert outcome.responder_id == 1
        assert outcome.on_scene_after == pytest.approx(20.0 + 60.0 + 50.0)
        assert outcome.offers == 3  # round 1 offers both; the backup round asks 2 again
        # Both are on scene 10 minutes after their own arrival.
        assert result.busy_seconds[1] == pytest.approx(60.0 + 50.0 + 600.0)
        assert result.busy_seconds[2] == pytest.approx(60.0 + 50.0 + 600.0)

    def test_the_same_inputs_give_the_same_result_and_another_seed_another(self) -> None:
        calls, staffing = scenario(random.Random(5), calls=60, responders=4)
        first = simulate(calls, staffing, Assumptions(seed=3), StraightLineEstimator())
        again = simulate(calls, staffing, Assumptions(seed=3), StraightLineEstimator())
        other = simulate(calls, staffing, Assumptions(seed=4), StraightLineEstimator())
        assert first == again
        assert first.outcomes != other.outcomes


def scenario(rng: random.Random, *, calls: int, responders: int,
             hours: float = 12.0) -> tuple[list[SimCall], Staffing]:
    """Calls and responders within about 1.5 km of each other: everyone within every
    priority's ``max_eta`` by bike or car, so the policy's cap never binds."""
    def near() -> Point:
        return Point(60.0 + rng.uniform(-0.006, 0.006), 24.0 + rng.uniform(-0.012, 0.012))

    crew = tuple(responder(i, near(), EVERY_SKILL if rng.random() < 0.8 else
                           frozenset({Skill.FIRST_AID, Skill.NALOXONE}),
                           rng.choice([Mode.BIKE, Mode.CAR])) for i in range(responders))
    made = [call(i, rng.uniform(0, hours * 3600), near(), rng.choice(list(Kind)),
                 backup=rng.random() < 0.1) for i in range(calls)]
    return made, always(*crew)


class TestOracle:
    def test_it_assigns_the_nearest_free_responder_at_once(self) -> None:
        crew = always(responder(1, north(HOME, 300)), responder(2, north(HOME, 120)))
        result = simulate_oracle([call(1, 50.0, HOME)], crew, SURE, METRE_A_SECOND)
        outcome = result.outcomes[0]
        assert result.oracle
        assert (outcome.responder_id, outcome.accepted_after) == (2, 0.0)
        assert outcome.on_scene_after == pytest.approx(60.0 + 120.0)

    def test_capped_it_sends_nobody_beyond_the_priority_max_eta(self) -> None:
        tiny = replace(SURE, policy=policy_with(Priority.P3, max_eta=timedelta(minutes=1)))
        calls = [call(1, 0.0, north(HOME, 600))]
        free = simulate_oracle(calls, always(responder(1)), tiny, METRE_A_SECOND)
        capped = simulate_oracle(calls, always(responder(1)), tiny, METRE_A_SECOND, capped=True)
        assert free.outcomes[0].on_scene_after == pytest.approx(660.0)
        assert capped.outcomes[0].unserved is Shortfall.OUT_OF_REACH

    def test_it_queues_a_call_for_the_first_responder_to_come_free(self) -> None:
        a, b = north(HOME, 600), north(HOME, 900)
        result = simulate_oracle([call(1, 100.0, a), call(2, 400.0, b)],
                                 always(responder(7)), SURE, METRE_A_SECOND)
        first, second = result.outcomes
        # 1: at once, 60 + 600: on scene at 760, free at 1360; 2 taken then, +360.
        assert first.on_scene_after == pytest.approx(660.0)
        assert second.accepted_after == pytest.approx(960.0)
        assert second.on_scene_after == pytest.approx(1320.0)

    def test_it_is_never_worse_than_the_policy_within_reach_and_capacity(self) -> None:
        # The oracle is greedy, not optimal, so "never worse" holds where it cannot
        # lose by being greedy: everyone within reach (``scenario``) and enough people
        # that it rarely has to queue a call. Never queueing, its share is the most that
        # can be served; over 200 seeds it was worse twice: seed 42 (it queued a call
        # and served 28 of 30 to the policy's 29) and seed 4 (all served, median 1.2%
        # higher: it sent someone on their way home from a scene, the nearest then, and
        # had nobody near a later call). Beyond that it can lose, and these seeds do not
        # hide it: with 1-5 responders for 20-80 calls it served fewer in 35 of 200
        # seeds and was slower in 41 (serving a call the policy let lapse keeps someone
        # busy when the next one comes), and even never queueing (seed 67 of a sweep
        # with 3-6 responders for 10-30 calls) its median was 9% higher: the nearest
        # one now ends up farther from the next calls.
        estimator = StraightLineEstimator()
        slower = []
        for seed in range(20):
            rng = random.Random(seed)
            calls, staffing = scenario(rng, calls=rng.randint(10, 40),
                                       responders=rng.randint(6, 10))
            assumptions = Assumptions(seed=seed)
            policy = summarize(simulate(calls, staffing, assumptions, estimator))
            oracle = summarize(simulate_oracle(calls, staffing, assumptions, estimator))
            assert oracle["served_share"] >= policy["served_share"], seed
            if oracle["on_scene_median_s"] > policy["on_scene_median_s"]:
                slower.append(seed)
                assert oracle["on_scene_median_s"] <= 1.02 * policy["on_scene_median_s"]
        assert set(slower) <= {4}  # the one measured above, and by 2% at most
