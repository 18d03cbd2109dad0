"""``plan staff``: the fewest responder-hours a week that reach a target (a median time
to scene and a share served), found by simulating many plans on all cores.

1. The curve: flat plans (N on shift every hour), N ascending with a step of about a
   tenth of N (1, 2, ... 10, 11, 12, 13, 14, 15, 17, 19, ...), each run by the policy
   and the oracle; it stops at the second level in a row that meets the target, and the
   levels skipped below the first one that met are filled in, so the smallest flat N
   that meets it is exact. Levels run in parallel batches but the levels run and kept
   never depend on the batch size: ``--jobs`` changes the time, not the answer.
2. The plan by hour of the week: responders shaped to the demand. Expected busy
   responders in hour ``h`` = calls in ``h`` per week (backup calls count twice) x the
   mean time a call holds a responder (turnout + travel + scene) / 3600; the plan is
   that times a scale, rounded up, with a floor. The scale is searched by quadrisection
   (three scales a round, fixed, again whatever ``--jobs``) between the floors alone and
   a scale that meets the target.
3. The recommendation is the plan with the fewest responder-hours among all those that
   met the target, flat or shaped; when none did, the one that came closest.

The simulation is the same for every plan (same calls, seed and estimator): workers get
it once, through the pool's initializer, and then only a plan per task.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from spotline.core.geo import Mode, TravelTimeEstimator
from spotline.core.plan.diversion import WEEKDAYS
from spotline.core.plan.metrics import summarize
from spotline.core.plan.model import WEEK_HOURS, Assumptions, SimCall
from spotline.core.plan.oracle import simulate_oracle
from spotline.core.plan.simulate import simulate
from spotline.planner.simulate import minutes, percent
from spotline.planner.staffing import build

Plan = tuple[int, ...]
Summary = dict[str, Any]
QUARTERS = 3  # scales tried per round of the plan search
ROUNDS = 6


@dataclass(frozen=True)
class Target:
    median_s: float
    served_share: float

    def met(self, s: Summary) -> bool:
        median = s["on_scene_median_s"]
        return (median is not None and median <= self.median_s
                and (s["served_share"] or 0.0) >= self.served_share)


@dataclass(frozen=True)
class Scenario:
    """What every run shares; pickled once per worker."""

    calls: tuple[SimCall, ...]
    assumptions: Assumptions
    estimator: TravelTimeEstimator
    modes: tuple[tuple[Mode, float], ...]
    start_how: int


def evaluate(scenario: Scenario, plan: Plan, oracle: bool) -> Summary:
    staffing = build(plan, calls=scenario.calls, modes=scenario.modes,
                     start_how=scenario.start_how)
    if oracle:  # capped: see planner.simulate.run
        return summarize(simulate_oracle(scenario.calls, staffing, scenario.assumptions,
                                         scenario.estimator, capped=True))
    return summarize(simulate(scenario.calls, staffing, scenario.assumptions,
                              scenario.estimator))


_SCENARIO: list[Scenario] = []


def _init(scenario: Scenario) -> None:
    _SCENARIO[:] = [scenario]


def _task(job: tuple[Plan, bool]) -> Summary:
    return evaluate(_SCENARIO[0], *job)


class Runner:
    """Runs plans, in this process (``jobs`` 1) or in a pool of ``jobs`` processes;
    remembers every result so nothing is simulated twice."""

    def __init__(self, scenario: Scenario, jobs: int,
                 tick: Callable[[int], None] = lambda _n: None) -> None:
        self.scenario, self.jobs, self.tick = scenario, max(1, jobs), tick
        self.done: dict[tuple[Plan, bool], Summary] = {}
        self.pool: ProcessPoolExecutor | None = None
        if self.jobs > 1:
            # spawn, not fork: polars' threads in this process must not be copied
            # mid-lock into the workers.
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn"),
                                            initializer=_init, initargs=(scenario,))

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def run(self, jobs: Iterable[tuple[Plan, bool]]) -> list[Summary]:
        wanted = list(jobs)
        todo = list(dict.fromkeys(j for j in wanted if j not in self.done))
        if self.pool is None:
            for job in todo:
                self.done[job] = evaluate(self.scenario, *job)
                self.tick(1)
        else:
            for job, summary in zip(todo, self.pool.map(_task, todo), strict=True):
                self.done[job] = summary
                self.tick(1)
        return [self.done[j] for j in wanted]


@dataclass
class Search:
    target: Target
    curve: list[dict[str, Any]]
    reached: bool
    plan: Plan
    summary: Summary
    oracle: Summary
    notes: list[str] = field(default_factory=list)


def flat(n: int) -> Plan:
    return (n,) * WEEK_HOURS


def levels(maximum: int) -> list[int]:
    """Flat levels to try, ascending: every N up to 15, then steps of about N/10."""
    out, n = [], 1
    while n < maximum:
        out.append(n)
        n += 1 if n < 15 else max(1, round(n / 10))
    return [*out, maximum] if maximum >= 1 else []


def curve_row(n: int, policy: Summary, oracle: Summary) -> dict[str, Any]:
    return {"responders": n, "responder_hours_per_week": n * WEEK_HOURS,
            "served_share": policy["served_share"], "median_s": policy["on_scene_median_s"],
            "p90_s": policy["on_scene_p90_s"], "utilization": policy["utilization"],
            "oracle_served_share": oracle["served_share"],
            "oracle_median_s": oracle["on_scene_median_s"]}


def search_curve(runner: Runner, target: Target, maximum: int) -> list[int]:
    """The flat levels kept, ascending (see the module's docstring, step 1)."""
    todo, kept, run_of = levels(maximum), [], 0
    while todo and run_of < 2:
        batch, todo = todo[:runner.jobs], todo[runner.jobs:]
        results = runner.run((flat(n), False) for n in batch)
        for n, policy in zip(batch, results, strict=True):
            kept.append(n)
            run_of = run_of + 1 if target.met(policy) else 0
            if run_of == 2:
                break
    first = next((n for n in kept if target.met(runner.done[(flat(n), False)])), None)
    if first is not None:
        below = max((n for n in kept if n < first), default=0)
        gap = list(range(below + 1, first))
        runner.run((flat(n), False) for n in gap)
        kept = sorted({*kept, *gap})
    runner.run((flat(n), True) for n in kept)
    return kept


def demand(calls: Sequence[SimCall], assumptions: Assumptions, period_days: float,
           travel_s: float) -> list[float]:
    """Expected busy responders in each hour of the week (step 2)."""
    weeks = max(period_days / 7.0, 1 / 7)
    per_hour = [0.0] * WEEK_HOURS
    holding = 0.0
    for c in calls:
        people = 2 if c.backup else 1
        per_hour[c.how] += people / weeks
        holding += people * (assumptions.turnout_seconds + travel_s
                             + assumptions.scene_minutes[c.kind] * 60.0)
    mean = holding / sum(2 if c.backup else 1 for c in calls) if calls else 0.0
    return [n * mean / 3600.0 for n in per_hour]


def shaped(busy: Sequence[float], scale: float, *, floor: int, maximum: int,
           has_calls: Sequence[bool]) -> Plan:
    return tuple(min(maximum, max(floor, 1 if calls else 0, math.ceil(scale * b - 1e-9)))
                 for b, calls in zip(busy, has_calls, strict=True))


def closest(summaries: Sequence[tuple[Plan, Summary]]) -> tuple[Plan, Summary]:
    """The plan that came closest when none met the target: most served, then fastest,
    then cheapest."""
    return max(summaries, key=lambda ps: (ps[1]["served_share"] or 0.0,
                                          -(ps[1]["on_scene_median_s"] or math.inf),
                                          -sum(ps[0])))


def search(runner: Runner, target: Target, *, maximum: int, floor: int,
           period_days: float) -> Search:
    scenario = runner.scenario
    kept = search_curve(runner, target, maximum)
    curve = [curve_row(n, runner.done[(flat(n), False)], runner.done[(flat(n), True)])
             for n in kept]
    met = [n for n in kept if target.met(runner.done[(flat(n), False)])]
    notes: list[str] = []
    if not met:
        plan, summary = closest([(flat(n), runner.done[(flat(n), False)]) for n in kept])
        notes.append(f"no flat plan up to {maximum} responders meets the target; "
                     f"recommending the closest ({plan[0]} on shift every hour)")
        return Search(target, curve, False, plan, summary,
                      runner.done[(plan, True)], notes)
    # 2. Shaped plans, around the travel time the smallest flat plan that met saw.
    reference = runner.done[(flat(met[0]), False)]
    travel = max(0.0, (reference["on_scene_median_s"] or 0.0)
                 - (reference["accepted_median_s"] or 0.0)
                 - scenario.assumptions.turnout_seconds)
    busy = demand(scenario.calls, scenario.assumptions, period_days, travel)
    has_calls = [False] * WEEK_HOURS
    for c in scenario.calls:
        has_calls[c.how] = True

    def plan_at(scale: float) -> Plan:
        return shaped(busy, scale, floor=floor, maximum=maximum, has_calls=has_calls)

    candidates: dict[Plan, Summary] = {flat(n): runner.done[(flat(n), False)] for n in kept}
    peak = max(busy)
    if peak > 0:
        lo, hi = 0.0, met[0] / peak
        # Up until a scale meets it, or costs as much as the flat plan that did. Only
        # a simulated scale is looked at: after four misses there is no bracket to
        # narrow, and the flat plan that met stays the candidate.
        bracketed = False
        for _ in range(4):
            summary = runner.run([(plan_at(hi), False)])[0]
            candidates[plan_at(hi)] = summary
            bracketed = target.met(summary)
            if bracketed or sum(plan_at(hi)) >= sum(flat(met[0])):
                break
            lo, hi = hi, hi * 2
        if bracketed:
            for _ in range(ROUNDS):
                scales = [lo + (hi - lo) * k / (QUARTERS + 1) for k in range(1, QUARTERS + 1)]
                plans = [plan_at(s) for s in scales]
                if len({*plans, plan_at(lo), plan_at(hi)}) <= 2:
                    break
                results = runner.run((p, False) for p in plans)
                candidates.update(zip(plans, results, strict=True))
                first = next((i for i, r in enumerate(results) if target.met(r)), None)
                if first is None:
                    lo = scales[-1]
                else:
                    hi = scales[first]
                    lo = scales[first - 1] if first else lo
    good = [(p, s) for p, s in candidates.items() if target.met(s)]
    plan, summary = min(good, key=lambda ps: (sum(ps[0]), -(ps[1]["served_share"] or 0.0),
                                              ps[0]))
    oracle = runner.run([(plan, True)])[0]
    return Search(target, curve, True, plan, summary, oracle, notes)


CURVE = "staffing_curve.csv"
STAFF = "staff.json"
RECOMMENDED = "recommended_plan.csv"
CURVE_COLUMNS = ("responders", "responder_hours_per_week", "served_share", "median_s",
                 "p90_s", "utilization", "oracle_served_share", "oracle_median_s")


def document(result: Search) -> dict[str, Any]:
    return {
        "target": {"median_s": result.target.median_s,
                   "served_share": result.target.served_share},
        "reached": result.reached,
        "recommended": {"responder_hours_per_week": sum(result.plan),
                        "per_hour": list(result.plan), "summary": result.summary,
                        "oracle": result.oracle},
        "curve": result.curve,
        "notes": result.notes,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def write(result: Search, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / CURVE, out / STAFF, out / RECOMMENDED]
    with paths[0].open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CURVE_COLUMNS)
        for row in result.curve:
            w.writerow([_cell(row[c]) for c in CURVE_COLUMNS])
    paths[1].write_text(json.dumps(document(result), indent=2) + "\n", encoding="utf-8")
    with paths[2].open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["weekday", "hour", "responders"])
        for how, n in enumerate(result.plan):
            w.writerow([WEEKDAYS[how // 24], how % 24, n])
    return paths


def table(result: Search) -> str:
    """The curve, and the plan's cost and figures against the target."""
    t = result.target
    lines = [f"target: median time to scene <= {t.median_s / 60:g} min and "
             f">= {t.served_share:.0%} served", "",
             f"{'responders':>10}{'median':>9}{'p90':>8}{'served':>9}{'busy':>7}"
             f"{'oracle median':>15}", f"{'':>10}{'(min)':>9}{'(min)':>8}"]
    for row in result.curve:
        lines.append(f"{row['responders']:>10}{minutes(row['median_s']):>9}"
                     f"{minutes(row['p90_s']):>8}{percent(row['served_share']):>9}"
                     f"{percent(row['utilization']):>7}{minutes(row['oracle_median_s']):>15}")
    s = result.summary
    verdict = "meets the target" if result.reached else "does NOT meet the target"
    lines += ["", f"recommended plan: {sum(result.plan):,} responder-hours a week "
                  f"({min(result.plan)}-{max(result.plan)} on shift by hour), {verdict}: "
                  f"median {minutes(s['on_scene_median_s'])} min, p90 "
                  f"{minutes(s['on_scene_p90_s'])} min, {percent(s['served_share'])} served"]
    return "\n".join([*lines, *result.notes])
