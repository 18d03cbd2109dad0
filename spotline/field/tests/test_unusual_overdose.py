"""A responder's "something unusual about this overdose?" becomes an anonymous report
(the area cell and the hour, never the incident), and the responder's page lists the
drug alerts out in their area (issue 16, item 2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.alerts.actions.areas import area_create
from spotline.alerts.actions.review import AlertFields, alert_draft, alert_publish
from spotline.alerts.models import Alert, Report
from spotline.alerts.tests.conftest import CENTRE_BOX, VUOSAARI_BOX
from spotline.conftest import CENTRE
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import Incident, Offer, Outcome
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

WORDS = "Needed four doses, still grey after twenty minutes"


def resolved(make_responder: Any) -> tuple[Responder, Client, Incident]:
    sam = make_responder("sam", north_m=200)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                             breathing=Answer.NO), now=timezone.now()).incident
    client = Client()
    client.force_login(sam.user)
    offer = Offer.objects.get(responder=sam, incident=incident)
    client.post(f"/responder/offers/{offer.pk}/accept/")
    for step in ("on_scene", "resolved"):
        client.post(f"/responder/incidents/{incident.pk}/report/", {"type": step})
    return sam, client, Incident.objects.get(pk=incident.pk)


def outcome(**more: Any) -> dict[str, Any]:
    return {"naloxone_doses": "4", "responsive_after": "yes", "ems": "not_needed",
            "replaces": "", **more}


def test_it_asks_about_something_unusual_with_a_new_overdose_outcome(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    for path in ("/responder/", f"/responder/incidents/{incident.pk}/outcome/"):
        html = client.get(path).content.decode()
        assert "Something unusual about this overdose?" in html
        assert 'name="unusual" value="heavy_sedation"' in html
        assert "xylazine or medetomidine" in html


def test_it_reports_the_signs_with_the_area_cell_and_the_hour_only(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    assert incident.area  # the coarse cell the purge keeps
    r = client.post(f"/responder/incidents/{incident.pk}/outcome/", outcome(
        unusual=["several_doses", "naloxone_no_response"], unusual_words=WORDS), follow=True)
    assert r.status_code == 200
    assert "unusual signs reported" in r.content.decode()
    assert Outcome.objects.get(incident=incident).naloxone_doses == 4
    report = Report.objects.get()
    assert report.source == "responder"
    assert report.signs == ["several_doses", "naloxone_no_response"]
    assert report.what_happened == WORDS
    assert report.cell == incident.area and report.area is None
    # No incident id anywhere in the row, and no time finer than the hour.
    assert not any(f.name.startswith("incident") for f in Report._meta.get_fields())
    assert (report.received_hour.minute, report.received_hour.second,
            report.received_hour.microsecond) == (0, 0, 0)
    assert not hasattr(report, "created_at")


def test_it_files_no_report_when_nothing_was_unusual(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    client.post(f"/responder/incidents/{incident.pk}/outcome/", outcome())
    assert Outcome.objects.filter(incident=incident).exists()
    assert not Report.objects.exists()


def test_it_refuses_words_that_say_nothing_and_saves_neither(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    r = client.post(f"/responder/incidents/{incident.pk}/outcome/",
                    outcome(unusual=["unusual_colour"], unusual_words="🔥🔥🔥"))
    assert r.status_code == 400
    assert "in words" in r.content.decode()
    assert 'value="unusual_colour"' in r.content.decode()
    assert not Outcome.objects.exists() and not Report.objects.exists()
    r = client.post(f"/responder/incidents/{incident.pk}/outcome/",
                    outcome(unusual=["not_a_sign"]))
    assert r.status_code == 400 and not Report.objects.exists()


def test_words_that_grow_when_normalized_save_neither(make_responder) -> None:
    """One character NFKC makes eighteen: counted as the report counts it, refused with
    the form, and the outcome is not saved without its report (one transaction)."""
    _sam, client, incident = resolved(make_responder)
    r = client.post(f"/responder/incidents/{incident.pk}/outcome/",
                    outcome(unusual=["several_doses"], unusual_words="\ufdfa" * 60))
    assert r.status_code == 400
    assert not Outcome.objects.exists() and not Report.objects.exists()


def test_an_edit_does_not_ask_again_nor_report_twice(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    client.post(f"/responder/incidents/{incident.pk}/outcome/",
                outcome(unusual=["heavy_sedation"]))
    saved = Outcome.objects.get(incident=incident)
    page = client.get(f"/responder/incidents/{incident.pk}/outcome/").content.decode()
    assert "Something unusual" not in page
    client.post(f"/responder/incidents/{incident.pk}/outcome/", outcome(
        replaces=saved.recorded_at.isoformat(), unusual=["heavy_sedation"]))
    assert Report.objects.count() == 1


# -- alerts on the responder's page ------------------------------------------------------


def published(area_name: str, box: dict[str, Any], substance: str) -> Alert:
    now = timezone.now()
    coordinator = user_create(name=f"c-{area_name}", role=Role.COORDINATOR, password=None)
    area = area_create(name=area_name, geometry=box, now=now)
    alert = alert_draft(fields=AlertFields(substance=substance, severity="severe",
                                           expires=now + timedelta(hours=6),
                                           area_ids=[area.pk]),
                        user_id=coordinator.pk, now=now)
    return alert_publish(alert_id=alert.pk, user_id=coordinator.pk, now=now)


def test_the_page_lists_the_alerts_in_the_responders_area(make_responder) -> None:
    here = published("Keskusta", CENTRE_BOX, "xylazine")
    away = published("Vuosaari", VUOSAARI_BOX, "nitazenes")
    sam = make_responder("sam", north_m=100)
    client = Client()
    client.force_login(sam.user)
    html = client.get("/responder/").content.decode()
    assert 'id="responder-alerts" data-live' in html
    assert "Drug alerts in your area" in html
    assert f'data-alert-id="{here.pk}"' in html and f'href="/alerts/{here.pk}/"' in html
    assert f'data-alert-id="{away.pk}"' not in html
    # Off shift (no place known): every current alert.
    shift_set(responder=sam, on_shift=False, location=None, now=timezone.now())
    html = client.get("/responder/").content.decode()
    assert "Current drug alerts" in html
    assert f'data-alert-id="{here.pk}"' in html and f'data-alert-id="{away.pk}"' in html
