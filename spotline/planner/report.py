"""What ``plan classify`` writes (classification.csv, summary.json,
diversion_by_hour.csv) and the short table it prints."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from spotline.core.plan.classify import CallClass
from spotline.core.plan.diversion import WEEKDAYS
from spotline.planner.classify import Result

CLASSIFICATION = "classification.csv"
SUMMARY = "summary.json"
BY_HOUR = "diversion_by_hour.csv"
SHOWN = 5  # priority and disposition values printed; summary.json has up to 20


def write(result: Result, out: Path) -> list[Path]:
    """The three files in ``out`` (made if missing); a table a person reviews first."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / CLASSIFICATION, out / SUMMARY, out / BY_HOUR]
    with paths[0].open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["type", "description", "calls", "class", "rule", "reason"])
        for r in result.types:
            w.writerow([r.type, r.description, r.calls, r.klass.value, r.rule, r.reason])
    paths[1].write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")
    with paths[2].open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["weekday", "hour", "calls", "community", "community_with_backup", "share"])
        for c in result.grid:
            w.writerow([WEEKDAYS[c.weekday], c.hour, c.calls, c.community,
                        c.community_with_backup, f"{c.share:.4f}" if c.calls else ""])
    return paths


def table(result: Result) -> str:
    """Calls by class, the headline share, and the share by hour of the week in %."""
    s = result.summary
    calls = s["calls"]
    unknown = s["by_class"]["unknown"]
    lines = [f"{calls:,} calls, {s['types']:,} call types "
             f"({s['unknown_types']} types unknown, {unknown:,} calls)", "",
             f"{'class':<24}{'calls':>9}{'share':>8}"]
    for klass in CallClass:
        n = s["by_class"][klass.value]
        lines.append(f"{klass.value:<24}{n:>9,}{(n / calls if calls else 0):>8.1%}")
    lines += ["", f"a community team could take {s['community_share']:.1%} of all calls "
                  f"({s['community_alone_share']:.1%} alone, the rest with a safety "
                  "protocol)", "",
              "share by hour of the week, % (community and with backup; '  .' = no calls)",
              "     " + "".join(f"{h:>3}" for h in range(24))]
    for d, day in enumerate(WEEKDAYS):
        cells = [c for c in result.grid if c.weekday == d]
        lines.append(f"{day:<5}" + "".join(
            f"{round(c.share * 100):>3}" if c.calls else "  ." for c in cells))
    for key in ("priority", "disposition"):
        values = s.get(f"by_{key}")
        if values:
            lines += ["", f"calls by {key} (the {min(SHOWN, len(values))} largest; all in "
                          f"{SUMMARY})"]
            lines += [f"  {v[:30]:<32}{n:>9,}{n / calls:>8.1%}"
                      for v, n in sorted(values.items(), key=lambda kv: -kv[1])[:SHOWN]]
    if unknown:
        lines += ["", f"review {CLASSIFICATION}: {s['unknown_types']} call types matched "
                      "no rule (class 'unknown'); pin them in a --rules file"]
    return "\n".join(lines)
