"""``plan simulate``: the eligible calls replayed on one staffing plan, by the production
policy and by the oracle, and what each assumption was and where it comes from.

Writes simulation.json and simulation_by_hour.csv (the planner's file contract, in
docs/planner.md) and the short table the command prints. The runs themselves are
``core.plan.simulate`` and ``core.plan.oracle``; this module picks the travel-time
estimator, names the sources of the defaults, and shows progress.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from spotline.core.geo import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_SPEEDS_MPS,
    StraightLineEstimator,
    TravelTimeEstimator,
)
from spotline.core.plan.diversion import WEEKDAYS
from spotline.core.plan.metrics import compare, summarize
from spotline.core.plan.model import Assumptions, SimCall, Staffing
from spotline.core.plan.oracle import simulate_oracle
from spotline.core.plan.simulate import simulate
from spotline.planner.roads import RoadsError, load_roads

SIMULATION = "simulation.json"
BY_HOUR = "simulation_by_hour.csv"
Tick = Callable[[int], None]

NO_FIGURE = "assumed; no published figure"
SCENE_SOURCE = (
    NO_FIGURE + " per kind: CAHOOTS (White Bird Clinic, Eugene) publishes its call "
    "counts (about 24,000 a year, two-person teams of a medic and a crisis worker), "
    "not time on scene; spotline.core.plan.model.DEFAULT_SCENE_MINUTES, a median with "
    "a lognormal spread")


@dataclass(frozen=True)
class Estimator:
    estimator: TravelTimeEstimator
    name: str  # "roads" | "straight_line"
    source: str
    note: str = ""  # why roads were asked for and not used, when they were not


def straight_line_source() -> str:
    speeds = ", ".join(f"{m.value} {v * 3.6:.1f} km/h" for m, v in DEFAULT_SPEEDS_MPS.items())
    return (f"straight line x {DEFAULT_DETOUR_FACTOR} detour at {speeds} door to door "
            "(spotline.core.geo defaults; the fallback the issue allows)")


def choose_estimator(osm: Path | None, cache_dir: Path | None) -> Estimator:
    """The road network of ``osm`` when it loads, else the straight line with a note."""
    line = Estimator(StraightLineEstimator(), "straight_line", straight_line_source())
    if osm is None:
        return line
    try:
        roads = load_roads(osm, cache_dir)
    except RoadsError as exc:
        return Estimator(line.estimator, line.name, line.source,
                         note=f"the road network could not be used ({exc}): travel "
                              "times are the straight line instead")
    return Estimator(roads, "roads",
                     f"shortest paths on the OpenStreetMap road network of {osm.name} "
                     "(spotline.planner.roads); straight line where a point is off it "
                     "(road_fallbacks counts those travel-time look-ups, not calls)")


def assumptions_list(a: Assumptions, estimator: Estimator, *,
                     staffing_note: str) -> list[dict[str, Any]]:
    """Every input the calls cannot give, with its value and where it comes from."""
    return [
        {"name": "accept_probability", "value": a.accept_probability,
         "source": NO_FIGURE + " (an offer to a responder on shift is accepted)"},
        {"name": "decline_share", "value": a.decline_share,
         "source": NO_FIGURE + " (of the offers not accepted, declined rather than "
                               "left to lapse)"},
        {"name": "answer_seconds", "value": list(a.answer_seconds),
         "source": NO_FIGURE + " (an answer comes uniformly within this range)"},
        {"name": "turnout_seconds", "value": a.turnout_seconds,
         "source": "NFPA 1710 (2020 edition), turnout time of 60 seconds for EMS calls"},
        {"name": "scene_minutes", "value": {k.value: v for k, v in a.scene_minutes.items()},
         "source": SCENE_SOURCE},
        {"name": "scene_spread", "value": a.scene_spread,
         "source": NO_FIGURE + " (lognormal sigma around the kind's median: a few calls "
                               "take much longer)"},
        {"name": "give_up_seconds",
         "value": {k.value: v for k, v in a.give_up_seconds.items()},
         "source": NO_FIGURE + " (after this the city's usual response takes the call; "
                               "for scale: US urban EMS takes about 7 minutes, Mell et "
                               "al., JAMA Surgery 2017;152(10):983-984)"},
        {"name": "policy", "value": "production default",
         "source": "spotline.core.policy.DEFAULT_POLICY, the policy the live system runs "
                   "(docs/dispatch-policy.md)"},
        {"name": "seed", "value": a.seed, "source": "--seed: the same inputs give the "
                                                    "same result"},
        {"name": "estimator", "value": estimator.name, "source": estimator.source},
        {"name": "staffing", "value": staffing_note,
         "source": "assumed: homes at the centres of the busiest H3 cells of the calls, "
                   "every skill but crisis_team"},
    ]


@contextmanager
def progress_bar(stream: IO[str], total: int | None, label: str) -> Iterator[Callable[[int], None]]:
    """``advance(n)``: n more done. A rich bar on a terminal, silence elsewhere."""
    if not (hasattr(stream, "isatty") and stream.isatty()):
        yield lambda _n: None
        return
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(file=stream), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _ticker(advance: Callable[[int], None]) -> Tick:
    """A ``progress(n so far)`` callback for one run, from ``advance(n more)``."""
    seen = [0]

    def tick(n: int) -> None:
        advance(n - seen[0])
        seen[0] = n
    return tick


def _both(advance: Callable[[int], None], tick: Callable[[int, int], None],
          total: int) -> Callable[[int], None]:
    """``advance(n more)`` that also tells ``tick(done, total)``."""
    done = [0]

    def both(n: int) -> None:
        advance(n)
        done[0] += n
        tick(done[0], total)
    return both


def run(calls: Sequence[SimCall], staffing: Staffing, assumptions: Assumptions,
        estimator: Estimator, *, sample: int | None, period_days: float,
        staffing_note: str, stderr: IO[str],
        tick: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """simulation.json: the policy and the oracle on the same inputs, and with roads
    the policy again on the straight line, as the comparison.

    ``tick(done, total)``: calls finished over all the runs, for a caller with no
    terminal (the page's progress); the bar on ``stderr`` is shown only on one."""
    runs = 3 if estimator.name == "roads" else 2
    total = runs * len(calls)
    with progress_bar(stderr, total, "simulating") as bar:
        advance = bar if tick is None else _both(bar, tick, total)
        policy = summarize(simulate(calls, staffing, assumptions, estimator.estimator,
                                    progress=_ticker(advance)))
        # The oracle keeps the policy's reach cap, so that the ratio is what offers and
        # answers cost; uncapped, it sends people from far away and loses calls.
        oracle = summarize(simulate_oracle(calls, staffing, assumptions,
                                           estimator.estimator, progress=_ticker(advance),
                                           capped=True))
        line = None
        if estimator.name == "roads":
            line = summarize(simulate(calls, staffing, assumptions, StraightLineEstimator(),
                                      progress=_ticker(advance)))
    return {
        "calls": len(calls),
        "sample": sample,
        "period_days": period_days,
        "estimator": estimator.name,
        # Travel-time look-ups that fell back to the straight line, not calls.
        "road_fallbacks": int(getattr(estimator.estimator, "fallbacks", 0)),
        "staffing": {"responders": max(staffing.per_hour),
                     "responder_hours_per_week": staffing.responder_hours,
                     "per_hour": list(staffing.per_hour)},
        "policy": policy,
        "oracle": oracle,
        "comparison": compare(policy, oracle),
        "straight_line": line,
        "assumptions": assumptions_list(assumptions, estimator, staffing_note=staffing_note),
    }


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def write_by_hour(path: Path, summary: dict[str, Any]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["weekday", "hour", "calls", "served", "median_s", "p90_s"])
        for row in summary["by_hour"]:
            how = row["how"]
            w.writerow([WEEKDAYS[how // 24], how % 24, row["calls"], row["served"],
                        _seconds(row["median_s"]), _seconds(row["p90_s"])])


def write(doc: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / SIMULATION, out / BY_HOUR]
    paths[0].write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    write_by_hour(paths[1], doc["policy"])
    return paths


def minutes(value: float | None) -> str:
    return "-" if value is None else f"{value / 60:.1f}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def table(doc: dict[str, Any]) -> str:
    """Policy against oracle (and the straight line, with roads), a few lines."""
    columns = [("policy", doc["policy"]), ("oracle", doc["oracle"])]
    if doc["straight_line"]:
        columns.append(("straight line", doc["straight_line"]))
    s = doc["staffing"]
    lines = [f"{doc['calls']:,} calls over {doc['period_days']:g} days, "
             f"{s['responders']} responders at most on shift, "
             f"{s['responder_hours_per_week']:,} responder-hours a week "
             f"(travel: {doc['estimator']})", "",
             f"{'':<28}" + "".join(f"{name:>15}" for name, _ in columns)]
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("served", lambda m: percent(m["served_share"])),
        ("time to scene, median (min)", lambda m: minutes(m["on_scene_median_s"])),
        ("time to scene, p90 (min)", lambda m: minutes(m["on_scene_p90_s"])),
        ("responder utilization", lambda m: percent(m["utilization"])),
        ("ambulance proposed", lambda m: f"{m['ems_proposed']:,}"),
    ]
    for label, get in rows:
        lines.append(f"{label:<28}" + "".join(f"{get(m):>15}" for _, m in columns))
    unserved = {r: n for r, n in doc["policy"]["unserved_by_reason"].items() if n}
    if unserved:
        lines += ["", "unserved by the policy, by reason: " + ", ".join(
            f"{r} {n:,}" for r, n in sorted(unserved.items(), key=lambda kv: -kv[1]))]
    c = doc["comparison"]
    ratio = c["on_scene_median_ratio"]
    lines += ["", "policy / oracle: median time to scene x"
              + ("-" if ratio is None else f"{ratio:.2f}") + ", served share x"
              + ("-" if c["served_share_ratio"] is None else f"{c['served_share_ratio']:.2f}")]
    if doc["road_fallbacks"]:
        lines.append(f"{doc['road_fallbacks']:,} travel-time look-ups (not calls) fell back "
                     "to the straight line (a point off the road network)")
    return "\n".join(lines)
