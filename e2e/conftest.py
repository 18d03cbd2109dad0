"""Browser tests: Playwright driving Debian's Chromium against a real `spotline run`.

Each test module gets a server of its own (a subprocess, a fresh data directory seeded
with the demo organization), so no module sees another's incidents. The browser never
leaves the machine: every request to a host other than 127.0.0.1/localhost is aborted,
and map tiles point at a closed local port, so they fail, as they do on a bad day.

Every page of every test runs under the server's Content-Security-Policy, and any
violation the browser reports (console or ``securitypolicyviolation``) fails the test.
"""


from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "spotline-demo"  # noqa: S105 - the demo logins' published password
CENTRE = (60.1699, 24.9384)
# Hang guards, never bounds on speed: only something stuck reaches them. CI runs these
# tests on two cores shared with other work, where Chromium, a server start (which
# migrates a fresh SQLite file) or a page update can take many times what it takes on an
# idle machine. A figure belongs in bench/.
HANG_SECONDS = 120.0
START_TIMEOUT = HANG_SECONDS
STOP_TIMEOUT = 60.0  # then the server is killed: it does not fail a test
WAIT_MS = 60_000  # the default bound on any single browser wait or expect()
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


# expect() has a default of its own (5 s), apart from the contexts' (set in new_context).
expect.set_options(timeout=WAIT_MS)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SPOTLINE_SQLITE_PATH",
                        "SPOTLINE_TEST_DB_NAME", "DJANGO_SETTINGS_MODULE")}
    env.update({
        "SPOTLINE_DATA_DIR": str(data_dir),
        # Nothing listens on port 9: every tile fails, and no request leaves the machine.
        "SPOTLINE_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png",
        "SPOTLINE_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SPOTLINE_WORKER_POLL_SECONDS": "0.2",
    })
    return env


def http(url: str, *, body: Any = None, timeout: float = HANG_SECONDS) -> tuple[int, bytes]:
    """GET, or POST a JSON body; (status, body) for any HTTP answer."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",  # noqa: S310
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - 127.0.0.1 only
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Server:
    """`spotline run` in a subprocess; restartable on the same port and data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self._log = self.log.open("ab")
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "spotline", "run", "--host", "127.0.0.1",
             "--port", str(self.port)],
            cwd=ROOT, env=env_for(self.data_dir), stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def output(self) -> str:
        self._log.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"spotline run exited with {self.proc.returncode}:\n{self.output()}")
            try:
                status, _ = http(self.base + "/", timeout=10)
                if status == 200:
                    return
                last = status
            except OSError as exc:
                last = exc
            time.sleep(0.1)
        pytest.fail(f"spotline run not answering after {START_TIMEOUT}s ({last!r}):\n"
                    f"{self.output()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self._log.close()

    # -- API shortcuts ---------------------------------------------------------------------

    def open_incident(self, **fields: Any) -> dict[str, Any]:
        body = {"kind": "overdose", "location": {"lat": CENTRE[0], "lon": CENTRE[1]},
                "breathing": "no", **fields}
        status, raw = http(self.url("/api/v1/incidents"), body=body)
        assert status == 201, raw
        return dict(json.loads(raw))


def seed_demo(data_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spotline", "demo", "--if-empty"],
        cwd=ROOT, env=env_for(data_dir), capture_output=True, text=True,
        timeout=HANG_SECONDS, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Demo logins" in done.stdout, done.stdout


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="spotline-e2e-") as tmp:
        data_dir = Path(tmp)
        seed_demo(data_dir)
        s = Server(data_dir)
        try:
            s.start()
            yield s
        finally:
            s.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium, "
                    "never a downloaded one. Install it with scripts/ensure-chromium.sh.")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _local_only(route: Route) -> None:
    if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
        route.continue_()
    else:
        route.abort("blockedbyclient")


NewContext = Callable[..., BrowserContext]


# Runs in every document before the page's own scripts (injected by the browser, so the
# page's CSP does not apply to it): reports each violation to the console.
CSP_WATCH = """document.addEventListener("securitypolicyviolation", (e) => {
  console.error("csp-violation: " + e.effectiveDirective + " blocked " +
                (e.blockedURI || "inline") + " on " + location.pathname);
}, true);"""


def is_csp_violation(text: str) -> bool:
    return text.startswith("csp-violation:") or "Content Security Policy" in text


@pytest.fixture
def csp_violations() -> list[str]:
    """What the browser reported as blocked by the CSP during the test (must stay empty)."""
    return []


@pytest.fixture
def new_context(browser: Browser, csp_violations: list[str]) -> Iterator[NewContext]:
    """Make browser contexts that cannot reach the internet; all closed after the test,
    which fails if any page in them reported a Content-Security-Policy violation."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", {"width": 390, "height": 844})
        context = browser.new_context(**options)
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        context.route("**/*", _local_only)
        context.add_init_script(CSP_WATCH)
        context.on("console", lambda m: csp_violations.append(f"{m.text} ({m.page and m.page.url})")
                   if is_csp_violation(m.text) else None)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()
    assert csp_violations == [], "the Content-Security-Policy blocked something"


def inject_axe(page: Page) -> None:
    """Load axe-core into the page. Through the DevTools protocol, not a <script> tag:
    the page's CSP (rightly) refuses inline scripts."""
    page.evaluate(AXE.read_text())


_last_step: dict[tuple[str, str], int] = {}


def demo_code(server: Server, username: str) -> str:
    """A code from the demo authenticator (the key `spotline demo` prints), as an app
    shows it. A code is accepted once: signing in twice within one 30-second step takes
    the next step's code (accepted one step early), or waits for it."""
    from spotline.worker.management.commands.demo import demo_code as code_at

    key = (server.base, username)
    last = _last_step.get(key, -1)
    while True:
        now_step = int(time.time()) // 30
        step = max(now_step, last + 1)
        if step <= now_step + 1:
            break
        time.sleep(0.5)
    _last_step[key] = step
    return code_at(at=step * 30 + 1)


def login(page: Page, server: Server, username: str, then: str) -> None:
    """Sign in as a demo user: the password, then (dispatcher, coordinator) a real code."""
    page.goto(server.url("/accounts/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("form button[type=submit], form input[type=submit]").last.click()
    assert "/accounts/login/" not in page.url, f"login as {username} failed: {page.url}"
    if "/accounts/two-factor/" in page.url:
        page.fill("#id_code", demo_code(server, username))
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        assert "/accounts/two-factor/" not in page.url, f"code for {username} refused"
    page.goto(server.url(then))


def wait_live(page: Page, timeout: float = WAIT_MS) -> None:
    """The page's WebSocket is open (live.js marks <body data-live-connected>)."""
    page.wait_for_selector("body[data-live-connected]", state="attached", timeout=timeout)


def mark(page: Page) -> None:
    """Set a marker in the page's window: it survives only as long as no reload happens."""
    page.evaluate("window.__marker = 1")


def still_marked(page: Page) -> bool:
    return bool(page.evaluate("window.__marker === 1"))


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
