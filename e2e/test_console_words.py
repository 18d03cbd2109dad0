"""The console in words, local time and Spanish (issue 13, item 11), in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from e2e.conftest import NewContext, Server, login

DESK = {"width": 1280, "height": 800}


def test_the_console_switches_to_spanish_and_counts_offers_down(server: Server,
                                                                 new_context: NewContext) -> None:
    opened = server.open_incident()
    console = new_context(viewport=DESK).new_page()
    login(console, server, "dispatcher", f"/console/incidents/{opened['id']}/")
    expect(console.locator("#timeline li").first).to_contain_text("Request opened")

    console.select_option("#language-switch", "es")
    with console.expect_navigation():
        console.click("nav.top form[action$='/setlang/'] button[type=submit]")
    expect(console.locator("h2", has_text="Cronología")).to_be_visible()
    expect(console.locator("#timeline li").first).to_contain_text("Solicitud abierta")
    expect(console.locator("#to option[value=ems]")).to_have_text("una ambulancia")
    # A pending offer's expiry reads "en N s" and keeps counting (live.js), in Spanish.
    expiry = console.locator("#incident-live td time[data-relative]").first
    expect(expiry).to_have_text(re.compile(r"^en \d+ (s|min)$"))
    first = expiry.inner_text()
    expect(expiry).not_to_have_text(first)
    # Its clock time, in the organization's zone, is one hover away.
    assert re.fullmatch(r"\d\d:\d\d:\d\d", expiry.get_attribute("title") or "")

    console.goto(server.url("/console/"))
    expect(console.locator("#queue-title")).to_have_text("Incidentes activos")
    row = console.locator(f"#queue tr[data-incident='{opened['id']}']")
    expect(row).not_to_contain_text("dispatching")
    opened_ago = re.compile(r"^(ahora|hace \d+ (s|min))$")
    expect(row.locator("time[data-relative]")).to_have_text(opened_ago)
