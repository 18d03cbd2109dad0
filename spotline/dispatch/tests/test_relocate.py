"""Setting or moving an incident's point re-ranks its offers from the new place."""

from __future__ import annotations

from typing import Any

import pytest

from spotline.conftest import CENTRE, T0, offset
from spotline.core.policy import Actor, OfferStatus
from spotline.core.triage import Kind, Priority
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.relocate import incident_relocate
from spotline.dispatch.models import Incident, LocatedBy
from spotline.errors import Conflict, Invalid

pytestmark = pytest.mark.django_db


def pending(incident: Incident) -> set[str]:
    return {o.responder.alias for o in incident.offers.filter(status=OfferStatus.PENDING)
            .select_related("responder")}


def test_moving_the_point_offers_it_to_whoever_is_nearest_now(make_responder: Any) -> None:
    for name, north_m in (("south", -3000), ("south2", -3100), ("north", 3000),
                          ("north2", 3100)):
        make_responder(name, north_m=north_m)
    # P3: two offers a round, so who gets them says who is nearest.
    incident = incident_open(IncidentRequest(kind=Kind.WELFARE_CHECK, priority=Priority.P3,
                                             location=offset(CENTRE, -2900)), now=T0).incident
    assert pending(incident) == {"South", "South2"}
    moved = incident_relocate(incident_id=incident.pk, point=offset(CENTRE, 2900),
                              located_by=LocatedBy.MAP, actor=Actor.DISPATCHER, now=T0)
    assert pending(moved) == {"North", "North2"}
    assert incident.offers.get(responder__alias="South").status == OfferStatus.WITHDRAWN
    assert moved.location_status == "exact"
    types = list(moved.events.values_list("type", flat=True))
    assert types[-3:] == ["relocated", "offers_made", "widened"]


def test_a_place_from_words_is_approximate_with_its_radius(make_responder: Any) -> None:
    make_responder("near")
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, description="the tracks"),
                             now=T0).incident
    assert incident.location_status == "unknown"
    moved = incident_relocate(incident_id=incident.pk, point=CENTRE, radius_m=120,
                              located_by=LocatedBy.WORDS, description="Railway yard",
                              actor=Actor.PERSON, now=T0)
    fresh = Incident.objects.get(pk=incident.pk)
    assert (fresh.location_status, fresh.accuracy_m) == ("approximate", 120)
    assert fresh.location_description == "Railway yard" and fresh.area
    assert moved.events.get(type="relocated").data == {
        "was": "unknown", "now_status": "approximate", "located_by": "words"}


@pytest.mark.parametrize("radius", [-1.0, 10_000.0, float("nan")])
def test_it_refuses_an_impossible_radius(radius: float) -> None:
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                             now=T0).incident
    with pytest.raises(Invalid):
        incident_relocate(incident_id=incident.pk, point=CENTRE, radius_m=radius,
                          located_by=LocatedBy.MAP, actor=Actor.DISPATCHER, now=T0)


def test_a_closed_incident_stays_where_it_was() -> None:
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                             now=T0).incident
    incident_cancel(incident_id=incident.pk, actor=Actor.DISPATCHER, user_id=None, now=T0)
    with pytest.raises(Conflict):
        incident_relocate(incident_id=incident.pk, point=offset(CENTRE, 100),
                          located_by=LocatedBy.MAP, actor=Actor.DISPATCHER, now=T0)
