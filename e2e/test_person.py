"""What the person who asked for help sees while nobody has accepted (issue 13): the
truth at each stage, live, and what they can do themselves, one tap away."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from e2e.conftest import NewContext, Server, login, mark, still_marked, wait_live

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}


def test_the_status_page_tells_the_person_an_ambulance_was_requested_live(
        server: Server, new_context: NewContext) -> None:
    opened = server.open_incident()
    person = new_context(viewport=PHONE).new_page()
    person.goto(server.url(urlsplit(opened["status_url"]).path))
    wait_live(person)
    mark(person)
    message = person.locator("#status-message")
    expect(message).not_to_have_attribute("data-stage", "ambulance_requested")
    # While nobody has accepted: what they can do now, and the number is theirs to call.
    call = person.locator("#call-emergency")
    expect(call).to_be_visible()
    assert call.get_attribute("href") == "tel:112"
    box = call.bounding_box()
    assert box is not None and box["height"] >= 44, box  # one thumb away

    console = new_context(viewport=DESK).new_page()
    login(console, server, "dispatcher", f"/console/incidents/{opened['id']}/")
    console.select_option("#to", "ems")
    console.get_by_role("button", name="Escalate").click()

    expect(message).to_have_attribute("data-stage", "ambulance_requested")
    expect(message).to_have_text("Our dispatcher has been asked to call an ambulance to you.")
    expect(message).to_have_class("notice")
    expect(call).to_be_visible()
    assert still_marked(person), "the status page reloaded instead of updating"
    assert "police" not in (person.locator("#status-live").inner_text()).lower()
