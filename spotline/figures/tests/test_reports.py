"""Program reports for coordinators (issue 17): the page, the CSV and the print-out of
the hand-worked month (``test_report_queries.seed_month``), who may see them, what a
wrong form gets, and that nothing in them points at a person."""

from __future__ import annotations

import csv
import html
import io
import itertools
import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import login_staff
from spotline.figures.tests.test_report_queries import FIRST_ID, seed_month
from spotline.tally.models import CheckinFact, IncidentFact

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday in June
MAY = "from=2026-05-01&to=2026-05-31"
PATHS = ("/reports/", "/reports/export.csv", "/reports/print/")


@pytest.fixture(autouse=True)
def _june() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def coordinator() -> Client:
    return login_staff(Client(), user_create(name="cora", role=Role.COORDINATOR,
                                             password=None))


@pytest.fixture
def areas() -> dict[str, int]:
    harbour, hills = seed_month()
    return {"harbour": harbour.pk, "hills": hills.pk}


def cells(page: str) -> dict[str, str]:
    """The page's figures by their CSV key (``data-cell``), as the reader sees them."""
    return {key: html.unescape(text) for key, text in
            re.findall(r'<td data-cell="([^"]+)"[^>]*>([^<]*)</td>', page)}


def csv_cells(body: str) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["section", "row", "column", "value"]
    return {f"{s}/{r}/{c}": v for s, r, c, v in rows[1:] if s != "report"}


def test_it_shows_the_hand_worked_month_with_small_numbers_hidden(
        coordinator: Client, areas: dict[str, int]) -> None:
    response = coordinator.get(f"/reports/?{MAY}&area={areas['harbour']}")
    assert response.status_code == 200
    page = response.content.decode()
    shown = cells(page)

    # The cell of 3, and the cells hidden so that its row and column cannot give it away.
    assert shown["kind_by_source/overdose/sms"] == "<11"
    assert shown["kind_by_source/overdose/operator"] == "<11"
    assert shown["kind_by_source/mental_health/sms"] == "<11"
    assert shown["kind_by_source/overdose/web"] == "40"
    assert shown["kind_by_source/overdose/total"] == "63"
    assert shown["kind_by_source/total/total"] == "104"
    # Ten incidents on scene: no time, and not even their number.
    assert shown["response_minutes/to_on_scene/incidents"] == "<11"
    assert shown["response_minutes/to_on_scene/median"] == "fewer than 11 incidents"
    assert shown["response_minutes/to_on_scene/p90"] == "fewer than 11 incidents"
    # Twelve accepted: minutes with one decimal, and their number.
    assert shown["response_minutes/to_accepted/incidents"] == "12"
    assert shown["response_minutes/to_accepted/median"] == "7.0"
    assert shown["response_minutes/to_accepted/p90"] == "19.2"
    assert shown["outcomes/overdoses_reversed/incidents"] == "20"
    assert shown["outcomes/ambulance_requested/incidents"] == "<11"
    assert shown["referrals/detox/count"] == "<11"
    assert shown["unserved_by_reason/all_busy/count"] == "30"
    assert shown["checkins/escalated/count"] == "<11"
    assert shown["responder_hours_by_hour/wed/12-15"] == "3.0"
    assert "Harbour" in page and "1 May 2026" in page and "31 May 2026" in page
    # Words for codes, and the note on what is hidden and why.
    assert "mental-health crisis" in page and "text message" in page
    assert "About these figures" in page


def test_it_merges_the_sparse_week_into_blocks_on_the_page(
        coordinator: Client, areas: dict[str, int]) -> None:
    page = coordinator.get(f"/reports/?{MAY}&area={areas['harbour']}").content.decode()
    shown = cells(page)

    # The incidents nobody reached are hidden in "served by", so their grid is too.
    assert shown["unserved_by_hour/tue/03-06"] == "<11"
    assert shown["unserved_by_hour/wed/12-15"] == "<11"
    assert "unserved_by_hour/tue/03-04" not in shown
    assert 'id="unserved-withheld"' in page
    assert "In blocks of 3 hours, summed" in page
    assert shown["demand_by_hour/fri/18-21"] == "<11"
    assert shown["demand_by_hour/wed/12-15"] == "58"


def test_it_exports_the_figures_the_page_shows(coordinator: Client,
                                               areas: dict[str, int]) -> None:
    query = f"{MAY}&area={areas['harbour']}"
    page = cells(coordinator.get(f"/reports/?{query}").content.decode())
    response = coordinator.get(f"/reports/export.csv?{query}")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="spotline-report-2026-05-01-2026-05-31.csv"')
    body = response.content.decode()
    exported = csv_cells(body)
    # The same figures, cell by cell: a response time over too few incidents is "<11"
    # in the CSV, as its count is, and in words on the page.
    words = {"fewer than 11 incidents": "<11"}
    assert {key: words.get(text, text) for key, text in page.items()} == exported
    assert exported["kind_by_source/overdose/sms"] == "<11"
    assert exported["response_minutes/to_accepted/p90"] == "19.2"
    assert ["report", "period", "from", "2026-05-01"] in csv.reader(io.StringIO(body))
    assert ["report", "area", "name", "Harbour"] in csv.reader(io.StringIO(body))


def test_it_writes_the_configured_minimum(coordinator: Client, areas: dict[str, int],
                                          settings: Any) -> None:
    settings.SPOTLINE_REPORT_MIN_CELL = 13
    query = f"{MAY}&area={areas['harbour']}"
    shown = cells(coordinator.get(f"/reports/?{query}").content.decode())
    exported = csv_cells(coordinator.get(f"/reports/export.csv?{query}").content.decode())

    # Twelve accepted is now too few.
    assert shown["response_minutes/to_accepted/incidents"] == "<13"
    assert shown["response_minutes/to_accepted/median"] == "fewer than 13 incidents"
    assert exported["response_minutes/to_accepted/median"] == "<13"


def test_it_filters_by_area_and_counts_everywhere_without_one(
        coordinator: Client, areas: dict[str, int]) -> None:
    everywhere = cells(coordinator.get(f"/reports/?{MAY}").content.decode())
    hills = cells(coordinator.get(f"/reports/?{MAY}&area={areas['hills']}").content.decode())
    both = coordinator.get(f"/reports/?{MAY}&area={areas['hills']}&area={areas['harbour']}")

    assert everywhere["kind_by_source/total/total"] == "117"
    assert everywhere["kind_by_source/conflict/web"] == "13"
    assert hills["kind_by_source/total/total"] == "13"
    assert hills["kind_by_source/overdose/total"] == "0"
    assert cells(both.content.decode())["kind_by_source/total/total"] == "117"
    # The form keeps the choice: both boxes ticked.
    assert len(re.findall(r'name="area" value="\d+" checked', both.content.decode())) == 2


def test_it_shows_the_last_30_full_days_by_default_and_offers_presets(
        coordinator: Client, areas: dict[str, int]) -> None:
    page = coordinator.get("/reports/").content.decode()

    # Today is 10 June: yesterday and the 29 days before it.
    assert 'name="from" value="2026-05-11"' in page
    assert 'name="to" value="2026-06-09"' in page
    # 11-31 May: 64 in Harbour (day 11 onwards of each 31), 3 in Hills; 1 June: 20.
    assert cells(page)["kind_by_source/total/total"] == "87"
    for preset in ("from=2026-05-01&amp;to=2026-05-31",  # last month
                   "from=2026-03-12&amp;to=2026-06-09",  # last 90 days
                   "from=2026-01-01&amp;to=2026-06-09",  # this year
                   "from=2025-06-01&amp;to=2026-05-31"):  # last 12 months
        assert preset in page


def test_it_prints_every_table_without_navigation(coordinator: Client,
                                                  areas: dict[str, int]) -> None:
    query = f"{MAY}&area={areas['harbour']}"
    page = coordinator.get(f"/reports/?{query}").content.decode()
    printed = coordinator.get(f"/reports/print/?{query}")

    assert printed.status_code == 200
    text = printed.content.decode()
    assert cells(text) == cells(page)
    assert "<nav" not in text and 'id="report-form"' not in text
    assert "spotline/reports.css" in text and "vendor/chartjs/chart.umd.min.js" in text


def test_it_works_without_scripts_and_draws_charts_with_them(
        coordinator: Client, areas: dict[str, int]) -> None:
    page = coordinator.get(f"/reports/?{MAY}&area={areas['harbour']}").content.decode()

    # Every chart starts hidden (drawn by reports.js) and has its numbers in a table.
    charts = re.findall(r'<figure class="chart-box" data-chart="([a-z]+)" hidden>', page)
    assert charts == ["kinds", "times", "unserved", "coverage"]
    assert page.count("<caption>") == 12
    assert '<th scope="col">' in page and '<th scope="row">' in page
    assert '<script id="report-data" type="application/json">' in page
    assert "spotline/reports.js" in page


@pytest.mark.parametrize("query, says", [
    ("from=2026-05-01&to=yesterday", "is not a date"),
    ("from=2026-02-30&to=2026-03-01", "is not a date"),
    ("from=2026-05-31&to=2026-05-01", "starts after it ends"),
    ("from=2023-05-01&to=2026-05-01", "at most 3 years"),
    ("area=999999", "does not exist"),
    ("area=harbour", "does not exist"),
])
def test_it_says_what_is_wrong_with_the_form(coordinator: Client, query: str,
                                             says: str) -> None:
    for path in PATHS:
        response = coordinator.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert says in response.content.decode(), path
    page = coordinator.get(f"/reports/?{query}").content.decode()
    assert 'role="alert"' in page and 'id="report-form"' in page
    assert "data-cell" not in page


@pytest.mark.parametrize("query, says", [
    # Near year 9999 "3 years later" is past the last date; near year 1, so is "30 days
    # before". Dates are checked against 2000 .. today + 1 year first.
    ("from=9999-01-01&to=9999-12-31", "outside the dates a report can cover"),
    ("from=9998-06-01&to=9998-12-31", "outside the dates a report can cover"),
    ("to=0001-01-05", "outside the dates a report can cover"),
    ("from=1999-12-31&to=2000-01-31", "choose a day from 2000-01-01 to 2027-06-10"),
    # Digits to str.isdigit, not to int.
    (f"{MAY}&area=%C2%B2", "does not exist"),  # "²"
    (f"{MAY}&area=%E2%91%A0", "does not exist"),  # "①"
])
def test_it_says_a_date_or_area_it_cannot_take_is_wrong_rather_than_fail(
        coordinator: Client, query: str, says: str) -> None:
    for path in PATHS:
        response = coordinator.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert says in response.content.decode(), path


def test_it_takes_a_period_of_exactly_3_years(coordinator: Client) -> None:
    assert coordinator.get("/reports/?from=2023-05-01&to=2026-04-30").status_code == 200


def test_it_is_for_coordinators_and_admins_only(areas: dict[str, int]) -> None:
    dispatcher = login_staff(Client(), user_create(name="dana", role=Role.DISPATCHER,
                                                   password=None))
    responder = login_staff(Client(), user_create(name="rory", role=Role.RESPONDER,
                                                  password=None))
    admin = login_staff(Client(), get_user_model().objects.create_superuser(
        username="ada", password=None))
    for path in PATHS:
        assert dispatcher.get(f"{path}?{MAY}").status_code == 404
        assert responder.get(f"{path}?{MAY}").status_code == 404
        anonymous = Client().get(f"{path}?{MAY}")
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith("/accounts/login/")
        assert admin.get(f"{path}?{MAY}").status_code == 200


TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
POINT = re.compile(r"\d+\.\d{4,}")
PHONE = re.compile(r"(?<![\w.])\+?\d[\d -]{7,}\d")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")  # the period's days: a date, not a phone


def test_it_shows_nothing_that_points_at_a_person(coordinator: Client,
                                                  areas: dict[str, int]) -> None:
    user_create(name="rosalind_quist", role=Role.RESPONDER, password=None,
                alias="Rosalind", phone="+358401234567")
    ids = set(IncidentFact.objects.values_list("pk", flat=True))
    assert min(ids) >= FIRST_ID
    for query in (f"{MAY}&area={areas['harbour']}", MAY, ""):
        for path in PATHS:
            text = coordinator.get(f"{path}?{query}").content.decode()
            assert not TIME.search(text), (path, TIME.search(text))
            assert not POINT.search(text), (path, POINT.search(text))
            assert not PHONE.search(ISO_DATE.sub("", text)), path
            assert "Rosalind" not in text and "rosalind" not in text
            assert "358401234567" not in text
            assert not set(re.findall(r"\d+", text)) & {str(i) for i in ids}, path


# -- figures that two sections share, seeded straight into the store ------------------

_ids = itertools.count(700_001)


def fact(*, day: date = date(2026, 5, 1), kind: str = "overdose", source: str = "web",
         **fields: Any) -> IncidentFact:
    return IncidentFact(id=next(_ids), opened_hour=datetime(day.year, day.month, day.day,
                                                            12, tzinfo=UTC),
                        day=day, week_hour=60, kind=kind, source=source, priority="P1",
                        area="871f1d489ffffff", state="resolved", closed=True,
                        to_first_offer=0, **fields)


def many(n: int, **fields: Any) -> list[IncidentFact]:
    return [fact(**fields) for _ in range(n)]


def csv_of(client: Client, query: str = MAY) -> dict[str, str]:
    response = client.get(f"/reports/export.csv?{query}")
    assert response.status_code == 200
    return csv_cells(response.content.decode())


def hidden(value: str) -> bool:
    return value.startswith("<")


def test_it_counts_the_time_to_the_scene_only_over_the_incidents_reached(
        coordinator: Client) -> None:
    # 3 "could not find them" keep a time on scene but were not served: counted in the
    # time, 63 on scene less 60 reached would give the hidden 3 back.
    IncidentFact.objects.bulk_create([
        *many(60, served_by="community", to_on_scene=600),
        *many(3, unserved_reason="unable_to_locate", to_on_scene=900),
        *many(37, unserved_reason="all_busy")])
    figures = csv_of(coordinator)
    assert hidden(figures["unserved_by_reason/unable_to_locate/count"])
    assert hidden(figures["unserved_by_reason/all_busy/count"])

    assert figures["response_minutes/to_on_scene/incidents"] == "60"
    assert figures["served_by/community/count"] == "60"
    assert figures["response_minutes/to_on_scene/median"] == "10.0"


def test_it_hides_the_unserved_total_and_grid_when_served_by_hides_nobody(
        coordinator: Client) -> None:
    # 5 reached, 100 nobody reached: "served by" hides both. Shown, the reasons' total
    # (or the grid's) would be 100, and 105 incidents less 100 the hidden 5.
    IncidentFact.objects.bulk_create([*many(5, served_by="community", to_on_scene=600),
                                      *many(100, unserved_reason="all_busy")])
    figures = csv_of(coordinator)
    assert hidden(figures["served_by/community/count"])
    assert hidden(figures["served_by/nobody/count"])
    assert figures["kind_by_source/total/total"] == "105"

    assert hidden(figures["unserved_by_reason/total/count"])
    assert hidden(figures["unserved_by_reason/all_busy/count"])
    grid = {key: v for key, v in figures.items() if key.startswith("unserved_by_hour/")}
    assert grid and all(hidden(v) for v in grid.values())


def test_it_counts_the_unreached_without_a_reason_as_not_recorded(
        coordinator: Client) -> None:
    # Nobody reached 20 of them, and no reason was given: "served by: nobody" and the
    # reasons' total are one number.
    IncidentFact.objects.bulk_create([*many(30, served_by="community", to_on_scene=600),
                                      *many(20), *many(15, unserved_reason="all_busy")])
    figures = csv_of(coordinator)
    assert figures["served_by/nobody/count"] == "35"
    assert figures["unserved_by_reason/not_recorded/count"] == "20"
    assert figures["unserved_by_reason/total/count"] == "35"
    page = coordinator.get(f"/reports/?{MAY}").content.decode()
    assert "no reason recorded" in page


def test_it_hides_the_check_in_source_total_when_escalated_check_ins_are_hidden(
        coordinator: Client) -> None:
    # 20 of 25 check-ins escalated: hidden, since the 5 that did not are small. Each
    # opened an incident from the source "checkin": shown, that column's total would
    # be the 20, and 25 - 20 the 5.
    IncidentFact.objects.bulk_create([*many(20, source="checkin"), *many(40, source="web")])
    CheckinFact.objects.bulk_create(
        [CheckinFact(started_hour=datetime(2026, 5, 3, 12, tzinfo=UTC), day=date(2026, 5, 3),
                     week_hour=156, minutes=10, asked=True, escalated=i < 20, ended=i >= 20)
         for i in range(25)])
    figures = csv_of(coordinator)
    assert figures["checkins/started/count"] == "25"
    assert hidden(figures["checkins/escalated/count"])

    assert hidden(figures["kind_by_source/total/checkin"])
    # And the table still holds along its lines: the web total goes with it (the only
    # other nonzero source), and so the overdose cells behind them.
    assert hidden(figures["kind_by_source/total/web"])
    assert figures["kind_by_source/total/total"] == "60"


def test_it_hides_escalated_check_ins_when_the_table_hides_the_check_in_source(
        coordinator: Client) -> None:
    # Overdoses: 40 by the web, 3 by text (hidden), 20 from check-ins: hidden beside the
    # 3 in its row, and then the check-in total, alone in its column. "Help was sent"
    # (20 of 40 check-ins) would give it back.
    IncidentFact.objects.bulk_create([*many(40), *many(3, source="sms"),
                                      *many(20, source="checkin")])
    CheckinFact.objects.bulk_create(
        [CheckinFact(started_hour=datetime(2026, 5, 3, 12, tzinfo=UTC), day=date(2026, 5, 3),
                     week_hour=156, minutes=10, escalated=i < 20) for i in range(40)])
    figures = csv_of(coordinator)
    assert hidden(figures["kind_by_source/total/checkin"])

    assert hidden(figures["checkins/escalated/count"])
    assert figures["checkins/started/count"] == "40"
