"""Nothing in any alert, CAP message, feed, page, text or log holds a phone number, an
exact point or an incident: one whole story, from overdoses to texts sent, read back
from every place an alert shows up."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.test import Client, override_settings

from spotline.alerts.actions import fanout
from spotline.alerts.actions.reports import report_receive
from spotline.alerts.actions.review import AlertFields, alert_edit, alert_publish
from spotline.alerts.actions.spikes import spikes_check
from spotline.alerts.actions.subscribers import subscribe_sms
from spotline.alerts.models import Alert, AlertEvent, Area, CapMessage, Report
from spotline.conftest import T0, raw_rows
from spotline.core.geo import Point
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident
from spotline.notify.models import Message
from spotline.notify.sender import send_due
from spotline.privacy.crypto import unseal

pytestmark = pytest.mark.django_db

PLACE = Point(60.171234, 24.941234)  # inside the centre area, more exact than any polygon
CALLER = "+358401234567"
SUBSCRIBER = "+358409876543"
WORDS = "Green tablets stamped with a crown, two doses needed"


def secrets(incidents: list[Incident]) -> list[str]:
    out = [CALLER, CALLER[1:], "401234567", SUBSCRIBER, SUBSCRIBER[1:], "409876543",
           "60.171234", "24.941234", "60.17123", "24.94123", WORDS, "crown"]
    for incident in incidents:
        out += [f"incident {incident.pk}", f"incident/{incident.pk}", f"#{incident.pk}",
                f"/incidents/{incident.pk}", incident.tracking_digest]
    return out


def test_no_alert_artefact_points_at_anyone(centre_area: Area, coordinators: tuple[Any, Any],
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    author, second = coordinators
    subscribe_sms(phone=SUBSCRIBER, area_ids=[centre_area.pk], all_areas=False, language="en",
                  now=T0 - timedelta(hours=2))
    for i in range(5):
        incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=PLACE, callback_phone=CALLER,
                                      details="he is at the back door"),
                      now=T0 - timedelta(minutes=30 * (i + 1)))
    incidents = list(Incident.objects.all())
    report = report_receive(source="responder", signs=["several_doses"], looked_like=WORDS,
                            cell=incidents[0].area, now=T0 - timedelta(minutes=20))
    assert spikes_check(now=T0) == 1
    draft = Alert.objects.get()
    alert_edit(alert_id=draft.pk, user_id=author.pk, now=T0, fields=AlertFields(
        substance="nitazenes", severity="extreme", expires=T0 + timedelta(hours=12),
        area_ids=[centre_area.pk], signs=["several_doses", "many_overdoses"],
        text="Several overdoses this week; some needed more naloxone than usual.",
        report_ids=[report.pk]))
    alert_publish(alert_id=draft.pk, user_id=second.pk, now=T0)
    while fanout.fire_due(now=T0):
        pass
    # The outbox keeps bodies until sent: read them first.
    bodies = [unseal(m.body_sealed, context="message.body")
              for m in Message.objects.filter(key__startswith="alert:")]
    assert bodies, "the alert was queued for the subscriber"
    with override_settings(SPOTLINE_PROVIDERS=["console"]):
        send_due(now=T0 + timedelta(minutes=1), limit=100)
    client = Client()
    shown = [
        client.get("/alerts/").content.decode(),
        client.get(f"/alerts/{draft.pk}/").content.decode(),
        client.get(f"/alerts/{draft.pk}.cap.xml").content.decode(),
        client.get("/alerts/feed.atom").content.decode(),
    ]
    assert all(len(page) > 200 for page in shown)
    stored = [*raw_rows(Alert), *raw_rows(CapMessage), *raw_rows(AlertEvent),
              *(m.xml for m in CapMessage.objects.all())]
    everything = "\n".join([*bodies, *shown, *stored, caplog.text])
    for secret in secrets(incidents):
        assert secret not in everything, secret
    # No alert table can hold an incident: no relation to one anywhere in the room.
    for model in apps.get_app_config("alerts").get_models():
        for field in model._meta.get_fields():
            assert getattr(field, "related_model", None) is not Incident, (model, field)
    # The report that fed the alert keeps the hour and the coarse cell, not the minute.
    kept = Report.objects.get()
    assert kept.received_hour.minute == 0 and kept.cell == incidents[0].area
    assert not any(WORDS in row for row in raw_rows(Report))
