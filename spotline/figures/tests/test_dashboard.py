"""The public dashboard: monthly figures released once, rounded, noisy and suppressed."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from statistics import median_low
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils.text import capfirst

from spotline.conftest import CENTRE
from spotline.core.publicdp import Budget, MonthTruth, release
from spotline.figures import releases
from spotline.figures.dashboard import KIND_WORDS
from spotline.figures.releases import (
    KINDS,
    REASONS,
    month_truth,
    release_due,
    releases_shown,
)
from spotline.tally.models import IncidentFact, Release

pytestmark = pytest.mark.django_db

NOV = date(2026, 11, 1)
DEC = date(2026, 12, 1)
# Well into December (Chicago): November has ended and its grace day has passed.
MID_DEC = datetime(2026, 12, 15, 18, 43, tzinfo=UTC)
AREA = "872a1072bffffff"  # an area cell: the reporting store keeps it, the dashboard never
ES = {"Accept-Language": "es"}
_ids = itertools.count(900_001)  # distinctive ids, so a leaked one would be found


@pytest.fixture(autouse=True)
def _chicago(settings: Any) -> None:
    settings.TIME_ZONE = "America/Chicago"
    settings.SPOTLINE_REPORT_MIN_CELL = 11
    settings.SPOTLINE_DASHBOARD_EPSILON = 1.0
    settings.SPOTLINE_DASHBOARD_MONTHS = 12


def identity(name: str, value: Any) -> Any:
    """No noise: counts as they are, the median as the lower middle time."""
    return median_low(value) if name == "on_scene_median" else value


def fact(day: date, **fields: Any) -> IncidentFact:
    values: dict[str, Any] = {
        "kind": "overdose", "priority": "P1", "source": "web", "area": AREA,
        "state": "resolved", "closed": True, **fields}
    return IncidentFact(
        id=next(_ids), opened_hour=datetime(day.year, day.month, day.day, 15, tzinfo=UTC),
        day=day, week_hour=day.weekday() * 24 + 9, **values)


def reached(by: str, **fields: Any) -> dict[str, Any]:
    return {"served_by": by, "to_first_offer": 20, "to_accepted": 90, "to_on_scene": 420,
            "to_closed": 3000, **fields}


def unserved(reason: str, **fields: Any) -> dict[str, Any]:
    return {"served_by": "", "unserved_reason": reason, "state": "cancelled", **fields}


def seed_november() -> list[IncidentFact]:
    """A month worked out by hand (see ``test_it_counts_a_month_by_hand``)."""
    days = itertools.cycle(NOV + timedelta(days=d) for d in range(30))
    rows = (
        # 40 overdoses: 20 reversed by a community responder, 10 more reached by one,
        # 5 by the crisis team, 5 that nobody reached because everyone was busy.
        [fact(next(days), **reached("community", outcome=True, naloxone_doses=2,
                                    responsive_after="yes", ems="not_needed"))
         for _ in range(20)]
        + [fact(next(days), **reached("community")) for _ in range(10)]
        + [fact(next(days), **reached("crisis_team")) for _ in range(5)]
        + [fact(next(days), **unserved("all_busy")) for _ in range(5)]
        # 20 mental-health crises: 15 for the crisis team (an ambulance for each), 5 peers.
        + [fact(next(days), kind="mental_health",
                **reached("crisis_team", ambulance_requested=True)) for _ in range(15)]
        + [fact(next(days), kind="mental_health", **reached("community")) for _ in range(5)]
        # 3 welfare checks nobody could take: a cell of 3, twice over.
        + [fact(next(days), kind="welfare_check", **unserved("nobody_on_shift"))
           for _ in range(3)]
    )
    return IncidentFact.objects.bulk_create(rows)


def texts() -> Iterator[tuple[str, str]]:
    page = Client().get("/dashboard/").content.decode()
    # The language switch's form carries a fresh CSRF token on every load.
    yield "page", re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)
    yield "json", Client().get("/dashboard/data.json").content.decode()
    yield "csv", Client().get("/dashboard/data.csv").content.decode()


def l1(a: Any, b: Any) -> int:
    return sum(abs(a.get(k, 0) - b.get(k, 0)) for k in set(a) | set(b))


# -- the store: a month is released once, after it ends ----------------------------------


def test_it_counts_a_month_by_hand() -> None:
    seed_november()
    IncidentFact.objects.bulk_create([fact(DEC, kind="medical"), fact(date(2026, 10, 31))])
    truth = month_truth(NOV)
    assert dict(truth.by_kind) == {**dict.fromkeys(KINDS, 0), "overdose": 40,
                                   "mental_health": 20, "welfare_check": 3}
    assert dict(truth.served) == {"community": 35, "crisis_team": 20, "none": 8}
    assert dict(truth.unserved_by_reason) == {**dict.fromkeys(REASONS, 0), "all_busy": 5,
                                              "nobody_on_shift": 3}
    assert truth.reversed_overdoses == 20
    assert truth.ems_requested == 15
    assert sorted(truth.on_scene_seconds) == [420] * 55


def test_it_counts_an_unserved_incident_with_no_reason_as_not_recorded() -> None:
    IncidentFact.objects.bulk_create([
        fact(NOV, served_by="", closed=False, state="dispatching"),
        fact(NOV, **unserved("a_reason_from_the_future"))])
    assert month_truth(NOV).unserved_by_reason["not_recorded"] == 2


def test_it_releases_only_ended_months_and_each_once() -> None:
    seed_november()
    IncidentFact.objects.bulk_create([fact(DEC)])
    # 23:00 on 30 November in Chicago (05:00 UTC on 1 December): not over yet.
    assert release_due(now=datetime(2026, 12, 1, 5, tzinfo=UTC)) == 0
    # Over, but within its grace day: the last night's incidents may still be open.
    assert release_due(now=datetime(2026, 12, 1, 20, tzinfo=UTC)) == 0
    assert release_due(now=MID_DEC) == 1
    assert release_due(now=MID_DEC + timedelta(hours=1)) == 0
    assert list(Release.objects.values_list("month", flat=True)) == [NOV]
    assert release_due(now=datetime(2027, 1, 2, 7, tzinfo=UTC)) == 1  # December's turn
    assert sorted(Release.objects.values_list("month", flat=True)) == [NOV, DEC]


def test_it_never_redraws_a_released_month() -> None:
    seed_november()
    release_due(now=MID_DEC)  # OpenDP's own noise
    first = [text for _, text in texts()]
    # A late change to November's facts, and another pass: the figures stay as published.
    IncidentFact.objects.bulk_create([fact(NOV + timedelta(days=3)) for _ in range(30)])
    assert release_due(now=MID_DEC + timedelta(days=1)) == 0
    assert [text for _, text in texts()] == first


def test_it_publishes_a_month_whether_or_not_anyone_called() -> None:
    """Whether a month is published must not depend on its true count: October, with
    no incident, is released like September and November (noise and "<11" cover it).
    Only the program's first month comes from the data, once: a fact added later in an
    earlier month does not move it."""
    sep, oct_ = date(2026, 9, 1), date(2026, 10, 1)
    IncidentFact.objects.bulk_create([fact(sep + timedelta(days=3)) for _ in range(30)]
                                     + [fact(NOV + timedelta(days=3)) for _ in range(30)])
    release_due(now=MID_DEC, noise=identity)
    assert sorted(Release.objects.values_list("month", flat=True)) == [sep, oct_, NOV]
    assert Release.objects.get(month=oct_).figures["figures"]["total"]["shown"] == "<11"

    IncidentFact.objects.bulk_create([fact(date(2026, 8, 5))])
    assert release_due(now=MID_DEC + timedelta(days=1), noise=identity) == 0


def test_it_releases_every_month_since_the_program_began_within_the_window() -> None:
    IncidentFact.objects.bulk_create([fact(date(2025, 9, 10)), fact(NOV)])  # began 2025-09
    assert release_due(now=MID_DEC, noise=identity) == 12  # not more: the window is 12
    months = sorted(Release.objects.values_list("month", flat=True))
    assert (months[0], months[-1]) == (date(2025, 12, 1), NOV)
    assert release_due(now=MID_DEC, noise=identity) == 0
    IncidentFact.objects.all().delete()  # an empty store: the program has not begun
    Release.objects.all().delete()
    assert release_due(now=MID_DEC, noise=identity) == 0


def test_it_keeps_another_workers_release(monkeypatch: pytest.MonkeyPatch) -> None:
    seed_november()
    release_due(now=MID_DEC, noise=identity)
    theirs = Release.objects.get(month=NOV).figures
    # This worker looked before the other one stored November.
    monkeypatch.setattr(releases, "months_due", lambda now: [NOV])
    assert release_due(now=MID_DEC, noise=lambda name, value: identity(name, value)) == 0
    assert Release.objects.get().figures == theirs


# -- what is shown: only the stored figures ----------------------------------------------


def test_it_shows_the_stored_figures_on_the_page_and_in_the_open_data() -> None:
    seed_november()
    release_due(now=MID_DEC, noise=identity)
    page = Client().get("/dashboard/").content.decode()
    assert "November 2026" in page
    for shown in ("65", "87%", "13%", "7.0 min", "20", "15", "40"):
        assert f"<td>{shown}" in page
    # Both cells of 3 (welfare checks; unserved because nobody was on shift), and the 8
    # that nobody reached, are "<11"; so is a share or median of nothing (—).
    assert re.search(r"Welfare check</th><td>&lt;11<", page)
    assert re.search(r"Nobody was on shift</th><td>&lt;11<", page)

    doc = Client().get("/dashboard/data.json").json()
    (month,) = doc["months"]
    assert month["month"] == "2026-11" and month["released_on"] == "2026-12-15"
    figures = month["figures"]
    assert {k: (f["value"], f["shown"]) for k, f in figures.items() if f["value"] is None} == {
        f"by_kind.{k}": (None, "<11") for k in KINDS if k not in ("overdose", "mental_health")
    } | {f"unserved_by_reason.{r}": (None, "<11") for r in REASONS} | {
        "served.none": (None, "<11")}
    assert figures["total"] == {**figures["total"], "value": 65, "shown": "65"}
    assert figures["by_kind.welfare_check"]["definition"].startswith("Incidents of kind")

    rows = list(csv.DictReader(io.StringIO(Client().get("/dashboard/data.csv").content.decode())))
    assert len(rows) == len(figures)
    by_key = {r["figure"]: r for r in rows}
    assert by_key["by_kind.welfare_check"] == {
        "month": "2026-11", "figure": "by_kind.welfare_check", "value": "", "shown": "<11",
        "definition": figures["by_kind.welfare_check"]["definition"]}
    assert by_key["community_share"]["value"] == "87"

    # What is served is the stored row, not a sum over facts made at request time.
    stored = Release.objects.get()
    stored.figures["figures"]["total"].update(value=12345, shown="12,345")
    stored.save()
    IncidentFact.objects.all().delete()
    assert "<td>12,345" in Client().get("/dashboard/").content.decode()
    assert Client().get("/dashboard/data.json").json()["months"][0]["figures"]["total"][
        "value"] == 12345


def test_it_writes_the_spanish_dashboards_numbers_the_spanish_way() -> None:
    """The stored ``shown`` is English ("1,040", "7.0 min"), which reads as 1.04 and
    seven thousand in Spanish: the page writes each value in the reader's language,
    and the open data keeps ``shown`` as it is."""
    IncidentFact.objects.bulk_create([fact(NOV + timedelta(days=3), **reached("community"))
                                      for _ in range(1040)])
    release_due(now=MID_DEC, noise=identity)
    page = Client().get("/dashboard/", headers=ES).content.decode()
    assert 'lang="es"' in page

    assert "<td>1,040" not in page, "a thousands comma on the Spanish page"
    assert "<td>7.0 min" not in page, "a decimal point on the Spanish page"
    assert "<td>1\xa0040<" in page and "<td>7,0 min<" in page
    english = Client().get("/dashboard/").content.decode()
    assert "<td>1,040<" in english and "<td>7.0 min<" in english and "<td>100%" in english
    figures = Client().get("/dashboard/data.json", headers=ES).json()["months"][0]["figures"]
    assert (figures["total"]["shown"], figures["on_scene_median_minutes"]["shown"]) == (
        "1,040", "7.0 min")
    assert "1,040" in Client().get("/dashboard/data.csv", headers=ES).content.decode()


def test_it_shows_the_figures_in_the_published_order_whatever_the_store_kept() -> None:
    """PostgreSQL's jsonb keeps no key order: the page, JSON and CSV put it back."""
    seed_november()
    release_due(now=MID_DEC, noise=identity)
    stored = Release.objects.get()
    # Stored in whatever order the database keeps (jsonb: its own), every figure there.
    assert sorted(stored.figures["figures"]) == sorted(releases.FIGURES)
    published = list(releases.FIGURES)
    stored.figures = {k: stored.figures[k] for k in sorted(stored.figures, reverse=True)}
    stored.figures["figures"] = {k: stored.figures["figures"][k] for k in reversed(published)}
    stored.save()

    month = Client().get("/dashboard/data.json").json()["months"][0]
    assert list(month["figures"]) == published and next(iter(month)) == "month"
    assert next(iter(month["budget_split"])) == "by_kind"
    rows = list(csv.DictReader(io.StringIO(Client().get("/dashboard/data.csv").content.decode())))
    assert [r["figure"] for r in rows] == published
    page = Client().get("/dashboard/").content.decode()
    kinds = [page.index(f">{capfirst(str(KIND_WORDS[k]))}</th>") for k in KINDS]
    assert kinds == sorted(kinds)


def test_it_publishes_the_budget_and_says_why_figures_are_noisy() -> None:
    seed_november()
    release_due(now=MID_DEC, noise=identity)
    page = Client().get("/dashboard/").content.decode()
    assert "rounded to the nearest 5" in page and "&lt;11" in page
    assert "ε = 1" in page and "people who call us use drugs" in page
    assert 'href="/transparency/"' in page and "never sends police" in page
    doc = Client().get("/dashboard/data.json").json()
    about = doc["about"]
    assert about["epsilon_per_month"] == 1.0
    assert sum(about["budget_split"].values()) <= 1.0
    assert set(about["noise_scales"]) == set(about["budget_split"]) == {
        "by_kind", "served", "unserved_by_reason", "reversed_overdoses", "ems_requested",
        "on_scene_median"}
    assert all(s >= 6.0 for s in about["noise_scales"].values())  # 1/(1/6)
    assert (about["min_cell"], about["rounding"]) == (11, 5)
    assert "CC BY" in about["license"]
    assert about["definitions"]["total"] == "Incidents opened this month."
    assert doc["months"][0]["noise_scales"] == about["noise_scales"]


def test_it_says_plainly_when_no_month_is_published_yet() -> None:
    seed_november()  # November has facts, but it is still November
    assert release_due(now=datetime(2026, 11, 20, tzinfo=UTC)) == 0
    response = Client().get("/dashboard/")
    assert response.status_code == 200
    assert "No month has been published yet" in response.content.decode()
    doc = Client().get("/dashboard/data.json").json()
    assert doc["months"] == [] and doc["about"]["epsilon_per_month"] == 1.0
    assert Client().get("/dashboard/data.csv").content.decode().strip() == (
        "month,figure,value,shown,definition")


def test_it_serves_open_data_to_anyone() -> None:
    seed_november()
    release_due(now=MID_DEC, noise=identity)
    data = Client().get("/dashboard/data.json")
    assert data["Content-Type"] == "application/json"
    assert data["Access-Control-Allow-Origin"] == "*"
    table = Client().get("/dashboard/data.csv")
    assert table["Content-Type"].startswith("text/csv")
    assert table["Access-Control-Allow-Origin"] == "*"
    assert table["Content-Disposition"] == 'attachment; filename="spotline-dashboard.csv"'
    assert Client().post("/dashboard/data.json").status_code == 405


def test_it_works_without_javascript() -> None:
    seed_november()
    release_due(now=MID_DEC, noise=identity)
    page = Client().get("/dashboard/").content.decode()
    assert "<script" not in page.lower() and " style=" not in page.lower()


def test_it_limits_the_months_shown(settings: Any) -> None:
    for month in (date(2026, m, 1) for m in range(1, 12)):
        IncidentFact.objects.bulk_create([fact(month + timedelta(days=9))])
    assert release_due(now=MID_DEC, noise=identity) == 11
    settings.SPOTLINE_DASHBOARD_MONTHS = 3
    assert [p.month for p in releases_shown()] == [NOV, date(2026, 10, 1), date(2026, 9, 1)]
    assert len(Client().get("/dashboard/data.json").json()["months"]) == 3


# -- one incident more or less -----------------------------------------------------------


NEIGHBOURS = {
    "a reversed overdose": reached("community", naloxone_doses=1, responsive_after="yes",
                                   to_on_scene=600),
    "a crisis with an ambulance": {"kind": "mental_health",
                                   **reached("crisis_team", ambulance_requested=True)},
    "an unserved welfare check": {"kind": "welfare_check", **unserved("all_busy")},
    "one still open": {"kind": "conflict", "served_by": "", "closed": False},
}


@pytest.mark.parametrize("extra", NEIGHBOURS.values(), ids=NEIGHBOURS.keys())
@pytest.mark.parametrize("change", ["added", "removed"])
def test_it_moves_no_more_than_one_incident_can(extra: dict[str, Any], change: str) -> None:
    seed_november()
    one = fact(NOV + timedelta(days=12), **extra)
    if change == "removed":
        one.save()
    before = month_truth(NOV)
    if change == "added":
        one.save()
    else:
        one.delete()
    after = month_truth(NOV)

    # The sensitivity the mechanisms are calibrated for: L1 <= 1 in each partition, 1
    # in each count, one time on scene more or less.
    assert l1(before.by_kind, after.by_kind) == 1
    assert l1(before.served, after.served) == 1
    assert l1(before.unserved_by_reason, after.unserved_by_reason) <= 1
    assert abs(before.reversed_overdoses - after.reversed_overdoses) <= 1
    assert abs(before.ems_requested - after.ems_requested) <= 1
    assert abs(len(before.on_scene_seconds) - len(after.on_scene_seconds)) <= 1

    # The published parameters do not depend on the data at all.
    def publish(truth: MonthTruth) -> dict[str, Any]:
        return release(truth, month="2026-11", budget=releases.budget(), kinds=KINDS,
                       reasons=REASONS, noise=identity).as_json()

    a, b = publish(before), publish(after)
    for key in ("epsilon", "budget_split", "min_cell", "rounding", "about"):
        assert a[key] == b[key]
    assert {k: f["noise"] for k, f in a["figures"].items()} == {
        k: f["noise"] for k, f in b["figures"].items()}
    assert releases.parameters(releases.budget()) == releases.parameters(
        Budget(epsilon=1.0, min_cell=11))
    # Without noise, what one incident moves is at most the rounding step (no count of
    # this month sits at the edge of suppression, so none flips to or from "<11").
    for key, f in a["figures"].items():
        x, y = f["value"], b["figures"][key]["value"]
        assert (x is None) == (y is None), key
        if x is not None:
            assert abs(x - y) <= 5, key


# -- nothing that points at a person -----------------------------------------------------


def test_it_publishes_no_time_place_phone_or_incident() -> None:
    ids = [f.pk for f in seed_november()]
    release_due(now=MID_DEC)
    for _, text in texts():
        assert not re.search(r"\b\d{1,2}:\d{2}\b", text)  # no clock time: 18:43 stored
        assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d", text)  # no timestamp
        assert AREA not in text and f"{CENTRE.lat:.4f}" not in text
        assert not re.search(r"\+\d{7,}|\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}", text)
        assert not any(str(pk) in text for pk in ids)
    assert Release.objects.get().released_at.minute == 43  # stored finer, published by day


def test_it_speaks_spanish_by_header_and_by_cookie() -> None:
    seed_november()
    release_due(now=MID_DEC, noise=identity)
    by_header = Client().get("/dashboard/", headers=ES).content.decode()
    cookie = Client()
    cookie.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    by_cookie = cookie.get("/dashboard/").content.decode()
    for html in (by_header, by_cookie):
        assert '<html lang="es">' in html
        assert "noviembre de 2026" in html
        assert "Cifras públicas, mes a mes" in html
        assert "Crisis de salud mental" in html
        assert "redondeada al múltiplo de 5 más cercano" in html
        assert "Public figures" not in html and "rounded to the nearest" not in html
