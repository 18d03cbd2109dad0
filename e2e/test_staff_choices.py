"""Issue 13's staff-facing items in a real browser: a saved outcome is shown and edited on
purpose (item 9), going off shift with offers open warns, asks, and widens at once
(item 10), and "Assign" preselects the nearest free responder (item 12).

Each test opens its incident where its responder is standing, so that responder is
offered it first whatever the other tests left behind on this module's server.
"""


from __future__ import annotations

import math
from typing import Any

from playwright.sync_api import Page, expect

from e2e.conftest import CENTRE, NewContext, Server, inject_axe, login, wait_live

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}
NOTE = "Went home with a friend"


def demo_position(north_m: float, east_m: float) -> dict[str, float]:
    """A demo responder's position (demo.py's offsets from the centre)."""
    return {"lat": CENTRE[0] + north_m / 111_320,
            "lon": CENTRE[1] + east_m / (111_320 * math.cos(math.radians(CENTRE[0])))}


SAM = demo_position(300, -200)
ALEX = demo_position(-150, 250)
JO = demo_position(600, 500)


def axe_violations(page: Page) -> list[str]:
    """WCAG 2 A/AA violations axe-core finds on the page, one line each."""
    inject_axe(page)
    found: list[dict[str, Any]] = page.evaluate("""async () => {
      const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}});
      return r.violations.map(v => ({id: v.id, targets: v.nodes.map(n => n.target.join(" "))}));
    }""")
    return [f"{v['id']}: {', '.join(v['targets'])}" for v in found]


def responder_page(server: Server, new_context: NewContext, name: str, *,
                   javascript: bool = True) -> Page:
    page = new_context(viewport=PHONE, java_script_enabled=javascript).new_page()
    login(page, server, name, "/responder/")
    expect(page.locator("#shift-state")).to_have_attribute("data-on-shift", "1")
    return page


def test_it_shows_the_saved_outcome_and_edits_it_on_purpose(server: Server,
                                                            new_context: NewContext) -> None:
    page = responder_page(server, new_context, "sam")
    wait_live(page)
    server.open_incident(location=SAM)
    page.locator("[data-offer] form[action$='/accept/'] button").first.click()
    expect(page.locator("#current-state")).to_have_text("responder assigned")
    incident = page.locator("#current-incident").get_attribute("data-incident")
    for press in ("on_scene", "resolved"):
        page.click(f"#responder-live button[name=type][value={press}]")
    expect(page.locator("#current-state")).to_have_count(0)

    # One blank form, and "Responsive afterwards?" has no answer until one is chosen.
    form = page.locator(f"form[action$='/incidents/{incident}/outcome/']")
    expect(form).to_have_count(1)
    responsive = form.locator("select[name=responsive_after]")
    expect(responsive).to_have_value("")
    assert responsive.evaluate("el => el.validity.valueMissing"), "no answer is required"
    form.locator("input[name=naloxone_doses]").fill("2")
    responsive.select_option("yes")
    form.locator("input[name=referrals][value=housing]").check()
    form.locator("textarea[name=notes]").fill(NOTE)
    form.locator("button[type=submit]").click()

    # The saved outcome takes the form's place: no form of defaults to save over it.
    summary = page.locator(f"#outcome-{incident}")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("2")
    expect(summary).to_contain_text("Yes")
    expect(summary).to_contain_text("housing")
    expect(summary).to_contain_text(NOTE)
    expect(form).to_have_count(0)
    assert axe_violations(page) == []

    # "Edit" opens the form filled with what was saved.
    with page.expect_navigation():
        page.click(f"#edit-outcome-{incident}")
    edit = page.locator(f"form[action$='/incidents/{incident}/outcome/']")
    expect(edit.locator("input[name=naloxone_doses]")).to_have_value("2")
    assert axe_violations(page) == []
    expect(edit.locator("select[name=responsive_after]")).to_have_value("yes")
    expect(edit.locator("input[name=referrals][value=housing]")).to_be_checked()
    expect(edit.locator("textarea[name=notes]")).to_have_value(NOTE)
    edit.locator("input[name=naloxone_doses]").fill("3")
    with page.expect_navigation():
        edit.locator("button[type=submit]").click()
    expect(page.get_by_text("Outcome updated.")).to_be_visible()
    summary = page.locator(f"#outcome-{incident}")
    expect(summary.locator("dd").first).to_have_text("3")
    expect(summary).to_contain_text(NOTE)  # what the edit did not change is kept
    expect(page.locator(f"form[action$='/incidents/{incident}/outcome/']")).to_have_count(0)


def test_it_warns_before_going_off_shift_and_widens_at_once(server: Server,
                                                            new_context: NewContext) -> None:
    page = responder_page(server, new_context, "alex")
    wait_live(page)
    opened = server.open_incident(location=ALEX)
    expect(page.locator("[data-offer]").first).to_be_visible()
    warning = page.locator("#shift-warning")
    expect(warning).to_contain_text("going off shift withdraws")

    with page.expect_navigation():
        page.click("#shift-form button[type=submit]")
    expect(page.locator("#shift-off-warning")).to_contain_text("going off shift withdraws")
    expect(page.locator("#shift-off-offers li").first).to_contain_text("Overdose · P1 life at risk")
    assert axe_violations(page) == []
    with page.expect_navigation():
        page.click("#shift-off-confirm button[type=submit]")
    expect(page.locator("#shift-state")).to_have_attribute("data-on-shift", "0")
    expect(page.get_by_text("offered to other responders now")).to_be_visible()

    # The incident widened when Alex left, not at the end of the round: the reason
    # on its timeline is Alex leaving.
    console = new_context(viewport=DESK).new_page()
    login(console, server, "dispatcher", f"/console/incidents/{opened['id']}/")
    # (Only Alex leaving gives that reason; a round that ran out says nobody answered.)
    expect(console.locator("#timeline li", has_text="Widened to more responders").filter(
        has_text="the responder went off shift")).to_have_count(1)


def test_it_warns_before_going_off_shift_without_javascript(server: Server,
                                                            new_context: NewContext) -> None:
    page = responder_page(server, new_context, "jo", javascript=False)
    server.open_incident(location=JO)  # the offers exist once this answers
    # Without scripts the page refreshes itself; reload rather than wait for it.
    page.reload()
    expect(page.locator("[data-offer]").first).to_be_visible()
    expect(page.locator("#shift-warning")).to_contain_text("going off shift withdraws")
    with page.expect_navigation():
        page.click("#shift-form button[type=submit]")
    expect(page.locator("#shift-off-warning")).to_be_visible()
    with page.expect_navigation():
        page.click("#stay-on-shift")
    expect(page.locator("#shift-state")).to_have_attribute("data-on-shift", "1")
    with page.expect_navigation():
        page.click("#shift-form button[type=submit]")
    with page.expect_navigation():
        page.click("#shift-off-confirm button[type=submit]")
    expect(page.locator("#shift-state")).to_have_attribute("data-on-shift", "0")
    expect(page.locator("[data-offer]")).to_have_count(0)


def test_it_preselects_the_nearest_free_responder_to_assign(server: Server,
                                                           new_context: NewContext) -> None:
    opened = server.open_incident()
    console = new_context(viewport=DESK).new_page()
    login(console, server, "dispatcher", f"/console/incidents/{opened['id']}/")
    select = console.locator("#responder_id")
    chosen = select.locator("option:checked")
    expect(chosen).to_have_count(1)
    # The first of the free ones, nearest first; never Lee, who is off shift.
    free = select.locator("optgroup[label='Free, nearest first'] option")
    expect(free.first).to_have_attribute("selected", "")
    expect(chosen).to_contain_text("min away")
    name = chosen.inner_text().split(" (")[0]
    expect(console.locator("#assign-hint")).to_contain_text(name)
    lee = select.locator("option", has_text="Lee")
    expect(lee).to_contain_text("(off shift)")
    expect(select.locator("optgroup[label^='Off shift'] option", has_text="Lee")).to_have_count(1)
    assert "Lee" not in name

    console.click("form[action$='/assign/'] button[type=submit]")
    expect(console.locator("#state")).to_have_text("responder assigned")
    expect(console.locator("#responder")).to_have_text(name)
