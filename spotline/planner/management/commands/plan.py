"""``spotline plan classify CALLS.csv --time COL --type COL ... --out DIR``.

Writes DIR/classification.csv (one row per call type: type, description, calls, class,
rule, and the rule's reason), DIR/summary.json and DIR/diversion_by_hour.csv; prints the
calls by class and the share a community team could take by hour of the week; says on
stderr what it counted and could not use (duplicates, bad dates, missing coordinates,
unused columns, addresses geocoded). ``--mapping city.toml`` names the columns in one
file (``planner.mapping``; an option given here wins). A file it cannot use exits 1 with
one line; nothing of a call is ever printed, only counts.
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from spotline.core.plan.classify import RuleError
from spotline.planner import cli_job, cli_report, cli_sim, report
from spotline.planner.callsfile import CallsFileError
from spotline.planner.classify import CodeList, Columns, classify_calls
from spotline.planner.geocode import points_for
from spotline.planner.mapping import MappingError, add_export_options, merge, read_mapping
from spotline.planner.rulesfile import load_rules


class Command(BaseCommand):
    help = ("The planner: 'classify' a city's calls for service by call type and "
            "estimate the share a community team could take.")
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True,
                                    metavar="{classify,simulate,staff,report}")
        c = sub.add_parser("classify", help="classify call types; the diversion estimate")
        add_export_options(c, mapping_help="a TOML file naming the columns (the options "
                                           "below win)")
        c.add_argument("--desc", metavar="COL",
                       help="a column describing the call type (a text fewer than 5 "
                            "calls share is never written out)")
        c.add_argument("--types", metavar="CODES.csv",
                       help="a separate list of call-type codes and their descriptions")
        c.add_argument("--types-code", metavar="COL", help="the code column of --types")
        c.add_argument("--types-desc", metavar="COL",
                       help="the description column of --types")
        c.add_argument("--priority", metavar="COL", help="counted by value")
        c.add_argument("--disposition", metavar="COL", help="counted by value")
        c.add_argument("--rules", metavar="FILE",
                       help="a city's rule table (TOML or CSV) over the shipped one")
        c.add_argument("--out", required=True, metavar="DIR")
        cli_sim.add_parsers(sub)
        cli_report.add_parsers(sub)
        cli_job.add_parsers(sub)  # started by the worker for /planner/

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "classify":
            self.classify(options)
        elif options["subcommand"] == "report":
            cli_report.handle(options, self.stdout, self.stderr)
        elif options["subcommand"] == "run-job":
            cli_job.handle(options, self.stdout, self.stderr)
        else:
            cli_sim.handle(options, self.stdout, sys.stderr)

    def classify(self, given: dict[str, Any]) -> None:
        try:
            mapped = read_mapping(Path(given["mapping"])) if given["mapping"] else {}
        except MappingError as exc:
            raise CommandError(str(exc)) from None
        o = merge(given, mapped)
        for key in ("time", "type"):
            if not o[key]:
                raise CommandError(f'--{key} is required (or {key} = "COL" in the '
                                   "--mapping file)")
        codes = None
        if o["types"]:
            if not (o["types_code"] and o["types_desc"]):
                raise CommandError("--types needs --types-code and --types-desc")
            codes = CodeList(Path(o["types"]), o["types_code"], o["types_desc"])
        rules_path = Path(o["rules"]) if o["rules"] else None
        try:
            rules = load_rules(rules_path)
            result = classify_calls(
                Path(o["calls"]),
                columns=Columns(time=o["time"], type=o["type"], desc=o["desc"],
                                lat=o["lat"], lon=o["lon"], priority=o["priority"],
                                disposition=o["disposition"], address=o["address"]),
                rules=rules, codes=codes, encoding=o["encoding"],
                delimiter=o["delimiter"], time_format=o["time_format"],
                rules_name=rules_path.name if rules_path else "default",
                locate=partial(points_for, progress=_progress))
            written = report.write(result, Path(o["out"]))
        except (CallsFileError, RuleError) as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:
            raise CommandError(f"{o['out']}: cannot write there ({exc.strerror})") from None
        for note in result.notes:
            print(note, file=sys.stderr)
        self.stdout.write(report.table(result))
        self.stdout.write("\nwrote " + ", ".join(str(p) for p in written))


def _progress(done: int, total: int) -> None:
    print(f"geocoding: {done:,} of {total:,} distinct addresses", file=sys.stderr, flush=True)
