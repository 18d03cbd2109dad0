"""A place typed in words on the help page (issue 14, item 3), on the demo map of
central Helsinki: suggestions while typing with JavaScript (names only; the chosen one
fills the field), and without JavaScript the status page's "Which of these is it?"
whose buttons move the request."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from e2e.conftest import NewContext, Server

PHONE = {"width": 390, "height": 844}


def send(page: Page) -> str:
    page.locator("label.choice", has_text="Overdose").click()
    with page.expect_navigation():
        page.locator("#send").click()
    path = urlsplit(page.url).path
    assert path.startswith("/t/"), page.url
    return path


def test_it_suggests_places_as_the_person_types_and_a_tap_fills_the_field(
        server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=PHONE).new_page()
    page.goto(server.url("/"))
    suggestions = page.locator("#where-suggestions button.suggestion")
    with page.expect_response(lambda r: "/places/suggest?q=" in r.url) as answered:
        page.locator("#id_where").press_sequentially("alepa")
    assert set(answered.value.json()) == {"names"}  # names only, never coordinates
    expect(suggestions.first).to_be_visible()
    names = suggestions.all_inner_texts()
    assert 2 <= len(names) <= 5 and all("Alepa" in n for n in names), names
    chosen = next(n for n in names if "Mannerheimintie" in n)
    suggestions.filter(has_text=chosen).click()
    expect(page.locator("#id_where")).to_have_value(chosen)
    expect(page.locator("#where-suggestions")).to_be_hidden()
    send(page)
    # The chosen name was looked up again at send, and found: nothing to ask.
    expect(page.locator("#status-message")).to_be_visible()
    expect(page.locator("#place-question")).to_have_count(0)


def test_without_javascript_the_status_page_asks_which_place_and_a_button_moves_it(
        server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=PHONE, java_script_enabled=False).new_page()
    page.goto(server.url("/"))
    page.fill("#id_where", "the alepa")
    status = send(page)
    question = page.locator("#place-question")
    expect(question.get_by_role("heading", name="Which of these is it?")).to_be_visible()
    choices = question.locator("button.choice")
    assert choices.count() >= 2 and all("Alepa" in n for n in choices.all_inner_texts())
    with page.expect_navigation():
        choices.nth(1).click()
    assert urlsplit(page.url).path == status
    expect(page.locator("#place-thanks")).to_have_text("Thank you: we updated where you are.")
    expect(page.locator("#place-question")).to_have_count(0)
