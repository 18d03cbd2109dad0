"""Headers on every answer: a strict Content-Security-Policy, no framing, no sniffing,
HSTS and Secure cookies only where configured (HTTPS)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings

import spotline
from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import login_staff
from spotline.security import tile_source

pytestmark = pytest.mark.django_db

ROOT = Path(spotline.__file__).resolve().parent


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_strict(response: Any) -> None:
    policy = directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:", "https://tile.openstreetmap.org"]
    assert policy["connect-src"] == ["'self'", "ws://testserver", "wss://testserver"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert "unsafe" not in response["Content-Security-Policy"]


def test_it_sends_a_strict_policy_on_public_pages() -> None:
    for path in ("/", "/checkin/", "/transparency/", "/accounts/login/",
                 "/no-such-page/"):
        r = Client().get(path)
        assert_strict(r)
        assert r["X-Frame-Options"] == "DENY"
        assert r["X-Content-Type-Options"] == "nosniff"
        assert r["Referrer-Policy"] == "same-origin"


def test_it_sends_a_strict_policy_on_staff_pages_and_the_api() -> None:
    dispatcher = login_staff(Client(), user_create(name="dana", role=Role.DISPATCHER,
                                                   password=None))
    coordinator = login_staff(Client(), user_create(name="cora", role=Role.COORDINATOR,
                                                    password=None))
    for client, path in ((dispatcher, "/console/"), (dispatcher, "/console/new/"),
                         (coordinator, "/console/setup/"), (dispatcher, "/api/v1/incidents"),
                         (Client(), "/api/docs")):
        r = client.get(path)
        assert r.status_code == 200, path
        assert_strict(r)


def test_it_serves_the_api_docs_from_this_server() -> None:
    html = Client().get("/api/docs").content.decode()
    assert "cdn." not in html and "/static/ninja/" in html


@override_settings(SPOTLINE_TILE_URL="https://{s}.tiles.example.org:8443/{z}/{x}/{y}.png")
def test_it_allows_images_from_the_configured_tile_server() -> None:
    policy = directives(Client().get("/")["Content-Security-Policy"])
    assert policy["img-src"] == ["'self'", "data:", "https://*.tiles.example.org:8443"]


def test_it_turns_tile_url_templates_into_sources() -> None:
    assert tile_source("http://127.0.0.1:9/{z}/{x}/{y}.png") == "http://127.0.0.1:9"
    assert tile_source("/tiles/{z}/{x}/{y}.png") == ""  # our own: 'self' covers it
    assert tile_source("javascript:alert(1)") == ""


# Documents rendered to a file, not served under the app's policy: the planner's report
# must open from a disk with no server, so its CSS is inline; /planner/<id>/ serves it
# under a policy of its own that allows that one style by its hash and no script
# (spotline/planner/tests/test_page.py).
STANDALONE = frozenset({"planner/templates/planner/report.html"})


def test_the_templates_have_no_inline_scripts_styles_or_handlers() -> None:
    """What the policy would block, caught before a browser does."""
    offenders = []
    for template in ROOT.rglob("templates/**/*.html"):
        text = template.read_text()
        if str(template.relative_to(ROOT)) in STANDALONE:
            # Still never a script or a handler, whatever its policy allows.
            assert not re.search(r"<script|\son[a-z]+=|javascript:", text), template
            continue
        if (re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\sstyle=", text)
                or re.search(r"\son[a-z]+=", text) or "<style" in text
                or "javascript:" in text):
            offenders.append(str(template.relative_to(ROOT)))
    assert offenders == []


# -- HSTS and cookies ---------------------------------------------------------------------------


def test_it_sends_no_hsts_by_default() -> None:
    assert "Strict-Transport-Security" not in Client().get("/", secure=True)


@override_settings(SECURE_HSTS_SECONDS=31_536_000)
def test_it_sends_hsts_over_https_when_configured() -> None:
    assert Client().get("/", secure=True)["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in Client().get("/")  # never over plain HTTP


def test_the_session_cookie_is_http_only_and_same_site() -> None:
    user_create(name="sam", role=Role.RESPONDER, password="a-long-test-password-42")
    r = Client().post("/accounts/login/", {"username": "sam",
                                           "password": "a-long-test-password-42"})
    cookie = r.cookies["sessionid"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 12 * 3600
    assert not cookie["secure"]  # the development default: plain HTTP


def settings_with(**env: str) -> dict[str, str]:
    """A few settings as a fresh process computes them from ``env``."""
    code = ("from spotline import settings as s; print(s.SECURE_HSTS_SECONDS, "
            "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_AGE, "
            "s.SESSION_EXPIRE_AT_BROWSER_CLOSE)")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPOTLINE_")
            or k == "SPOTLINE_DATA_DIR"}
    done = subprocess.run([sys.executable, "-c", code], env={**base, **env},  # noqa: S603
                          capture_output=True, text=True, check=True, timeout=60)
    hsts, session, csrf, age, close = done.stdout.split()
    return {"hsts": hsts, "session": session, "csrf": csrf, "age": age, "close": close}


def test_it_turns_on_hsts_and_secure_cookies_for_an_https_site() -> None:
    assert settings_with() == {"hsts": "0", "session": "False", "csrf": "False",
                               "age": "43200", "close": "False"}
    https = settings_with(SPOTLINE_SITE_URL="https://help.example.org")
    assert (https["hsts"], https["session"], https["csrf"]) == ("31536000", "True", "True")
    assert settings_with(SPOTLINE_SECURE_COOKIES="true")["hsts"] == "31536000"
    assert settings_with(SPOTLINE_SITE_URL="https://help.example.org",
                         SPOTLINE_HSTS_SECONDS="600")["hsts"] == "600"
    short = settings_with(SPOTLINE_SESSION_HOURS="2", SPOTLINE_SESSION_BROWSER_CLOSE="true")
    assert (short["age"], short["close"]) == ("7200", "True")
