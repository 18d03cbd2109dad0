"""The planner's page in a real browser (issue 18): a coordinator uploads a tiny export,
the server's own worker runs it in a child process while the page shows its progress,
and the report opens under its script-free policy. The page passes axe, and works
without JavaScript (it refreshes itself)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.conftest import HANG_SECONDS, NewContext, Server, login
from e2e.test_pages import DESK, axe_violations

TYPES = ("WELFARE CITIZEN", "OVERDOSE", "SUBJ WITH MENTAL ILLNESS", "BATTERY",
         "TRAFFIC STOP", "SICK PERSON")


def tiny_csv(rows: int = 60) -> bytes:
    """Made-up calls in Milwaukee's shape, over six days."""
    lines = ["time,nature,latitude,longitude"]
    lines += [f"2018-05-{1 + i // 10:02d} {i % 24:02d}:{i * 7 % 60:02d}:00,"
              f"{TYPES[i % len(TYPES)]},{43.03 + (i * 37 % 50) / 1000:.5f},"
              f"{-87.95 + (i * 23 % 50) / 1000:.5f}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def upload(page: Page) -> None:
    page.set_input_files("#id_calls", files=[{
        "name": "milwaukee-tiny.csv", "mimeType": "text/csv", "buffer": tiny_csv()}])
    page.fill("#id_time", "time")
    page.fill("#id_type", "nature")
    page.fill("#id_lat", "latitude")
    page.fill("#id_lon", "longitude")
    page.fill("#id_responders", "2")
    page.fill("#id_max_responders", "3")
    page.fill("#id_sample", "")
    with page.expect_navigation():
        page.click("#plan-upload")


def test_a_coordinator_uploads_calls_and_reads_the_report(
        server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=DESK).new_page()
    login(page, server, "coordinator", "/planner/")
    expect(page.locator("h1")).to_have_text("Planner")
    violations = axe_violations(page)
    assert not violations, violations

    upload(page)
    assert re.search(r"/planner/\d+/$", page.url), page.url
    expect(page.locator("main [role=status]").first).to_contain_text("Uploaded")
    # The page's script polls status.json and reloads when the run ends.
    expect(page.locator("#plan-report")).to_be_visible(timeout=HANG_SECONDS * 1000)
    assert page.locator("#plan-error").count() == 0
    assert page.locator("#plan-files li").count() >= 5
    violations = axe_violations(page)
    assert not violations, violations

    page.click("#plan-report")
    page.wait_for_load_state()
    assert page.url.endswith("/files/report.html")
    assert page.locator("img").count() >= 1  # the plots, embedded
    assert page.locator("table").count() >= 3  # every plot with its table

    # The list shows the run as done, with no bar left.
    page.goto(server.url("/planner/"))
    row = page.locator("#plan-jobs tbody tr").first
    expect(row).to_contain_text("Done")
    assert row.locator("progress").count() == 0


def test_the_page_works_without_javascript(server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=DESK, java_script_enabled=False).new_page()
    login(page, server, "coordinator", "/planner/")
    upload(page)
    assert re.search(r"/planner/\d+/$", page.url), page.url
    # A <noscript> refresh takes its place: reload as it would until the run ends.
    for _ in range(int(HANG_SECONDS)):
        if page.locator("#plan-report, #plan-error").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(page.locator("#plan-report")).to_be_visible()
    with page.expect_navigation():
        page.click("#plan-delete button")
    expect(page.locator("main [role=status]").first).to_contain_text("Deleted")
