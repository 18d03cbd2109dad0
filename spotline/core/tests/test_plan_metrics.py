"""The simulation's figures (core.plan.metrics) on a hand-made result."""

from __future__ import annotations

import json

import pytest

from spotline.core.plan.metrics import compare, percentile, summarize
from spotline.core.plan.model import CallOutcome, SimResult
from spotline.core.policy import Shortfall
from spotline.core.triage import Kind, Priority


def outcome(cid: int, how: int, area: str, on_scene: float | None,
            unserved: Shortfall | None = None, ems: bool = False) -> CallOutcome:
    return CallOutcome(call_id=cid, how=how, area=area, kind=Kind.OVERDOSE,
                       priority=Priority.P1, responder_id=None if unserved else 1,
                       accepted_after=None if unserved else 30.0, on_scene_after=on_scene,
                       unserved=unserved, rounds=1, offers=2, ems_proposed=ems)


RESULT = SimResult(
    outcomes=[
        outcome(1, 0, "a", 100.0),
        outcome(2, 0, "a", 200.0),
        outcome(3, 0, "b", 300.0),
        outcome(4, 5, "b", 400.0, ems=True),
        outcome(5, 5, "b", None, Shortfall.ALL_BUSY, ems=True),
    ],
    shift_seconds={1: 3600.0, 2: 3600.0},
    busy_seconds={1: 1800.0, 2: 0.0},
)


class TestSummarize:
    def test_it_gives_the_headline_figures(self) -> None:
        s = summarize(RESULT)
        assert (s["calls"], s["served"], s["served_share"]) == (5, 4, 0.8)
        # Linear percentiles of 100, 200, 300, 400: the median halfway between 200 and
        # 300; p90 at rank 2.7, 70% of the way from 300 to 400.
        assert s["on_scene_median_s"] == 250.0
        assert s["on_scene_p90_s"] == pytest.approx(370.0)
        assert s["accepted_median_s"] == 30.0
        assert s["utilization"] == 0.25
        assert s["ems_proposed"] == 2
        assert s["oracle"] is False

    def test_every_reason_is_there_even_at_zero(self) -> None:
        reasons = summarize(RESULT)["unserved_by_reason"]
        assert set(reasons) == {r.value for r in Shortfall}
        assert reasons["all_busy"] == 1
        assert sum(reasons.values()) == 1

    def test_it_breaks_down_by_hour_of_the_week_and_area(self) -> None:
        s = summarize(RESULT)
        assert len(s["by_hour"]) == 168
        assert s["by_hour"][0] == {"how": 0, "calls": 3, "served": 3, "median_s": 200.0,
                                   "p90_s": pytest.approx(280.0)}
        assert s["by_hour"][5]["calls"] == 2 and s["by_hour"][5]["served"] == 1
        assert s["by_hour"][1] == {"how": 1, "calls": 0, "served": 0, "median_s": None,
                                   "p90_s": None}
        assert s["by_area"] == {"a": {"calls": 2, "served": 2, "median_s": 150.0},
                                "b": {"calls": 3, "served": 2, "median_s": 350.0}}

    def test_nothing_served_has_no_times_and_it_is_json(self) -> None:
        empty = SimResult(outcomes=[outcome(1, 3, "", None, Shortfall.NOBODY_ON_SHIFT)],
                          shift_seconds={}, busy_seconds={})
        s = summarize(empty)
        assert (s["served_share"], s["on_scene_median_s"], s["on_scene_p90_s"]) == (0.0, None,
                                                                                     None)
        assert s["utilization"] is None
        assert json.loads(json.dumps(s)) == s

    def test_percentile_is_linear(self) -> None:
        assert percentile([10.0, 20.0], 50) == 15.0
        assert percentile([], 50) is None


class TestCompare:
    def test_it_gives_policy_over_oracle(self) -> None:
        policy = {"on_scene_median_s": 300.0, "on_scene_p90_s": 600.0, "served_share": 0.8}
        oracle = {"on_scene_median_s": 200.0, "on_scene_p90_s": 400.0, "served_share": 1.0}
        assert compare(policy, oracle) == {"on_scene_median_ratio": 1.5,
                                           "on_scene_p90_ratio": 1.5,
                                           "served_share_ratio": 0.8}

    def test_it_is_none_where_undefined(self) -> None:
        policy = {"on_scene_median_s": None, "on_scene_p90_s": None, "served_share": 0.0}
        oracle = {"on_scene_median_s": 200.0, "on_scene_p90_s": 400.0, "served_share": 0.0}
        assert compare(policy, oracle) == {"on_scene_median_ratio": None,
                                           "on_scene_p90_ratio": None,
                                           "served_share_ratio": None}
