"""The offer card in a Spanish browser: words instead of codes, the expiry counting down
in seconds from now, and a small map of the area, never of the place (issue 13, item 11).
"""


from __future__ import annotations

import re

from playwright.sync_api import expect

from e2e.conftest import CENTRE, WAIT_MS, NewContext, Server, inject_axe, login, wait_live

PHONE = {"width": 390, "height": 844}
RAW_CODES = ("overdose", "unknown", "on_scene", "not_needed", "mental_health")


def seconds(text: str | None) -> int:
    found = re.search(r"(\d+) s", text or "")
    assert found, f"not a time in seconds: {text!r}"
    return int(found.group(1))


def test_the_offer_card_speaks_words_counts_down_and_maps_the_area(
        server: Server, new_context: NewContext) -> None:
    page = new_context(viewport=PHONE, locale="es-ES").new_page()
    login(page, server, "sam", "/responder/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    wait_live(page)
    server.open_incident()  # an overdose at CENTRE; the caller said they are not breathing
    card = page.locator("[data-offer]").first
    card.wait_for(timeout=WAIT_MS)
    expect(page).to_have_title("NUEVO AVISO · Spotline")  # the script's words, in Spanish

    # The words a responder decides on, before accepting.
    what = card.locator(".offer-what")
    expect(what).to_contain_text("Sobredosis · P1 vida en riesgo")
    expect(what).to_contain_text(re.compile(r"a unos \d+00 m"))
    expect(what).to_contain_text(re.compile(r"unos \d+ min para llegar"))
    expect(card.locator(".offer-answers")).to_contain_text("¿Respira? no")
    text = card.inner_text()
    assert [c for c in RAW_CODES if c in text] == [], text

    # "Caduca en 44 s": seconds from now, counting down while the page stays put.
    expires = card.locator(".offer-expires time[data-relative]")
    expect(card.locator(".offer-expires")).to_contain_text("Caduca")
    expect(expires).to_have_text(re.compile(r"\d+ s"))
    first = expires.text_content()
    expect(expires).not_to_have_text(first or "")
    assert seconds(expires.text_content()) < seconds(first)

    # A small map of the area: a circle, no pin, and the exact place nowhere on the page.
    area = card.locator(".offer-map")
    expect(area).to_be_visible()
    expect(area).to_have_class(re.compile(r"leaflet-container"))
    expect(area.locator(".leaflet-overlay-pane path")).to_have_count(1)
    expect(area.locator(".leaflet-marker-icon")).to_have_count(0)
    assert int(area.get_attribute("data-radius") or 0) >= 300
    assert f"{CENTRE[1]:.4f}" not in page.content()
    inject_axe(page)
    problems = page.evaluate("""async () => {
      const r = await axe.run("[data-offer]",
                              {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}});
      return r.violations.map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
    }""")
    assert problems == [], problems

    # Declining answers in Spanish too.
    card.locator("form[action$='/decline/'] button").click()
    expect(page.locator("#toast")).to_have_text("Rechazado.")
    expect(page.locator("[data-offer]")).to_have_count(0)
