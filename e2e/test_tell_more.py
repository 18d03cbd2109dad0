"""Sending first, asking after (issue 13, item 7): a request sent with nothing but the
kind and the place is asked the rest on its status page, and "not breathing" there
raises the priority the dispatcher sees, live. With JavaScript and without."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from e2e.conftest import NewContext, Server, http, login, mark, still_marked, wait_live

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}


def send_without_answers(page: Page, server: Server) -> str:
    """The help page's first screen only: a big choice, the place, Send. The token."""
    page.goto(server.url("/"))
    page.locator("label.choice", has_text="Mental health crisis").click()
    page.fill("#id_where", "bench by the fountain, north side")
    with page.expect_navigation():
        page.locator("#send").click()
    path = urlsplit(page.url).path
    assert path.startswith("/t/"), page.url
    return path.split("/")[2]


def priority(server: Server, token: str) -> str:
    status, raw = http(server.url(f"/api/v1/track/{token}"))
    assert status == 200, raw
    return str(json.loads(raw)["priority"])


def test_not_breathing_told_after_sending_raises_the_priority_on_the_console(
        server: Server, new_context: NewContext) -> None:
    console = new_context(viewport=DESK).new_page()
    login(console, server, "dispatcher", "/console/")
    wait_live(console)
    before = set(console.locator("#queue tr[data-incident]").evaluate_all(
        "rows => rows.map(r => r.dataset.incident)"))
    mark(console)

    person = new_context(viewport=PHONE).new_page()
    token = send_without_answers(person, server)
    more = person.locator("#more")
    expect(more.get_by_role("heading", name="Tell us more (optional)")).to_be_visible()
    expect(more.locator("legend")).to_have_text(["Are they breathing?",
                                                 "Are they awake and answering?",
                                                 "Is anyone in danger right now?"])
    # A phone's width, and every target a thumb can hit.
    width = person.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the status page is {width} px wide"
    too_small = person.evaluate("""() => [...document.querySelectorAll(
        '#more-form label.choice, #more-form button, #more-form textarea')]
        .filter(e => e.getBoundingClientRect().height < 44)
        .map(e => e.outerHTML.slice(0, 80))""")
    assert too_small == [], too_small

    # The console has the new request, at P2 (a mental-health crisis, nothing known).
    rows = console.locator("#queue tr[data-incident]")
    expect(rows).to_have_count(len(before) + 1)
    new = set(rows.evaluate_all("rows => rows.map(r => r.dataset.incident)")) - before
    (incident,) = new
    row = console.locator(f"#queue tr[data-incident='{incident}']")
    expect(row).to_have_attribute("data-priority", "P2")

    wait_live(person)
    person.locator("label.choice", has=person.locator("input[name=breathing][value=no]")
                   ).click()  # not breathing
    person.fill("#more_details", "lips are going blue")
    with person.expect_navigation():
        person.locator("#more-send").click()
    expect(person.locator("#more-thanks")).to_be_visible()
    expect(person.locator("#more legend")).to_have_text(["Are they awake and answering?",
                                                         "Is anyone in danger right now?"])

    # The console shows it by itself: P1 in the queue, and the answers on the incident.
    expect(row).to_have_attribute("data-priority", "P1")
    assert still_marked(console), "the console reloaded to show the new priority"
    assert priority(server, token) == "P1"
    console.goto(server.url(f"/console/incidents/{incident}/"))
    expect(console.locator("h1")).to_have_text(
        f"Incident {incident}: mental-health crisis · P1")
    expect(console.locator("#incident-live")).to_contain_text("no / not known / not known")
    expect(console.locator("#incident-live")).to_contain_text("lips are going blue")
    expect(console.locator("#timeline")).to_contain_text(
        "The person told us more: priority P2 → P1")


def test_without_javascript_the_answers_go_by_a_plain_post(server: Server,
                                                           new_context: NewContext) -> None:
    person = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    token = send_without_answers(person, server)
    assert priority(server, token) == "P2"
    # Typing takes a while, and this page reloads itself without scripts: the form has
    # a page of its own that stays still.
    with person.expect_navigation():
        person.locator("#more-page").click()
    person.locator("label.choice", has=person.locator("input[name=conscious][value=no]")).click()
    person.fill("#more_details", "he fell and does not answer")
    with person.expect_navigation():
        person.locator("#more-send").click()
    assert urlsplit(person.url).path == f"/t/{token}/"
    expect(person.locator("#more-thanks")).to_be_visible()
    assert priority(server, token) == "P1"
