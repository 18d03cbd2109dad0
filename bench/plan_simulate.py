"""``plan simulate`` on one month of a city's eligible calls with 30 responders (issue 18).

The calls: Milwaukee's real calls for service (May 2018, 21 days,
``../shared/data/calls/milwaukee_cfs_2018-05.csv``), classified with the shipped rule
table; the calls a community team could take are kept and stretched to 30 days by
replaying their first 9 days once more after the 21st (times shifted by 21 days, places
and types as they were). Written to a temporary CSV with the city's own columns.

What is measured, in this one process, on one core: reading that CSV into the
simulation's calls (``simcalls.load_calls``) plus one simulation of the month on the
production policy (``core.plan.simulate``) with 30 responders on shift every hour, by
car, straight-line travel, SAMPLES times; the oracle's run alone, for comparison; the
floor, in the same run: ``polars.read_csv`` of the same file. Medians, and the ratio of
the simulation's median to the floor's.

The check, each run: every call is accounted for (served + unserved = calls), the same
seed gives the same result each sample, and the served share is within 0..1. Exit 1
when it fails. The goal (median ≤ 30 s) is reported, not enforced.

Prints one JSON object per line. No database is used. Usage:
    python bench/plan_simulate.py
Knobs: BENCH_SAMPLES (3), BENCH_RESPONDERS (30).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spotline.planner.tests.shared import calls_dir

# ../shared/data beside the project, as CI lays it (or SPOTLINE_SHARED_DATA).
CALLS = calls_dir() / "milwaukee_cfs_2018-05.csv"
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "3"))
RESPONDERS = int(os.environ.get("BENCH_RESPONDERS", "30"))
GOAL_S = 30.0


def say(text: str) -> None:
    print(f"[plan_simulate] {text}", file=sys.stderr, flush=True)


def month_csv(out: Path) -> Path:
    """Milwaukee's eligible calls stretched to 30 days, and its classification.csv."""
    from spotline.planner import report
    from spotline.planner.classify import Columns, classify_calls
    from spotline.planner.rulesfile import load_rules

    result = classify_calls(CALLS, columns=Columns(time="time", type="nature",
                                                   lat="latitude", lon="longitude"),
                            rules=load_rules(None))
    report.write(result, out)
    team = {r.type for r in result.types if r.klass.value in ("community",
                                                              "community_with_backup")}
    frame = pl.read_csv(CALLS, infer_schema=False).filter(pl.col("nature").is_in(team))
    stamp = pl.col("time").str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False)
    frame = frame.with_columns(stamp.alias("at")).drop_nulls("at")
    first = frame["at"].min()
    again = (frame.filter(pl.col("at") < first + pl.duration(days=9))
             .with_columns((pl.col("at") + pl.duration(days=21)).alias("at")))
    month = pl.concat([frame, again]).sort("at").with_columns(
        pl.col("at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("time")).drop("at")
    path = out / "month.csv"
    month.write_csv(path)
    return path


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotline.settings")
    from spotline.core.geo import Mode, StraightLineEstimator
    from spotline.core.plan.metrics import summarize
    from spotline.core.plan.model import Assumptions
    from spotline.core.plan.oracle import simulate_oracle
    from spotline.core.plan.simulate import simulate
    from spotline.planner import staffing
    from spotline.planner.classify import Columns
    from spotline.planner.simcalls import load_calls

    with tempfile.TemporaryDirectory(prefix="plan-sim-") as tmp:
        out = Path(tmp)
        say("classifying Milwaukee and writing a month of its eligible calls")
        path = month_csv(out)
        columns = Columns(time="time", type="nature", lat="latitude", lon="longitude")
        estimator = StraightLineEstimator()
        assumptions = Assumptions()
        floors, runs, oracles, results = [], [], [], []
        n_calls = 0
        for i in range(SAMPLES):
            t = time.perf_counter()
            pl.read_csv(path, infer_schema=False)
            floors.append(time.perf_counter() - t)
            t = time.perf_counter()
            loaded = load_calls(path, columns=columns,
                                classification=out / "classification.csv")
            plan = staffing.build(staffing.flat(RESPONDERS), calls=loaded.calls,
                                  modes=((Mode.CAR, 1.0),), start_how=loaded.start_how)
            result = simulate(loaded.calls, plan, assumptions, estimator)
            runs.append(time.perf_counter() - t)
            summary = summarize(result)
            results.append(summary)
            n_calls = len(loaded.calls)
            t = time.perf_counter()
            oracle = summarize(simulate_oracle(loaded.calls, plan, assumptions, estimator,
                                                      capped=True))
            oracles.append(time.perf_counter() - t)
            say(f"sample {i + 1}/{SAMPLES}: {n_calls} calls, simulate {runs[-1]:.2f} s, "
                f"oracle {oracles[-1]:.2f} s, served {summary['served_share']:.3f} "
                f"(oracle {oracle['served_share']:.3f})")
        failures = []
        for s in results:
            unserved = sum(s["unserved_by_reason"].values())
            if s["served"] + unserved != s["calls"] or s["calls"] != n_calls:
                failures.append("calls not all accounted for")
            if not 0.0 <= (s["served_share"] or 0.0) <= 1.0:
                failures.append("served share outside 0..1")
        if any(s != results[0] for s in results[1:]):
            failures.append("the same seed gave different results")
        median = statistics.median(runs)
        floor = statistics.median(floors)
        first = results[0]
        print(json.dumps({
            "bench": "plan_simulate", "db": "none", "calls": n_calls, "days": 30,
            "responders": RESPONDERS, "samples": SAMPLES,
            "simulate_median_s": round(median, 3), "oracle_median_s":
                round(statistics.median(oracles), 3),
            "floor_read_csv_median_s": round(floor, 4),
            "ratio_to_floor": round(median / floor, 1) if floor else None,
            "served_share": first["served_share"],
            "on_scene_median_s": first["on_scene_median_s"],
            "on_scene_p90_s": first["on_scene_p90_s"],
            "goal_s": GOAL_S, "goal_met": median <= GOAL_S,
            "check": "ok" if not failures else sorted(set(failures)),
        }), flush=True)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
