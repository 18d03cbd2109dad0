"""Program reports and the public dashboard in a real browser (issue 17): a coordinator
opens a report, changes the period and downloads the CSV; the dashboard passes axe,
with and without JavaScript. The demo seeds a made-up year of figures."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from playwright.sync_api import Page, expect

from e2e.conftest import NewContext, Server, login
from e2e.test_pages import DESK, axe_violations


def shown_total(page: Page) -> int:
    """The grand total of the kind-by-source table (its cell carries its CSV key)."""
    text = page.inner_text('td[data-cell="kind_by_source/total/total"]')
    return int(text.replace(",", "").replace("\u00a0", "").strip())


def test_a_coordinator_changes_the_period_and_downloads_the_csv(
        server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=DESK, accept_downloads=True).new_page()
    login(page, server, "coordinator", "/reports/")
    expect(page.locator("h1")).to_have_text("Program report")
    # The charts are drawn (Chart.js, vendored) next to their tables.
    page.wait_for_selector("canvas")
    assert page.locator("table").count() >= 4

    to = date.fromisoformat(page.input_value("#report-to"))
    page.fill("#report-from", str(to - timedelta(days=179)))
    with page.expect_navigation():
        page.click("#report-form button[type=submit]")
    assert f"from={to - timedelta(days=179)}" in page.url
    half_year = shown_total(page)
    page.fill("#report-from", str(to - timedelta(days=29)))
    with page.expect_navigation():
        page.click("#report-form button[type=submit]")
    month = shown_total(page)
    assert 0 < month < half_year

    with page.expect_download() as download:
        page.click("#report-csv")
    path = download.value.path()
    assert path is not None
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0] == ["section", "row", "column", "value"]
    # The same figures as the page: its total is the file's.
    assert ["kind_by_source", "total", "total", str(month)] in rows, rows[:8]
    assert not axe_violations(page)


def test_the_public_dashboard_passes_axe_with_and_without_javascript(
        server: Server, new_context: NewContext) -> None:
    page = new_context().new_page()
    page.goto(server.url("/dashboard/"))
    expect(page.locator("h1")).to_be_visible()
    assert "police" in page.inner_text("main").lower()
    violations = axe_violations(page)
    assert not violations, violations

    plain = new_context(java_script_enabled=False).new_page()
    plain.goto(server.url("/dashboard/"))
    assert plain.locator("table").count() >= 1
    assert "<11" in plain.inner_text("main") or plain.locator("td").count() > 0


def test_the_printable_report_prints_to_a_pdf_without_the_console(
        server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=DESK).new_page()
    login(page, server, "coordinator", "/reports/")
    with page.expect_navigation():
        page.click("#report-print")
    page.wait_for_selector("canvas")
    page.emulate_media(media="print")
    # What goes on paper: every table, no console menu.
    assert not page.locator("nav.top").is_visible()
    assert page.locator("table").count() >= 4
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 2
