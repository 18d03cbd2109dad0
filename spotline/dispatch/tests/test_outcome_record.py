"""Recording and correcting an outcome: what the caller's form was built from decides
whether it may overwrite what is saved (issue 13, item 9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from spotline.conftest import CENTRE, T0
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.reports import incident_outcome, incident_report
from spotline.dispatch.models import EmsOutcome, Incident, Offer, Outcome
from spotline.errors import Conflict
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


@pytest.fixture
def on_scene(make_responder: Any) -> tuple[Responder, Incident]:
    sam = make_responder("sam", north_m=100)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                             breathing=Answer.NO), now=T0).incident
    offer = Offer.objects.get(incident=incident, responder=sam)
    offer_accept(offer_id=offer.pk, responder=sam, now=T0 + S)
    incident_report(incident_id=incident.pk, type="on_scene", now=T0 + 60 * S,
                    responder=sam, user_id=sam.user_id)
    return sam, incident


def record(sam: Responder, incident: Incident, *, at: int, doses: int, **kwargs: Any) -> Outcome:
    return incident_outcome(incident_id=incident.pk, responder=sam, user_id=sam.user_id,
                            now=T0 + at * S, naloxone_doses=doses,
                            responsive_after=Answer.YES, ems=EmsOutcome.NOT_NEEDED, **kwargs)


def test_it_refuses_a_new_outcome_over_a_saved_one(on_scene) -> None:
    sam, incident = on_scene
    record(sam, incident, at=100, doses=2, notes="a note", replaces=None)
    with pytest.raises(Conflict, match="already saved"):
        record(sam, incident, at=200, doses=0, replaces=None)
    saved = Outcome.objects.get(incident=incident)
    assert (saved.naloxone_doses, saved.notes, saved.recorded_at) == (2, "a note",
                                                                      T0 + 100 * S)


def test_it_saves_an_edit_of_the_outcome_it_was_opened_from(on_scene) -> None:
    sam, incident = on_scene
    first = record(sam, incident, at=100, doses=2, notes="a note", replaces=None)
    record(sam, incident, at=200, doses=3, replaces=first.recorded_at)
    saved = Outcome.objects.get(incident=incident)
    assert (saved.naloxone_doses, saved.recorded_at) == (3, T0 + 200 * S)
    assert saved.notes == "a note"  # left out: kept


def test_it_refuses_an_edit_of_an_outcome_changed_since(on_scene) -> None:
    sam, incident = on_scene
    first = record(sam, incident, at=100, doses=2, replaces=None)
    record(sam, incident, at=200, doses=3, replaces=first.recorded_at)
    with pytest.raises(Conflict, match="changed since"):
        record(sam, incident, at=300, doses=1, replaces=first.recorded_at)
    assert Outcome.objects.get(incident=incident).naloxone_doses == 3


def test_it_refuses_an_edit_when_nothing_was_saved(on_scene) -> None:
    sam, incident = on_scene
    with pytest.raises(Conflict):
        record(sam, incident, at=100, doses=1, replaces=T0)
    assert not Outcome.objects.filter(incident=incident).exists()


def test_a_correction_without_referrals_or_notes_keeps_them(on_scene) -> None:
    sam, incident = on_scene
    record(sam, incident, at=100, doses=2, referrals=["housing"], notes="a note")
    record(sam, incident, at=200, doses=3)
    saved = Outcome.objects.get(incident=incident)
    assert (saved.naloxone_doses, saved.referrals, saved.notes) == (3, ["housing"], "a note")
    assert [e.data["corrected"] for e in incident.events.filter(type="outcome")
            .order_by("id")] == [False, True]
