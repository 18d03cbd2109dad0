"""Going off shift with offers open warns first and asks to confirm, without scripts;
then the offers go to other responders at once (issue 13, item 10)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from spotline.conftest import CENTRE
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, Offer
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db


def login(responder: Responder) -> Client:
    client = Client()
    client.force_login(responder.user)
    return client


def open_incident() -> Incident:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                         description="By the bins", breathing=Answer.NO),
                         now=timezone.now()).incident


def on_shift(responder: Responder) -> bool:
    return Responder.objects.get(pk=responder.pk).on_shift_since is not None


def test_it_says_on_the_page_that_going_off_shift_withdraws_the_offers(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    open_incident()
    open_incident()
    html = login(sam).get("/responder/").content.decode()
    assert "You have 2 open offers: going off shift withdraws them" in html
    # The button leads to the confirmation page, with or without scripts.
    form = re.search(r'<form [^>]*id="shift-form"[^>]*>', html)
    assert form and "data-ajax" not in form.group(0)


def test_it_goes_straight_off_shift_with_no_offers(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    html = login(sam).get("/responder/").content.decode()
    assert "open offer" not in html
    form = re.search(r'<form [^>]*id="shift-form"[^>]*>', html)
    assert form and "data-ajax" in form.group(0)


def test_it_asks_to_confirm_before_withdrawing_offers(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    incident = open_incident()
    offer = Offer.objects.get(incident=incident, responder=sam)
    r = login(sam).post("/responder/shift/", {"on_shift": "0"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "You have an open offer: going off shift withdraws it" in html
    assert "Overdose · P1 life at risk" in html
    assert "By the bins" not in html  # the place is for whoever accepts
    assert f'name="withdraw" value="{offer.pk}"' in html
    assert 'href="/responder/"' in html  # "Stay on shift"
    assert on_shift(sam)
    offer.refresh_from_db()
    assert offer.status == "pending"


def test_it_goes_off_shift_once_confirmed_and_widens_at_once(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    make_responder("jo", north_m=300)
    make_responder("kai", north_m=400)  # a P1's first round: the three nearest
    alex = make_responder("alex", north_m=900)  # the fourth: 16 min, within the cap
    incident = open_incident()
    offer = Offer.objects.get(incident=incident, responder=sam)
    assert not Offer.objects.filter(incident=incident, responder=alex).exists()
    r = login(sam).post("/responder/shift/", {"on_shift": "0", "withdraw": str(offer.pk)},
                        follow=True)
    messages = [str(m) for m in r.context["messages"]]
    assert any("offered to other responders now" in m for m in messages)
    assert not on_shift(sam)
    offer.refresh_from_db()
    assert offer.status == "withdrawn"
    # Alex, next in line, has an offer now, not at the end of the round.
    assert Offer.objects.get(incident=incident, responder=alex).status == "pending"


def test_a_script_gets_the_warning_as_json(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    open_incident()
    r = login(sam).post("/responder/shift/", {"on_shift": "0"},
                        headers={"X-Requested-With": "fetch"})
    assert r.status_code == 409
    assert "going off shift withdraws it" in r.json()["detail"]
    assert on_shift(sam)


def test_it_ignores_nonsense_in_the_confirmation(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    open_incident()
    r = login(sam).post("/responder/shift/", {"on_shift": "0",
                                              "withdraw": "x,9" * 2000 + ",-1," + "9" * 5000})
    assert r.status_code == 200
    assert "going off shift withdraws it" in r.content.decode()
    assert on_shift(sam)
