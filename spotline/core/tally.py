"""The coarse figures the reporting store keeps: pure arithmetic on times.

What reports count must outlive the purge yet point at nobody: the hour an incident
opened (never the minute), the local day and hour of the week it fell in (the program's
own clock: "Friday nights" are local), and whole-second durations from opening. The
store (``spotline.tally``) calls these; nothing here reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

HOUR = timedelta(hours=1)
WEEK_HOURS = 168


@dataclass(frozen=True)
class Hour:
    """An hour as the store keeps it."""

    start: datetime  # aware UTC, minute and below zero
    day: date  # the local date the hour falls in
    week_hour: int  # 0 = Monday 00:00-01:00 local ... 167 = Sunday 23:00-24:00


def hour_of(at: datetime, *, tz: tzinfo) -> Hour:
    """The UTC hour ``at`` falls in, and the local day and hour of the week of ``at``
    itself. (In a zone a half hour off UTC, one stored hour spans two local hours:
    taking the bucket from the hour's start would put half of them an hour early.)"""
    if at.tzinfo is None:
        raise ValueError("an aware datetime is needed")
    start = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    local = at.astimezone(tz)
    return Hour(start=start, day=local.date(), week_hour=local.weekday() * 24 + local.hour)


def seconds_since(start: datetime, at: datetime | None) -> int | None:
    """Whole seconds from ``start`` to ``at`` (None when it did not happen). Never
    negative: a clock step backwards must not make a negative wait."""
    if at is None:
        return None
    return max(0, int((at - start).total_seconds()))


def split_hours(start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The span [start, end) cut at the hours: (hour start, seconds in it) for each
    hour it touches, in order. Responder coverage is counted per hour."""
    if end <= start:
        return []
    out: list[tuple[datetime, int]] = []
    hour = start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        nxt = hour + HOUR
        seconds = int((min(end, nxt) - max(start, hour)).total_seconds())
        if seconds > 0:
            out.append((hour, seconds))
        hour = nxt
    return out


def served_kind(skills: list[str] | tuple[str, ...]) -> str:
    """Who reached the scene, in kind: a member of the mobile crisis team, or a
    community responder (a peer, an outreach worker)."""
    return "crisis_team" if "crisis_team" in skills else "community"
