"""One run of the planner for the coordinator page: classify, simulate, staff, report.

The same functions the ``plan`` commands call, in this process and in that order, into
one folder (the planner's file contract), reporting progress as a fraction with a short
label. Whatever goes wrong is one ``PipelineError`` whose message a coordinator can act
on; nothing of a call is in it, only counts and column names.

1. Classify every call type with the shipped rule table (the page has no review step:
   the report shows the table, and a program that disagrees runs the commands).
2. Simulate the eligible calls with ``responders`` on shift every hour, by the
   production policy and by the oracle.
3. Search the staffing plan that reaches the target.
4. Write report.html and report.json.

An address column (``JobOptions.address``) places the calls without coordinates with
the organization's gazetteer (``planner.geocode``), each distinct address looked up once
for both steps. Without coordinates or an address only step 1 runs: the simulation sends
responders to places, and the report says so.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

from django.conf import settings

from spotline.core.plan.classify import RuleError
from spotline.core.plan.model import Assumptions
from spotline.places.finding import candidates
from spotline.planner import htmlreport, report, simulate, staff
from spotline.planner.callsfile import CallsFileError
from spotline.planner.classify import Columns, Locate, classify_calls
from spotline.planner.geocode import Geocoder, gazetteer_loaded, points_for
from spotline.planner.rulesfile import load_rules
from spotline.planner.simcalls import load_calls
from spotline.planner.staffing import StaffingError, build, flat, parse_modes

Progress = Callable[[float, str], None]
#: The setting naming the organization's OpenStreetMap extract (.osm.pbf) for travel by
#: road; unset, travel is the straight line times the detour factor.
OSM_SETTING = "SPOTLINE_PLANNER_OSM"
# Where each step's share of the bar starts: staffing runs many simulations, so it
# takes most of it.
CLASSIFY, SIMULATE, STAFF, REPORT = 0.0, 0.1, 0.3, 0.95
NO_PLACES = ("not run: the export has no latitude and longitude columns nor an address "
             "column, and the simulation needs to know where each call was")
NOT_PLACED = ("not run: none of the eligible calls has coordinates or an address the "
              "organization's gazetteer places for certain, and the simulation needs to "
              "know where each call was")


class PipelineError(Exception):
    """The run cannot go on; the message says why, for a coordinator."""


@dataclass(frozen=True)
class JobOptions:
    time: str
    type: str
    desc: str | None = None
    lat: str | None = None
    lon: str | None = None
    responders: int = 20  # on shift every hour in the simulation step
    target_median_minutes: float = 5.0
    target_served: float = 0.9
    max_responders: int = 40
    sample: int | None = 20000
    seed: int = 1
    address: str | None = None  # an address or beat column, for calls without lat/lon


def _check(o: JobOptions) -> None:
    problems = []
    if bool(o.lat) != bool(o.lon):
        problems.append("give both the latitude and the longitude column, or neither")
    if o.responders < 1:
        problems.append("responders on shift must be 1 or more")
    if o.max_responders < 1:
        problems.append("the most responders to try must be 1 or more")
    if o.target_median_minutes <= 0:
        problems.append("the target time to scene must be above 0 minutes")
    if not 0.0 <= o.target_served <= 1.0:
        problems.append("the target share served must be within 0 and 1")
    if o.sample is not None and o.sample < 1:
        problems.append("the sample must be 1 call or more")
    if problems:
        raise PipelineError("; ".join(problems))


def _osm() -> Path | None:
    name = getattr(settings, OSM_SETTING, None)
    return Path(name) if name else None


def _staffing_ticks(progress: Progress, maximum: int) -> Callable[[int], None]:
    """``tick(n more plans done)`` moving the bar through the staffing step. How many
    plans the search runs is known only at its end, so the bar moves against an upper
    bound and the label counts what was done."""
    bound = 2 * len(staff.levels(maximum)) + 5 + staff.ROUNDS * staff.QUARTERS
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        share = min(done[0] / bound, 1.0)
        progress(STAFF + (REPORT - STAFF) * share, f"staffing: {done[0]} plans simulated")
    return tick


def _locate(options: JobOptions) -> Locate | None:
    """``points_for`` asking the gazetteer once per distinct address over both steps;
    None without an address column."""
    if not options.address:
        return None
    # Without a gazetteer, points_for says so (given a geocoder, it would just find
    # nothing).
    geocoder: Geocoder | None = (cache(candidates) if gazetteer_loaded()
                                 else None)
    return partial(points_for, geocoder=geocoder)


def run(calls: Path, options: JobOptions, out: Path, *,
        progress: Progress = lambda fraction, what: None, jobs: int = 1) -> Path:
    """Run the planner on the export ``calls`` into ``out``; returns out/report.html."""
    _check(options)
    try:
        out.mkdir(parents=True, exist_ok=True)
        progress(CLASSIFY, "classifying")
        locate = _locate(options)
        result = classify_calls(calls, columns=Columns(time=options.time, type=options.type,
                                                       desc=options.desc, lat=options.lat,
                                                       lon=options.lon,
                                                       address=options.address),
                                rules=load_rules(None), locate=locate)
        report.write(result, out)
        not_run: dict[str, str] = {}
        if (options.lat and options.lon) or options.address:
            why = _simulate_and_staff(calls, options, out, progress, jobs, locate)
            if why:
                not_run = {"simulate": why, "staff": why}
        else:
            not_run = {"simulate": NO_PLACES, "staff": NO_PLACES}
        progress(REPORT, "writing the report")
        html = htmlreport.write(out, not_run=not_run)
    except CallsFileError as exc:
        raise PipelineError(exc.public) from None  # kept with the run: nothing of a call
    except (RuleError, StaffingError, htmlreport.ReportError) as exc:
        raise PipelineError(str(exc)) from None
    except OSError as exc:
        raise PipelineError(f"the planner could not read or write a file "
                            f"({exc.strerror or exc})") from None
    progress(1.0, "done")
    return html


def _simulating(progress: Progress) -> Callable[[int, int], None]:
    """``tick(done, total)`` moving the bar through the simulation step."""
    def tick(done: int, total: int) -> None:
        share = min(done / total, 1.0) if total else 1.0
        progress(SIMULATE + (STAFF - SIMULATE) * share, "simulating")
    return tick


def _simulate_and_staff(calls: Path, options: JobOptions, out: Path, progress: Progress,
                        jobs: int, locate: Locate | None) -> str | None:
    """Steps 2 and 3; why they could not run, or None."""
    progress(SIMULATE, "simulating")
    loaded = load_calls(calls, columns=Columns(time=options.time, type=options.type,
                                               lat=options.lat, lon=options.lon,
                                               address=options.address),
                        classification=out / report.CLASSIFICATION, sample=options.sample,
                        seed=options.seed, locate=locate)
    if all(c.point is None for c in loaded.calls):
        return NOT_PLACED
    assumptions = Assumptions(seed=options.seed)
    estimator = simulate.choose_estimator(_osm(), Path(settings.DATA_DIR) / "planner-cache")
    plan = build(flat(options.responders), calls=loaded.calls, start_how=loaded.start_how)
    doc = simulate.run(loaded.calls, plan, assumptions, estimator, sample=options.sample,
                       period_days=loaded.period_days,
                       staffing_note=f"{options.responders} on shift every hour, by car",
                       stderr=io.StringIO(), tick=_simulating(progress))
    simulate.write(doc, out)

    progress(STAFF, "staffing")
    scenario = staff.Scenario(calls=tuple(loaded.calls), assumptions=assumptions,
                              estimator=estimator.estimator, modes=parse_modes("car"),
                              start_how=loaded.start_how)
    target = staff.Target(median_s=options.target_median_minutes * 60.0,
                          served_share=options.target_served)
    with staff.Runner(scenario, jobs, _staffing_ticks(progress, options.max_responders)) \
            as runner:
        found = staff.search(runner, target, maximum=options.max_responders, floor=1,
                             period_days=loaded.period_days)
    staff.write(found, out)
    return None
