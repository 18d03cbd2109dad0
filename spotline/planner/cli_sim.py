"""``spotline plan simulate`` and ``spotline plan staff``: their options and what they do.

``add_parsers(sub)`` adds both to the ``plan`` command's subparsers; ``handle(options,
stdout, stderr)`` runs one. Bad input raises ``CommandError`` with one line; stderr gets
the counts of what was left out and, on a terminal, a progress bar; nothing of a call
is ever printed. ``--mapping city.toml`` is the file ``plan classify`` reads
(``planner.mapping``): its column and file-format keys are used, the rest ignored, and
an option given here wins. ``--address COL`` places the calls without coordinates with
the organization's gazetteer (``planner.geocode``).
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.management.base import CommandError

from spotline.core.plan.model import Assumptions
from spotline.planner import simulate, staff
from spotline.planner.callsfile import CallsFileError
from spotline.planner.classify import Columns
from spotline.planner.geocode import points_for
from spotline.planner.mapping import MappingError, add_export_options, merge, read_mapping
from spotline.planner.simcalls import Loaded, load_calls
from spotline.planner.staffing import StaffingError, build, flat, parse_modes, read_plan


def _common(p: Any) -> None:
    add_export_options(p, mapping_help="the TOML file of 'plan classify' naming the "
                                       "columns (the options below win; its other keys "
                                       "are ignored)")
    p.add_argument("--classification", required=True, metavar="FILE",
                   help="the classification.csv of 'plan classify', reviewed: its class "
                        "column decides which calls are simulated")
    p.add_argument("--desc", metavar="COL",
                   help="accepted as for classify; the descriptions come from the "
                        "classification")
    p.add_argument("--types", metavar="CODES.csv", help="accepted as for classify")
    p.add_argument("--types-code", metavar="COL", help="accepted as for classify")
    p.add_argument("--types-desc", metavar="COL", help="accepted as for classify")
    p.add_argument("--sample", type=int, metavar="N",
                   help="simulate the first whole days holding at least N calls")
    p.add_argument("--osm", metavar="FILE.osm.pbf",
                   help="travel on this OpenStreetMap extract's roads (else a straight "
                        "line x 1.4)")
    p.add_argument("--cache", metavar="DIR",
                   help="where road graphs are cached (default: the data directory's "
                        "planner-cache)")
    p.add_argument("--modes", default="car", metavar="MODE=SHARE,...",
                   help="how responders travel, as in car=0.5,bike=0.3,walk=0.2 "
                        "(default car)")
    p.add_argument("--accept", type=float, default=0.8, metavar="P",
                   help="the probability that an offer is accepted (default 0.8)")
    p.add_argument("--turnout", type=float, default=60.0, metavar="SECONDS",
                   help="from accepting to moving (default 60, NFPA 1710)")
    p.add_argument("--seed", type=int, default=1, help="the random seed (default 1)")
    p.add_argument("--out", required=True, metavar="DIR")


def add_parsers(sub: Any) -> None:
    s = sub.add_parser("simulate", help="replay the eligible calls on a staffing plan")
    _common(s)
    plan = s.add_mutually_exclusive_group(required=True)
    plan.add_argument("--responders", type=int, metavar="N",
                      help="N responders on shift every hour")
    plan.add_argument("--staffing", metavar="FILE",
                      help="a CSV weekday,hour,responders with all 168 hours (as "
                           "recommended_plan.csv)")
    t = sub.add_parser("staff", help="the fewest responder-hours that reach a target")
    _common(t)
    t.add_argument("--target-median", type=float, default=5.0, metavar="MINUTES",
                   help="median time to a responder on scene (default 5)")
    t.add_argument("--target-served", type=float, default=0.9, metavar="SHARE",
                   help="share of the calls served (default 0.9)")
    t.add_argument("--max-responders", type=int, default=60, metavar="N",
                   help="the most on shift at once to try (default 60)")
    t.add_argument("--min-on-shift", type=int, default=1, metavar="N",
                   help="the fewest on shift in any hour of the plan (default 1)")
    t.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="simulations at once (default: the number of cores)")


#: The mapping file's keys these commands use; the others (desc, types, rules, ...) are
#: classify's and ignored here.
MAPPED = ("time", "type", "lat", "lon", "address", "time_format", "encoding", "delimiter")


def _options(given: dict[str, Any]) -> dict[str, Any]:
    """The options with the mapping file's values where none was given."""
    try:
        mapped = read_mapping(Path(given["mapping"])) if given.get("mapping") else {}
    except MappingError as exc:
        raise CommandError(str(exc)) from None
    o = merge(given, {k: v for k, v in mapped.items() if k in MAPPED})
    for key in ("time", "type"):
        if not o.get(key):
            raise CommandError(f'--{key} is required (or {key} = "COL" in the '
                               "--mapping file)")
    return o


def handle(options: dict[str, Any], stdout: Any, stderr: IO[str]) -> None:
    """Run ``plan simulate`` or ``plan staff``; ``stdout`` takes ``write``."""
    options = _options(options)
    try:
        if options["subcommand"] == "simulate":
            _simulate(options, stdout, stderr)
        else:
            _staff(options, stdout, stderr)
    except (CallsFileError, StaffingError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{exc.filename or options['out']}: {exc.strerror}") from None


def _assumptions(o: dict[str, Any]) -> Assumptions:
    if not 0.0 <= o["accept"] <= 1.0:
        raise CommandError("--accept is a probability, within 0 and 1")
    if o["turnout"] < 0:
        raise CommandError("--turnout cannot be negative")
    return Assumptions(accept_probability=o["accept"], turnout_seconds=o["turnout"],
                       seed=o["seed"])


def _load(o: dict[str, Any], stderr: IO[str]) -> Loaded:
    if not (o["lat"] and o["lon"]) and not o["address"]:
        raise CommandError("the simulation needs the calls' places: pass --lat and --lon "
                           "(the columns with latitude and longitude), or --address "
                           "(a column to geocode with the gazetteer)")

    def geocoding(done: int, total: int) -> None:
        print(f"geocoding: {done:,} of {total:,} distinct addresses", file=stderr,
              flush=True)
    loaded = load_calls(
        Path(o["calls"]), columns=Columns(time=o["time"], type=o["type"], lat=o["lat"],
                                          lon=o["lon"], address=o["address"]),
        classification=Path(o["classification"]), encoding=o["encoding"],
        delimiter=o["delimiter"], time_format=o["time_format"], sample=o["sample"],
        seed=o["seed"], locate=partial(points_for, progress=geocoding))
    for note in loaded.notes:
        print(note, file=stderr)
    return loaded


def _estimator(o: dict[str, Any], stderr: IO[str]) -> simulate.Estimator:
    cache = Path(o["cache"]) if o["cache"] else Path(settings.DATA_DIR) / "planner-cache"
    chosen = simulate.choose_estimator(Path(o["osm"]) if o["osm"] else None, cache)
    if chosen.note:
        print(chosen.note, file=stderr)
    return chosen


def _simulate(o: dict[str, Any], stdout: Any, stderr: IO[str]) -> None:
    assumptions = _assumptions(o)
    modes = parse_modes(o["modes"])
    per_hour = (read_plan(Path(o["staffing"])) if o["staffing"]
                else flat(o["responders"]))
    loaded = _load(o, stderr)
    plan = build(per_hour, calls=loaded.calls, modes=modes, start_how=loaded.start_how)
    estimator = _estimator(o, stderr)
    note = (f"{Path(o['staffing']).name}" if o["staffing"]
            else f"{o['responders']} on shift every hour") + f", modes {o['modes']}"
    doc = simulate.run(loaded.calls, plan, assumptions, estimator, sample=o["sample"],
                       period_days=loaded.period_days, staffing_note=note, stderr=stderr)
    written = simulate.write(doc, Path(o["out"]))
    stdout.write(simulate.table(doc) + "\n")
    stdout.write("wrote " + ", ".join(str(p) for p in written) + "\n")


def _staff(o: dict[str, Any], stdout: Any, stderr: IO[str]) -> None:
    assumptions = _assumptions(o)
    modes = parse_modes(o["modes"])
    if o["max_responders"] < 1:
        raise CommandError("--max-responders must be 1 or more")
    if o["min_on_shift"] < 0:
        raise CommandError("--min-on-shift cannot be negative")
    if not 0.0 <= o["target_served"] <= 1.0:
        raise CommandError("--target-served is a share, within 0 and 1 (as 0.9)")
    if o["target_median"] <= 0:
        raise CommandError("--target-median is minutes, above 0")
    if o["jobs"] < 1:
        raise CommandError("--jobs must be 1 or more")
    loaded = _load(o, stderr)
    build((1,) * 168, calls=loaded.calls)  # no coordinates at all: a clear error first
    estimator = _estimator(o, stderr)
    scenario = staff.Scenario(calls=tuple(loaded.calls), assumptions=assumptions,
                              estimator=estimator.estimator, modes=modes,
                              start_how=loaded.start_how)
    target = staff.Target(median_s=o["target_median"] * 60.0,
                          served_share=o["target_served"])
    with simulate.progress_bar(stderr, None, "plans simulated") as advance, \
            staff.Runner(scenario, o["jobs"], advance) as runner:
        result = staff.search(runner, target, maximum=o["max_responders"],
                              floor=o["min_on_shift"], period_days=loaded.period_days)
    written = staff.write(result, Path(o["out"]))
    stdout.write(staff.table(result) + "\n")
    stdout.write("wrote " + ", ".join(str(p) for p in written) + "\n")
