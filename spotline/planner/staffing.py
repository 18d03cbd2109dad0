"""A staffing plan for the simulation: how many on shift each hour of the week, how each
responder travels, what they can do, and where they wait.

- Hours: ``--responders N`` (N every hour) or a CSV ``weekday,hour,responders`` with all
  168 hours (the recommended_plan.csv that ``plan staff`` writes is one).
- Modes: shares such as ``car=0.5,bike=0.3,walk=0.2`` (a mobile team drives by
  default), dealt out so that every first-k responders keep the mix: the hours with
  few people on shift are not all walkers.
- Skills: every skill but ``crisis_team`` (the crisis team is a separate escalation).
- Homes: spread over the demand. The H3 resolution-7 cells of the simulated calls,
  busiest first; responder ``i`` waits at the centre of the ``(i mod k)``-th busiest of
  the ``k`` cells, so the first few on shift cover where most calls come from.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from spotline.core.geo import Mode, area_centre
from spotline.core.plan.diversion import WEEKDAYS
from spotline.core.plan.model import WEEK_HOURS, SimCall, SimResponder, Staffing
from spotline.core.triage import Skill

DEFAULT_SKILLS = frozenset(s for s in Skill if s is not Skill.CRISIS_TEAM)
_DAY_NAMES = {d.lower(): i for i, d in enumerate(WEEKDAYS)} | {
    n: i for i, n in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday",
                                "saturday", "sunday"))}


class StaffingError(ValueError):
    """A staffing plan that cannot be used; one line naming what is wrong."""


def flat(responders: int) -> tuple[int, ...]:
    if responders < 1:
        raise StaffingError("--responders must be 1 or more")
    return (responders,) * WEEK_HOURS


def read_plan(path: Path) -> tuple[int, ...]:
    """Responders per hour of the week from ``weekday,hour,responders`` rows, Monday
    0:00 first; weekdays as Mon..Sun, Monday..Sunday or 0-6 (0 = Monday)."""
    if not path.is_file():
        raise StaffingError(f"{path}: no such file")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise StaffingError(f"{path.name}: is not UTF-8 (save it as UTF-8 CSV)") from None
    rows = csv.DictReader(io.StringIO(text))
    fields = {(f or "").strip().lower(): f for f in rows.fieldnames or []}
    missing = [n for n in ("weekday", "hour", "responders") if n not in fields]
    if missing:
        raise StaffingError(f"{path.name}: needs the columns weekday, hour, responders "
                            f"(missing: {', '.join(missing)})")
    plan: dict[int, int] = {}
    for line, row in enumerate(rows, start=2):
        day, hour, n = (str(row.get(fields[k]) or "").strip()
                        for k in ("weekday", "hour", "responders"))
        if not (day or hour or n):
            continue
        where = f"{path.name} line {line}"
        d = _DAY_NAMES.get(day.lower(), int(day) if day.isdigit() else -1)
        if not 0 <= d < 7:
            raise StaffingError(f"{where}: weekday {day!r} is not Mon..Sun or 0-6")
        if not (hour.isdigit() and 0 <= int(hour) < 24):
            raise StaffingError(f"{where}: hour {hour!r} is not a whole hour 0-23")
        try:
            count = int(n)
        except ValueError:
            raise StaffingError(f"{where}: responders {n!r} is not a whole number") from None
        if count < 0:
            raise StaffingError(f"{where}: responders {count} is negative")
        how = d * 24 + int(hour)
        if how in plan:
            raise StaffingError(f"{where}: {WEEKDAYS[d]} {hour}:00 is given twice")
        plan[how] = count
    absent = [h for h in range(WEEK_HOURS) if h not in plan]
    if absent:
        shown = ", ".join(f"{WEEKDAYS[h // 24]} {h % 24}:00" for h in absent[:6])
        more = f" and {len(absent) - 6} more" if len(absent) > 6 else ""
        raise StaffingError(f"{path.name}: {len(absent)} of the 168 hours of the week are "
                            f"missing ({shown}{more}); give every hour, 0 where nobody "
                            "is on shift")
    if not any(plan.values()):
        raise StaffingError(f"{path.name}: nobody is on shift in any hour")
    return tuple(plan[h] for h in range(WEEK_HOURS))


def parse_modes(text: str) -> tuple[tuple[Mode, float], ...]:
    """``car=0.5,bike=0.3,walk=0.2`` (or one mode, ``car``) as shares summing to 1."""
    shares: dict[Mode, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, value = part.partition("=")
        try:
            mode = Mode(name.strip().lower())
        except ValueError:
            raise StaffingError(f"--modes: {name.strip()!r} is not a mode (car, bike, "
                                "walk)") from None
        try:
            share = float(value) if value.strip() else 1.0
        except ValueError:
            raise StaffingError(f"--modes: {value.strip()!r} is not a number") from None
        if not (math.isfinite(share) and share >= 0):
            raise StaffingError(f"--modes: the share of {mode.value} must be 0 or more")
        shares[mode] = shares.get(mode, 0.0) + share
    total = sum(shares.values())
    if total <= 0:
        raise StaffingError("--modes: give at least one mode with a share above 0, "
                            "as in car=0.5,bike=0.5")
    return tuple((m, s / total) for m, s in shares.items() if s > 0)


def deal_modes(modes: Sequence[tuple[Mode, float]], n: int) -> list[Mode]:
    """``n`` modes in order such that every prefix keeps the shares as well as whole
    people can: each next responder takes the mode furthest behind its share."""
    given: Counter[Mode] = Counter()
    out: list[Mode] = []
    for i in range(n):
        mode = max(modes, key=lambda ms: ms[1] * (i + 1) - given[ms[0]])[0]
        given[mode] += 1
        out.append(mode)
    return out


def busiest_cells(calls: Sequence[SimCall]) -> list[str]:
    """The areas of the calls, most calls first (ties by cell, so the order is fixed)."""
    counted = Counter(c.area for c in calls if c.area)
    return [cell for cell, _ in sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))]


def build(per_hour: Sequence[int], *, calls: Sequence[SimCall],
          modes: Sequence[tuple[Mode, float]] = ((Mode.CAR, 1.0),),
          skills: frozenset[Skill] = DEFAULT_SKILLS, start_how: int = 0,
          responders: int | None = None) -> Staffing:
    """The plan with ``max(per_hour)`` responders (or ``responders``, when more are
    wanted so that many plans share the same first people)."""
    cells = busiest_cells(calls)
    if not cells:
        raise StaffingError("none of the simulated calls has coordinates: the simulation "
                            "needs them to send responders (pass --lat and --lon, or --address)")
    n = max(max(per_hour, default=0), responders or 0)
    homes = [area_centre(cells[i % len(cells)]) for i in range(n)]
    people = tuple(SimResponder(responder_id=i, home=homes[i], mode=mode, skills=skills)
                   for i, mode in enumerate(deal_modes(modes, n)))
    try:
        return Staffing(per_hour=tuple(per_hour), responders=people, start_how=start_how)
    except ValueError as exc:
        raise StaffingError(str(exc)) from None
