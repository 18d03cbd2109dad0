"""The responder app installs as a progressive web app with an offline shell."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_it_serves_a_manifest_scoped_to_the_responder_app() -> None:
    r = Client().get("/responder/manifest.webmanifest")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(r.content)
    assert manifest["start_url"] == "/responder/" and manifest["scope"] == "/responder/"
    assert manifest["display"] == "standalone"
    assert manifest["icons"] and manifest["icons"][0]["src"].startswith("/static/")


def test_it_serves_a_service_worker_allowed_to_control_the_app() -> None:
    r = Client().get("/responder/sw.js")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/javascript")
    assert r["Service-Worker-Allowed"] == "/responder/"
    body = r.content.decode()
    # It caches the offline shell only: never pages or API answers with personal data.
    assert '"/responder/offline/"' in body and "/api/" not in body


def test_it_serves_the_offline_shell_without_signing_in() -> None:
    r = Client().get("/responder/offline/")
    assert r.status_code == 200 and "No connection" in r.content.decode()
