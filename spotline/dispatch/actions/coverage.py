"""Responder coverage for the reports: who is on shift, counted every few minutes.

Counted from the roster rather than at each shift's end, so that a shift still running
counts (today's report, a month's release at midnight), a shift that crosses areas is
credited where the time was spent, and no row is written at the moment one responder
leaves, where they leave. Each count adds, per hour and area cell, the seconds since the
last count of everyone on shift; a cell with fewer than ``COVERAGE_MIN_RESPONDERS`` on
shift is counted under no area (``tally.actions``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.db import transaction

from spotline.core.geo import Point, area_cell
from spotline.core.tally import split_hours
from spotline.responders.models import Responder
from spotline.tally.actions import COVERAGE_MIN_RESPONDERS, coverage_add, coverage_claim

COUNT_EVERY = timedelta(minutes=5)
# After a stop of the worker, at most this much is counted (with the roster of now).
GAP_MAX = timedelta(minutes=15)


def coverage_count(*, now: datetime) -> int:
    """The worker's step. Returns 0: counting is never work that makes more work due."""
    with transaction.atomic():
        since = coverage_claim(now=now, every=COUNT_EVERY, gap_max=GAP_MAX)
        if since is None:
            return 0
        roster = [(on_since, area_cell(Point(lat, lon)) if lat is not None and lon is not None
                   else "")
                  for on_since, lat, lon in Responder.objects.filter(
                      on_shift_since__isnull=False).values_list("on_shift_since", "lat", "lon")]
        crowd = Counter(cell for _, cell in roster)
        seconds: dict[tuple[datetime, str], int] = defaultdict(int)
        for on_since, cell in roster:
            if on_since is None:  # filtered out above; for the type checker
                continue
            area = cell if crowd[cell] >= COVERAGE_MIN_RESPONDERS else ""
            for hour, part in split_hours(max(since, on_since), now):
                seconds[(hour, area)] += part
        coverage_add(seconds)
    return 0
