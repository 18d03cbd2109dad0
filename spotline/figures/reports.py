"""Program reports for coordinators (``/reports/``): the page, its CSV and its print-out.

All three read the same GET form (``from``/``to`` as local dates, inclusive, and
``area`` repeated) and the same figures (``queries.report``), suppressed before they
reach here. A wrong form is said on the page with a 400, never a 500. Nothing here
is personal: the store holds no person, and no incident id is ever rendered.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from spotline.alerts.models import Area
from spotline.console.access import coordinator_required
from spotline.figures.queries import Report, report
from spotline.figures.report_layout import charts, grids
from spotline.tally.actions import local_tz

DEFAULT_DAYS = 30
MAX_YEARS = 3
# Three years with a leap day, both ends included: 2023-05-01 to 2026-04-30 is one.
MAX_DAYS = 3 * 365 + 1
# The dates a report can ask for: the store began well after FIRST_DAY, and a day more
# than a year ahead is a typo. Checked before any arithmetic, so no date overflows.
FIRST_DAY = date(2000, 1, 1)


@dataclass(frozen=True)
class Choice:
    """What the form asked for: local days ``start`` to ``end`` (inclusive), in
    ``areas`` (none: everywhere)."""

    start: date
    end: date
    areas: tuple[Area, ...]

    def query(self, *, start: date | None = None, end: date | None = None) -> str:
        """The form's query string for this choice (or another period, same areas)."""
        return urlencode([("from", (start or self.start).isoformat()),
                          ("to", (end or self.end).isoformat()),
                          *(("area", str(a.pk)) for a in self.areas)])


class BadChoice(ValueError):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def today() -> date:
    """The program's local date (SPOTLINE_TIME_ZONE): its days are the store's days."""
    return timezone.now().astimezone(local_tz()).date()


def _date(raw: str, name: str, errors: list[str], *, on: date) -> date | None:
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        errors.append(_("“%(value)s” is not a date for “%(field)s”: write it as YYYY-MM-DD.")
                      % {"value": raw[:20], "field": name})
        return None
    last = on + timedelta(days=365)
    if not FIRST_DAY <= day <= last:
        errors.append(_("“%(value)s” is outside the dates a report can cover for "
                        "“%(field)s”: choose a day from %(first)s to %(last)s.")
                      % {"value": raw[:20], "field": name, "first": FIRST_DAY.isoformat(),
                         "last": last.isoformat()})
        return None
    return day


def choose(query: QueryDict, *, on: date) -> Choice:
    """The choice in ``query``, on the local date ``on``. Missing dates: the last 30
    full days (ending yesterday); ``to`` alone: the 30 days ending then."""
    errors: list[str] = []
    raw_from, raw_to = query.get("from", "").strip(), query.get("to", "").strip()
    end = _date(raw_to, _("To"), errors, on=on) if raw_to else on - timedelta(days=1)
    start = (_date(raw_from, _("From"), errors, on=on) if raw_from
             else (end - timedelta(days=DEFAULT_DAYS - 1) if end else None))
    if start and end:
        if start > end:
            errors.append(_("The period starts after it ends: “from” must be on or before "
                            "“to”."))
        elif (end - start).days >= MAX_DAYS:
            errors.append(_("A report covers at most %(n)s years: choose a shorter period.")
                          % {"n": MAX_YEARS})

    raw_areas = [a.strip() for a in query.getlist("area") if a.strip()]
    # "²" and "①" are digits to isdigit but not to int: ids are ASCII decimals.
    ids = {int(a) for a in raw_areas if a.isascii() and a.isdecimal() and len(a) < 10}
    found = tuple(Area.objects.filter(pk__in=ids).order_by("name")) if ids else ()
    if len(ids) != len(set(raw_areas)) or len(found) != len(ids):
        errors.append(_("An area chosen does not exist (any more): choose again from the "
                        "list."))
    if errors or start is None or end is None:
        raise BadChoice(errors)
    return Choice(start=start, end=end, areas=found)


def _month_before(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def presets(on: date) -> list[tuple[str, date, date]]:
    """The period shortcuts the form offers on the local date ``on``."""
    yesterday = on - timedelta(days=1)
    this_month = on.replace(day=1)
    last_month = _month_before(this_month)
    new_year = date(on.year, 1, 1)
    return [
        (_("Last 30 days"), yesterday - timedelta(days=DEFAULT_DAYS - 1), yesterday),
        (_("Last month"), last_month, this_month - timedelta(days=1)),
        (_("Last 90 days"), yesterday - timedelta(days=89), yesterday),
        # On 1 January "this year" is the day so far: never an empty or reversed period.
        (_("This year"), new_year, max(yesterday, new_year)),
        (_("Last 12 months"), this_month.replace(year=this_month.year - 1),
         this_month - timedelta(days=1)),
    ]


def _form(query: QueryDict, on: date, choice: Choice | None) -> dict[str, Any]:
    """What the form shows: the choice made, or what was typed when it was wrong."""
    chosen = ({str(a.pk) for a in choice.areas} if choice
              else {a.strip() for a in query.getlist("area")})
    areas = list(Area.objects.order_by("name").values_list("pk", "name"))
    if choice is None:
        values = {"from": query.get("from", "")[:20], "to": query.get("to", "")[:20]}
    else:
        values = {"from": choice.start.isoformat(), "to": choice.end.isoformat()}
    base = choice or Choice(start=on, end=on, areas=())
    return {
        "values": values, "max_date": on.isoformat(),
        "areas": [(pk, name, str(pk) in chosen) for pk, name in areas],
        "presets": [(label, base.query(start=s, end=e),
                     choice is not None and (s, e) == (choice.start, choice.end))
                    for label, s, e in presets(on)],
    }


def _context(request: HttpRequest) -> tuple[dict[str, Any], int]:
    on = today()
    try:
        choice = choose(request.GET, on=on)
    except BadChoice as exc:
        return {**_form(request.GET, on, None), "errors": exc.messages,
                "coordinator": True}, 400
    figures = report(start=choice.start, end=choice.end, areas=choice.areas)
    return {**_form(request.GET, on, choice), "choice": choice, "report": figures,
            "query": choice.query(), "grids": grids(figures), "data": charts(figures),
            "min_cell": figures.min_cell, "coordinator": True}, 200


@coordinator_required
def report_page(request: HttpRequest) -> HttpResponse:
    """GET: the form and, for a good choice, the figures with their charts."""
    context, status = _context(request)
    return render(request, "figures/report.html", context, status=status)


@coordinator_required
def report_print(request: HttpRequest) -> HttpResponse:
    """The same figures laid out for A4 paper (the browser's print to PDF)."""
    context, status = _context(request)
    return render(request, "figures/report_print.html", context, status=status)


@coordinator_required
def report_csv(request: HttpRequest) -> HttpResponse:
    """The page's figures as ``section,row,column,value`` rows; a hidden figure is
    written as "<11" (the configured minimum), like the page writes it."""
    try:
        choice = choose(request.GET, on=today())
    except BadChoice as exc:
        return HttpResponse("\n".join(exc.messages) + "\n", status=400,
                            content_type="text/plain; charset=utf-8")
    figures = report(start=choice.start, end=choice.end, areas=choice.areas)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="spotline-report-{choice.start.isoformat()}-'
        f'{choice.end.isoformat()}.csv"')
    csv.writer(response).writerows(csv_rows(figures))
    return response


def csv_rows(figures: Report) -> list[Sequence[str]]:
    k = figures.min_cell
    head: list[Sequence[str]] = [
        ("section", "row", "column", "value"),
        ("report", "period", "from", figures.start.isoformat()),
        ("report", "period", "to", figures.end.isoformat()),
        ("report", "min_cell", "count", str(k)),
        *(("report", "area", "name", _cell_text(name)) for name in figures.area_names),
    ]
    if not figures.area_names:
        head.append(("report", "area", "name", "everywhere"))
    return head + [(section, row, column, _csv_value(value, k))
                   for section, row, column, value in figures.rows()]


def _csv_value(value: int | float | None, k: int) -> str:
    if value is None:
        return f"<{k}"
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def _cell_text(text: str) -> str:
    """A coordinator's words in a spreadsheet cell, never read as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
