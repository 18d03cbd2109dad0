"""``plan report``: the planner's files in one folder, as a report for a council.

1. Read whichever of the planner's files are in the folder (``load``): a step that was
   not run leaves its files out, and its sections say how to run it.
2. Gather them into one document (``gather``) with only the keys the report knows, so
   a key another step adds later never carries something a report must not hold.
   report.json is that document; the HTML shows the same numbers.
3. Draw the figures and shape the tables (``reportview``), and render
   ``planner/report.html``: one self-contained file, every figure followed by its table.

Nothing of a single call reaches the report: counts by call type, hour of the week and
area cell only, never an address, a coordinate or a call's text.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string

from spotline.core.plan.diversion import WEEKDAYS
from spotline.planner.reportview import context

HTML, JSON = "report.html", "report.json"
NOT_RUN = {
    "classify": "not run: spotline plan classify CALLS.csv --time COL --type COL --out DIR",
    "simulate": "not run: spotline plan simulate CALLS.csv --classification "
                "DIR/classification.csv --time COL --type COL --lat COL --lon COL "
                "--responders N --out DIR",
    "staff": "not run: spotline plan staff CALLS.csv --classification "
             "DIR/classification.csv --time COL --type COL --lat COL --lon COL --out DIR",
}
#: What the report says the model leaves out, whatever the run.
LIMITS = (
    "The simulation replays the calls a city's police recorded. Calls never made because "
    "the police would come are not in them: the real demand for a community team is "
    "likely higher.",
    "Whether a responder accepts an offer, and how long they stay on scene, are "
    "assumptions (listed above with their sources), not measurements of this program.",
    "The oracle, the bound the policy is compared with, is greedy: it sends the nearest "
    "free responder at once. A plan that looked ahead could sometimes do better still.",
    "One responder goes to each call, except calls classed community_with_backup, which "
    "get a second one.",
    "Responders take no breaks and shifts hand over instantly.",
    "Travel time is by road on the organization's map where one was given, otherwise the "
    "straight-line distance times a detour factor.",
)
SUMMARY_FIELDS = ("calls", "by_class", "community_share", "community_alone_share",
                  "rows_read", "duplicate_rows", "bad_dates", "missing_coordinates",
                  "missing_type", "types", "unknown_types", "first_call", "last_call",
                  "rules")
RUN_FIELDS = ("calls", "served", "served_share", "on_scene_median_s", "on_scene_p90_s",
              "accepted_median_s", "unserved_by_reason", "utilization", "ems_proposed",
              "by_hour", "by_area")
HOUR_FIELDS = ("how", "calls", "served", "median_s", "p90_s")
CURVE_FIELDS = ("responders", "responder_hours_per_week", "served_share", "median_s",
                "p90_s", "utilization", "oracle_served_share", "oracle_median_s")


class ReportError(Exception):
    """A planner file is there but cannot be read (said in one line)."""


def _json(path: Path) -> Any:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path.name}: not a JSON file the planner wrote ({exc})") from None


def _csv(path: Path) -> list[dict[str, str]] | None:
    if not path.exists():
        return None
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            return list(csv.DictReader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ReportError(f"{path.name}: not a CSV file the planner wrote ({exc})") from None


def load(folder: Path) -> dict[str, Any]:
    """Each of the planner's files in ``folder``, parsed, or None when it is not there."""
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such folder")
    return {
        "summary": _json(folder / "summary.json"),
        "classification": _csv(folder / "classification.csv"),
        "diversion_by_hour": _csv(folder / "diversion_by_hour.csv"),
        "simulation": _json(folder / "simulation.json"),
        "simulation_by_hour": _csv(folder / "simulation_by_hour.csv"),
        "staff": _json(folder / "staff.json"),
        "staffing_curve": _csv(folder / "staffing_curve.csv"),
        "recommended_plan": _csv(folder / "recommended_plan.csv"),
    }


def _num(text: Any) -> float | None:
    """A number from a CSV cell or a JSON value; None for empty, missing or not a number."""
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if value == value else None  # NaN is no number


def _int(text: Any) -> int:
    value = _num(text)
    return int(value) if value is not None else 0


def _how(row: dict[str, str]) -> int | None:
    """Hour of the week of a CSV row with weekday ("Mon".."Sun") and hour columns."""
    day, hour = row.get("weekday", ""), _num(row.get("hour"))
    if day not in WEEKDAYS or hour is None or not 0 <= hour < 24:
        return None
    return WEEKDAYS.index(day) * 24 + int(hour)


def _run(summary: Any) -> dict[str, Any] | None:
    """A ``metrics.summarize`` dict with the known keys only."""
    if not isinstance(summary, dict):
        return None
    kept = {k: summary.get(k) for k in RUN_FIELDS}
    kept["by_hour"] = [{k: h.get(k) for k in HOUR_FIELDS}
                       for h in summary.get("by_hour") or [] if isinstance(h, dict)]
    kept["by_area"] = {str(a): {k: v.get(k) for k in ("calls", "served", "median_s")}
                       for a, v in (summary.get("by_area") or {}).items()
                       if isinstance(v, dict)}
    kept["unserved_by_reason"] = {str(r): _int(n) for r, n in
                                  (summary.get("unserved_by_reason") or {}).items()}
    return kept


def _diversion(files: dict[str, Any]) -> dict[str, Any] | None:
    summary = files["summary"]
    if not isinstance(summary, dict):
        return None
    hours: list[dict[str, Any]] = []
    for row in files["diversion_by_hour"] or []:
        how = _how(row)
        if how is not None:
            hours.append({"how": how, "weekday": row["weekday"], "hour": how % 24,
                          "calls": _int(row.get("calls")),
                          "community": _int(row.get("community")),
                          "community_with_backup": _int(row.get("community_with_backup")),
                          "share": _num(row.get("share"))})
    return {**{k: summary.get(k) for k in SUMMARY_FIELDS}, "by_hour": hours}


def _classification(rows: list[dict[str, str]] | None) -> list[dict[str, Any]] | None:
    if rows is None:
        return None
    return [{"type": r.get("type", ""), "description": r.get("description", ""),
             "calls": _int(r.get("calls")), "class": r.get("class", ""),
             "rule": r.get("rule", ""), "reason": r.get("reason", "")} for r in rows]


def _simulation(files: dict[str, Any]) -> dict[str, Any] | None:
    sim = files["simulation"]
    if not isinstance(sim, dict):
        return None
    staffing = sim.get("staffing") or {}
    hours = []
    for row in files["simulation_by_hour"] or []:
        how = _how(row)
        if how is not None:
            hours.append({"how": how, "calls": _int(row.get("calls")),
                          "served": _int(row.get("served")),
                          "median_s": _num(row.get("median_s")),
                          "p90_s": _num(row.get("p90_s"))})
    comparison = sim.get("comparison") or {}
    return {
        **{k: sim.get(k) for k in ("calls", "sample", "period_days", "estimator",
                                   "road_fallbacks")},
        "staffing": {k: staffing.get(k) for k in ("responders", "responder_hours_per_week",
                                                  "per_hour")},
        "policy": _run(sim.get("policy")),
        "oracle": _run(sim.get("oracle")),
        "straight_line": _run(sim.get("straight_line")),
        "comparison": {str(k): _num(v) for k, v in comparison.items()
                       if v is None or (isinstance(v, int | float) and not isinstance(v, bool))},
        "by_hour": sorted(hours, key=lambda h: h["how"]),
    }


def _staffing(files: dict[str, Any]) -> dict[str, Any] | None:
    staff, rows = files["staff"], files["staffing_curve"]
    if not isinstance(staff, dict) and rows is None:
        return None
    staff = staff if isinstance(staff, dict) else {}
    if rows is not None:
        curve = [{k: _num(r.get(k)) for k in CURVE_FIELDS} for r in rows]
    else:
        curve = [{k: _num(r.get(k)) for k in CURVE_FIELDS} for r in staff.get("curve") or []]
    recommended = staff.get("recommended") or {}
    per_hour = [0] * 168
    for row in files["recommended_plan"] or []:
        how = _how(row)
        if how is not None:
            per_hour[how] = _int(row.get("responders"))
    if files["recommended_plan"] is None:
        per_hour = [_int(n) for n in recommended.get("per_hour") or []] or per_hour
    target = staff.get("target") or {}
    return {
        "target": {"median_s": _num(target.get("median_s")),
                   "served_share": _num(target.get("served_share"))},
        "reached": staff.get("reached"),
        "notes": [str(n) for n in staff.get("notes") or []],
        "curve": curve,
        "recommended": {
            "responder_hours_per_week": recommended.get("responder_hours_per_week",
                                                        sum(per_hour)),
            "per_hour": per_hour,
            "summary": _run(recommended.get("summary")),
            "oracle": _run(recommended.get("oracle")),
        } if (recommended or files["recommended_plan"] is not None) else None,
    }


def _headline(d: dict[str, Any]) -> dict[str, Any]:
    """The few numbers a council reads first: the share a team could take, the people it
    needs, and how fast they reach someone."""
    div, sim, staff = d["diversion"], d["simulation"], d["staffing"]
    rec = (staff or {}).get("recommended") or {}
    target = (staff or {}).get("target") or {}
    run, basis = None, None
    if rec.get("summary"):
        run, basis = rec["summary"], "recommended plan"
    elif sim and sim.get("policy"):
        run, basis = sim["policy"], "simulated staffing"
    per_hour = rec.get("per_hour") or []
    return {
        "community_share": div.get("community_share") if div else None,
        "calls": div.get("calls") if div else None,
        "recommended_responder_hours_per_week": rec.get("responder_hours_per_week"),
        "recommended_on_shift_min": min(per_hour) if per_hour else None,
        "recommended_on_shift_max": max(per_hour) if per_hour else None,
        "target_reached": (staff or {}).get("reached"),
        "basis": basis,
        "median_s": run.get("on_scene_median_s") if run else None,
        "p90_s": run.get("on_scene_p90_s") if run else None,
        "served_share": run.get("served_share") if run else None,
        "goal_median_s": target.get("median_s") or 300.0,
        "goal_served_share": target.get("served_share"),
    }


def gather(files: dict[str, Any], not_run: Mapping[str, str] | None = None) -> dict[str, Any]:
    """report.json: every section the report shows, with its numbers. ``not_run``: why
    a step did not run, when the caller knows better than "run the command"."""
    why = {**NOT_RUN, **(not_run or {})}
    sim = files["simulation"] if isinstance(files["simulation"], dict) else {}
    d: dict[str, Any] = {
        "diversion": _diversion(files),
        "classification": _classification(files["classification"]),
        "simulation": _simulation(files),
        "staffing": _staffing(files),
        "assumptions": [{k: str(a.get(k, "")) for k in ("name", "value", "source")}
                        for a in sim.get("assumptions") or [] if isinstance(a, dict)],
        "limits": list(LIMITS),
    }
    d["headline"] = _headline(d)
    d["not_run"] = {
        "classify": why["classify"] if d["diversion"] is None else None,
        "simulate": why["simulate"] if d["simulation"] is None else None,
        "staff": why["staff"] if d["staffing"] is None else None,
    }
    return d


def write(folder: Path, *, title: str = "", not_run: Mapping[str, str] | None = None) -> Path:
    """report.html and report.json in ``folder``; returns the HTML's path."""
    data = gather(load(folder), not_run)
    folder.joinpath(JSON).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    html = render_to_string("planner/report.html", context(data, title=title))
    path = folder / HTML
    path.write_text(html, encoding="utf-8")
    return path

