"""What the console shows of the dispatch policy's harder cases (issue 15): a request a
responder could not find stays in view after it closes, and a request nobody within
reach can take says how far the nearest is."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.test import Client
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, login_staff, offset
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.reports import incident_report


def dispatcher() -> Client:
    client = Client()
    login_staff(client, user_create(name="dana", role=Role.DISPATCHER, password=None))
    return client


def test_a_request_the_responder_could_not_find_stays_on_the_front_page(
    make_responder: Any,
) -> None:
    now = timezone.now()
    ana = make_responder("ana", north_m=100, now=now)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                             now=now).incident
    offer_accept(offer_id=incident.offers.get(responder=ana).pk, responder=ana, now=now)
    for step in ("on_scene", "unable_to_locate"):
        incident_report(incident_id=incident.pk, type=step, now=now, responder=ana,
                        user_id=None)
    client = dispatcher()
    html = client.get("/console/").content.decode()
    assert f'data-not-found="{incident.pk}"' in html
    assert "could not find the person" in html
    detail = client.get(f"/console/incidents/{incident.pk}/").content.decode()
    assert "could not find them" in detail  # unserved because, and the timeline


def test_it_leaves_the_front_page_after_an_hour(make_responder: Any) -> None:
    then = timezone.now() - timedelta(hours=1, minutes=1)
    ana = make_responder("ana", north_m=100, now=then)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                             now=then).incident
    offer_accept(offer_id=incident.offers.get(responder=ana).pk, responder=ana, now=then)
    incident_report(incident_id=incident.pk, type="unable_to_locate", now=then,
                    responder=ana, user_id=None)
    html = dispatcher().get("/console/").content.decode()
    assert f'data-not-found="{incident.pk}"' not in html


def test_the_timeline_says_how_far_the_nearest_available_is(make_responder: Any) -> None:
    now = timezone.now()
    make_responder("far", at=offset(CENTRE, 20_000), now=now)
    incident = incident_open(IncidentRequest(
        kind=Kind.OVERDOSE, location=CENTRE, breathing=Answer.YES, conscious=Answer.YES),
        now=now).incident
    html = dispatcher().get(f"/console/incidents/{incident.pk}/").content.decode()
    assert "the nearest available is 359 min away" in html
    assert "no one within reach" in html
