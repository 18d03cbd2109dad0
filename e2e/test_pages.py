"""The pages in a real browser: without JavaScript, in Spanish, on a tight data budget,
through a server restart, without map tiles, with axe-core, and from the keyboard."""


from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Page, Request, expect

from e2e.conftest import (
    WAIT_MS,
    NewContext,
    Server,
    http,
    inject_axe,
    login,
    mark,
    still_marked,
    wait_live,
)

DESK = {"width": 1280, "height": 800}
RECONNECT_MAX_MS = 15_000  # live.js's longest back-off between reconnection tries
PAGE_BUDGET = 100_000  # bytes transferred by the first load of the help page

# Notes, in the page, that live.js saw its WebSocket close (it drops the body attribute).
NOTICE_DROP = """() => {
  window.__dropped = false;
  new MutationObserver(() => {
    if (!document.body.hasAttribute('data-live-connected')) window.__dropped = true;
  }).observe(document.body, {attributes: true, attributeFilter: ['data-live-connected']});
}"""


def wait_for(condition: Callable[[], bool], page: Page) -> None:
    """Until ``condition()`` (set by the page's event handlers, which run while Playwright
    waits), for at most WAIT_MS: a hang guard, where a fixed sleep would fail a test on
    a busy machine whose browser reports late."""
    for _ in range(WAIT_MS // 100):
        if condition():
            return
        page.wait_for_timeout(100)


def test_it_serves_every_script_and_stylesheet_the_pages_use(
        server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=DESK).new_page()
    broken: list[str] = []
    page.on("response", lambda r: broken.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    page.goto(server.url("/"), wait_until="load")
    login(page, server, "dispatcher", "/console/")
    page.wait_for_load_state("load")
    login(page, server, "sam", "/responder/")
    page.wait_for_load_state("load")
    assert not broken, broken


def test_it_takes_a_request_with_javascript_off(server: Server,
                                                 new_context: NewContext) -> None:
    page = new_context(java_script_enabled=False).new_page()
    page.goto(server.url("/"))
    expect(page.locator("#geo")).to_be_hidden()  # no GPS button without JavaScript
    page.check("input[name=kind][value=overdose]")
    page.fill("#id_where", "Outside the main door of Kamppi Centre")
    with page.expect_navigation():
        page.click("#send")
    assert "/t/" in page.url, page.url
    message = page.locator("#status-message")
    expect(message).not_to_be_empty()
    expect(message).to_contain_text("responder")
    # Without JavaScript the page refreshes itself (and offers a still page to write on).
    expect(page.locator("head noscript")).to_have_count(1)
    expect(page.locator("head noscript meta[http-equiv=refresh]")).to_have_count(1)


def test_it_speaks_spanish_to_a_spanish_browser(server: Server,
                                                new_context: NewContext) -> None:
    page = new_context(locale="es-ES").new_page()
    page.goto(server.url("/"))
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).to_contain_text("Pedir ayuda")
    expect(page.locator("#send")).not_to_have_text("Send help")


def test_it_switches_to_spanish_on_request(server: Server, new_context: NewContext) -> None:
    page = new_context(locale="en-US").new_page()
    page.goto(server.url("/"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    with page.expect_navigation():
        page.locator("#language-es").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#language-en")).to_have_text("English")  # the way back
    expect(page.locator("h1")).to_contain_text("Pedir ayuda")
    # Remembered: the next visit is in Spanish too.
    page.goto(server.url("/"))
    expect(page.locator("html")).to_have_attribute("lang", "es")


def test_it_keeps_the_help_page_under_100_kb(server: Server, new_context: NewContext) -> None:
    page = new_context().new_page()
    finished: list[Request] = []
    page.on("requestfinished", lambda r: finished.append(r))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))
    bodies: list[int] = []
    page.on("response", lambda r: bodies.append(len(r.body())) if r.ok else None)
    page.goto(server.url("/"), wait_until="load")
    page.wait_for_load_state("networkidle")
    transferred = 0
    for request in finished:
        sizes = request.sizes()
        transferred += sizes["responseHeadersSize"] + sizes["responseBodySize"]
    print(json.dumps({"help_page_first_load": {
        "requests": [r.url.removeprefix(server.base) for r in finished],
        "transferred_bytes": transferred, "decoded_body_bytes": sum(bodies)}}))
    assert finished, "no request finished"
    for request in finished:
        response = request.response()
        if response is None or not response.ok:
            failed.append(f"{response.status if response else '-'} {request.url}")
    assert not failed, f"the help page's first load had failures: {failed}"
    assert transferred < PAGE_BUDGET, f"{transferred} bytes transferred"
    assert sum(bodies) < PAGE_BUDGET, f"{sum(bodies)} bytes of response bodies"


def test_it_reconnects_after_the_server_restarts(server: Server,
                                                 new_context: NewContext) -> None:
    opened = server.open_incident()
    page = new_context().new_page()
    page.goto(opened["status_url"])
    wait_live(page)
    mark(page)
    page.evaluate(NOTICE_DROP)

    server.restart()
    # The page noticed the drop, then connected again by itself.
    # A function, not an expression string: Playwright evaluates strings with eval(),
    # which the page's CSP (rightly) refuses.
    page.wait_for_function("() => window.__dropped === true && "
                           "document.body.hasAttribute('data-live-connected')",
                           timeout=RECONNECT_MAX_MS + WAIT_MS)

    status, body = http(server.url(f"/api/v1/track/{opened['tracking_token']}/cancel"),
                        body={})
    assert status == 200, body
    expect(page.locator("#status-message")).to_contain_text("cancelled")
    assert still_marked(page), "the status page reloaded instead of updating"


def test_it_shows_markers_when_map_tiles_fail(server: Server,
                                             new_context: NewContext) -> None:
    server.open_incident()
    page = new_context(viewport=DESK).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed_tiles: list[str] = []
    page.on("requestfailed",
            lambda r: failed_tiles.append(r.url) if r.url.startswith("http://127.0.0.1:9/")
            else None)
    login(page, server, "dispatcher", "/console/")
    wait_live(page)
    incidents = page.locator("#queue tr[data-incident][data-lat]").count()
    responders = page.locator("#roster tr[data-responder][data-lat]").count()
    assert incidents >= 1 and responders >= 1
    expect(page.locator("#console-map .leaflet-marker-icon")).to_have_count(incidents)
    expect(page.locator("#console-map .responder-marker")).to_have_count(responders)
    wait_for(lambda: bool(failed_tiles), page)
    assert failed_tiles, "the map asked for no tiles at all"
    assert page.locator("#console-map .leaflet-tile-loaded").count() == 0
    assert not errors, errors


def axe_violations(page: Page) -> list[dict[str, Any]]:
    inject_axe(page)
    result = page.evaluate("""async () => {
      const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}});
      return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary}))}));
    }""")
    return list(result)


def test_it_passes_axe_on_all_three_interfaces(server: Server,
                                               new_context: NewContext) -> None:
    opened = server.open_incident()
    found: dict[str, list[dict[str, Any]]] = {}

    person = new_context().new_page()
    person.goto(server.url("/"))
    found["/"] = axe_violations(person)
    for path in ("/alerts/", "/alerts/report"):
        person.goto(server.url(path))
        found[path] = axe_violations(person)
    person.goto(opened["status_url"])
    wait_live(person)
    found["status page"] = axe_violations(person)

    console = new_context(viewport=DESK).new_page()
    login(console, server, "dispatcher", "/console/")
    wait_live(console)
    console.wait_for_selector("#console-map .leaflet-marker-icon")
    found["/console/"] = axe_violations(console)
    detail = (console.locator("#queue tr[data-incident][data-lat]").first
              .get_attribute("data-href"))
    assert detail
    console.goto(server.url(detail))
    wait_live(console)
    console.wait_for_selector("#console-map .leaflet-marker-icon")
    found["console incident detail"] = axe_violations(console)

    responder = new_context().new_page()
    login(responder, server, "sam", "/responder/")
    wait_live(responder)
    found["/responder/"] = axe_violations(responder)

    coordinator = new_context(viewport=DESK).new_page()
    login(coordinator, server, "coordinator", "/console/alerts/")
    found["/console/alerts/"] = axe_violations(coordinator)
    for path in ("/console/alerts/new/", "/console/areas/"):
        coordinator.goto(server.url(path))
        found[path] = axe_violations(coordinator)

    report = []
    for where, violations in found.items():
        for v in violations:
            report.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}")
            report.extend(f"    {n['target']}: {n['summary']}" for n in v["nodes"])
    if report:
        print("\n".join(report))
    assert not report, "axe found WCAG 2 A/AA violations:\n" + "\n".join(report)


def test_it_opens_the_first_incident_with_j_then_enter(server: Server,
                                                       new_context: NewContext) -> None:
    server.open_incident()
    page = new_context(viewport=DESK).new_page()
    login(page, server, "dispatcher", "/console/")
    wait_live(page)
    # Once its socket opens, the page re-fetches its regions (live.js) and may re-render
    # the queue at any moment, before or after the keys: the selection follows the
    # incident, not the row, so whichever row "j" selected is the one Enter opens.
    page.keyboard.press("j")
    selected = page.locator("#queue tbody tr.selected")
    expect(selected).to_have_count(1)
    first = selected.get_attribute("data-href")
    assert first
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == server.url(first), page.url


def test_the_selection_follows_its_incident_through_a_live_update(
        server: Server, new_context: NewContext) -> None:
    chosen = str(server.open_incident(kind="other", breathing="unknown")["id"])  # a P3
    page = new_context(viewport=DESK).new_page()
    login(page, server, "dispatcher", "/console/")
    wait_live(page)
    rows = page.locator("#queue tbody tr")
    selected = page.locator("#queue tbody tr.selected")
    ids = [rows.nth(i).get_attribute("data-incident") for i in range(rows.count())]
    assert chosen in ids, ids
    for _ in range(ids.index(chosen) + 1):
        page.keyboard.press("j")
    expect(selected).to_have_attribute("data-incident", chosen)
    index_before = ids.index(chosen)
    # A P1 re-renders the queue live and sorts ahead of the P3: the row at the selected
    # index is now another incident, and the selection moves with its incident.
    server.open_incident()
    expect(rows).to_have_count(len(ids) + 1)
    expect(selected).to_have_count(1)
    expect(selected).to_have_attribute("data-incident", chosen)
    expect(selected).to_have_attribute("aria-selected", "true")
    assert rows.nth(index_before).get_attribute("data-incident") != chosen


def test_it_runs_every_main_page_under_a_strict_csp_without_violations(
        server: Server, new_context: NewContext, csp_violations: list[str]) -> None:
    """The pages, their scripts, Leaflet's maps (with tiles from the configured host)
    and the live WebSocket all work under the policy; `new_context` fails the test on
    any reported violation, and this test proves that detector works."""
    opened = server.open_incident()
    policies: dict[str, str] = {}

    def visit(page: Page, path: str) -> None:
        response = page.goto(server.url(path))
        assert response is not None and response.ok, path
        policies[path] = response.headers.get("content-security-policy", "")

    person = new_context().new_page()
    for path in ("/alerts/", "/alerts/report", "/alerts/unsubscribe/", "/", "/checkin/",
                 "/transparency/", "/accounts/login/", "/api/docs"):
        visit(person, path)
    person.wait_for_selector("#swagger-ui .info")  # the API docs render from our files
    visit(person, urlsplit(opened["status_url"]).path)
    wait_live(person)

    console = new_context(viewport=DESK).new_page()
    login(console, server, "dispatcher", "/console/")
    wait_live(console)
    console.wait_for_selector("#console-map .leaflet-marker-icon")
    policies["/console/"] = "seen"
    for path in ("/console/new/", "/console/sms/", f"/console/incidents/{opened['id']}/"):
        visit(console, path)
    console.wait_for_selector("#console-map .leaflet-marker-icon")
    coordinator = new_context(viewport=DESK).new_page()
    login(coordinator, server, "coordinator", "/console/setup/")
    for path in ("/console/alerts/", "/console/alerts/new/", "/console/alerts/drug-check/",
                 "/console/areas/"):
        visit(coordinator, path)
    coordinator.wait_for_selector(".leaflet-container")  # the area map draws
    responder = new_context().new_page()
    login(responder, server, "sam", "/responder/")
    wait_live(responder)
    for page in (person, console, coordinator, responder):
        page.wait_for_timeout(300)  # let late violations (tiles, sockets) arrive

    for path, policy in policies.items():
        if policy != "seen":
            assert "script-src 'self'" in policy and "style-src 'self'" in policy, path
            assert "img-src 'self' data: http://127.0.0.1:9" in policy, path
    assert csp_violations == [], csp_violations

    # The detector works: a style attribute in markup is blocked and reported.
    person.evaluate("document.body.insertAdjacentHTML('beforeend', "
                    "'<p id=\"csp-probe\" style=\"color: red\">x</p>')")
    # It comes twice, in either order: from our listener (CSP_WATCH) and from Chromium's
    # console. Both are waited for, so that neither arrives after the clear below.
    def ours() -> bool:
        return any(v.startswith("csp-violation: style-src") for v in csp_violations)

    def chromiums() -> bool:
        return any("Content Security Policy" in v and "style-src" in v
                   for v in csp_violations)

    wait_for(lambda: ours() and chromiums(), person)
    assert ours(), csp_violations
    csp_violations.clear()
