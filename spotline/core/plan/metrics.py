"""The figures of a simulation, JSON-ready: time to a responder on scene, share served,
why the rest were not, how busy responders were; by hour of the week and by area.

Percentiles are numpy's ``method="linear"`` (the default: interpolating between the
two nearest ranks). Times are over the calls served only: an unserved call has no time
to scene, and counts in ``served_share`` and ``unserved_by_reason`` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from spotline.core.plan.model import WEEK_HOURS, CallOutcome, SimResult
from spotline.core.policy import Shortfall


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100, linear), None for no values."""
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q, method="linear"))


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _times(outcomes: Sequence[CallOutcome]) -> list[float]:
    return [o.on_scene_after for o in outcomes
            if o.unserved is None and o.on_scene_after is not None]


def summarize(result: SimResult) -> dict[str, Any]:
    """The report's figures for one simulation (see the module's docstring)."""
    outcomes = result.outcomes
    times = _times(outcomes)
    accepted = [o.accepted_after for o in outcomes if o.accepted_after is not None]
    reasons = {s.value: 0 for s in Shortfall}
    for o in outcomes:
        if o.unserved is not None:
            reasons[o.unserved.value] += 1
    shift = sum(result.shift_seconds.values())
    by_hour: list[list[CallOutcome]] = [[] for _ in range(WEEK_HOURS)]
    by_area: dict[str, list[CallOutcome]] = {}
    for o in outcomes:
        by_hour[o.how].append(o)
        by_area.setdefault(o.area, []).append(o)
    return {
        "oracle": result.oracle,
        "calls": len(outcomes),
        "served": len(times),
        "served_share": share(len(times), len(outcomes)),
        "on_scene_median_s": percentile(times, 50),
        "on_scene_p90_s": percentile(times, 90),
        "accepted_median_s": percentile(accepted, 50),
        "unserved_by_reason": reasons,
        "utilization": (sum(result.busy_seconds.values()) / shift) if shift else None,
        "ems_proposed": sum(1 for o in outcomes if o.ems_proposed),
        "by_hour": [_hour(how, group) for how, group in enumerate(by_hour)],
        "by_area": {area: _area(group) for area, group in sorted(by_area.items())},
    }


def _hour(how: int, outcomes: Sequence[CallOutcome]) -> dict[str, Any]:
    times = _times(outcomes)
    return {"how": how, "calls": len(outcomes), "served": len(times),
            "median_s": percentile(times, 50), "p90_s": percentile(times, 90)}


def _area(outcomes: Sequence[CallOutcome]) -> dict[str, Any]:
    times = _times(outcomes)
    return {"calls": len(outcomes), "served": len(times), "median_s": percentile(times, 50)}


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def compare(policy: dict[str, Any], oracle: dict[str, Any]) -> dict[str, Any]:
    """Policy over oracle, from two ``summarize`` results: above 1 for times means the
    policy is slower, below 1 for the share means it serves fewer. None where either
    side has no figure (nothing served) or the oracle's is 0."""
    return {
        "on_scene_median_ratio": ratio(policy["on_scene_median_s"], oracle["on_scene_median_s"]),
        "on_scene_p90_ratio": ratio(policy["on_scene_p90_s"], oracle["on_scene_p90_s"]),
        "served_share_ratio": ratio(policy["served_share"], oracle["served_share"]),
    }
