"""The report's page context: numbers formatted plainly, tables as rows of strings, and
the figures drawn from the same numbers as the tables beside them.

Minutes with one decimal, shares in per cent with one decimal, counts with thousands
separators, an en dash for what there is no number for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from spotline.core.plan.classify import CallClass
from spotline.core.plan.diversion import WEEKDAYS
from spotline.planner import plots

DASH = "\u2013"  # an en dash: no number
TOP_TYPES = 20  # the call types shown outside the full table, most calls first
CLASS_LABELS = {
    CallClass.COMMUNITY.value: "community team alone",
    CallClass.COMMUNITY_WITH_BACKUP.value: "community team with a safety protocol",
    CallClass.EMS_ONLY.value: "EMS only",
    CallClass.NOT_ELIGIBLE.value: "not eligible",
    CallClass.UNKNOWN.value: "unknown (no rule matched)",
}
RUN_ROWS = (  # (label, key, how to format) of a summarize dict
    ("served by the community team", "served_share", "pct"),
    ("median time to a responder on scene", "on_scene_median_s", "min"),
    ("90th percentile time to scene", "on_scene_p90_s", "min"),
    ("median time to an accepted offer", "accepted_median_s", "min"),
    ("responder utilization", "utilization", "pct"),
    ("calls proposed for EMS", "ems_proposed", "count"),
)


def minutes(seconds: Any, unit: bool = False) -> str:
    if not isinstance(seconds, int | float):
        return DASH
    return f"{seconds / 60:.1f}" + (" min" if unit else "")


def pct(share: Any) -> str:
    return f"{share * 100:.1f}%" if isinstance(share, int | float) else DASH


def count(n: Any) -> str:
    return f"{round(n):,}" if isinstance(n, int | float) else DASH


FORMATS: dict[str, Callable[[Any], str]] = {
    "pct": pct, "min": lambda s: minutes(s, unit=True), "count": count}


def _week(values: Sequence[Any], fmt: Any) -> list[dict[str, Any]]:
    """168 values as 7 rows of 24 formatted cells, Monday first."""
    full = list(values) + [None] * (168 - len(values))
    return [{"day": day, "cells": [fmt(v) for v in full[d * 24:(d + 1) * 24]]}
            for d, day in enumerate(WEEKDAYS)]


def _grid(values: Sequence[float | None]) -> list[list[float | None]]:
    full = list(values) + [None] * (168 - len(values))
    return [full[d * 24:(d + 1) * 24] for d in range(7)]


def _share(part: Any, whole: Any) -> float | None:
    return part / whole if isinstance(part, int | float) and whole else None


def _diversion(div: dict[str, Any]) -> dict[str, Any]:
    calls = div.get("calls") or 0
    by_class = div.get("by_class") or {}
    classes = [{"label": CLASS_LABELS[c.value], "calls": count(by_class.get(c.value, 0)),
                "share": pct(_share(by_class.get(c.value, 0), calls))} for c in CallClass]
    shares: list[float | None] = [None] * 168
    for h in div["by_hour"]:
        shares[h["how"]] = h["share"] if h["calls"] else None
    quality = []
    for key, text in (("duplicate_rows", "rows that were exact copies of another, counted once"),
                      ("bad_dates", "calls with no readable date, left out of the hours"),
                      ("missing_coordinates", "calls with no usable place"),
                      ("missing_type", "calls with no call type"),
                      ("unknown_types", "call types no rule matched (class unknown)")):
        if div.get(key):
            quality.append(f"{text}: {count(div[key])}")
    known = [s for s in shares if s is not None]
    return {
        "calls": count(calls), "share": pct(div.get("community_share")),
        "alone": pct(div.get("community_alone_share")), "classes": classes,
        "first": (div.get("first_call") or "")[:10], "last": (div.get("last_call") or "")[:10],
        "quality": quality, "has_hours": bool(known),
        "heat": plots.heatmap([[None if v is None else v * 100 for v in row]
                               for row in _grid(shares)],
                              label="share a team could take, %") if known else None,
        "heat_alt": ("Heat map of the share of calls a community team could take, by "
                     f"weekday and hour: from {pct(min(known, default=None))} to "
                     f"{pct(max(known, default=None))}; the table below has every hour."),
        "week": _week(shares, lambda v: DASH if v is None else f"{v * 100:.0f}"),
    }


def _classification(rows: list[dict[str, Any]]) -> dict[str, Any]:
    shown = [{**r, "calls": count(r["calls"]),
              "class": CLASS_LABELS.get(r["class"], r["class"])} for r in rows]
    return {"types": len(rows), "top": shown[:TOP_TYPES], "all": shown,
            "unknown": [r for r in shown if r["class"] == CLASS_LABELS["unknown"]],
            "more": len(rows) > TOP_TYPES}


def _run_table(runs: dict[str, dict[str, Any] | None]) -> list[dict[str, Any]]:
    present = {name: run for name, run in runs.items() if run}
    return [{"label": label,
             "cells": [FORMATS[fmt](run.get(key)) for run in present.values()]}
            for label, key, fmt in RUN_ROWS]


def _band(median_s: Any, goal_s: float) -> int:
    """0: within the goal, 1: up to twice the goal, 2: over that, 3: nothing served."""
    if not isinstance(median_s, int | float):
        return 3
    return 0 if median_s <= goal_s else 1 if median_s <= 2 * goal_s else 2


def _areas(run: dict[str, Any], goal_s: float) -> list[dict[str, str]]:
    """Areas (cells) counted by their median time to scene: counts only, no map."""
    g = goal_s / 60
    names = (f"within {g:g} min", f"{g:g} to {2 * g:g} min", f"over {2 * g:g} min",
             "no call served")
    areas = [0] * 4
    calls = [0] * 4
    for a in (run.get("by_area") or {}).values():
        band = _band(a.get("median_s"), goal_s)
        areas[band] += 1
        calls[band] += int(a.get("calls") or 0)
    return [{"band": name, "areas": count(areas[i]), "calls": count(calls[i])}
            for i, name in enumerate(names)]


def _simulation(sim: dict[str, Any], goal_s: float) -> dict[str, Any]:
    policy = sim.get("policy") or {}
    hours = sim["by_hour"] or policy.get("by_hour") or []
    median: list[float | None] = [None] * 168
    p90: list[float | None] = [None] * 168
    served: list[float | None] = [None] * 168
    for h in hours:
        how = h.get("how")
        if isinstance(how, int) and 0 <= how < 168:
            median[how], p90[how] = h.get("median_s"), h.get("p90_s")
            served[how] = _share(h.get("served"), h.get("calls"))
    calls = policy.get("calls") or sim.get("calls")
    unserved = sorted(((r, n) for r, n in (policy.get("unserved_by_reason") or {}).items()
                       if n), key=lambda r: -r[1])
    staffing = sim.get("staffing") or {}
    has_hours = any(v is not None for v in served)
    return {
        "calls": count(sim.get("calls")), "sample": count(sim.get("sample")),
        "days": f"{sim['period_days']:.1f}" if isinstance(sim.get("period_days"), int | float)
        else DASH,
        "roads": sim.get("estimator") == "roads",
        "fallbacks": count(sim.get("road_fallbacks") or 0),
        "responders": count(staffing.get("responders")),
        "hours": count(staffing.get("responder_hours_per_week")),
        "figures": _run_table({"policy": policy}),
        "unserved": [{"reason": r.replace("_", " "), "calls": count(n),
                      "share": pct(_share(n, calls))} for r, n in unserved],
        "areas": _areas(policy, goal_s) if policy.get("by_area") else [],
        "has_hours": has_hours,
        "plot": plots.by_hour(
            {"median": [None if v is None else v / 60 for v in median],
             "90th percentile": [None if v is None else v / 60 for v in p90]},
            served, target_minutes=goal_s / 60) if has_hours else None,
        "week_median": _week(median, minutes),
        "week_served": _week(served, lambda v: DASH if v is None else f"{v * 100:.0f}"),
    }


def _comparison(sim: dict[str, Any]) -> dict[str, Any] | None:
    runs = {"policy": sim.get("policy"), "oracle": sim.get("oracle"),
            "policy, straight-line travel": sim.get("straight_line")}
    present = {k: v for k, v in runs.items() if v}
    if "oracle" not in present or "policy" not in present:
        return None
    labels = ["median", "90th percentile"]
    return {
        "columns": list(present),
        "rows": _run_table(runs),
        "ratios": [{"name": k.replace("_", " "), "value": DASH if v is None else f"{v:.2f}"}
                   for k, v in sim["comparison"].items()],
        "plot": plots.bars(labels, {name: [None if run.get(k) is None else run[k] / 60
                                           for k in ("on_scene_median_s", "on_scene_p90_s")]
                                    for name, run in present.items()},
                           ylabel="minutes to scene"),
        "alt": "Bar chart of minutes to scene, median and 90th percentile: " + "; ".join(
            f"{name} {minutes(run.get('on_scene_median_s'))} and "
            f"{minutes(run.get('on_scene_p90_s'))} min" for name, run in present.items()),
    }


def _staffing(staff: dict[str, Any]) -> dict[str, Any]:
    target = staff["target"]
    curve = staff["curve"]
    rows = [{"responders": count(r["responders"]),
             "hours": count(r["responder_hours_per_week"]), "served": pct(r["served_share"]),
             "median": minutes(r["median_s"]), "p90": minutes(r["p90_s"]),
             "utilization": pct(r["utilization"]),
             "oracle_served": pct(r["oracle_served_share"]),
             "oracle_median": minutes(r["oracle_median_s"])} for r in curve]
    goal_min = target["median_s"] / 60 if target["median_s"] else None
    plot = plots.staffing_curve(
        [int(r["responders"] or 0) for r in curve],
        [None if r["median_s"] is None else r["median_s"] / 60 for r in curve],
        [None if r["p90_s"] is None else r["p90_s"] / 60 for r in curve],
        [r["served_share"] for r in curve],
        target_minutes=goal_min, target_served=target["served_share"]) if curve else None
    rec = staff.get("recommended")
    plan = None
    if rec:
        per_hour = rec["per_hour"]
        plan = {
            "hours": count(rec["responder_hours_per_week"]),
            "fte": _fte(rec["responder_hours_per_week"]),
            "low": count(min(per_hour)), "high": count(max(per_hour)),
            "columns": [k for k in ("plan", "oracle") if rec.get(
                "summary" if k == "plan" else "oracle")],
            "rows": _run_table({"plan": rec.get("summary"), "oracle": rec.get("oracle")}),
            "heat": plots.heatmap(_grid(per_hour), label="responders on shift",
                                  cmap="Blues"),
            "alt": ("Heat map of the recommended responders on shift by weekday and hour: "
                    f"from {min(per_hour)} to {max(per_hour)}; the table below has every "
                    "hour."),
            "week": _week(per_hour, count),
        }
    return {
        "goal_median": minutes(target["median_s"], unit=True),
        "goal_served": pct(target["served_share"]), "reached": staff.get("reached"),
        "rows": rows, "plot": plot,
        "alt": "Line charts of responders on shift against minutes to scene (median and "
               "90th percentile) and against the share served, with the targets as dashed "
               "lines; the table below has every level.",
        "plan": plan, "notes": staff.get("notes") or [],
        "top": rows[-1]["responders"] if rows else DASH,
    }


def _fte(hours: Any) -> str:
    """Full-time positions at 40 hours a week: one decimal while it is a small team."""
    if not isinstance(hours, int | float):
        return DASH
    return f"{hours / 40:.1f}" if hours < 400 else f"{hours / 40:,.0f}"


def _headline(h: dict[str, Any]) -> dict[str, Any]:
    return {
        "share": pct(h["community_share"]), "calls": count(h["calls"]),
        "hours": count(h["recommended_responder_hours_per_week"]),
        "fte": _fte(h["recommended_responder_hours_per_week"]),
        "low": count(h["recommended_on_shift_min"]), "high": count(h["recommended_on_shift_max"]),
        "reached": h["target_reached"], "basis": h["basis"],
        "median": minutes(h["median_s"], unit=True), "p90": minutes(h["p90_s"], unit=True),
        "served": pct(h["served_share"]), "goal": minutes(h["goal_median_s"], unit=True),
        "has_share": h["community_share"] is not None,
        "has_plan": h["recommended_responder_hours_per_week"] is not None,
        "has_times": h["basis"] is not None,
    }


def context(data: dict[str, Any], *, title: str = "") -> dict[str, Any]:
    """What ``planner/report.html`` needs, from ``htmlreport.gather``'s document."""
    goal_s = data["headline"]["goal_median_s"]
    sim, staff, div = data["simulation"], data["staffing"], data["diversion"]
    assumptions = list(data["assumptions"])
    if staff:
        assumptions.append({"name": "target", "value": (
            f"median {minutes(staff['target']['median_s'], unit=True)}, "
            f"{pct(staff['target']['served_share'])} served"),
            "source": "set for this run (plan staff); 4-5 minutes is when brain injury "
                      "from an overdose sets in"})
    if div and div.get("rules"):
        assumptions.append({"name": "call-type rules", "value": str(div["rules"]),
                            "source": "the rule table shipped with Spotline, or the "
                                      "city's own file, reviewed before simulating"})
    return {
        "title": title or "How many calls a community team could take",
        "headline": _headline(data["headline"]),
        "diversion": _diversion(div) if div else None,
        "classification": _classification(data["classification"])
        if data["classification"] is not None else None,
        "simulation": _simulation(sim, goal_s) if sim else None,
        "comparison": _comparison(sim) if sim else None,
        "staffing": _staffing(staff) if staff else None,
        "assumptions": assumptions,
        "limits": data["limits"],
        "not_run": data["not_run"],
        "hours": [f"{h:02d}" for h in range(24)],
    }
