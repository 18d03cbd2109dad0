"""The console's "Assign" list preselects the best free responder, the one a round of
offers would rank first, and never anyone off shift (issue 13, item 12)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, login_staff
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, Offer
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatcher() -> Client:
    client = Client()
    login_staff(client, user_create(name="dana", role=Role.DISPATCHER, password=None))
    return client


def open_incident(kind: Kind = Kind.OVERDOSE) -> Incident:
    return incident_open(IncidentRequest(kind=kind, location=CENTRE, description="Corner",
                                         breathing=Answer.NO), now=timezone.now()).incident


def assign_select(client: Client, incident: Incident) -> str:
    html = client.get(f"/console/incidents/{incident.pk}/").content.decode()
    match = re.search(r'<select name="responder_id"[^>]*>(.*?)</select>', html, re.S)
    assert match, html
    return match.group(1)


def options(select: str) -> list[tuple[str, str, bool]]:
    """(value, text, selected) of each option, in order."""
    return [(value, text, bool(sel)) for value, sel, text in
            re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select)]


def preselected(select: str) -> list[str]:
    return [value for value, _text, sel in options(select) if sel]


def text_of(select: str, responder: Responder) -> str:
    return next(text for value, text, _sel in options(select) if value == str(responder.pk))


def order(select: str) -> list[str]:
    return [value for value, _text, _sel in options(select) if value]


def test_it_preselects_the_nearest_free_responder_never_one_off_shift(
        dispatcher: Client, make_responder) -> None:
    # Alphabetically and by the old roster order, Aaron (off shift) came first.
    aaron = make_responder("aaron", north_m=10, on_shift=False)
    far = make_responder("zed", north_m=900)
    near = make_responder("mia", north_m=150)
    incident = open_incident()
    select = assign_select(dispatcher, incident)
    assert preselected(select) == [str(near.pk)]
    assert "about" in text_of(select, near) and "min away" in text_of(select, near)
    assert text_of(select, aaron).endswith("(off shift)")
    # Free ones nearest first; anyone off shift after everyone on shift.
    assert order(select).index(str(near.pk)) < order(select).index(str(far.pk))
    assert order(select)[-1] == str(aaron.pk)


def test_it_skips_a_busy_or_unqualified_responder(dispatcher: Client, make_responder) -> None:
    busy = make_responder("bo", north_m=20)
    held = open_incident()
    offer_accept(offer_id=Offer.objects.get(incident=held, responder=busy).pk, responder=busy,
                 now=timezone.now())
    unqualified = make_responder("una", north_m=30, skills=("first_aid",))
    free = make_responder("fay", north_m=800)
    incident = open_incident()
    select = assign_select(dispatcher, incident)
    assert preselected(select) == [str(free.pk)]
    assert f"(holding #{held.pk})" in text_of(select, busy)
    assert "(without naloxone)" in text_of(select, unqualified)
    assert order(select)[0] == str(free.pk)


def test_it_does_not_preselect_someone_who_declined(dispatcher: Client, make_responder) -> None:
    near = make_responder("nia", north_m=50)
    second = make_responder("sol", north_m=400)
    incident = open_incident()
    offer_decline(offer_id=Offer.objects.get(incident=incident, responder=near).pk,
                  responder=near, now=timezone.now())
    select = assign_select(dispatcher, incident)
    assert preselected(select) == [str(second.pk)]
    assert "declined this one" in text_of(select, near)


def test_it_preselects_nobody_when_nobody_free_can_take_it(dispatcher: Client,
                                                          make_responder) -> None:
    off = make_responder("otto", north_m=10, on_shift=False)
    incident = open_incident()
    select = assign_select(dispatcher, incident)
    assert preselected(select) == [""]
    assert "Choose a responder" in select
    assert str(off.pk) in order(select)
    r = dispatcher.post(f"/console/incidents/{incident.pk}/assign/", {"responder_id": ""},
                        follow=True)
    assert any("Choose a responder" in str(m) for m in r.context["messages"])
    incident.refresh_from_db()
    assert incident.assigned_responder_id is None


def test_it_assigns_the_preselected_responder(dispatcher: Client, make_responder) -> None:
    make_responder("aaron", north_m=10, on_shift=False)
    near = make_responder("mia", north_m=150)
    incident = open_incident()
    [value] = preselected(assign_select(dispatcher, incident))
    dispatcher.post(f"/console/incidents/{incident.pk}/assign/", {"responder_id": value})
    incident.refresh_from_db()
    assert incident.assigned_responder_id == near.pk
