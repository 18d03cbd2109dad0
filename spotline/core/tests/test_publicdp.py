"""The public monthly figures: the OpenDP mechanisms' parameters, the post-processing
(clamping, rounding, suppression, shares, the median's gate) checked exactly with
deterministic noise, neighbouring months, and the real noise checked statistically."""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, replace
from statistics import fmean, median_low, variance
from typing import Any

import opendp.prelude as dp
import pytest

from spotline.core.publicdp import (
    RELEASES,
    SERVED,
    Budget,
    MonthRelease,
    MonthTruth,
    budget_split,
    measurements,
    mechanism_inputs,
    release,
)

KINDS = ("overdose", "mental_health", "welfare_check")
REASONS = ("no_responders", "cancelled", "not_found")
BUDGET = Budget(epsilon=1.0, min_cell=11, rounding=5)


def identity(name: str, value: Any) -> Any:
    """No noise: counts as they are, the median as the lower middle time."""
    return median_low(value) if name == "on_scene_median" else value


def shifted(k: int) -> Any:
    """Every count moved by k; the median left as it is."""
    def noise(name: str, value: Any) -> Any:
        if name == "on_scene_median":
            return median_low(value)
        return [v + k for v in value] if isinstance(value, list) else value + k
    return noise


# A month worked by hand below: 63 incidents, 44 reached by someone.
MONTH = MonthTruth(
    by_kind={"overdose": 42, "mental_health": 3, "welfare_check": 18},
    served={"community": 30, "crisis_team": 14, "none": 19},
    unserved_by_reason={"no_responders": 12, "cancelled": 4, "not_found": 3},
    reversed_overdoses=13,
    ems_requested=9,
    # The lower middle of 44 times is the 22nd: 435 s = 7.25 min, to the half up: 7.5.
    on_scene_seconds=[400] * 20 + [435] * 4 + [900] * 20,
)


def publish(truth: MonthTruth, noise: Any = identity, budget: Budget = BUDGET) -> MonthRelease:
    return release(truth, month="2026-11", budget=budget, kinds=KINDS, reasons=REASONS,
                   noise=noise)


def shown(rel: MonthRelease) -> dict[str, tuple[Any, str]]:
    return {key: (f.value, f.shown) for key, f in rel.figures.items()}


# --- 1. the mechanisms and the budget ----------------------------------------------------


@pytest.mark.parametrize("epsilon", [0.1, 0.3, 0.5, 1.0, 2.0, 3.7])
def test_it_keeps_every_mechanism_within_its_share_of_the_budget(epsilon: float) -> None:
    budget = Budget(epsilon=epsilon)
    split = budget_split(budget)
    assert list(split) == list(RELEASES)
    assert sum(split.values()) <= epsilon + 1e-9
    assert sum(split.values()) == pytest.approx(epsilon, rel=1e-12)

    mechs = measurements(budget, kinds=KINDS, reasons=REASONS)
    assert set(mechs) == set(RELEASES)
    for name, mech in mechs.items():
        assert mech.epsilon == split[name]
        # The library's own privacy map, at the unit of privacy (one incident).
        assert mech.measurement.map(1) <= split[name] + 1e-9
        assert mech.measurement.output_measure == dp.max_divergence()  # pure ε-DP
        # Sensitivity 1 for all six: the scale is 1/share, up to the map's rounding.
        assert mech.scale == pytest.approx(1 / split[name], rel=1e-9)


def test_it_measures_each_release_in_the_metric_its_sensitivity_argument_uses() -> None:
    mechs = measurements(BUDGET, kinds=KINDS, reasons=REASONS)
    ints = dp.atom_domain(T=int)
    for name in ("by_kind", "served", "unserved_by_reason"):
        assert mechs[name].measurement.input_domain == dp.vector_domain(ints)
        assert mechs[name].measurement.input_metric == dp.l1_distance(T=int)
    for name in ("reversed_overdoses", "ems_requested"):
        assert mechs[name].measurement.input_domain == ints
        assert mechs[name].measurement.input_metric == dp.absolute_distance(T=int)
    assert mechs["on_scene_median"].measurement.input_metric == dp.symmetric_distance()


def test_it_names_the_mechanism_and_the_scale_in_every_figure() -> None:
    rel = publish(MONTH)
    for key, figure in rel.figures.items():
        assert "scale 6.0" in figure.noise, key
        assert "ε = 0.167" in figure.noise, key
        assert "Laplace" in figure.noise or "private quantile" in figure.noise, key
        assert figure.definition.endswith("."), key


# --- 2. the post-processing, by hand ------------------------------------------------------


def test_it_rounds_suppresses_and_shares_a_month_worked_by_hand() -> None:
    assert shown(publish(MONTH)) == {
        "total": (65, "65"),  # 63
        "by_kind.overdose": (40, "40"),  # 42
        "by_kind.mental_health": (None, "<11"),  # 3
        "by_kind.welfare_check": (20, "20"),  # 18
        "served.community": (30, "30"),
        "served.crisis_team": (15, "15"),  # 14
        "served.none": (20, "20"),  # 19
        "community_share": (70, "70%"),  # 44/63 = 69.8%
        "unserved_share": (30, "30%"),  # 19/63 = 30.2%
        # 12 is not under 11, but it rounds to 10: the page never prints a number
        # under its own "<11".
        "unserved_by_reason.no_responders": (None, "<11"),
        "unserved_by_reason.cancelled": (None, "<11"),
        "unserved_by_reason.not_found": (None, "<11"),
        "on_scene_median_minutes": (7.5, "7.5 min"),
        "reversed_overdoses": (15, "15"),  # 13
        "ems_requested": (None, "<11"),  # 9
    }


def test_it_clamps_negative_noise_and_formats_thousands() -> None:
    big = replace(MONTH, by_kind={"overdose": 1238, "mental_health": 0, "welfare_check": 0},
                  served={"community": 1200, "crisis_team": 19, "none": 19})
    rel = publish(big, noise=shifted(-2))
    assert shown(rel)["by_kind.overdose"] == (1235, "1,235")  # 1236 rounds down
    assert shown(rel)["by_kind.mental_health"] == (None, "<11")  # -2 clamped to 0
    # The total sums the unclamped noisy counts: 1236 - 2 - 2 = 1232, so the noise of the
    # empty kinds does not push it up.
    assert shown(rel)["total"] == (1230, "1,230")


def test_it_uses_the_budgets_own_threshold_and_rounding() -> None:
    rel = publish(MONTH, budget=Budget(epsilon=1.0, min_cell=20, rounding=10))
    assert shown(rel)["by_kind.welfare_check"] == (None, "<20")  # 18
    assert shown(rel)["served.community"] == (30, "30")
    assert shown(rel)["by_kind.overdose"] == (40, "40")  # 42
    assert shown(rel)["reversed_overdoses"] == (None, "<20")


def test_it_withholds_the_median_when_the_noisy_count_reached_is_under_min_cell() -> None:
    small = MonthTruth(
        by_kind={"overdose": 30}, served={"community": 4, "crisis_team": 6, "none": 20},
        unserved_by_reason={"no_responders": 20}, reversed_overdoses=0, ems_requested=0,
        on_scene_seconds=[300] * 10)
    asked: list[str] = []

    def recording(name: str, value: Any) -> Any:
        asked.append(name)
        return identity(name, value)

    rel = publish(small, noise=recording)
    assert shown(rel)["on_scene_median_minutes"] == (None, "—")
    assert "on_scene_median" not in asked
    # The shares still stand: the whole (30) is not small.
    assert shown(rel)["community_share"] == (33, "33%")


def test_it_gates_the_median_on_the_noisy_count_not_the_true_one() -> None:
    # 10 true times on scene, but noise lifts the reached count to 20: the median shows.
    few = MonthTruth(
        by_kind={"overdose": 10}, served={"community": 4, "crisis_team": 6},
        unserved_by_reason={}, reversed_overdoses=0, ems_requested=0,
        on_scene_seconds=[300] * 10)
    assert shown(publish(few, noise=shifted(5)))["on_scene_median_minutes"] == (5.0, "5.0 min")
    # 44 true times, but noise drops the reached count to (30 - 20) + max(14 - 20, 0) = 10.
    assert publish(MONTH, noise=shifted(-20)).figures["on_scene_median_minutes"].value is None


def test_it_withholds_shares_of_a_noisy_whole_under_min_cell() -> None:
    tiny = MonthTruth(
        by_kind={"overdose": 8}, served={"community": 6, "none": 2},
        unserved_by_reason={"cancelled": 2}, reversed_overdoses=0, ems_requested=0,
        on_scene_seconds=[120] * 6)
    rel = publish(tiny)
    assert shown(rel)["community_share"] == (None, "—")
    assert shown(rel)["unserved_share"] == (None, "—")
    assert shown(publish(tiny, noise=shifted(1)))["community_share"] == (73, "73%")  # 8/11


def test_it_publishes_the_same_keys_in_the_same_order_whatever_the_month() -> None:
    empty = MonthTruth(by_kind={}, served={}, unserved_by_reason={}, reversed_overdoses=0,
                       ems_requested=0, on_scene_seconds=[])
    assert list(publish(empty).figures) == list(publish(MONTH).figures)
    assert list(publish(MONTH).as_json()["figures"])[:2] == ["total", "by_kind.overdose"]


def test_it_refuses_a_truth_that_is_not_the_partitions_it_assumes() -> None:
    with pytest.raises(ValueError, match="outside the published list"):
        publish(replace(MONTH, by_kind={**MONTH.by_kind, "theft": 1}))
    with pytest.raises(ValueError, match="partition the same incidents"):
        publish(replace(MONTH, served={**MONTH.served, "none": 20}))
    with pytest.raises(ValueError, match="served\\['none'\\]"):
        publish(replace(MONTH, unserved_by_reason={"no_responders": 19}, served={
            "community": 30, "crisis_team": 13, "none": 20}))
    with pytest.raises(ValueError, match="more times on scene"):
        publish(replace(MONTH, on_scene_seconds=[60] * 45))


# --- 3. neighbouring months ---------------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    kind: str
    served: str
    reason: str | None  # set only when served == "none"
    reversed_overdose: bool
    ems: bool
    on_scene: int | None  # seconds, only when someone reached the scene


def aggregate(incidents: list[Incident]) -> MonthTruth:
    """What the reporting store does: each incident counted once per partition."""
    return MonthTruth(
        by_kind=Counter(i.kind for i in incidents),
        served=Counter(i.served for i in incidents),
        unserved_by_reason=Counter(i.reason for i in incidents if i.reason is not None),
        reversed_overdoses=sum(i.reversed_overdose for i in incidents),
        ems_requested=sum(i.ems for i in incidents),
        on_scene_seconds=[i.on_scene for i in incidents if i.on_scene is not None])


def random_incident(rng: random.Random) -> Incident:
    served = rng.choice(SERVED)
    kind = rng.choice(KINDS)
    return Incident(
        kind=kind, served=served,
        reason=rng.choice(REASONS) if served == "none" else None,
        reversed_overdose=kind == "overdose" and rng.random() < 0.5,
        ems=rng.random() < 0.3,
        on_scene=rng.randrange(60, 3600) if served != "none" else None)


def distance(name: str, a: Any, b: Any) -> int:
    """The distance each mechanism's input metric measures (checked in the test above)."""
    if name == "on_scene_median":  # symmetric distance: size of the multiset difference
        ca, cb = Counter(a), Counter(b)
        return sum(((ca - cb) + (cb - ca)).values())
    if isinstance(a, list):  # L1
        return sum(abs(x - y) for x, y in zip(a, b, strict=True))
    return abs(a - b)


def neighbours(seed: int) -> tuple[MonthTruth, MonthTruth]:
    """A month and the same month with one incident added or removed."""
    rng = random.Random(seed)
    month = [random_incident(rng) for _ in range(rng.randrange(0, 80))]
    if month and rng.random() < 0.5:
        other = list(month)
        other.pop(rng.randrange(len(other)))
    else:
        other = [*month, random_incident(rng)]
    return aggregate(month), aggregate(other)


@pytest.mark.parametrize("seed", range(200))
def test_it_moves_each_mechanism_input_by_at_most_one_for_one_incident(seed: int) -> None:
    a, b = neighbours(seed)
    mechs = measurements(BUDGET, kinds=KINDS, reasons=REASONS)
    inputs_a = mechanism_inputs(a, kinds=KINDS, reasons=REASONS)
    inputs_b = mechanism_inputs(b, kinds=KINDS, reasons=REASONS)
    assert inputs_a.keys() == inputs_b.keys() == set(RELEASES)
    for name in RELEASES:
        d = distance(name, inputs_a[name], inputs_b[name])
        assert d <= 1, name
        assert mechs[name].measurement.map(d) <= mechs[name].epsilon + 1e-9, name
    # By_kind and served partition the same incidents: each moves by exactly one.
    assert distance("by_kind", inputs_a["by_kind"], inputs_b["by_kind"]) == 1
    assert distance("served", inputs_a["served"], inputs_b["served"]) == 1


COUNTS = re.compile(r"total|by_kind\..*|served\..*|unserved_by_reason\..*|reversed_overdoses"
                    r"|ems_requested")


@pytest.mark.parametrize("seed", range(200))
def test_it_moves_each_published_figure_by_at_most_the_rounding_for_one_incident(
        seed: int) -> None:
    a, b = map(publish, neighbours(seed))
    smallest_shown = math.ceil(BUDGET.min_cell / BUDGET.rounding) * BUDGET.rounding  # 15
    for key in a.figures:
        va, vb = a.figures[key].value, b.figures[key].value
        if COUNTS.fullmatch(key):
            if va is not None and vb is not None:
                assert abs(va - vb) <= BUDGET.rounding, key
            elif va is not None or vb is not None:  # crossed the threshold, just
                assert (va or vb) <= smallest_shown, key
        elif key.endswith("_share") and va is not None and vb is not None:
            whole = min(sum(m.served.values()) for m in neighbours(seed))
            assert abs(va - vb) <= 100 / whole + 1, key
    # Everything but the values is the same: definitions, noise texts, the budget.
    ja, jb = a.as_json(), b.as_json()
    for j in (ja, jb):
        for figure in j["figures"].values():
            del figure["value"], figure["shown"]
    assert ja == jb
    assert a.epsilon == b.epsilon == BUDGET.epsilon


# --- 4. the real noise ----------------------------------------------------------------------


def test_it_draws_discrete_laplace_noise_of_the_published_scale() -> None:
    mech = measurements(BUDGET, kinds=KINDS, reasons=REASONS)["ems_requested"]
    assert mech.scale == pytest.approx(6.0)
    draws = [mech.measurement(40) for _ in range(5000)]
    assert all(isinstance(x, int) for x in draws)
    # The discrete Laplace's variance, 2p/(1-p)^2 with p = exp(-1/scale): 71.83 at scale
    # 6, within 0.3% of the continuous 2 * scale^2. With 5,000 draws the mean's standard
    # error is 0.12 and the variance's about 2.3%: Chernoff bounds (truncating the
    # squares' heavy tail) put either check failing below 1e-12.
    p = math.exp(-1 / mech.scale)
    exact = 2 * p / (1 - p) ** 2
    assert exact == pytest.approx(2 * mech.scale**2, rel=0.01)
    assert abs(fmean(draws) - 40) <= 1.0
    assert 0.7 * exact <= variance(draws) <= 1.3 * exact


def test_it_only_publishes_rounded_counts_above_the_threshold_with_real_noise() -> None:
    releases = [publish(MONTH, noise=None) for _ in range(40)]
    for rel in releases:
        for key, figure in rel.figures.items():
            if COUNTS.fullmatch(key) and figure.value is not None:
                assert figure.value % BUDGET.rounding == 0, key
                assert figure.value >= BUDGET.min_cell, key
        median = rel.figures["on_scene_median_minutes"].value
        assert median is None or (median * 2).is_integer()
    # Noise is really drawn: forty totals of a 63-incident month are not all the same.
    assert len({rel.figures["total"].value for rel in releases}) > 1


# --- 5. the JSON ----------------------------------------------------------------------------

FINER_THAN_A_MONTH = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|\d{4}-\d{2}T")


def strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in [str(k), *strings(v)]]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return [str(node)]


def test_it_publishes_plain_json_with_nothing_finer_than_the_month() -> None:
    data = publish(MONTH).as_json()
    assert json.loads(json.dumps(data)) == data
    assert data["month"] == "2026-11"
    assert [s for s in strings(data) if FINER_THAN_A_MONTH.search(s)] == []
    assert data["epsilon"] == 1.0
    assert data["budget_split"] == budget_split(BUDGET)
    assert (data["min_cell"], data["rounding"]) == (11, 5)
    assert "rounded to the nearest 5" in data["about"]
    assert "noise" in data["about"]
    assert data["figures"]["by_kind.overdose"]["definition"]


@pytest.mark.parametrize("month", ["2026-11-05", "2026-13", "2026-11T03", "Nov 2026"])
def test_it_refuses_a_month_that_is_not_a_month(month: str) -> None:
    with pytest.raises(ValueError, match="month"):
        release(MONTH, month=month, budget=BUDGET, kinds=KINDS, reasons=REASONS,
                noise=identity)
