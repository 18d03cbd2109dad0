"""A program report laid out for people: the tables the page and the print-out show,
and the charts' numbers, in the reader's language.

Every table cell carries the key of its CSV row (``section/row/column``, from
``Report.rows``), so the page and the export say the same thing and a test can check
it cell by cell. A hidden count reads "<11" (the configured minimum), a response time
over too few incidents "fewer than 11 incidents".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from spotline.core.figures import Table, WeekGrid
from spotline.dispatch.words import word
from spotline.figures.queries import Report, block_key
from spotline.figures.releases import NOT_RECORDED
from spotline.figures.report_suppress import MERGED_KINDS, NOBODY, Counts


@dataclass(frozen=True)
class Cell:
    key: str  # "section/row/column", as in the CSV
    text: str
    css: str = ""  # "hidden-figure", or "heat-0" .. "heat-4" in the week grids


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Cell, ...]
    total: bool = False


@dataclass(frozen=True)
class Grid:
    caption: str
    head: tuple[str, ...]  # the row labels' column first
    rows: tuple[Row, ...]


def count_text(value: int | None, min_cell: int) -> str:
    """A count as the reader's language groups it ("12,480"), or "<11" when hidden."""
    return f"<{min_cell}" if value is None else number_format(value, force_grouping=True)


def _count(key: str, value: int | None, min_cell: int) -> Cell:
    return Cell(key, count_text(value, min_cell), "hidden-figure" if value is None else "")


def _measure_words() -> dict[str, str]:
    return {"to_first_offer": _("the first offer to a responder"),
            "to_accepted": _("a responder accepting"),
            "to_on_scene": _("a responder on scene"),
            "to_closed": _("closing")}


def _outcome_words() -> dict[str, str]:
    return {"overdoses_reversed": _("Overdoses reversed (naloxone given, responsive after)"),
            "naloxone_given": _("Naloxone given"),
            "ambulance_requested": _("Ambulance requested")}


def _checkin_words() -> dict[str, str]:
    return {"started": _("Started"), "asked": _("An “are you OK?” went out"),
            "escalated": _("Help was sent"), "ended": _("Ended by the person")}


def _code_words(group: str, code: str) -> str:
    if group == "served_by":
        return {"community": _("a community responder"), "crisis_team": _("the crisis team"),
                NOBODY: _("nobody reached the scene")}.get(code, code)
    if group == "kind" and code == MERGED_KINDS:
        return _("other kinds together (too few to show apart)")
    if group == "ems" and code == NOT_RECORDED:
        return _("no outcome recorded")
    if group == "reason" and code == NOT_RECORDED:
        return _("no reason recorded")
    if group == "priority":
        return f"{code} · {word('priority', code)}"
    return word(group, code)


def _table(section: str, caption: str, first: str, table: Table, rows: str, cols: str,
           k: int) -> Grid:
    total = pgettext("table", "Total")
    alone = table.rows == (MERGED_KINDS,)
    body = [Row(_("all kinds together") if alone else _code_words(rows, r),
                (*(_count(f"{section}/{r}/{c}", table.cells[(r, c)], k) for c in table.cols),
                 _count(f"{section}/{r}/total", table.row_totals[r], k)))
            for r in table.rows]
    body.append(Row(total, (*(_count(f"{section}/total/{c}", table.col_totals[c], k)
                              for c in table.cols),
                            _count(f"{section}/total/total", table.total, k)), total=True))
    return Grid(caption, (first, *(_code_words(cols, c) for c in table.cols), total),
                tuple(body))


def _list(section: str, caption: str, first: str, column: str, counts: Counts, group: str,
          k: int) -> Grid:
    body = [Row(_code_words(group, code), (_count(f"{section}/{code}/count",
                                                  counts.cells[code], k),))
            for code in counts.order]
    body.append(Row(pgettext("table", "Total"),
                    (_count(f"{section}/total/count", counts.total, k),), total=True))
    return Grid(caption, (first, column), tuple(body))


def _flags(section: str, caption: str, first: str, values: Mapping[str, int | None],
           words: Mapping[str, str], column: tuple[str, str], k: int) -> Grid:
    """Counts that are each a part of a whole (one column, no total)."""
    key, head = column
    return Grid(caption, (first, head),
                tuple(Row(words[code], (_count(f"{section}/{code}/{key}", value, k),))
                      for code, value in values.items()))


def _durations(report: Report) -> Grid:
    k = report.min_cell
    few = _("fewer than %(n)s incidents") % {"n": k}
    words = _measure_words()
    rows = []
    for d in report.durations:
        key = f"response_minutes/{d.measure}"

        def minutes(value: float | None, column: str, *, key: str = key) -> Cell:
            if value is None:
                return Cell(f"{key}/{column}", few, "hidden-figure")
            return Cell(f"{key}/{column}", number_format(value, 1))

        rows.append(Row(words[d.measure], (_count(f"{key}/incidents", d.n, k),
                                           minutes(d.median, "median"),
                                           minutes(d.p90, "p90"))))
    return Grid(_("Response times in minutes, from opening to …"),
                (_("From opening to"), _("Incidents"), _("Median"), _("90th percentile")),
                tuple(rows))


def day_words() -> list[str]:
    return [str(WEEKDAYS_ABBR[i]) for i in range(7)]


def hours_words(start: int, size: int) -> str:
    hour = start % 24
    return f"{hour:02d}\u2013{hour + size:02d}"  # an en dash


def _week(section: str, caption: str, size: int, values: Mapping[int, Any],
          text: Any) -> Grid:
    """A week as 7 rows (days) of blocks, each cell shaded by its share of the most."""
    shown = [v for v in values.values() if v is not None]
    most = max(shown, default=0)
    rows = []
    for day, label in enumerate(day_words()):
        cells = []
        for start in range(day * 24, day * 24 + 24, size):
            value = values[start]
            day_code, hours = block_key(start, size)
            if value is None:
                css = "hidden-figure"
            else:
                css = f"heat-{math.ceil(4 * value / most) if most else 0}"
            cells.append(Cell(f"{section}/{day_code}/{hours}", text(value), css))
        rows.append(Row(label, tuple(cells)))
    head = (_("Day"), *(hours_words(s, size) for s in range(0, 24, size)))
    return Grid(caption, head, tuple(rows))


def grids(report: Report) -> dict[str, Grid]:
    k = report.min_cell

    def counted(v: int | None) -> str:
        return count_text(v, k)

    hourly = report.unserved_by_hour
    cover = report.coverage
    return {
        "kind_by_source": _table("kind_by_source", _("Incidents by kind and how they came in"),
                                 _("Kind"), report.by_kind_source, "kind", "source", k),
        "kind_by_priority": _table("kind_by_priority", _("Incidents by kind and priority"),
                                   _("Kind"), report.by_kind_priority, "kind", "priority", k),
        "response_minutes": _durations(report),
        "outcomes": _flags("outcomes", _("Outcomes"), _("Outcome"), report.outcomes,
                           _outcome_words(), ("incidents", _("Incidents")), k),
        "ems": _list("ems", _("Ambulance (EMS), as the outcome records it"), _("EMS"),
                     _("Incidents"), report.ems, "ems", k),
        "referrals": _list("referrals", _("Referrals by type"), _("Referral"),
                           _("Referrals"), report.referrals, "referral", k),
        "served_by": _list("served_by", _("Who reached the scene first"), _("Served by"),
                           _("Incidents"), report.served_by, "served_by", k),
        "unserved_by_reason": _list("unserved_by_reason", _("Incidents nobody reached, by "
                                    "reason"), _("Reason"), _("Incidents"), report.unserved,
                                    "reason", k),
        "unserved_by_hour": _week(
            "unserved_by_hour", _("Incidents nobody reached, by hour of the week (local "
                                  "time)"), hourly.hours_per_block,
            {b: hourly.cells[("unserved", b)] for b in hourly.blocks}, counted),
        "demand_by_hour": _week("demand_by_hour", _("Incidents by hour of the week (local "
                                                    "time)"), cover.hours_per_block,
                                cover.demand, counted),
        "responder_hours_by_hour": _week(
            "responder_hours_by_hour", _("Responder-hours on shift by hour of the week "
                                         "(local time)"), cover.hours_per_block,
            cover.responder_hours, lambda v: number_format(v, 1)),
        "checkins": _flags("checkins", _("Check-ins"), _("Check-ins"), report.checkins,
                           _checkin_words(), ("count", _("Check-ins")), k),
    }


def _block_labels(blocks: Sequence[int], size: int) -> list[str]:
    days = day_words()
    return [f"{days[b // 24]} {hours_words(b, size)}" for b in blocks]


def charts(report: Report) -> dict[str, Any]:
    """The charts' numbers for reports.js (``json_script``): a hidden figure is null,
    and the chart leaves a gap where the table says "<11"."""
    hourly: WeekGrid = report.unserved_by_hour
    cover = report.coverage
    table = report.by_kind_source
    measures = _measure_words()
    return {"minCell": report.min_cell, "charts": [
        {"id": "kinds", "y": _("Incidents"),
         "labels": [_code_words("kind", r) for r in table.rows],
         "series": [{"label": _("Incidents"), "data": [table.row_totals[r]
                                                       for r in table.rows]}]},
        {"id": "times", "y": _("Minutes"),
         "labels": [measures[d.measure] for d in report.durations],
         "series": [{"label": _("Median"), "data": [d.median for d in report.durations]},
                    {"label": _("90th percentile"),
                     "data": [d.p90 for d in report.durations]}]},
        {"id": "unserved", "y": _("Incidents"),
         "labels": _block_labels(hourly.blocks, hourly.hours_per_block),
         "series": [{"label": _("Incidents nobody reached"),
                     "data": [hourly.cells[("unserved", b)] for b in hourly.blocks]}]},
        {"id": "coverage", "y": _("Incidents"), "y2": _("Responder-hours"),
         "labels": _block_labels(cover.blocks, cover.hours_per_block),
         "series": [{"label": _("Incidents"), "data": [cover.demand[b] for b in cover.blocks]},
                    {"label": _("Responder-hours on shift"), "axis": "y2", "line": True,
                     "data": [cover.responder_hours[b] for b in cover.blocks]}]},
    ]}

