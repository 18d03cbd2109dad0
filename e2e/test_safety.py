"""A responder's safety timer in the app: on scene, Sam sees when the next "are you OK?"
comes and taps I'm OK to push it back; a missed check turns the panel into an alarm;
"Need help now" sends backup after a confirm step; leaving the scene ends it all.
Nobody reloads the page.

The server runs on the real clock with the default 15-minute timer, so to miss a check
without waiting a quarter of an hour the test moves the timer's pending deadline to now
in the database (the one thing a test does behind the app's back); the server's worker
then fires it exactly as it would have at the time.
"""


from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

from playwright.sync_api import Page, expect

from e2e.conftest import (
    HANG_SECONDS,
    ROOT,
    WAIT_MS,
    NewContext,
    Server,
    env_for,
    inject_axe,
    login,
    mark,
    still_marked,
    wait_live,
)

PHONE = {"width": 390, "height": 844}
LIVE_MS = WAIT_MS  # a hang guard, as every wait here
# The app looks at a running timer at least every 10 s (the worker polls every 0.2 s):
# that, plus the hang guard.
MISSED_MS = 10_000 + WAIT_MS
CLOCK = r"\d{1,2}:\d\d"

# Counts the phone's vibrations (the alarm), which a headless browser cannot feel.
COUNT_VIBRATIONS = """
  window.__vibrations = 0;
  navigator.vibrate = function () { window.__vibrations += 1; return true; };
"""

MISS_THE_CHECK = """
from django.utils import timezone
from spotline.dispatch.models import SafetyTimer, Timer
timer = SafetyTimer.objects.get(responder__user__username="sam",
                                state__in=["active", "asked", "warned"])
now = timezone.now()
# The pending deadline of the current generation (an older one, superseded by I'm OK,
# does nothing when it fires).
moved = Timer.objects.filter(safety=timer, round=timer.generation,
                             fired_at__isnull=True).update(due_at=now)
SafetyTimer.objects.filter(pk=timer.pk).update(next_at=now)
print("moved", moved)
"""


def miss_the_check(server: Server) -> None:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "spotline", "shell", "-c", MISS_THE_CHECK],
        cwd=ROOT, env=env_for(server.data_dir), capture_output=True, text=True,
        timeout=HANG_SECONDS, check=False,
    )
    assert done.returncode == 0 and "moved 1" in done.stdout, done.stdout + done.stderr


def axe_violations(page: Page) -> list[dict[str, Any]]:
    inject_axe(page)
    result = page.evaluate("""async () => {
      const r = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]}});
      return r.violations.map(v => ({id: v.id, help: v.help,
        nodes: v.nodes.map(n => n.target.join(" "))}));
    }""")
    return list(result)


def seconds(text: str) -> int:
    minutes, secs = text.split(":")
    return int(minutes) * 60 + int(secs)


def sam_on_scene(server: Server, new_context: NewContext) -> tuple[Page, float]:
    """Sam's page once Sam is on scene, and the time.monotonic() from before the tap."""
    context = new_context(viewport=PHONE)
    context.add_init_script(COUNT_VIBRATIONS)
    page = context.new_page()
    login(page, server, "sam", "/responder/")
    wait_live(page)
    expect(page.locator("#safety")).to_be_hidden()
    mark(page)
    server.open_incident()
    page.wait_for_selector("[data-offer]", timeout=LIVE_MS)
    page.click("[data-offer] form[action$='/accept/'] button")
    expect(page.locator("#current-state")).to_have_attribute("data-state", "assigned",
                                                             timeout=LIVE_MS)
    expect(page.locator("#safety")).to_be_hidden()  # no timer on the way
    tapped = time.monotonic()
    page.click("#responder-live button[name=type][value=on_scene]")
    expect(page.locator("#current-state")).to_have_attribute("data-state", "on_scene",
                                                             timeout=LIVE_MS)
    return page, tapped


def test_it_counts_down_to_the_safety_check_and_extends_it_on_im_ok(
        server: Server, new_context: NewContext) -> None:
    page, tapped = sam_on_scene(server, new_context)

    # 1. Arriving starts the countdown: 15 minutes, and the time it falls due.
    panel = page.locator("#safety")
    expect(panel).to_be_visible(timeout=LIVE_MS)
    left = page.locator("#safety-left")
    expect(left).to_have_text(re.compile(rf"^{CLOCK}$"))
    # 15 minutes from the tap, less what has passed since (however long a busy machine
    # took over it), and a second for rounding.
    shown, since = seconds(left.inner_text()), time.monotonic() - tapped
    assert 15 * 60 - since - 1 <= shown <= 15 * 60, (shown, since)
    expect(page.locator("#safety-at")).to_have_text(re.compile(r"^\(at \d\d:\d\d\)$"))
    first_at = page.locator("#safety-at").inner_text()
    expect(panel).not_to_have_class(re.compile("urgent"))
    expect(page.locator("#safety-alert")).to_be_empty()
    # The countdown counts down by itself (waited for, not slept for: a busy browser
    # may tick late).
    before = left.inner_text()
    expect(left).not_to_have_text(before, timeout=LIVE_MS)
    assert seconds(left.inner_text()) < seconds(before)

    # 2. I'm OK, check again in 30 minutes.
    page.get_by_role("button", name="+30 min").click()
    expect(left).to_have_text(re.compile(r"^(29|30):\d\d$"), timeout=LIVE_MS)
    expect(page.locator("#safety-at")).not_to_have_text(first_at)
    expect(page.locator("#toast")).to_contain_text("Next safety check at")
    # The focus stays on the button just pressed.
    assert page.evaluate("document.activeElement.textContent") == "+30 min"
    # Re-rendering the incident (a live push, a poll) leaves the panel alone.
    page.evaluate("window.spotlineRefresh()")
    page.wait_for_timeout(500)
    expect(left).to_have_text(re.compile(r"^(29|30):\d\d$"))

    # 3. A missed check: the panel turns into an alarm, counting down to the backup.
    miss_the_check(server)
    expect(panel).to_have_class(re.compile("urgent"), timeout=MISSED_MS)
    alert = page.get_by_role("alert").filter(has_text="Are you OK?")
    expect(alert).to_have_text(re.compile(rf"^Are you OK\? Backup is sent in {CLOCK}\."))
    expect(page).to_have_title(re.compile("ARE YOU OK"))
    assert page.evaluate("window.__vibrations") >= 1, "the phone did not buzz"
    expect(page.locator("#safety-next")).to_be_hidden()
    violations = axe_violations(page)
    assert not violations, violations

    # 4. I'm OK answers it: calm again, next check after the chosen 30 minutes.
    page.get_by_role("button", name="I'm OK", exact=True).click()
    expect(panel).not_to_have_class(re.compile("urgent"), timeout=LIVE_MS)
    expect(left).to_have_text(re.compile(r"^(29|30):\d\d$"))
    expect(page.locator("#safety-alert")).to_be_empty()
    expect(page).to_have_title("Responder · Spotline")

    # 5. Need help now asks first, then sends backup.
    page.get_by_role("button", name="Need help now").click()
    yes = page.get_by_role("button", name="Yes, send backup")
    expect(yes).to_be_visible()
    expect(yes).to_be_focused()
    page.get_by_role("button", name="Cancel").click()
    expect(yes).to_be_hidden()
    page.get_by_role("button", name="Need help now").click()
    yes.click()
    expect(page.locator("#safety-alert")).to_have_text("Backup is on the way.", timeout=LIVE_MS)
    expect(page.get_by_role("button", name="Need help now")).to_be_hidden()
    expect(page.get_by_role("button", name="I'm OK", exact=True)).to_be_visible()

    # 6. Leaving the scene ends the timer and the panel goes.
    page.click("#responder-live button[name=type][value=resolved]")
    expect(panel).to_be_hidden(timeout=LIVE_MS)
    assert still_marked(page), "the responder page reloaded"
