"""A review of ``plan simulate`` and ``plan staff``, by tests (issue 18, items 3-4).

The failing tests each show one bug with the smallest input that has it and the
behaviour expected; the passing ones pin what held and was not tested before: the same
answer in another process (hash randomization) and with more processes on the road
network, and a recommendation that re-simulates to what it promised.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from spotline.core.geo import Mode, Point, StraightLineEstimator, area_cell
from spotline.core.plan.model import WEEK_HOURS, Assumptions, SimCall
from spotline.core.triage import Kind, Priority
from spotline.planner import staff
from spotline.planner.callsfile import CallsFileError
from spotline.planner.simcalls import read_classification
from spotline.planner.tests.shared import ROOT, calls_dir

HELSINKI = calls_dir().parent / "osm" / "Helsinki.osm.pbf"
MONDAY = datetime(2024, 3, 4)  # noqa: DTZ001 - an export's clock time, as written


def write_city(tmp_path: Path, rows: list[tuple[datetime, float, float]],
               classes: str = "type,class\nWEL,community\n") -> tuple[Path, Path]:
    calls = tmp_path / "calls.csv"
    calls.write_text("id,when,code,lat,lon\n" + "".join(
        f"{i},{t:%Y-%m-%d %H:%M:%S},WEL,{lat:.5f},{lon:.5f}\n"
        for i, (t, lat, lon) in enumerate(rows)), encoding="utf-8")
    classification = tmp_path / "classification.csv"
    classification.write_text(classes, encoding="utf-8")
    return calls, classification


def args(city: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    return [str(city[0]), "--time", "when", "--type", "code", "--lat", "lat", "--lon", "lon",
            "--classification", str(city[1]), "--out", str(out), *extra]


def simulated(city: tuple[Path, Path], out: Path, *extra: str) -> dict[str, Any]:
    call_command("plan", "simulate", *args(city, out, *extra), stdout=io.StringIO())
    doc: dict[str, Any] = json.loads((out / "simulation.json").read_text())
    return doc


def staffed(city: tuple[Path, Path], out: Path, *extra: str) -> dict[str, Any]:
    call_command("plan", "staff", *args(city, out, *extra), stdout=io.StringIO())
    doc: dict[str, Any] = json.loads((out / "staff.json").read_text())
    return doc


# --- Bugs: these fail today. ---------------------------------------------------------


def test_a_sample_estimates_the_figures_of_all_the_calls(tmp_path: Path) -> None:
    # 400 welfare checks, one every 10 minutes at one place, one responder on shift.
    # All of them: 29.5% served, utilization 97%. A sample of 100 keeps the period and
    # drops three calls in four, so it simulates a quarter of the load: 79% served,
    # 66% busy. A sample must estimate the city's figures (a contiguous stretch of
    # time, or whole weeks), not those of a city with a quarter of the calls; and
    # 'plan staff --sample' recommends staffing for that lighter city.
    rows = [(MONDAY + timedelta(minutes=10 * i), 43.041, -87.906) for i in range(400)]
    city = write_city(tmp_path, rows)
    full = simulated(city, tmp_path / "full", "--responders", "1")
    sample = simulated(city, tmp_path / "sample", "--responders", "1", "--sample", "100")
    # The first whole day holding 100 calls: all of its 144 (one every 10 minutes).
    assert sample["calls"] == 144
    assert sample["policy"]["served_share"] == pytest.approx(
        full["policy"]["served_share"], abs=0.15)


def spike_city() -> staff.Scenario:
    """Sixty calls on Monday 9:00-9:59 and one in every other hour of a week."""
    point = Point(43.04, -87.91)
    times = [(9 * 3600.0 + 60 * k, 9) for k in range(60)]
    times += [(h * 3600.0 + 30, h) for h in range(WEEK_HOURS) if h != 9]
    calls = tuple(SimCall(call_id=i, at=at, how=how, point=point, kind=Kind.WELFARE_CHECK,
                          priority=Priority.P3, area=area_cell(point))
                  for i, (at, how) in enumerate(sorted(times)))
    return staff.Scenario(calls=calls, assumptions=Assumptions(),
                          estimator=StraightLineEstimator(), modes=((Mode.CAR, 1.0),),
                          start_how=0)


def test_the_plan_search_survives_four_scales_that_miss(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in for the simulation: the target is met when at least 3 are on shift in
    # every hour (a city where coverage, not load, decides the median). Flat 3 meets it.
    # The shaped plans scale the demand, whose one busy hour makes every other hour 1
    # at scales 1, 2, 4 and 8 (all cheaper than flat 3, none meeting it); the loop then
    # doubles the scale a fifth time without simulating it and looks its result up:
    # KeyError (staff.py, "if target.met(candidates[plan_at(hi)])"). Expected: the
    # search ends, reached, with a plan no dearer than flat 3.
    def stand_in(scenario: staff.Scenario, plan: staff.Plan, oracle: bool) -> dict[str, Any]:
        met = min(plan) >= 3
        return {"on_scene_median_s": 200.0 if met else 900.0, "on_scene_p90_s": 400.0,
                "served_share": 1.0, "accepted_median_s": 20.0, "utilization": 0.5}

    monkeypatch.setattr(staff, "evaluate", stand_in)
    with staff.Runner(spike_city(), 1) as runner:
        result = staff.search(runner, staff.Target(median_s=300.0, served_share=0.9),
                              maximum=60, floor=1, period_days=7.0)
    assert result.reached
    assert sum(result.plan) <= 3 * WEEK_HOURS
    assert min(result.plan) >= 3


def test_a_type_given_twice_in_the_classification_is_refused_by_line(tmp_path: Path) -> None:
    # A reviewer who adds a row for a type already there (to change its class) has one
    # of the two silently ignored: today the last wins, whatever the reviewer meant.
    path = tmp_path / "classification.csv"
    path.write_text("type,class\nWEL,community\nGUN,not_eligible\nWEL,not_eligible\n",
                    encoding="utf-8")
    with pytest.raises(CallsFileError, match="line 4"):
        read_classification(path)


# --- What holds, and was not tested. -------------------------------------------------


def small_city(tmp_path: Path, *, centre: tuple[float, float], calls: int = 60,
               seed: int = 5) -> tuple[Path, Path]:
    rng = random.Random(seed)
    rows = [(MONDAY + timedelta(days=i % 7, hours=rng.randrange(24),
                                minutes=rng.randrange(60)),
             centre[0] + rng.uniform(-0.012, 0.012), centre[1] + rng.uniform(-0.02, 0.02))
            for i in range(calls)]
    return write_city(tmp_path, sorted(rows))


def test_the_recommended_plan_simulates_to_what_it_promised(tmp_path: Path) -> None:
    city = small_city(tmp_path, centre=(43.05, -87.91))
    # 6 minutes: flat 1 meets 8 now that a free responder goes back to their post, and
    # the cheapest plan must be a shaped one for the test to check one.
    doc = staffed(city, tmp_path / "staff", "--target-median", "6", "--jobs", "1",
                  "--max-responders", "8", "--modes", "car=0.7,bike=0.3")
    assert doc["reached"] is True
    assert len(set(doc["recommended"]["per_hour"])) > 1  # a shaped plan, not a flat one
    again = simulated(city, tmp_path / "again", "--modes", "car=0.7,bike=0.3",
                      "--staffing", str(tmp_path / "staff" / "recommended_plan.csv"))
    assert again["staffing"]["per_hour"] == doc["recommended"]["per_hour"]
    assert again["policy"] == doc["recommended"]["summary"]
    assert again["oracle"] == doc["recommended"]["oracle"]


def test_another_process_with_other_string_hashes_gives_the_same_result(
        tmp_path: Path) -> None:
    city = small_city(tmp_path, centre=(60.17, 24.94), calls=80)
    outputs = []
    for hash_seed in ("0", "1"):
        out = tmp_path / f"out{hash_seed}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "spotline", "plan", "simulate",
             *args(city, out, "--responders", "3", "--modes", "car=0.5,bike=0.3,walk=0.2",
                   "--osm", str(HELSINKI), "--cache", str(tmp_path / "cache"))],
            cwd=ROOT, env=env, check=True, capture_output=True)
        outputs.append((out / "simulation.json").read_text())
    doc = json.loads(outputs[0])
    assert doc["estimator"] == "roads" and doc["policy"]["served"] > 0
    assert outputs[1] == outputs[0]


def test_more_processes_give_the_same_plan_on_the_road_network(tmp_path: Path) -> None:
    # The road estimator goes to spawned workers by pickle (graphs only, rebuilt trees).
    city = small_city(tmp_path, centre=(60.17, 24.94), calls=40)
    common = ("--target-median", "8", "--max-responders", "4", "--osm", str(HELSINKI),
              "--cache", str(tmp_path / "cache"))
    one = staffed(city, tmp_path / "one", *common, "--jobs", "1")
    two = staffed(city, tmp_path / "two", *common, "--jobs", "2")
    assert two == one
    assert one["curve"] and one["curve"][0]["median_s"] is not None
