"""No silent guesses (issue 14, item 4): an incident without a point is offered to
nobody automatically; the dispatcher is alerted and the person asked where they are; a
dispatcher may still widen by hand; a place set later starts the usual rounds, and the
timers armed at opening still fire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from spotline.conftest import CENTRE, T0, Api, offset
from spotline.core.geo import Mode
from spotline.core.policy import ASKED_WITHOUT_PLACE_MAX, Actor, EscalationTarget, OfferStatus
from spotline.core.triage import Kind
from spotline.dispatch.actions.dispatcher import incident_cancel, incident_escalate
from spotline.dispatch.actions.opening import IncidentRequest, Opened, incident_open
from spotline.dispatch.actions.relocate import incident_relocate
from spotline.dispatch.models import Incident, LocatedBy, Offer, Source
from spotline.dispatch.timers import fire_due
from spotline.dispatch.words import word
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
ASK_WHERE = ("We need to know where you are to send someone: text us an address, a street "
             "corner or a place nearby.")


def open_without_point(**kwargs: Any) -> Opened:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, description="behind the shop",
                                         **kwargs), now=T0)


def reload(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def status_texts(incident: Incident) -> list[str]:
    return [unseal(m.body_sealed, context="message.body")
            for m in Message.objects.filter(incident=incident, purpose="status").order_by("id")]


def track(token: str, *, at: Any = T0) -> dict[str, Any]:
    with time_machine.travel(at, tick=False):
        r = Api().get(f"/api/v1/track/{token}")
    assert r.status_code == 200, r.content
    return r.json()


def test_nobody_is_offered_blindly_and_the_dispatcher_is_alerted_at_once(
    make_responder: Any,
) -> None:
    for n in range(4):
        make_responder(north_m=100 * n)
    incident = open_without_point().incident
    assert not Offer.objects.filter(incident=incident).exists()
    fresh = reload(incident)
    assert fresh.round_shortfall == "location_unknown"
    assert (fresh.attention, fresh.attention_at) == ("location_unknown", T0)
    assert word("attention", fresh.attention) == (
        "location unknown: choose responders or set the place")
    assert incident.events.get(type="no_offers").data == {"round": 1,
                                                          "shortfall": "location_unknown"}
    # Every later round finds the same: still nobody, and said once, not every round.
    for at in (45, 90, 135):
        fire_due(now=T0 + at * S)
    assert not Offer.objects.filter(incident=incident).exists()
    assert incident.events.filter(type="no_offers").count() == 1
    assert reload(incident).attention == "location_unknown"


def test_the_person_who_texted_is_asked_where_they_are_once(make_responder: Any) -> None:
    make_responder()
    incident = open_without_point(source=Source.SMS, callback_phone="+15550104242").incident
    for at in (45, 90, 120, 135):
        fire_due(now=T0 + at * S)
    texts = status_texts(incident)
    assert texts[0] == ASK_WHERE
    # At the deadline: that nobody could be sent (not "nobody accepted"), and what the
    # person can do themselves.
    assert texts[1].startswith("We still do not know where you are, so nobody could be "
                               "sent. A dispatcher has been alerted.")
    assert "you can call" in texts[1]
    assert len(texts) == 2, texts  # each once, however often the timers fire
    # Not "nobody is free": someone is; the place is what is missing.
    assert not any(t.startswith("Nobody") for t in texts)


def test_a_person_who_texted_in_spanish_is_asked_in_spanish(make_responder: Any) -> None:
    make_responder()
    incident = open_without_point(source=Source.SMS, callback_phone="+15550104242",
                                  language="es").incident
    [text] = status_texts(incident)
    assert text.startswith("Necesitamos saber dónde está")


def test_a_web_request_without_a_point_shows_the_question(make_responder: Any) -> None:
    make_responder()
    opened = open_without_point()
    assert status_texts(opened.incident) == []  # no texts to a web request
    body = track(opened.tracking_token)
    assert body["stage"] == "location_needed"
    assert body["message"].startswith("We need to know where you are to send someone.")
    assert body["offered_to"] == 0 and body["nobody_on_shift"] is False
    with time_machine.travel(T0, tick=False):
        html = Client().get(f"/t/{opened.tracking_token}/").content.decode()
    assert 'class="notice" role="status" id="status-message"' in html
    assert 'data-stage="location_needed"' in html and "What you can do now" in html
    # Past the deadline (an ambulance proposed), the place is still the question.
    fire_due(now=T0 + 120 * S)
    assert track(opened.tracking_token, at=T0 + 121 * S)["stage"] == "location_needed"


def test_the_status_page_says_it_in_spanish(make_responder: Any) -> None:
    make_responder()
    opened = open_without_point(language="es")
    assert track(opened.tracking_token)["message"].startswith("Necesitamos saber dónde está")


@pytest.mark.parametrize("actor", [Actor.PERSON, Actor.DISPATCHER])
def test_closing_it_unserved_records_location_unknown(make_responder: Any,
                                                       actor: Actor) -> None:
    make_responder()
    incident = open_without_point().incident
    fire_due(now=T0 + 45 * S)
    incident_cancel(incident_id=incident.pk, actor=actor, user_id=None, now=T0 + 60 * S)
    assert reload(incident).unserved_reason == "location_unknown"


def test_the_deadline_keeps_the_place_as_the_alarm(make_responder: Any) -> None:
    make_responder()
    incident = open_without_point().incident
    fire_due(now=T0 + 120 * S)
    fresh = reload(incident)
    assert fresh.unanswered_at == T0 + 120 * S and fresh.ems_proposed_at == T0 + 120 * S
    assert fresh.attention == "location_unknown"


def test_a_dispatcher_widening_offers_every_free_qualified_responder(
    make_responder: Any,
) -> None:
    free = [make_responder(north_m=100 * n) for n in range(4)]
    make_responder("nurse", skills=("first_aid",))  # not qualified for an overdose
    make_responder("home", on_shift=False)
    incident = open_without_point(source=Source.SMS, callback_phone="+15550104242").incident
    incident_escalate(incident_id=incident.pk, to=EscalationTarget.MORE_RESPONDERS,
                      user_id=None, now=T0 + 10 * S)
    offers = Offer.objects.filter(incident=incident, status=OfferStatus.PENDING)
    assert {o.responder_id for o in offers} == {r.pk for r in free}
    assert all(o.eta_seconds is None and o.distance_m is None for o in offers)
    body = unseal(Message.objects.filter(incident=incident, purpose="offer").first()
                  .body_sealed, context="message.body")
    assert "(place not known yet)" in body
    assert incident.events.get(type="escalated").data["offers"] == 4
    # Their offers ran out: the automatic round after them offers nobody again, and
    # the alarm is the place, not "widened".
    fire_due(now=T0 + 55 * S)
    assert not Offer.objects.filter(incident=incident, status=OfferStatus.PENDING).exists()
    fresh = reload(incident)
    assert (fresh.round_shortfall, fresh.attention) == ("location_unknown", "location_unknown")
    assert status_texts(incident).count(ASK_WHERE) == 1


def test_a_dispatcher_widening_without_a_point_is_bounded(make_responder: Any) -> None:
    for n in range(ASKED_WITHOUT_PLACE_MAX + 2):
        make_responder(north_m=10 * n)
    incident = open_without_point().incident
    incident_escalate(incident_id=incident.pk, to=EscalationTarget.MORE_RESPONDERS,
                      user_id=None, now=T0)
    assert Offer.objects.filter(incident=incident).count() == ASKED_WITHOUT_PLACE_MAX


def test_a_place_set_later_starts_the_rounds_and_the_timers_still_fire(
    make_responder: Any,
) -> None:
    near = [make_responder(north_m=100 + 150 * n) for n in range(5)]
    opened = open_without_point()
    incident = opened.incident
    fire_due(now=T0 + 45 * S)  # a round with no place: nobody
    moved_at = T0 + 60 * S
    incident_relocate(incident_id=incident.pk, point=offset(CENTRE, 50), radius_m=150,
                      located_by=LocatedBy.WORDS, actor=Actor.PERSON, now=moved_at)
    first = Offer.objects.filter(incident=incident, status=OfferStatus.PENDING)
    assert {o.responder_id for o in first} == {r.pk for r in near[:3]}
    fresh = reload(incident)
    assert fresh.attention == "" and fresh.round_shortfall == ""
    assert track(opened.tracking_token, at=moved_at)["stage"] != "location_needed"

    # The new round's own expiry widens to the next nearest.
    fire_due(now=moved_at + 45 * S)
    assert {o.responder_id for o in Offer.objects.filter(
        incident=incident, status=OfferStatus.PENDING)} == {r.pk for r in near[3:]}
    assert reload(incident).attention == "widened"
    # The escalation deadline armed at opening (T0 + 120 s) still fires.
    fire_due(now=T0 + 120 * S)
    fresh = reload(incident)
    assert fresh.unanswered_at == T0 + 120 * S and fresh.attention == "unanswered"
    assert track(opened.tracking_token, at=T0 + 121 * S)["stage"] == "ambulance_proposed"


def test_a_place_set_after_the_deadline_still_gets_offers_and_rounds(
    make_responder: Any,
) -> None:
    near = [make_responder(north_m=100 + 150 * n) for n in range(4)]
    incident = open_without_point().incident
    fire_due(now=T0 + 120 * S)
    moved_at = T0 + 200 * S
    incident_relocate(incident_id=incident.pk, point=CENTRE, located_by=LocatedBy.MAP,
                      actor=Actor.DISPATCHER, now=moved_at)
    assert {o.responder_id for o in Offer.objects.filter(
        incident=incident, status=OfferStatus.PENDING)} == {r.pk for r in near[:3]}
    fire_due(now=moved_at + 45 * S)
    assert {o.responder_id for o in Offer.objects.filter(
        incident=incident, status=OfferStatus.PENDING)} == {near[3].pk}


@pytest.mark.parametrize(("radius_m", "nearest"), [(None, "walk"), (800.0, "bike")])
def test_an_approximate_place_ranks_with_its_radius_added(
    make_responder: Any, radius_m: float | None, nearest: str,
) -> None:
    # To a known point the walkers close by are quicker; to somewhere within 800 m of
    # it, the bikes a little farther out cover the circle first.
    for n, north_m in enumerate((200, 250, 300)):
        make_responder(f"walk{n}", mode=Mode.WALK, north_m=north_m)
    for n, north_m in enumerate((1500, 1550, 1600)):
        make_responder(f"bike{n}", mode=Mode.BIKE, north_m=north_m)
    incident = incident_open(IncidentRequest(
        kind=Kind.OVERDOSE, location=CENTRE, accuracy_m=radius_m,
        located_by=LocatedBy.WORDS if radius_m else LocatedBy.DEVICE), now=T0).incident
    offered = Offer.objects.filter(incident=incident).select_related("responder")
    assert {o.responder.alias[:4].lower() for o in offered} == {nearest}
