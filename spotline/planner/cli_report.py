"""``spotline plan report DIR``: the planner's files in DIR as DIR/report.html (one
self-contained page to hand to a council) and DIR/report.json (the same numbers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from spotline.planner import htmlreport


def add_parsers(sub: Any) -> None:
    r = sub.add_parser("report", help="the report: report.html and report.json in DIR")
    r.add_argument("dir", metavar="DIR",
                   help="the folder plan classify, simulate and staff wrote to")
    r.add_argument("--title", default="",
                   help="the report's title (default: how many calls a community team "
                        "could take)")


def handle(options: dict[str, Any], stdout: Any, stderr: Any) -> None:
    """Write the report; ``stdout`` and ``stderr`` take ``write``."""
    folder = Path(options["dir"])
    try:
        html = htmlreport.write(folder, title=options.get("title") or "")
    except htmlreport.ReportError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"{folder}: cannot write the report there "
                           f"({exc.strerror})") from None
    written = json.loads((folder / htmlreport.JSON).read_text(encoding="utf-8"))
    for step, note in written["not_run"].items():
        if note:
            stderr.write(f"{step}: {note}\n")
    stdout.write(f"wrote {html} and {folder / htmlreport.JSON}\n")
