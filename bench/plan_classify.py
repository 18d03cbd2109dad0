"""``plan classify`` on a million calls (issue 18): the reading, the classifying and the
writing of a large city's years of calls for service.

The file: ROWS synthetic calls written to a temporary CSV (about 75 MB), seeded: call
types drawn from Milwaukee's real natures with their real frequencies (May 2018,
``../shared/data/calls/milwaukee_cfs_2018-05.csv``), times spread over a year,
coordinates around Milwaukee, 0.5% of times unreadable and 1% of rows exact copies of
another row. Columns as a city exports them: id, time, latitude, longitude, district,
nature, status.

What is measured, in this one process: ``classify_calls`` (read, decode, drop
duplicates, parse times, classify every distinct type, count by class and by hour of
the week, count missing coordinates) and ``report.write`` of its three files, SAMPLES
times; the floor, in the same run: ``polars.read_csv`` of the same file, SAMPLES times.
Medians, and the ratio of classify's median to the floor's.

The check, each run: the counts are the ones the file was made with (calls, duplicates,
bad dates, and every class's calls counted here from the generated natures). Exit 1
when it fails. The goal (median ≤ 10 s) is reported, not enforced: a loaded machine is
not a wrong count. No database is used: the figure is the same on both of
``make bench``'s passes.

Prints one JSON object per line. Usage:
    python bench/plan_classify.py
Knobs: BENCH_CLASSIFY_ROWS (1000000), BENCH_SAMPLES (3).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from spotline.planner import report
from spotline.planner.classify import Columns, classify_calls
from spotline.planner.rulesfile import load_rules
from spotline.planner.tests.shared import calls_dir

ROWS = int(os.environ.get("BENCH_CLASSIFY_ROWS", "1000000"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "3"))
GOAL_S = 10.0
DUPLICATES = 0.01
BAD_DATES = 0.005
START = np.datetime64("2023-01-01T00:00:00")
STATUSES = ("Assignment Completed", "Advised", "Service in Progress",
            "Unable to Locate Complainant", "To be Filed", "City Citation(s) Issued")


def say(text: str) -> None:
    print(f"[plan_classify] {text}", file=sys.stderr, flush=True)


def natures() -> Counter[str]:
    """Milwaukee's natures and how many calls each had in May 2018."""
    frame = pl.read_csv(calls_dir() / "milwaukee_cfs_2018-05.csv", columns=["nature"],
                        infer_schema=False)
    return Counter(dict(frame["nature"].value_counts().iter_rows()))


def make_file(path: Path, mix: Counter[str]) -> Counter[str]:
    """Write ROWS calls to ``path``; returns the natures of the distinct calls."""
    rng = np.random.default_rng(2018)
    unique = ROWS - round(ROWS * DUPLICATES)
    names = sorted(mix)
    weights = np.array([mix[n] for n in names], dtype=float)
    nature = rng.choice(len(names), size=unique, p=weights / weights.sum())
    seconds = rng.integers(0, 365 * 86400, size=unique)
    times = (START + seconds.astype("timedelta64[s]")).astype(str)
    times = np.char.replace(times, "T", " ")
    bad = rng.choice(unique, size=round(ROWS * BAD_DATES), replace=False)
    times[bad] = "not recorded"
    frame = pl.DataFrame({
        "id": np.arange(1_000_000, 1_000_000 + unique),
        "time": times,
        "latitude": np.round(43.04 + rng.normal(0, 0.06, unique), 6),
        "longitude": np.round(-87.93 + rng.normal(0, 0.05, unique), 6),
        "district": rng.integers(1, 8, size=unique),
        "nature": np.array(names, dtype=object)[nature],
        "status": np.array(STATUSES, dtype=object)[rng.integers(0, len(STATUSES), unique)],
    })
    # The copies: of rows with a readable date, so the bad-date count stays exact.
    good = np.setdiff1d(np.arange(unique), bad)
    copies = frame[rng.choice(good, size=ROWS - unique, replace=False).tolist()]
    pl.concat([frame, copies]).sample(fraction=1.0, shuffle=True, seed=7).write_csv(path)
    return Counter(dict(frame["nature"].value_counts().iter_rows()))


def main() -> int:
    mix = natures()
    rules = load_rules()
    with tempfile.TemporaryDirectory(prefix="spotline-bench-classify-") as tmp:
        path = Path(tmp) / "calls.csv"
        say(f"writing {ROWS:,} calls")
        t = time.perf_counter()
        made = make_file(path, mix)
        say(f"written in {time.perf_counter() - t:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
        columns = Columns(time="time", type="nature", lat="latitude", lon="longitude")

        def run() -> tuple[float, dict[str, object]]:
            t0 = time.perf_counter()
            result = classify_calls(path, columns=columns, rules=rules)
            report.write(result, Path(tmp) / "out")
            return time.perf_counter() - t0, result.summary

        def floor() -> float:
            t0 = time.perf_counter()
            pl.read_csv(path)
            return time.perf_counter() - t0

        runs = [run() for _ in range(SAMPLES)]
        floors = [floor() for _ in range(SAMPLES)]

    summary = runs[0][1]
    expected: Counter[str] = Counter()
    for nature, n in made.items():
        expected[rules.classify(code=nature).klass.value] += n
    unique = ROWS - round(ROWS * DUPLICATES)
    ok = (summary["calls"] == unique
          and summary["duplicate_rows"] == ROWS - unique
          and summary["bad_dates"] == round(ROWS * BAD_DATES)
          and summary["by_class"] == {k: expected[k] for k in summary["by_class"]}  # type: ignore[attr-defined]
          and all(s == summary for _, s in runs))
    if not ok:
        say(f"the counts are not the ones the file was made with: {summary}")
    p50 = statistics.median(t for t, _ in runs)
    floor_p50 = statistics.median(floors)
    print(json.dumps({
        "bench": "plan_classify", "db": "none", "rows": ROWS, "calls": summary["calls"],
        "types": summary["types"], "samples": SAMPLES,
        "classify_p50_s": round(p50, 3), "classify_max_s": round(max(t for t, _ in runs), 3),
        "floor_read_csv_p50_s": round(floor_p50, 3),
        "ratio_p50": round(p50 / floor_p50, 1) if floor_p50 else None,
        "community_share": summary["community_share"],
        "goal_s": GOAL_S, "goal_met": p50 <= GOAL_S, "check_ok": ok,
    }), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
