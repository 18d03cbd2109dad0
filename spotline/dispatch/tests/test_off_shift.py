"""Going off shift with offers open: refused until the responder confirms the offers
they were shown; then, in one transaction, each incident that lost an offer widens at
once, once (issue 13, item 10)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from spotline.audit.models import AuditEntry
from spotline.conftest import CENTRE, T0, offset
from spotline.core.policy import OfferStatus
from spotline.core.triage import Answer, Kind
from spotline.dispatch import timers as worker
from spotline.dispatch.actions import offers as offer_actions
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.shifts import OffersOpen, shift_set
from spotline.dispatch.models import Incident, IncidentEvent, Offer
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


@pytest.fixture
def cast(make_responder: Callable[..., Responder]) -> dict[str, Responder]:
    """Three near responders (a P1's first round) and three farther ones."""
    return {name: make_responder(name, north_m=north) for name, north in (
        ("near1", 100), ("near2", 200), ("near3", 300),
        ("far1", 800), ("far2", 900), ("far3", 1000))}  # within the P1 cap: 20 min


def open_overdose(*, now: Any = T0, north_m: float = 0.0) -> Incident:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=offset(CENTRE, north_m),
                                         breathing=Answer.NO), now=now).incident


def pending(incident: Incident) -> set[int]:
    return set(Offer.objects.filter(incident=incident, status=OfferStatus.PENDING)
               .values_list("responder_id", flat=True))


def widened(incident: Incident) -> list[IncidentEvent]:
    return list(IncidentEvent.objects.filter(incident=incident, type="widened"))


def offer_id(incident: Incident, responder: Responder) -> int:
    return Offer.objects.get(incident=incident, responder=responder).pk


def test_it_refuses_to_withdraw_offers_nobody_confirmed(cast) -> None:
    incident = open_overdose()
    near1 = cast["near1"]
    with pytest.raises(OffersOpen) as refused:
        shift_set(responder=near1, on_shift=False, location=None, now=T0 + S,
                  withdraw=frozenset())
    assert refused.value.offer_ids == [offer_id(incident, near1)]
    assert "an open offer" in refused.value.message
    near1.refresh_from_db()
    assert near1.on_shift_since is not None and near1.lat is not None
    assert near1.pk in pending(incident)
    assert widened(incident) == []


def test_it_asks_again_about_an_offer_made_after_the_warning(cast) -> None:
    first = open_overdose()
    near1 = cast["near1"]
    shown = frozenset({offer_id(first, near1)})
    second = open_overdose(now=T0 + 5 * S, north_m=50)
    with pytest.raises(OffersOpen) as refused:
        shift_set(responder=near1, on_shift=False, location=None, now=T0 + 6 * S,
                  withdraw=shown)
    assert refused.value.offer_ids == sorted([offer_id(first, near1),
                                              offer_id(second, near1)])
    assert near1.pk in pending(first) and near1.pk in pending(second)


def test_it_widens_an_incident_that_lost_an_offer_at_once(cast) -> None:
    incident = open_overdose()
    near1 = cast["near1"]
    assert pending(incident) == {cast[n].pk for n in ("near1", "near2", "near3")}
    shift_set(responder=near1, on_shift=False, location=None, now=T0 + 10 * S,
              withdraw={offer_id(incident, near1)})
    # Not at the round's end (45 s): now, while near2 and near3 still have theirs.
    assert Offer.objects.get(incident=incident, responder=near1).status == "withdrawn"
    assert pending(incident) == {cast[n].pk for n in ("near2", "near3", "far1", "far2",
                                                       "far3")}
    [event] = widened(incident)
    assert event.at == T0 + 10 * S
    assert event.data["why"] == "responder_left"
    incident.refresh_from_db()
    assert incident.current_round == 2
    assert {o.expires_at for o in Offer.objects.filter(incident=incident, round=2)} == {
        T0 + 55 * S}


def test_it_widens_each_incident_once(cast) -> None:
    first = open_overdose()
    second = open_overdose(now=T0 + S, north_m=50)
    near1 = cast["near1"]
    ids = {offer_id(first, near1), offer_id(second, near1)}
    shift_set(responder=near1, on_shift=False, location=None, now=T0 + 10 * S, withdraw=ids)
    # A repeat (a double tap) finds nothing pending and widens nothing again.
    shift_set(responder=near1, on_shift=False, location=None, now=T0 + 11 * S, withdraw=ids)
    assert len(widened(first)) == 1
    assert len(widened(second)) == 1
    # The first round's timer expires its own offers but does not widen again.
    worker.fire_due(now=T0 + 46 * S)
    assert len(widened(first)) == 1
    assert first.events.filter(type="offers_expired").exists()


def test_it_audits_going_off_shift_and_what_it_did(cast) -> None:
    incident = open_overdose()
    near1 = cast["near1"]
    before = AuditEntry.objects.count()
    shift_set(responder=near1, on_shift=False, location=None, now=T0 + 10 * S,
              withdraw={offer_id(incident, near1)})
    actions = list(AuditEntry.objects.order_by("id")[before:].values_list(
        "action", "object_type", "object_id"))
    assert ("responder.shift_off", "responder", near1.pk) in actions
    assert ("incident.offer_withdrawn", "incident", incident.pk) in actions
    assert ("incident.widened", "incident", incident.pk) in actions


def test_it_changes_nothing_if_widening_fails(cast, monkeypatch) -> None:
    incident = open_overdose()
    near1 = cast["near1"]

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("widening failed")

    monkeypatch.setattr(offer_actions, "widen", broken)
    with pytest.raises(RuntimeError):
        shift_set(responder=near1, on_shift=False, location=None, now=T0 + 10 * S,
                  withdraw={offer_id(incident, near1)})
    near1.refresh_from_db()
    assert near1.on_shift_since is not None
    assert near1.pk in pending(incident)
    assert not incident.events.filter(type="offer_withdrawn").exists()


def test_the_api_goes_off_shift_without_asking(cast) -> None:
    incident = open_overdose()
    near1 = cast["near1"]
    shift_set(responder=near1, on_shift=False, location=None, now=T0 + 10 * S)
    assert near1.pk not in pending(incident)
    assert len(widened(incident)) == 1
