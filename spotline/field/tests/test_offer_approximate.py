"""An offer for a place found from words says so (issue 14, item 4): ``approximate`` and
the radius in the API, "approximate" on the card, and once accepted, how far the place
may be from its point."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from spotline.conftest import CENTRE, T0, api_for
from spotline.core.triage import Kind
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, LocatedBy, Offer
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db


def page(responder: Responder) -> str:
    client = Client()
    client.force_login(responder.user)
    return client.get("/responder/").content.decode()


def open_at(*, radius_m: float | None) -> Incident:
    return incident_open(IncidentRequest(
        kind=Kind.OVERDOSE, location=CENTRE, accuracy_m=radius_m, description="the tracks",
        located_by=LocatedBy.WORDS if radius_m is not None else LocatedBy.DEVICE),
        now=T0).incident


def test_the_offer_says_the_place_is_approximate_and_how_wide(make_responder: Any) -> None:
    sam = make_responder("sam", north_m=300)
    open_at(radius_m=149.6)
    [offer] = api_for(sam).get("/api/v1/me/offers").json()
    assert offer["approximate"] is True and offer["radius_m"] == 150
    html = page(sam)
    assert '<strong class="offer-place" data-location="approximate">approximate</strong>' in html
    # The place itself stays hidden until the responder accepts.
    assert "within about 150 m" not in html


def test_an_exact_place_is_not_called_approximate(make_responder: Any) -> None:
    sam = make_responder("sam", north_m=300)
    open_at(radius_m=None)
    [offer] = api_for(sam).get("/api/v1/me/offers").json()
    assert offer["approximate"] is False and offer["radius_m"] is None
    assert "offer-place" not in page(sam)


def test_once_accepted_the_card_says_within_how_many_metres(make_responder: Any) -> None:
    sam = make_responder("sam", north_m=300)
    incident = open_at(radius_m=150)
    offer = Offer.objects.get(incident=incident, responder=sam)
    offer_accept(offer_id=offer.pk, responder=sam, now=T0)
    html = page(sam)
    assert '<p class="notice" id="approximate-place">The place is approximate: within about ' \
           '150 m.</p>' in html
    client = Client()
    client.force_login(sam.user)
    client.cookies["django_language"] = "es"
    spanish = client.get("/responder/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "El lugar es aproximado: a unos 150 m." in spanish


def test_the_dispatcher_sees_it_on_the_incident_offers(make_responder: Any,
                                                        dispatcher_api: Any) -> None:
    make_responder("sam", north_m=300)
    incident = open_at(radius_m=200)
    body = dispatcher_api.get(f"/api/v1/incidents/{incident.pk}").json()
    assert [(o["approximate"], o["radius_m"]) for o in body["offers"]] == [(True, 200)]
