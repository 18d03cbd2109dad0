"""What the person who asked for help sees while nobody has accepted (issue 13): the
truth at each stage, live, and what they can do themselves, one tap away."""

from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from e2e.conftest import (
    CENTRE,
    HANG_SECONDS,
    ROOT,
    NewContext,
    Server,
    env_for,
    http,
    login,
    mark,
    still_marked,
    wait_live,
)

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


# Brings a check-in's pending deadline to now, as if the person had stayed silent that
# long; the server's own worker then fires it.
SILENCE = """
from django.utils import timezone
from spotline.checkins.models import CheckIn, CheckInDeadline
checkin = CheckIn.objects.get(pk=%d)
print("moved", CheckInDeadline.objects.filter(checkin=checkin, fired_at__isnull=True)
      .update(due_at=timezone.now()))
"""


def stay_silent(server: Server, checkin_id: int) -> None:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "spotline", "shell", "-c", SILENCE % checkin_id],
        cwd=ROOT, env=env_for(server.data_dir), capture_output=True, text=True,
        timeout=HANG_SECONDS, check=False)
    assert done.returncode == 0 and "moved 1" in done.stdout, done.stdout + done.stderr


def test_a_check_in_that_sent_help_can_be_called_off_after_a_confirm(
        server: Server, new_context: NewContext) -> None:
    status, raw = http(server.url("/api/v1/checkins"), body={
        "location": {"lat": CENTRE[0], "lon": CENTRE[1], "description": "Flat 3B"},
        "minutes": 5})
    assert status == 201, raw
    created = json.loads(raw)
    page = new_context(viewport=PHONE).new_page()
    page.goto(server.url(f"/c/{created['token']}/"))
    state = page.locator("#checkin-state")
    for next_state in ("asked", "warned", "escalated"):
        stay_silent(server, created["id"])
        expect(state).to_have_attribute("data-state", next_state)
    # Nobody has accepted yet: the page must not promise help is on the way.
    expect(page.locator("h1")).to_have_text("We are sending help")
    page.locator("#call-off").click()
    expect(page.locator("h1")).to_have_text("Cancel the help we sent?")
    page.locator("#call-off-keep").click()  # changed their mind: nothing happened
    expect(state).to_have_attribute("data-state", "escalated")
    page.locator("#call-off").click()
    page.locator("#call-off-confirm").click()
    expect(state).to_have_attribute("data-state", "ended")
    expect(state).to_contain_text("we called off the help we sent")
    status, raw = http(server.url(f"/api/v1/checkins/{created['token']}"))
    assert status == 200 and json.loads(raw)["status"] == "ended"


def send_help(page: Page) -> None:
    page.locator("label", has_text="Overdose").first.click()
    page.fill("#id_where", "behind the library, blue door")
    with page.expect_navigation():
        page.locator("#send").click()


def test_back_then_send_again_shows_the_first_request(server: Server,
                                                      new_context: NewContext) -> None:
    page = new_context(viewport=PHONE).new_page()
    page.goto(server.url("/"))
    send_help(page)
    first = page.url
    assert "/t/" in first
    page.go_back()
    expect(page.locator("#help-form")).to_be_visible()
    with page.expect_navigation():
        page.locator("#send").click()
    assert page.url == first, "sending the same form again opened a second request"


def test_cancel_asks_first_and_a_cancelled_request_can_be_asked_again(
        server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=PHONE).new_page()
    page.goto(server.url("/"))
    send_help(page)
    first = page.url
    page.locator("#cancel").click()
    expect(page.locator("h1")).to_have_text("Cancel your request for help?")
    page.locator("#cancel-keep").click()  # a stray tap: nothing was cancelled
    expect(page.locator("#status-message")).to_have_attribute("data-status", "dispatching")
    page.locator("#cancel").click()
    page.locator("#cancel-confirm").click()
    expect(page.locator("#status-message")).to_have_attribute("data-status", "cancelled")
    page.locator("#ask-again").click()
    expect(page.locator("#status-message")).to_have_attribute("data-status", "dispatching")
    assert page.url != first and "/t/" in page.url


def test_switching_language_keeps_the_form_and_the_status_page_switches_too(
        server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=PHONE).new_page()
    page.goto(server.url("/"))
    page.locator("label", has_text="Overdose").first.click()
    page.fill("#id_where", "behind the library, blue door")
    page.click("#more summary")  # the optional questions, under Send
    page.fill("#id_details", "took something green")
    with page.expect_navigation():
        page.locator("#language-es").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#id_where")).to_have_value("behind the library, blue door")
    expect(page.locator("#id_details")).to_have_value("took something green")
    expect(page.locator("input[name=kind][value=overdose]")).to_be_checked()
    with page.expect_navigation():
        page.locator("#send").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.select_option("#language-switch", "en")
    with page.expect_navigation():
        page.get_by_role("button", name="Cambiar idioma").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#status-message")).to_be_visible()


def test_the_transparency_page_fits_a_phone(server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=PHONE).new_page()
    page.goto(server.url("/transparency/"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"


def test_a_saved_plan_link_keeps_its_token_out_of_every_url_the_server_sees(
        server: Server, new_context: NewContext) -> None:
    context = new_context(viewport=PHONE)
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))
    page = context.new_page()
    page.goto(server.url("/checkin/"))
    page.fill("#id_where", "Room 12, the motel on 5th")
    page.locator("#id_save_plan").check()
    with page.expect_navigation():
        page.locator("#checkin-form button.primary").click()
    link = page.locator("#plan-link")
    expect(link).to_be_visible()
    saved = link.get_attribute("href") or ""
    assert "/checkin/#plan=" in saved, saved
    token = saved.partition("#plan=")[2]
    other = context.new_page()
    other.goto(saved)
    expect(other.locator("#saved-plan")).to_be_visible()
    expect(other.locator("#id_where")).to_have_value("Room 12, the motel on 5th")
    assert token not in other.url
    # Fragments are never sent; and nothing the page asked for carried the token.
    assert not [url for url in seen if token in url.partition("#")[0]], seen



def test_an_overdose_is_one_thumb_away_on_a_phone(server: Server,
                                                 new_context: NewContext) -> None:
    """Issue 13, item 7: the big choices, the place and Send on the first screen of a
    390 x 844 phone; every target at least 44 px high, every radio and box full size."""
    page = new_context(viewport=PHONE).new_page()
    page.goto(server.url("/"))
    send = page.locator("#send").bounding_box()
    assert send is not None and send["y"] + send["height"] <= PHONE["height"], send
    overdose = page.locator("label.choice", has=page.locator("input[value=overdose]"))
    box = overdose.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"]
    too_small = page.evaluate("""() => [...document.querySelectorAll(
        'label.choice, #send, #use-location, button.link, details#more summary')]
        .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
        .map(e => e.outerHTML.slice(0, 80))""")
    assert too_small == [], too_small
    for path in ("/", "/checkin/"):
        page.goto(server.url(path))
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        squashed = page.evaluate("""() => [...document.querySelectorAll(
            'input[type=radio], input[type=checkbox]')]
            .filter(e => e.offsetParent !== null)
            .map(e => [e.id, e.getBoundingClientRect().width, e.getBoundingClientRect().height])
            .filter(([, w, h]) => w < 20 || h < 20)""")
        assert squashed == [], (path, squashed)
