"""A community drug alert from a report to everyone's screen (issue 16): a coordinator
draws an area on the map, reviews an anonymous report, drafts an alert from it and
publishes it; the alert appears, without a reload, on the public /alerts/ page and on
the app of a responder on shift in its area (after the worker's fan-out, which runs
inside `spotline run`).

The two-person rule is off (the default), so the coordinator who wrote the draft
publishes it; the rule itself is tested in spotline/console/tests/test_console_alerts.py.
"""

from __future__ import annotations

import subprocess
import sys

from playwright.sync_api import Page, expect

from e2e.conftest import (
    CENTRE,
    HANG_SECONDS,
    ROOT,
    NewContext,
    Server,
    env_for,
    login,
    mark,
    still_marked,
    wait_live,
)

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
WORDS = "Pink powder sold as heroin, two friends would not wake up"
AREA = "Rautatientori"  # drawn by the test (the demo has Keskusta, Kallio, Töölö)

# The report, as it comes in by text or the web form: anonymous, an area, the hour.
REPORT = f"""
from django.utils import timezone
from spotline.alerts.actions.reports import report_receive
from spotline.alerts.models import Area
area = Area.objects.get(name={AREA!r})
report = report_receive(source="web", now=timezone.now(), substance="xylazine",
                        looked_like="pink powder", what_happened={WORDS!r}, area_id=area.pk)
print("report", report.pk)
"""


def receive_report(server: Server) -> int:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "spotline", "shell", "-c", REPORT],
        cwd=ROOT, env=env_for(server.data_dir), capture_output=True, text=True,
        timeout=HANG_SECONDS, check=False,
    )
    assert done.returncode == 0 and "report " in done.stdout, done.stdout + done.stderr
    return int(done.stdout.split("report ")[1].split()[0])


def click_map_at(page: Page, lat: float, lon: float) -> None:
    """A real click on the areas map where (lat, lon) is drawn."""
    x, y = page.evaluate("""([lat, lon]) => {
        const map = document.getElementById("area-map").spotlineMap;
        const p = map.latLngToContainerPoint([lat, lon]);
        return [p.x, p.y];
    }""", [lat, lon])
    page.locator("#area-map").click(position={"x": x, "y": y})


def draw_area(page: Page, server: Server, name: str) -> None:
    """Draw a box of about 2 by 2 km around the centre, corner by corner."""
    page.goto(server.url("/console/areas/"))
    page.evaluate("""([lat, lon]) => document.getElementById("area-map").spotlineMap
                     .setView([lat, lon], 13, {animate: false})""", list(CENTRE))
    lat, lon = CENTRE
    for dlat, dlon in ((-0.01, -0.02), (-0.01, 0.02), (0.01, 0.02), (0.01, -0.02)):
        click_map_at(page, lat + dlat, lon + dlon)
    expect(page.locator("#area-drawn")).to_contain_text("4")
    assert '"Polygon"' in page.locator("#id_geojson").input_value()
    page.fill("#id_name", name)
    page.fill("#id_aliases", "00101")
    with page.expect_navigation():
        page.click("#area-form button[type=submit]")
    expect(page.locator("#area-list")).to_contain_text(name)


def test_a_reviewed_report_becomes_an_alert_seen_live_by_the_public_and_a_responder(
        server: Server, new_context: NewContext) -> None:
    coordinator = new_context(viewport=DESK).new_page()
    login(coordinator, server, "coordinator", "/console/")
    expect(coordinator.locator("#nav-alerts")).to_be_visible()
    draw_area(coordinator, server, AREA)
    report_id = receive_report(server)

    # The public page and Sam's app (on shift near the centre), both live, no alert yet.
    public = new_context(viewport=PHONE).new_page()
    public.goto(server.url("/alerts/"))
    wait_live(public)
    expect(public.locator("#alerts-list li[data-alert-id]")).to_have_count(0)
    mark(public)
    sam = new_context(viewport=PHONE).new_page()
    login(sam, server, "sam", "/responder/")
    wait_live(sam)
    expect(sam.locator("#responder-alerts")).to_contain_text("Drug alerts in your area")
    expect(sam.locator("#responder-alerts li[data-alert-id]")).to_have_count(0)
    mark(sam)

    # The coordinator reads the report (the person's words) and drafts from it.
    coordinator.click("#nav-alerts")
    report = coordinator.locator(f'article[data-report="{report_id}"]')
    expect(report).to_contain_text(WORDS)
    expect(report).to_contain_text(AREA)
    report.locator("input[name=report]").check()
    with coordinator.expect_navigation():
        coordinator.click("#draft-from-reports button")
    expect(coordinator.locator("#id_substance")).to_have_value("xylazine")
    expect(coordinator.locator("#alert-form").get_by_label(AREA, exact=True)).to_be_checked()
    expect(coordinator.locator(f'#alert-form input[name=reports][value="{report_id}"]')
           ).to_be_checked()
    # The substance's usual advice is ticked; changing the substance changes it.
    expect(coordinator.locator("#advice input[value=wound_care]")).to_be_checked()
    coordinator.select_option("#id_substance", "fentanyl")
    expect(coordinator.locator("#advice input[value=wound_care]")).not_to_be_checked()
    coordinator.select_option("#id_substance", "xylazine")
    coordinator.locator("#alert-form input[name=signs][value=heavy_sedation]").check()
    coordinator.fill("#id_text", "Pink powder sold as heroin: heavy sedation that naloxone "
                                 "does not reverse.")
    with coordinator.expect_navigation():
        coordinator.click("#save-draft")
    draft = coordinator.locator("article[data-draft]")
    expect(draft).to_have_count(1)
    alert_id = draft.get_attribute("data-draft")
    with coordinator.expect_navigation():
        draft.locator("form[action$='/publish/'] button").click()
    expect(coordinator.locator("main [role=status]")).to_contain_text("published")
    expect(coordinator.locator(f'#alerts-current article[data-alert="{alert_id}"]')
           ).to_have_attribute("data-status", "published")

    # Live on the public page, and (once the worker fanned it out) on Sam's app.
    expect(public.locator(f'#alerts-list li[data-alert-id="{alert_id}"]')).to_be_visible()
    assert still_marked(public), "the public page reloaded instead of updating live"
    expect(sam.locator(f'#responder-alerts li[data-alert-id="{alert_id}"]')).to_be_visible()
    expect(sam.locator(f'#responder-alerts a[href="/alerts/{alert_id}/"]')).to_be_visible()
    assert still_marked(sam), "the responder's app reloaded instead of updating live"

    # The console shows the fan-out done in the alert's timeline.
    expect(coordinator.locator(f'article[data-alert="{alert_id}"] .alert-fanout li')
           .first).to_have_attribute("data-fanout-done", "1")
