"""The console's place tools in a real browser (issue 14): the dispatcher finds an
address, clicks the map there to move the point, and the offers re-rank to the
responders nearest the new place. A hotline caller's place comes from a search or a
click, never from typed numbers."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from e2e.conftest import CENTRE, NewContext, Server, login, wait_live
from e2e.test_pages import axe_violations
from spotline.core.geo import Mode, Point, StraightLineEstimator
from spotline.core.triage import REQUIRED_SKILLS, Kind

DESK = {"width": 1280, "height": 900}
ADDRESS = "Siltasaarenkatu 12"  # by Hakaniemi, about 1.1 km north-east of CENTRE
OFFERS_PER_ROUND = 3  # a P1 overdose (core.policy.DEFAULT_POLICY)


def nearest(page: Page, at: Point) -> set[str]:
    """Who a round from ``at`` should offer to: the qualified responders on shift and
    free, fastest there first (dispatch's own straight-line estimate, default speeds)."""
    roster = json.loads(page.request.get(page.url.split("/console/")[0]
                                         + "/api/v1/responders").text())
    needed = {s.value for s in REQUIRED_SKILLS[Kind.OVERDOSE]}
    eta = StraightLineEstimator()
    able = [r for r in roster if r["on_shift"] and r["lat"] is not None
            and needed <= set(r["skills"]) and r["incident_id"] is None]
    able.sort(key=lambda r: eta.eta_seconds(Point(r["lat"], r["lon"]), at, Mode(r["mode"])))
    return {r["alias"] for r in able[:OFFERS_PER_ROUND]}


def pending_names(page: Page) -> set[str]:
    rows = page.locator("#incident-live table tbody tr", has_text="waiting for an answer")
    return {row.locator("td").nth(1).inner_text().strip() for row in rows.all()}


def click_map_at(page: Page, lat: float, lon: float) -> None:
    """A real click on the map where (lat, lon) is drawn."""
    x, y = page.evaluate("""([lat, lon]) => {
        const map = document.getElementById("console-map").spotlineMap;
        map.setView([lat, lon], 16, {animate: false});
        const p = map.latLngToContainerPoint([lat, lon]);
        return [p.x, p.y];
    }""", [lat, lon])
    page.locator("#console-map").click(position={"x": x, "y": y})


def test_the_dispatcher_finds_an_address_clicks_the_map_and_the_offers_re_rank(
        server: Server, new_context: NewContext) -> None:
    opened = server.open_incident(breathing="no")
    console = new_context(viewport=DESK).new_page()
    login(console, server, "dispatcher", f"/console/incidents/{opened['id']}/")
    wait_live(console)
    before = nearest(console, Point(*CENTRE))
    expect(console.locator("#incident-live")).to_contain_text("waiting for an answer")
    assert pending_names(console) == before

    # 1. Find the address: places appear as the dispatcher types (from the API).
    console.fill("#place-q", ADDRESS.lower())
    found = console.locator("#place-results li", has_text=ADDRESS).first
    expect(found).to_be_visible()
    lat = float(found.locator("input[name=lat]").input_value())
    lon = float(found.locator("input[name=lon]").input_value())
    after = nearest(console, Point(lat, lon))
    assert after != before  # the test would prove nothing otherwise

    # 2. Click the map there: a proposed point, then the confirm button.
    click_map_at(console, lat, lon)
    confirm = console.locator("#map-pick")
    expect(confirm).to_be_visible()
    picked = Point(float(console.input_value("#map-pick-lat")),
                   float(console.input_value("#map-pick-lon")))
    assert abs(picked.lat - lat) < 0.0005 and abs(picked.lon - lon) < 0.0005
    console.click("#map-pick-confirm")
    expect(console.locator("#toast")).to_have_text("Place set.")
    expect(confirm).to_be_hidden()

    # 3. The page follows live: the point, how it was found, and the offers re-ranked.
    expect(console.locator("#location-status")).to_contain_text("picked on the map")
    expect(console.locator("#timeline")).to_contain_text("the place was set or moved")
    console.wait_for_function(
        """(names) => {
            const rows = [...document.querySelectorAll("#incident-live table tbody tr")]
                .filter(r => r.textContent.includes("waiting for an answer"));
            const got = rows.map(r => r.cells[1].textContent.trim()).sort();
            return JSON.stringify(got) === JSON.stringify(names);
        }""", arg=sorted(after))
    assert pending_names(console) == after
    where = console.locator("#where")
    assert abs(float(where.get_attribute("data-lat") or 0) - picked.lat) < 1e-5


def test_a_hotline_callers_place_comes_from_a_search_never_typed_numbers(
        server: Server, new_context: NewContext) -> None:
    console = new_context(viewport=DESK).new_page()
    login(console, server, "dispatcher", "/console/new/")
    # No coordinate boxes to type into: only hidden fields the map or a search fill.
    assert console.locator("#caller-form input[name=lat]").get_attribute("type") == "hidden"
    assert console.locator("#caller-form input[name=lon]").get_attribute("type") == "hidden"
    console.select_option("#id_kind", "overdose")
    console.select_option("#id_breathing", "no")
    console.fill("#id_where", "kiasma")
    suggestion = console.locator("#place-results li", has_text="Kiasma").first
    suggestion.get_by_role("button").click()
    expect(console.locator("#place-chosen")).to_contain_text("Kiasma")
    assert console.input_value("#caller-form input[name=located_by]") == "words"
    with console.expect_navigation():
        console.click("#open-incident")
    expect(console.locator("#location-status")).to_contain_text("approximate")
    expect(console.locator("#where")).to_contain_text("kiasma")
    expect(console.locator("#console-map path.approx-circle")).to_have_count(1)


def test_a_place_not_known_is_red_in_the_queue_with_its_words_and_axe_clean(
        server: Server, new_context: NewContext) -> None:
    words = "under the bridge by the old tram depot, the side with the murals"
    opened = server.open_incident(location={"description": words})
    console = new_context(viewport=DESK).new_page()
    login(console, server, "dispatcher", "/console/")
    wait_live(console)
    row = console.locator(f"#queue tr[data-incident='{opened['id']}']")
    unknown = row.locator(".location-unknown")
    expect(unknown).to_have_text("location unknown")
    # Red (--red), read from the live document: a push may re-render the row meanwhile.
    console.wait_for_function("""(sel) => {
        const e = document.querySelector(sel);
        return e !== null && getComputedStyle(e).color === "rgb(161, 0, 28)";
    }""", arg=f"#queue tr[data-incident='{opened['id']}'] .location-unknown")
    expect(row).to_contain_text("under the bridge by the old tram")
    expect(row).not_to_contain_text(words)  # truncated
    assert axe_violations(console) == []  # colour contrast included

    console.goto(server.url(f"/console/incidents/{opened['id']}/"))
    expect(console.locator("#location-status")).to_have_text("location unknown")
    console.fill("#place-q", "aleksanterinkatu 52")
    expect(console.locator("#place-results li").first).to_contain_text("Aleksanterinkatu 52")
    click_map_at(console, CENTRE[0], CENTRE[1])
    expect(console.locator("#map-pick")).to_be_visible()
    assert axe_violations(console) == []
    console.goto(server.url("/console/new/"))
    console.fill("#id_where", "kiasma")
    expect(console.locator("#place-results li").first).to_contain_text("Kiasma")
    assert axe_violations(console) == []
