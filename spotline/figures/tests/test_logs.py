"""Nothing the reports or the dashboard write to the logs points at an incident or a
person: a whole story (an incident served, its report, a month's release, the public
pages) logged at DEBUG, then searched for times, places, phones, names and ids."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, login_staff
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.models import Offer
from spotline.figures.releases import release_due

pytestmark = pytest.mark.django_db

OPENED = T0 + timedelta(minutes=41, seconds=7)


def test_reports_and_the_dashboard_log_nothing_that_points_at_anyone(
        make_responder, caplog) -> None:
    sam = make_responder("samwise", north_m=100, phone="+15550100321")
    incident = incident_open(IncidentRequest(
        kind=Kind.OVERDOSE, location=CENTRE, breathing=Answer.NO,
        callback_phone="+15550100999", description="by the red door"), now=OPENED).incident
    offer_accept(offer_id=Offer.objects.get(incident=incident, responder=sam).pk,
                 responder=sam, now=OPENED + timedelta(seconds=30))
    incident_report(incident_id=incident.pk, type="on_scene", now=OPENED + timedelta(minutes=4),
                    responder=sam, user_id=sam.user_id)
    coordinator = login_staff(Client(), user_create(name="coord", role=Role.COORDINATOR,
                                                    password=None))
    caplog.clear()
    caplog.set_level(logging.DEBUG)
    # Only what the reports and the dashboard do from here on is looked at.
    november = "?from=2026-11-01&to=2026-11-30"
    for path in ("/reports/", "/reports/export.csv", "/reports/print/"):
        assert coordinator.get(path + november).status_code == 200
    with time_machine.travel(T0 + timedelta(days=40), tick=False):
        release_due(now=T0 + timedelta(days=40))
    public = Client()
    for path in ("/dashboard/", "/dashboard/data.json", "/dashboard/data.csv"):
        assert public.get(path).status_code == 200
    logs = "\n".join(r.getMessage() for r in caplog.records)
    for needle in ("0100321", "0100999", "samwise", "Samwise", "red door",
                   f"{CENTRE.lat:.3f}", f"{CENTRE.lon:.3f}"):
        assert needle not in logs, needle
    assert not re.search(rf"\bid={incident.pk}\b|incident {incident.pk}\b", logs)
    assert not re.search(r"\b03:41\b|T03:41", logs)
