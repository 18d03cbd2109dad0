"""A request nobody could answer is closed as unserved after SPOTLINE_MAX_OPEN_HOURS,
so its personal data enters the retention window instead of living forever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from spotline.conftest import CENTRE, T0
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.dispatcher import incident_assign
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, Timer, TimerKind
from spotline.dispatch.timers import fire_due

pytestmark = pytest.mark.django_db


def test_it_closes_an_unanswerable_request_after_the_maximum_age(settings) -> None:
    settings.SPOTLINE_MAX_OPEN_HOURS = 1
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0).incident
    # Nobody is on shift: rounds keep looking, every 45 s, until the hour is up.
    t = T0
    while t < T0 + timedelta(minutes=59):
        t += timedelta(seconds=45)
        fire_due(now=t)
    incident.refresh_from_db()
    assert incident.closed_at is None
    fire_due(now=T0 + timedelta(hours=1, minutes=1))
    incident.refresh_from_db()
    assert incident.state == "cancelled"
    assert incident.closed_by == "system"
    assert incident.unserved_reason == "nobody_on_shift"
    assert incident.events.filter(type="expired_unserved").exists()
    # The purge is armed: the retention window has started.
    assert Timer.objects.filter(incident=incident, kind=TimerKind.PURGE).exists()


def test_it_never_closes_a_held_incident_for_age(settings, make_responder) -> None:
    settings.SPOTLINE_MAX_OPEN_HOURS = 1
    sam = make_responder("sam", north_m=100)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0).incident
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None,
                            now=T0)
    fire_due(now=T0 + timedelta(hours=3))
    incident.refresh_from_db()
    assert incident.state == "assigned"


def test_it_asks_the_public_whether_anyone_is_in_danger() -> None:
    html = Client().get("/").content.decode()
    assert 'name="danger"' in html
    r = Client().post("/", {"kind": "conflict", "breathing": "unknown", "conscious": "yes",
                            "danger": "yes", "where": "Outside the shelter"})
    assert r.status_code == 302
    incident = Incident.objects.get()
    assert incident.danger == Answer.YES
    assert incident.priority == "P1"  # danger in a conflict raises it
