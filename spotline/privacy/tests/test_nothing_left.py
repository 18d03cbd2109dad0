"""Issue 6's promise, checked on the raw storage: after the retention window and the
purge, nothing that identifies a person or a place is left anywhere Spotline writes —
the SQLite file with its WAL, a pg_dump of PostgreSQL, and the logs.

Everything goes through the real entry points (the public form and API, SMS intake, a
check-in by API, a responder's outcome, a dispatcher's note) and commits for real
(transaction=True), so the bytes are on disk, not in a rolled-back transaction.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client

from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn
from spotline.conftest import CENTRE, T0, offset
from spotline.core.geo import Mode
from spotline.core.policy import Actor
from spotline.core.triage import Answer
from spotline.dispatch.actions.dispatcher import incident_cancel, incident_note
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.reports import incident_outcome, incident_report
from spotline.dispatch.models import EmsOutcome, Incident, Offer
from spotline.intake.sms import sms_receive
from spotline.privacy.keys import Shredded, unseal_under
from spotline.privacy.models import DataKey

pytestmark = pytest.mark.django_db(transaction=True)

S = timedelta(seconds=1)
JSON = "application/json"
# Distinctive strings: if any byte sequence of these survives, the test names it.
SECRETS = {
    "web phone": "+15557009123", "api phone": "+15557009456", "sms phone": "+15557009789",
    "check-in phone": "+15557009321", "trusted phone": "+15557009654",
    "web place": "Quillfeather Lane 4417", "api place": "Marigold Motel room 88",
    "details": "zebra umbrella details", "sms place": "behind the Wrenfield laundromat",
    "check-in place": "Tangerine Court 12B", "access": "key under the heron statue",
    "trusted name": "Ysolde", "note": "dispatcher note about Ottoline",
    "outcome notes": "outcome note periwinkle",
    # Told after sending (the status page's "Tell us more", and the API's).
    "details told later": "lilac canoe under the stairs",
    "details told later by API": "saffron kayak by the gate",
    # Coordinates are distinctive too (as the text a float becomes).
    "coordinates": repr(offset(CENTRE, 1234.5).lat),
}


def needles() -> dict[str, bytes]:
    found = {}
    for name, text in SECRETS.items():
        found[name] = text.encode()
        if text.startswith("+"):
            found[name + " digits"] = text[2:].encode()  # without + and country code
    return found


def create_everything(make_responder) -> None:
    sam = make_responder("sam", north_m=100, mode=Mode.BIKE)  # 1.1 km: within reach
    spot = offset(CENTRE, 1234.5)
    with time_machine.travel(T0, tick=False):
        r = Client().post("/", {"kind": "overdose", "where": SECRETS["web place"],
                                "callback_phone": SECRETS["web phone"], "danger": "no",
                                "breathing": "unknown", "conscious": "unknown"})
        assert r.status_code in (200, 302), r.content
        r = Client().post(f"{r['Location']}more/", {"details": SECRETS["details told later"]})
        assert r.status_code == 302, r.content
        r = Client().post("/api/v1/incidents", json.dumps({
            "kind": "overdose", "details": SECRETS["details"],
            "location": {"lat": spot.lat, "lon": spot.lon, "description": SECRETS["api place"]},
            "callback_phone": SECRETS["api phone"]}), content_type=JSON)
        assert r.status_code == 201, r.content
        r = Client().post(f"/api/v1/track/{r.json()['tracking_token']}/details", json.dumps(
            {"details": SECRETS["details told later by API"]}), content_type=JSON)
        assert r.status_code == 200, r.content
        r = Client().post("/api/v1/checkins", json.dumps({
            "location": {"description": SECRETS["check-in place"]}, "minutes": 1,
            "phone": SECRETS["check-in phone"], "access": SECRETS["access"],
            "send": ["responders", "trusted"],
            "trusted": {"phone": SECRETS["trusted phone"], "name": SECRETS["trusted name"]}}),
            content_type=JSON)
        assert r.status_code == 201, r.content
    for n, body in enumerate(["I need help", "1", SECRETS["sms place"]]):
        sms_receive(sid=f"SM{n:032d}", from_number=SECRETS["sms phone"], body=body,
                    now=T0 + n * S)
    # The check-in goes unanswered: its place moves into an incident.
    for seconds in (60, 120, 180):
        fire_due_checkins(now=T0 + seconds * S)
    assert CheckIn.objects.get().state == "escalated"
    # Sam takes the API request, records an outcome; a dispatcher writes a note.
    api_incident = Incident.objects.get(source="api")
    offer = Offer.objects.get(incident=api_incident, responder=sam)
    now = T0 + 200 * S
    offer_accept(offer_id=offer.pk, responder=sam, now=now)
    incident_report(incident_id=api_incident.pk, type="on_scene", now=now,
                            responder=sam, user_id=None)
    incident_outcome(incident_id=api_incident.pk, responder=sam, user_id=None,
                             now=now, naloxone_doses=1, responsive_after=Answer.YES,
                             ems=EmsOutcome.NOT_NEEDED, referrals=[],
                             notes=SECRETS["outcome notes"])
    incident_note(incident_id=api_incident.pk, text=SECRETS["note"], user_id=None,
                          now=now)
    incident_report(incident_id=api_incident.pk, type="resolved", now=now + S,
                            responder=sam, user_id=None)
    for incident in Incident.objects.filter(closed_at__isnull=True):
        incident_cancel(incident_id=incident.pk, actor=Actor.DISPATCHER, user_id=None,
                                now=now + 2 * S)
    assert Incident.objects.count() == 4
    # What was told later is held (sealed), until the purge.
    assert Incident.objects.get(source="web").details == SECRETS["details told later"]
    assert Incident.objects.get(source="api").details.endswith(
        "\n" + SECRETS["details told later by API"])


def raw_storage() -> dict[str, bytes]:
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        return {p.name: p.read_bytes() for p in
                (name, Path(f"{name}-wal"), Path(f"{name}-shm")) if p.exists()}
    db = connection.settings_dict
    pg_dump = shutil.which("pg_dump") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))), None)
    assert pg_dump, "pg_dump is installed with PostgreSQL"
    dump = subprocess.run(  # noqa: S603 - fixed arguments, test database
        [str(pg_dump), "--no-owner", "-h", db["HOST"] or "127.0.0.1", "-p",
         str(db["PORT"] or 5432), "-U", db["USER"], db["NAME"]],
        env={**os.environ, "PGPASSWORD": db["PASSWORD"] or ""}, capture_output=True,
        check=True, timeout=120)
    return {"pg_dump": dump.stdout}


def leaks(blobs: dict[str, bytes], log_text: str) -> list[str]:
    found = []
    for where, blob in {**blobs, "logs": log_text.encode()}.items():
        for name, needle in needles().items():
            if needle in blob:
                found.append(f"{name} in {where}")
    return found


def test_after_the_purge_nothing_identifying_is_left_anywhere(make_responder, caplog,
                                                               capfd) -> None:
    caplog.set_level(logging.DEBUG)
    create_everything(make_responder)
    sealed_before = list(Incident.objects.filter(source="api").values_list("data_key_id",
                                                                          flat=True))
    # Sealed from the start: even now, before any purge, no plain text is stored.
    assert leaks(raw_storage(), "") == []

    with time_machine.travel(T0 + timedelta(hours=settings.SPOTLINE_RETENTION_HOURS, minutes=5),
                             tick=False):
        call_command("purge")
    assert Incident.objects.filter(purged_at__isnull=True).count() == 0
    assert not DataKey.objects.filter(destroyed_at__isnull=True, kid__in=[
        *Incident.objects.values_list("data_key_id", flat=True),
        *CheckIn.objects.values_list("data_key_id", flat=True)]).exists()
    # What remains is the coarse record.
    kept = Incident.objects.get(source="api")
    assert (kept.kind, kept.priority, kept.lat, kept.location_description) == (
        "overdose", "P1", None, "")
    assert kept.area and kept.outcome.naloxone_doses == 1 and kept.outcome.notes == ""

    out, err = capfd.readouterr()
    logs = caplog.text + out + err
    assert "purged" in out
    assert leaks(raw_storage(), logs) == []
    # And what a seized backup from before the purge holds can no longer be opened.
    with pytest.raises(Shredded):
        unseal_under(f"k{sealed_before[0]}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                     context="dispatch.incident.details")
