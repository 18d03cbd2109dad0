"""``spotline plan staff``: on a small city, the recommendation meets the target it says
it reached, never costs more than the smallest flat plan that met it, and is the same
whatever the number of processes; a target out of reach says so."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from spotline.planner.staff import Target, levels, shaped

CODES = ("WEL", "DIST", "OD", "MH")
CLASSIFICATION = ("type,class\nWEL,community\nDIST,community_with_backup\n"
                  "OD,community\nMH,community\n")


@pytest.fixture
def city(tmp_path: Path) -> tuple[Path, Path]:
    """Sixty calls over a week (Monday 4 March 2024 on) within a few kilometres."""
    rng = random.Random(5)
    rows = []
    for i in range(60):
        day, hour, minute = 4 + i % 7, rng.randrange(24), rng.randrange(60)
        lat, lon = 43.03 + rng.random() * 0.04, -87.93 + rng.random() * 0.04
        rows.append(f"{i},2024-03-{day:02d} {hour:02d}:{minute:02d}:00,{CODES[i % 4]},"
                    f"{lat:.4f},{lon:.4f}\n")
    calls = tmp_path / "calls.csv"
    calls.write_text("id,when,code,lat,lon\n" + "".join(rows), encoding="utf-8")
    classification = tmp_path / "classification.csv"
    classification.write_text(CLASSIFICATION, encoding="utf-8")
    return calls, classification


def staff(city: tuple[Path, Path], out: Path, *extra: str) -> tuple[str, dict[str, Any]]:
    stdout = io.StringIO()
    call_command("plan", "staff", str(city[0]), "--time", "when", "--type", "code",
                 "--lat", "lat", "--lon", "lon", "--classification", str(city[1]),
                 "--out", str(out), "--max-responders", "8", *extra, stdout=stdout)
    return stdout.getvalue(), json.loads((out / "staff.json").read_text())


def meets(summary: dict[str, Any], target: dict[str, float]) -> bool:
    return Target(target["median_s"], target["served_share"]).met(summary)


def test_the_recommendation_meets_the_target_for_fewer_responder_hours(
        city: tuple[Path, Path], tmp_path: Path) -> None:
    printed, doc = staff(city, tmp_path / "out", "--target-median", "8", "--jobs", "1")
    assert set(doc) >= {"target", "reached", "recommended", "curve"}
    assert doc["target"] == {"median_s": 480.0, "served_share": 0.9}
    assert doc["reached"] is True
    rec = doc["recommended"]
    assert meets(rec["summary"], doc["target"])
    assert rec["responder_hours_per_week"] == sum(rec["per_hour"])
    assert len(rec["per_hour"]) == 168 and min(rec["per_hour"]) >= 1  # the floor
    assert rec["oracle"]["calls"] == rec["summary"]["calls"] == 60

    curve = doc["curve"]
    levels_run = [row["responders"] for row in curve]
    assert levels_run == list(range(1, len(curve) + 1))  # every N up to 15 is run
    met = [row["responders"] for row in curve if meets(
        {"on_scene_median_s": row["median_s"], "served_share": row["served_share"]},
        doc["target"])]
    assert met, "some flat level meets this easy target"
    # The search stops at the second level in a row that meets the target.
    assert levels_run[-1] == met[-1] and levels_run[-2] in met
    assert rec["responder_hours_per_week"] <= min(met) * 168
    for row in curve:
        assert row["responder_hours_per_week"] == 168 * row["responders"]
        assert 0.0 <= row["served_share"] <= 1.0

    with (tmp_path / "out" / "staffing_curve.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["responders", "responder_hours_per_week", "served_share",
                             "median_s", "p90_s", "utilization", "oracle_served_share",
                             "oracle_median_s"]
    assert [int(r["responders"]) for r in rows] == levels_run
    with (tmp_path / "out" / "recommended_plan.csv").open(newline="") as f:
        plan = list(csv.DictReader(f))
    assert len(plan) == 168 and (plan[0]["weekday"], plan[0]["hour"]) == ("Mon", "0")
    assert (plan[-1]["weekday"], plan[-1]["hour"]) == ("Sun", "23")
    assert [int(r["responders"]) for r in plan] == rec["per_hour"]
    assert f"recommended plan: {rec['responder_hours_per_week']:,} responder-hours" in printed


def test_more_processes_give_the_same_answer(city: tuple[Path, Path], tmp_path: Path) -> None:
    _, one = staff(city, tmp_path / "one", "--target-median", "8", "--jobs", "1")
    _, two = staff(city, tmp_path / "two", "--target-median", "8", "--jobs", "2")
    assert two == one
    assert (tmp_path / "one" / "recommended_plan.csv").read_text() == (
        tmp_path / "two" / "recommended_plan.csv").read_text()


def test_a_target_out_of_reach_is_said_and_the_closest_recommended(
        city: tuple[Path, Path], tmp_path: Path) -> None:
    printed, doc = staff(city, tmp_path / "out", "--target-median", "0.5", "--jobs", "1",
                         "--max-responders", "3")
    assert doc["reached"] is False
    assert [row["responders"] for row in doc["curve"]] == [1, 2, 3]
    best = max(doc["curve"], key=lambda r: (r["served_share"], -r["median_s"]))
    assert doc["recommended"]["per_hour"] == [best["responders"]] * 168
    assert not meets(doc["recommended"]["summary"], doc["target"])
    assert "does NOT meet the target" in printed


def test_levels_step_by_one_then_by_about_a_tenth() -> None:
    assert levels(5) == [1, 2, 3, 4, 5]
    # From 15 on, N + round(N / 10): 15+2, ..., 25+2 (round half to even), 27+3, ...
    assert levels(60) == [*range(1, 16), 17, 19, 21, 23, 25, 27, 30, 33, 36, 40, 44, 48,
                          53, 58, 60]


def test_a_shaped_plan_follows_demand_with_floors() -> None:
    busy = [0.0, 0.2, 1.5, 3.0]
    has_calls = [False, True, True, True]
    assert shaped(busy, 1.0, floor=0, maximum=10, has_calls=has_calls) == (0, 1, 2, 3)
    assert shaped(busy, 1.0, floor=2, maximum=10, has_calls=has_calls) == (2, 2, 2, 3)
    assert shaped(busy, 4.0, floor=1, maximum=10, has_calls=has_calls) == (1, 1, 6, 10)
    assert shaped(busy, 5.0, floor=1, maximum=10, has_calls=has_calls) == (1, 1, 8, 10)
