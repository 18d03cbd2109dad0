"""The public dashboard (``/dashboard/``) and its open data (``data.json``, ``data.csv``).

No sign-in, no JavaScript. Everything shown is read from the stored monthly releases
(``releases``): noisy, rounded and suppressed figures drawn once when the month was
released. Nothing here touches the reporting store, so no visitor can make a figure
move, and nothing here has an exact time, a place, a phone number or an incident.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from spotline.dispatch.words import WORDS
from spotline.figures.releases import (
    FIGURES,
    Published,
    budget,
    ordered,
    parameters,
    releases_shown,
)

# Words for the codes in a release, in the reader's language. The kinds and the reasons
# use the same words as the staff screens (and so their translations).
KIND_WORDS: dict[str, Promise] = WORDS["kind"]
SERVED_WORDS: dict[str, Promise] = {
    "community": _("A community responder reached the scene first"),
    "crisis_team": _("The crisis team reached the scene first"),
    "none": _("Nobody from the program reached the scene"),
}
REASON_WORDS: dict[str, Promise] = {**WORDS["reason"],
                                     "not_recorded": _("no reason recorded")}
MECHANISM_WORDS: dict[str, Promise] = {
    "by_kind": _("Requests by kind (and their total)"),
    "served": _("Who reached the scene (and the shares served and unserved)"),
    "unserved_by_reason": _("Unserved requests by reason"),
    "reversed_overdoses": _("Overdoses reversed"),
    "ems_requested": _("Ambulance (EMS) requested"),
    "on_scene_median": _("Median time until a responder was on scene"),
}

LICENSE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
CSV_COLUMNS = ("month", "figure", "value", "shown", "definition")
CACHE_CONTROL = "public, max-age=3600"  # a month changes once; an hour is plenty fresh
SHARES = ("community_share", "unserved_share")
MEDIAN = "on_scene_median_minutes"


@dataclass(frozen=True)
class Row:
    label: str | Promise
    shown: str
    value: Any = None


@dataclass(frozen=True)
class MonthView:
    month: date
    released_on: date
    epsilon: str
    total: str
    community_share: Row
    unserved_share: Row
    median: str
    reversed_overdoses: str
    ems_requested: str
    kinds: list[Row]
    served: list[Row]
    reasons: list[Row]


@dataclass(frozen=True)
class Share:
    label: str | Promise
    epsilon: str
    scale: str


@dataclass(frozen=True)
class Privacy:
    """How the newest month was protected, for the page's plain-language section."""

    epsilon: str
    min_cell: int
    rounding: int
    shares: list[Share]


def _words(words: Mapping[str, Promise], code: str) -> str:
    word = words.get(code)
    return capfirst(str(word) if word is not None else code.replace("_", " "))


def _number(x: float, places: int) -> str:
    """0.16666… -> "0.167" ("0,167" in Spanish); 6.000000000000001 -> "6" (calibration
    nudges by an ulp)."""
    text = f"{x:.{places}f}"
    return number_format(text.rstrip("0").rstrip(".") if "." in text else text)


def _shown(key: str, figure: Mapping[str, Any] | None, min_cell: int) -> str:
    """A figure as the page prints it, from its value, in the reader's language: "1 040"
    and "7,0 min" in Spanish. The stored ``shown`` ("1,040", "7.0 min") is the open
    data's language-neutral text, never printed here."""
    if figure is None:  # a figure this month's release does not have
        return "—"
    value = figure.get("value")
    if key == MEDIAN:  # None: too few incidents behind it
        return "—" if value is None else gettext("%(n)s min") % {"n": number_format(value, 1)}
    if key in SHARES:
        return "—" if value is None else gettext("%(n)s%%") % {"n": number_format(value)}
    return f"<{min_cell}" if value is None else number_format(value, force_grouping=True)


def _group(figures: Mapping[str, Any], prefix: str, words: Mapping[str, Promise],
           min_cell: int) -> list[Row]:
    return [Row(_words(words, key.removeprefix(prefix)), _shown(key, f, min_cell),
                f["value"])
            for key, f in figures.items() if key.startswith(prefix)]


def month_view(published: Published) -> MonthView:
    data = published.data
    figures: dict[str, Any] = ordered(data["figures"], FIGURES)
    min_cell = int(data["min_cell"])

    def shown(key: str) -> str:
        return _shown(key, figures.get(key), min_cell)

    def share(key: str, label: Promise) -> Row:
        return Row(label, shown(key), figures.get(key, {}).get("value"))

    return MonthView(
        month=published.month, released_on=published.released_on,
        epsilon=_number(float(data["epsilon"]), 3),
        total=shown("total"),
        community_share=share("community_share", _(
            "Share where a community responder or the crisis team reached the scene")),
        unserved_share=share("unserved_share", _(
            "Share where nobody from the program reached the scene")),
        median=shown(MEDIAN),
        reversed_overdoses=shown("reversed_overdoses"),
        ems_requested=shown("ems_requested"),
        kinds=_group(figures, "by_kind.", KIND_WORDS, min_cell),
        served=_group(figures, "served.", SERVED_WORDS, min_cell),
        reasons=_group(figures, "unserved_by_reason.", REASON_WORDS, min_cell),
    )


def privacy_of(published: Published) -> Privacy:
    data = published.data
    split: dict[str, float] = data.get("budget_split", {})
    scales: dict[str, float] = data.get("noise_scales", {})
    return Privacy(
        epsilon=_number(float(data["epsilon"]), 3),
        min_cell=int(data["min_cell"]), rounding=int(data["rounding"]),
        shares=[Share(_words(MECHANISM_WORDS, name), _number(eps, 3),
                      _number(scales[name], 2) if name in scales else "—")
                for name, eps in split.items()])


@require_safe
def dashboard_page(request: HttpRequest) -> HttpResponse:
    shown = releases_shown()
    b = budget()
    return render(request, "figures/dashboard.html", {
        "org": settings.SPOTLINE_ORG_NAME,
        "months": [month_view(p) for p in shown],
        "privacy": privacy_of(shown[0]) if shown else None,
        "min_cell": b.min_cell,
        "rounding": b.rounding,
    })


def about(request: HttpRequest, months: list[Published]) -> dict[str, Any]:
    """What a reader of the open data needs to use it: the budget and its split (from
    settings, the same whatever the data), definitions, the licence."""
    p = parameters(budget())
    definitions: dict[str, str] = {}
    for published in months:  # newest first: the newest wording wins
        for key, f in published.data["figures"].items():
            definitions.setdefault(key, f["definition"])
    return {
        "title": f"{settings.SPOTLINE_ORG_NAME}: public monthly figures",
        "description": (
            "Monthly figures of a community crisis response program that sends peers "
            "and crisis teams, never police. Each month is published once, after it "
            "ends, and never redrawn."),
        "license": LICENSE,
        "attribution": f"{settings.SPOTLINE_ORG_NAME}, public dashboard",
        "no_police": (
            "No figure counts police: Spotline has no police responder and no police "
            "escalation, and sends nothing to law enforcement."),
        "transparency": request.build_absolute_uri(reverse("transparency:page")),
        "unit_of_privacy": "one incident added or removed",
        "epsilon_per_month": p["epsilon"],
        "budget_split": p["budget_split"],
        "noise_scales": p["noise_scales"],
        "mechanisms": p["mechanisms"],
        "min_cell": p["min_cell"],
        "rounding": p["rounding"],
        "suppression": (
            f"A count under {p['min_cell']} (after noise) is published as null, shown "
            f"“<{p['min_cell']}”; a share or median with too few incidents behind it "
            "as null, shown “—”."),
        "parameters_per_month": (
            "The budget, split and scales above are the current settings; each month "
            "carries the ones it was released with."),
        "definitions": ordered(definitions, FIGURES),
    }


@require_safe
def data_json(request: HttpRequest) -> HttpResponse:
    months = releases_shown()
    response = JsonResponse(
        {"about": about(request, months), "months": [m.as_json() for m in months]},
        json_dumps_params={"ensure_ascii": False})
    return _open(response)


@require_safe
def data_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="spotline-dashboard.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for published in releases_shown():
        month = published.data.get("month", f"{published.month:%Y-%m}")
        for key, f in published.data["figures"].items():
            value = "" if f["value"] is None else f["value"]
            writer.writerow((month, key, value, f["shown"], f["definition"]))
    return _open(response)


def _open(response: HttpResponse) -> HttpResponse:
    """Open data: any site may read it (no cookies are involved), and caches may keep it."""
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = CACHE_CONTROL
    return response
