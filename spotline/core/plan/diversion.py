"""The diversion estimate: the share of calls a community team could take, overall and
for each of the 168 hours of the week. Plain counts in, plain rows out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from spotline.core.plan.classify import TEAM_CLASSES, CallClass

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def share(part: int, whole: int) -> float:
    """``part / whole`` to four places; 0.0 when there is nothing to share."""
    return round(part / whole, 4) if whole else 0.0


def by_class(counts: Mapping[CallClass, int]) -> dict[str, int]:
    """Every class, in the fixed order, with its count (0 when absent)."""
    return {c.value: int(counts.get(c, 0)) for c in CallClass}


def team_calls(counts: Mapping[CallClass, int]) -> int:
    """Calls a community team could take, alone or with a safety protocol."""
    return sum(int(counts.get(c, 0)) for c in TEAM_CLASSES)


@dataclass(frozen=True)
class HourCell:
    weekday: int  # 0 = Monday
    hour: int
    calls: int
    community: int
    community_with_backup: int

    @property
    def share(self) -> float:
        return share(self.community + self.community_with_backup, self.calls)


def week_grid(counts: Iterable[tuple[int, int, CallClass, int]]) -> list[HourCell]:
    """All 168 hours from ``(weekday, hour, class, calls)`` counts, empty hours too."""
    total: dict[tuple[int, int], int] = {}
    alone: dict[tuple[int, int], int] = {}
    backed: dict[tuple[int, int], int] = {}
    for weekday, hour, klass, n in counts:
        if not (0 <= weekday < 7 and 0 <= hour < 24):
            raise ValueError(f"no hour of the week {weekday}, {hour}")
        key = (weekday, hour)
        total[key] = total.get(key, 0) + n
        if klass is CallClass.COMMUNITY:
            alone[key] = alone.get(key, 0) + n
        elif klass is CallClass.COMMUNITY_WITH_BACKUP:
            backed[key] = backed.get(key, 0) + n
    return [HourCell(d, h, total.get((d, h), 0), alone.get((d, h), 0),
                     backed.get((d, h), 0))
            for d in range(7) for h in range(24)]
