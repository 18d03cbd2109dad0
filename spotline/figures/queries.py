"""A program report's figures: the reporting store (``spotline.tally``) counted for a
period and a set of areas, with every small number already hidden.

``report()`` is the only way to a ``Report``, and it suppresses (``core.figures``,
and across tables ``report_suppress``) before it returns, so no page, print-out or
export can show a raw count by forgetting to. A hidden figure is ``None``; a true zero
stays 0.

How it stays fast on a busy year (200,000 incidents): counts are SQL ``GROUP BY``s
(kind, source, priority and hour of the week; who served, EMS and why not; referral
lists; coverage by hour), each returning at most a few thousand rows; durations fetch
four integer columns and leave the percentiles to numpy; SQLite reads the table
through rather than by the day index when the period holds most of it
(``_read_through``).

Check-ins have no area (where they are is never kept): they are counted everywhere,
whatever areas are chosen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import numpy as np
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, Count, DateField, F, Func, Model, Q, QuerySet, Sum, When

from spotline.alerts.models import Area
from spotline.core.figures import HOURS_IN_WEEK, Table, WeekGrid, summarize, week_grid
from spotline.core.outcome import Referral
from spotline.core.triage import Kind, Priority
from spotline.dispatch.models import EmsOutcome, Source
from spotline.figures.releases import NOT_RECORDED, REASONS, UNREACHED
from spotline.figures.report_suppress import (
    MERGED_KINDS,
    NOBODY,
    Counts,
    counts,
    kind_tables,
    order,
    part,
    unserved,
    withheld,
)
from spotline.figures.report_suppress import served_by as suppressed_served_by
from spotline.tally.models import CheckinFact, Coverage, IncidentFact

# Opened → first offer, → accepted, → first responder on scene, → closed.
MEASURES = ("to_first_offer", "to_accepted", "to_on_scene", "to_closed")
KINDS = tuple(k.value for k in Kind)
SOURCES = tuple(s.value for s in Source)
PRIORITIES = tuple(p.value for p in Priority)
SERVED = ("community", "crisis_team", NOBODY)  # NOBODY: served_by == ""
EMS = (*(e.value for e in EmsOutcome), NOT_RECORDED)  # NOT_RECORDED: ems == ""
# REASONS (the dashboard's) ends with NOT_RECORDED: nobody reached the scene and no
# reason was given, so that the reasons add up to "served by: nobody".
REFERRALS = tuple(r.value for r in Referral)
OUTCOMES = ("overdoses_reversed", "naloxone_given", "ambulance_requested")
CHECKINS = ("started", "asked", "escalated", "ended")

Value = int | float | None
# Read the table through (SQLite) when the period holds more than 1/SCAN_SHARE of it.
SCAN_SHARE = 8


@dataclass(frozen=True)
class Duration:
    """One response time over the incidents that reached it, in minutes."""

    measure: str  # one of MEASURES
    n: int | None  # incidents behind it; None when fewer than min_cell
    median: float | None  # minutes, one decimal; None when fewer than min_cell
    p90: float | None


@dataclass(frozen=True)
class CoverageGrid:
    """Responder-hours on shift against incidents, per block of the week. The blocks
    are the demand's (``week_grid``): merged to 3, 6 or 24 hours when hourly counts
    would be mostly small. Responder-hours are time, not people: never suppressed."""

    hours_per_block: int
    blocks: tuple[int, ...]  # block start, hour of the week (0 = Monday 00 local)
    demand: dict[int, int | None]  # incidents opened in the block
    responder_hours: dict[int, float]  # rounded to 0.1 h


@dataclass(frozen=True)
class Report:
    """Every figure of one report, suppressed. ``rows()`` flattens it for the CSV."""

    start: date
    end: date  # inclusive
    area_names: tuple[str, ...]  # empty: everywhere
    min_cell: int

    by_kind_source: Table  # rows KINDS (+ codes found beyond them), cols SOURCES
    by_kind_priority: Table  # rows as by_kind_source (or MERGED_KINDS alone), cols PRIORITIES
    durations: tuple[Duration, ...]  # in MEASURES order
    outcomes: dict[str, int | None]  # OUTCOMES: each a part of its whole, suppressed
    ems: Counts  # EMS, of all incidents
    referrals: Counts  # REFERRALS; the total counts referrals, not incidents
    served_by: Counts  # SERVED, of all incidents; split by who only if "reached" is shown
    unserved: Counts  # REASONS; the total is the incidents nobody reached
    unserved_by_hour: WeekGrid  # series ("unserved",)
    coverage: CoverageGrid
    checkins: dict[str, int | None]  # CHECKINS (everywhere: check-ins have no area)

    @property
    def incidents(self) -> int | None:
        return self.by_kind_source.total

    @property
    def priority_alone(self) -> bool:
        """Kind x priority fell back to priority alone (``report_suppress``)."""
        return self.by_kind_priority.rows == (MERGED_KINDS,)

    def rows(self) -> Iterator[tuple[str, str, str, Value]]:
        """Every figure as (section, row, column, value): the CSV export, and the keys
        the page marks its table cells with (``data-cell``)."""
        yield from _table_rows("kind_by_source", self.by_kind_source)
        yield from _table_rows("kind_by_priority", self.by_kind_priority)
        for d in self.durations:
            yield ("response_minutes", d.measure, "incidents", d.n)
            yield ("response_minutes", d.measure, "median", d.median)
            yield ("response_minutes", d.measure, "p90", d.p90)
        for code, value in self.outcomes.items():
            yield ("outcomes", code, "incidents", value)
        for key, table in (("ems", self.ems), ("referrals", self.referrals),
                           ("served_by", self.served_by),
                           ("unserved_by_reason", self.unserved)):
            for code in table.order:
                yield (key, code, "count", table.cells[code])
            yield (key, "total", "count", table.total)
        for start in self.unserved_by_hour.blocks:
            day, hours = block_key(start, self.unserved_by_hour.hours_per_block)
            yield ("unserved_by_hour", day, hours,
                   self.unserved_by_hour.cells[("unserved", start)])
        for start in self.coverage.blocks:
            day, hours = block_key(start, self.coverage.hours_per_block)
            yield ("demand_by_hour", day, hours, self.coverage.demand[start])
            yield ("responder_hours_by_hour", day, hours, self.coverage.responder_hours[start])
        for code, value in self.checkins.items():
            yield ("checkins", code, "count", value)


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def block_key(start: int, hours: int) -> tuple[str, str]:
    """A block of the week as (day code, hours): (``"tue"``, ``"06-09"``). Never a
    clock time ("06:00"): the store keeps hours, and HH:MM reads like an exact time."""
    hour = start % 24
    return DAYS[start // 24], f"{hour:02d}-{hour + hours:02d}"


def report(*, start: date, end: date, areas: Sequence[Area] = (),
           min_cell: int | None = None) -> Report:
    """The figures for the local days ``start`` to ``end`` (inclusive) in ``areas``
    (none: everywhere), suppressed at ``min_cell`` (default SPOTLINE_REPORT_MIN_CELL)."""
    if end < start:
        raise ValueError("the period ends before it starts")
    k = settings.SPOTLINE_REPORT_MIN_CELL if min_cell is None else min_cell
    cells = sorted({cell for area in areas for cell in area.cells}) if areas else None
    scan = _read_through(start, end)
    incidents = _scoped(IncidentFact, start, end, cells, scan=scan)

    groups = _by_kind_and_hour(incidents)
    checkins = _checkins(_scoped(CheckinFact, start, end, None, scan=scan), k)
    # Escalated check-ins are the "checkin" source: hidden together (report_suppress, 4).
    by_kind_source, by_kind_priority = _kind_tables(
        groups, k, hidden_sources=(Source.CHECKIN.value,) if checkins["escalated"] is None
        else ())
    if by_kind_source.col_totals.get(Source.CHECKIN.value) is None:
        checkins["escalated"] = None
    demand: Counter[int] = Counter()
    unserved_hours: Counter[int] = Counter()
    for g in groups:
        demand[g.week_hour] += g.n
        unserved_hours[g.week_hour] += g.unserved
    served, ems, reasons, ambulances = _status(incidents)
    served_by, reached_shown = suppressed_served_by(served, SERVED, k)
    reached = sum(n for code, n in served.items() if code != NOBODY)
    # "Nobody" is the reasons' total and the grid's: hidden together (report_suppress, 3).
    nobody = served_by.cells[NOBODY]
    by_hour = week_grid({("unserved", h): n for h, n in unserved_hours.items()},
                        series=("unserved",), min_cell=k)
    return Report(
        start=start, end=end, area_names=tuple(a.name for a in areas), min_cell=k,
        by_kind_source=by_kind_source, by_kind_priority=by_kind_priority,
        durations=_durations(incidents, k, reached=(reached, reached_shown)),
        outcomes=_outcomes(groups, ambulances, k), ems=counts(ems, EMS, k),
        referrals=_referrals(incidents, k), served_by=served_by,
        unserved=unserved(reasons, REASONS, k, nobody=nobody),
        unserved_by_hour=by_hour if nobody is not None else withheld(by_hour),
        coverage=_coverage(_scoped(Coverage, start, end, cells, scan=scan),
                           week_grid({("incidents", h): n for h, n in demand.items()},
                                     series=("incidents",), min_cell=k)),
        checkins=checkins,
    )


def _read_through(start: date, end: date) -> bool:
    """Whether to read the tables through rather than by the day index (SQLite only).

    SQLite takes the day index for any range of days and then fetches each row by its
    id: for a period that holds most of a table, several times slower than reading the
    table through (a year of 200,000 incidents: 240 ms against 40 ms for one column).
    So the tables are read through when the period holds more than 1/SCAN_SHARE of the
    incidents, which two counts from the index alone tell (a few ms). PostgreSQL's
    planner weighs this itself from its statistics.
    """
    if connection.vendor != "sqlite":
        return False
    facts = IncidentFact.objects.all()
    return facts.filter(day__range=(start, end)).count() * SCAN_SHARE > facts.count()


def _scoped(model: type[Model], start: date, end: date, cells: list[str] | None, *,
            scan: bool) -> QuerySet[Any]:
    """``model``'s rows of the period (and in the cells, if any)."""
    qs = model._default_manager.all()
    if scan:
        # Unary + is SQLite's documented way to keep an index out of a query.
        qs = (qs.alias(day_unindexed=Func(F("day"), template="+%(expressions)s",
                                          output_field=DateField()))
              .filter(day_unindexed__range=(start, end)))
    else:
        qs = qs.filter(day__range=(start, end))
    return qs if cells is None else qs.filter(area__in=cells)


class Group(NamedTuple):
    """Incidents of one hour of the week, kind, source and priority."""

    week_hour: int
    kind: str
    source: str
    priority: str
    n: int
    unserved: int  # nobody reached the scene (UNREACHED)
    naloxone: int  # naloxone given
    reversed: int  # overdoses reversed: naloxone given, responsive after


def _by_kind_and_hour(incidents: QuerySet[IncidentFact]) -> list[Group]:
    """One GROUP BY (a few thousand rows) for the kind tables, both week grids and the
    outcomes that depend on the kind."""
    naloxone = Q(naloxone_doses__gt=0)
    grouped = (incidents.values_list("week_hour", "kind", "source", "priority")
               .annotate(n=Count("pk"), unserved=Count("pk", filter=UNREACHED),
                         naloxone=Count("pk", filter=naloxone),
                         reversed=Count("pk", filter=naloxone & Q(
                             kind=Kind.OVERDOSE.value, responsive_after="yes")))
               .order_by())
    return [Group(*row) for row in grouped if 0 <= row[0] < HOURS_IN_WEEK]


def _kind_tables(groups: list[Group], k: int, *,
                 hidden_sources: Sequence[str]) -> tuple[Table, Table]:
    by_source: Counter[tuple[str, str]] = Counter()
    by_priority: Counter[tuple[str, str]] = Counter()
    for g in groups:
        by_source[(g.kind, g.source)] += g.n
        by_priority[(g.kind, g.priority)] += g.n
    return kind_tables(by_source, by_priority,
                       kinds=order(KINDS, (kind for kind, _ in by_source)),
                       sources=order(SOURCES, (source for _, source in by_source)),
                       priorities=order(PRIORITIES, (p for _, p in by_priority)), k=k,
                       hidden_sources=hidden_sources)


def _status(incidents: QuerySet[IncidentFact]
            ) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """Who served, EMS and why not (and the ambulances requested), from one GROUP BY
    of a few dozen rows."""
    served: Counter[str] = Counter()
    ems: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    ambulances = 0
    for served_by_code, ems_code, reason, n, ambulance in (
            incidents.values_list("served_by", "ems", "unserved_reason")
            .annotate(n=Count("pk"), ambulance=Count("pk", filter=Q(ambulance_requested=True)))
            .order_by()):
        reached = bool(served_by_code) and not reason  # UNREACHED, in Python
        served[served_by_code if reached else NOBODY] += n
        ems[ems_code or NOT_RECORDED] += n
        if not reached:
            reasons[reason or NOT_RECORDED] += n
        ambulances += ambulance
    return served, ems, reasons, ambulances


def _outcomes(groups: list[Group], ambulances: int, k: int) -> dict[str, int | None]:
    """Each outcome is a part of a whole shown elsewhere (the overdoses in the kind
    table, all incidents): the part is hidden also when the rest is small."""
    overdoses = sum(g.n for g in groups if g.kind == Kind.OVERDOSE.value)
    everyone = sum(g.n for g in groups)
    return {
        "overdoses_reversed": part(sum(g.reversed for g in groups), of=overdoses, k=k),
        "naloxone_given": part(sum(g.naloxone for g in groups), of=everyone, k=k),
        "ambulance_requested": part(ambulances, of=everyone, k=k),
    }


def _durations(incidents: QuerySet[IncidentFact], k: int, *,
               reached: tuple[int, int | None]) -> tuple[Duration, ...]:
    # A raw cursor on the ORM's own SQL: 200,000 rows of four integers, without a
    # model or a converter per value. The time to the scene only of the incidents
    # reached (as "served by" counts them): an incident that ends unserved may keep
    # one, and its n less "reached" would be a hidden reason.
    columns = incidents.annotate(reached_scene=Case(When(~UNREACHED, then=F("to_on_scene"))))
    try:
        sql, params = (columns.values_list("to_first_offer", "to_accepted", "reached_scene",
                                           "to_closed")
                       .order_by().query.sql_with_params())
    except EmptyResultSet:  # areas chosen that hold no cell
        rows: list[tuple[Any, ...]] = []
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    seconds = np.array(rows, dtype=float).reshape(-1, len(MEASURES))  # None -> nan
    out = []
    for i, measure in enumerate(MEASURES):
        column = seconds[:, i]
        s = summarize((column[~np.isnan(column)] / 60.0).tolist(), min_n=k)
        n = s.n if s.n >= k or s.n == 0 else None
        if measure == "to_on_scene":
            # The incidents "served by" counts as reached: one figure, hidden alike;
            # if some reached have no time, its n is a part of "reached".
            total, shown = reached
            n = shown if s.n == total or shown is None else part(s.n, of=total, k=k)
        out.append(Duration(
            measure=measure, n=n,
            median=None if s.median is None else round(s.median, 1),
            p90=None if s.p90 is None else round(s.p90, 1)))
    return tuple(out)


def _referrals(incidents: QuerySet[IncidentFact], k: int) -> Counts:
    """Referrals by type. A list cannot be unnested portably (SQLite's json_each,
    PostgreSQL's jsonb_array_elements), but whole lists can be grouped: the store keeps
    them sorted, so there are a few dozen, each counted once per type in Python."""
    found: Counter[str] = Counter()
    for listed, n in (incidents.exclude(referrals=[]).values_list("referrals")
                      .annotate(n=Count("pk")).order_by()):
        if isinstance(listed, list):
            # One incident counts once per type, whatever its list repeats.
            for code in {str(code) for code in listed}:
                found[code] += n
    return counts(found, REFERRALS, k)


def _coverage(coverage: QuerySet[Coverage], demand: WeekGrid) -> CoverageGrid:
    size = demand.hours_per_block
    seconds: Counter[int] = Counter()
    for hour, total in (coverage.values_list("week_hour").annotate(s=Sum("seconds"))
                        .order_by()):
        if 0 <= hour < HOURS_IN_WEEK:
            seconds[hour - hour % size] += int(total or 0)
    return CoverageGrid(
        hours_per_block=size, blocks=demand.blocks,
        demand={b: demand.cells[("incidents", b)] for b in demand.blocks},
        responder_hours={b: round(seconds[b] / 3600, 1) for b in demand.blocks},
    )


def _checkins(checkins: QuerySet[CheckinFact], k: int) -> dict[str, int | None]:
    n = checkins.aggregate(started=Count("pk"), asked=Count("pk", filter=Q(asked=True)),
                           escalated=Count("pk", filter=Q(escalated=True)),
                           ended=Count("pk", filter=Q(ended=True)))
    started = int(n["started"])
    return {"started": counts({"started": started}, ("started",), k).total,
            **{flag: part(int(n[flag]), of=started, k=k) for flag in CHECKINS[1:]}}


def _table_rows(section: str, table: Table) -> Iterator[tuple[str, str, str, Value]]:
    for row in table.rows:
        for col in table.cols:
            yield (section, row, col, table.cells[(row, col)])
        yield (section, row, "total", table.row_totals[row])
    for col in table.cols:
        yield (section, "total", col, table.col_totals[col])
    yield (section, "total", "total", table.total)
