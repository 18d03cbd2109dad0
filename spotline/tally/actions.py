"""Writing the reporting store: called by the actions that change incidents, check-ins
and shifts, inside their transactions, so a figure exists exactly when its change does.

The callers (dispatch, checkins) pass plain values: this room sits below them and knows
none of their models.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce

from spotline.core.tally import hour_of, seconds_since
from spotline.tally.models import CheckinFact, Coverage, CoverageMark, IncidentFact

# Durations kept from the first time they happen: a second acceptance (after a release)
# or a second arrival does not move the program's response time.
FIRST_ONLY = ("to_first_offer", "to_accepted", "to_on_scene", "served_by")


def local_tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def incident_fact_new(*, opened_at: datetime, fields: Mapping[str, Any]) -> IncidentFact:
    """The fact of a new incident, not yet saved (the opening inserts it in bulk, before
    the incident that points at it)."""
    hour = hour_of(opened_at, tz=local_tz())
    return IncidentFact(opened_hour=hour.start, day=hour.day, week_hour=hour.week_hour,
                        **fields)


def incident_fact_update(fact_id: int, *, fields: Mapping[str, Any]) -> None:
    """Update an incident's fact in one statement. Fields in ``FIRST_ONLY`` keep the
    value they already have."""
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if name in FIRST_ONLY:
            if value is None or value == "":
                continue
            if name == "served_by":
                # Coalesce keeps NULL apart from "": a CharField is "" when unset.
                changes[name] = _first_text(name, value)
            else:
                changes[name] = Coalesce(F(name), Value(value))
        else:
            changes[name] = value
    if fields.get("unserved_reason"):
        # Unserved, even if someone reached the scene (and could not find the person):
        # served and unserved are one partition, so shares add up to 100 %.
        changes["served_by"] = ""
    if changes:
        IncidentFact.objects.filter(pk=fact_id).update(**changes)


def _first_text(name: str, value: str) -> Any:
    return Case(When(**{name: ""}, then=Value(value)), default=F(name))


def durations(*, opened_at: datetime, assigned_at: datetime | None,
              on_scene_at: datetime | None, closed_at: datetime | None) -> dict[str, int | None]:
    return {
        "to_accepted": seconds_since(opened_at, assigned_at),
        "to_on_scene": seconds_since(opened_at, on_scene_at),
        "to_closed": seconds_since(opened_at, closed_at),
    }


def checkin_fact_new(*, started_at: datetime, minutes: int) -> CheckinFact:
    hour = hour_of(started_at, tz=local_tz())
    return CheckinFact.objects.create(started_hour=hour.start, day=hour.day,
                                      week_hour=hour.week_hour, minutes=minutes)


def checkin_fact_update(fact_id: int, *, asked: bool = False, escalated: bool = False,
                        ended: bool = False) -> None:
    """Flags only ever turn on: a check-in that was asked stays asked."""
    changes = {name: True for name, on in
               (("asked", asked), ("escalated", escalated), ("ended", ended)) if on}
    if changes:
        CheckinFact.objects.filter(pk=fact_id).update(**changes)


# Fewer than this many responders in an area cell at one count: their time is counted
# under no area, so that no row of the store is one responder's whereabouts.
COVERAGE_MIN_RESPONDERS = 3


def coverage_claim(*, now: datetime, every: timedelta, gap_max: timedelta) -> datetime | None:
    """Claim the span to count, [returned, now), under the mark's row lock: None when
    it is not yet time (less than ``every`` since the last count) or on the first call.
    After a long stop only the last ``gap_max`` is counted: who was on shift while no
    worker ran is not known, and today's roster is no answer for yesterday's hours."""
    mark = CoverageMark.objects.select_for_update().filter(pk=1).first()
    if mark is None:
        CoverageMark.objects.get_or_create(pk=1, defaults={"until": now})
        return None
    if now - mark.until < every:
        return None
    since = max(mark.until, now - gap_max)
    CoverageMark.objects.filter(pk=1).update(until=now)
    return since


def coverage_add(seconds: Mapping[tuple[datetime, str], int]) -> None:
    """Add responder-seconds per (UTC hour, area), each row an insert-or-add (SQLite and
    PostgreSQL share the syntax)."""
    tz = local_tz()
    table = Coverage._meta.db_table
    sql = (f"INSERT INTO {table} (hour, day, week_hour, area, seconds) "  # noqa: S608
           "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (hour, area) "
           "DO UPDATE SET seconds = " + table + ".seconds + excluded.seconds")
    rows = []
    for (start_of_hour, area), value in sorted(seconds.items()):
        if value <= 0:
            continue
        hour = hour_of(start_of_hour, tz=tz)
        rows.append((connection.ops.adapt_datetimefield_value(hour.start),
                     connection.ops.adapt_datefield_value(hour.day), hour.week_hour, area,
                     value))
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
