"""The six situations a real city's calls showed (issue 15), replayed against the
database through the actions, one named test each.

Replaying 113 community-eligible calls with 12 simulated responders found: "all busy"
recorded as "no answer"; incidents left with nobody to ask after declines; offers to
responders six hours away; a freed responder taken by a newer P2 before an older P1;
"could not find them" after arriving counted as served; and overdoses across a large
area waiting for the deadline before an ambulance was even proposed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

from spotline.conftest import CENTRE, T0, Api, offset
from spotline.core.geo import Mode
from spotline.core.lifecycle import State
from spotline.core.policy import (
    DEFAULT_POLICY,
    Actor,
    DispatchPolicy,
    EscalationTarget,
    OfferStatus,
    Shortfall,
)
from spotline.core.triage import Answer, Kind, Priority
from spotline.dispatch.actions.dispatcher import incident_cancel, incident_escalate
from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.actions.opening import IncidentRequest, Opened, incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.actions.shifts import responder_locate, shift_set
from spotline.dispatch.models import Incident, IncidentEvent, Offer, Source
from spotline.dispatch.timers import fire_due
from spotline.dispatch.words import event_sentence, word
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal


def s(n: float) -> timedelta:
    return timedelta(seconds=n)


def open_(kind: Kind = Kind.OVERDOSE, *, at: Any = CENTRE, now: Any = T0,
          **answers: Answer) -> Opened:
    return incident_open(IncidentRequest(kind=kind, location=at, **answers), now=now)


def stage(public_api: Api, opened: Opened) -> str:
    response = public_api.get(f"/api/v1/track/{opened.tracking_token}")
    assert response.status_code == 200
    return str(response.json()["stage"])


def events(incident: Incident, type: str) -> list[dict[str, Any]]:
    return [e.data for e in IncidentEvent.objects.filter(incident=incident, type=type)]


def test_all_busy_is_recorded_as_all_busy_not_no_answer(make_responder: Any) -> None:
    """1. One responder on shift; incidents X and Y; they accept X; Y's caller cancels."""
    only = make_responder("sam", north_m=100)
    x = open_().incident
    y = open_(now=T0 + s(1)).incident
    offer_accept(offer_id=x.offers.get(responder=only).pk, responder=only, now=T0 + s(5))
    assert y.offers.get(responder=only).status == OfferStatus.WITHDRAWN
    incident_cancel(incident_id=y.pk, actor=Actor.PERSON, user_id=None, now=T0 + s(60))
    y.refresh_from_db()
    assert y.unserved_reason == Shortfall.ALL_BUSY
    assert events(y, "no_offers")[-1]["shortfall"] == Shortfall.ALL_BUSY


def test_no_dead_end_after_declines(make_responder: Any, public_api: Api) -> None:
    """2. The only near responder declines: the dispatcher is alerted and the person told
    at once that nobody is left to ask; after the cool-down they are asked again. (A P2:
    for a P1 overdose an ambulance proposed at once outranks "unanswered".)"""
    only = make_responder("sam", north_m=100)
    opened = open_(breathing=Answer.YES, conscious=Answer.YES)
    assert opened.incident.priority == Priority.P2
    incident = opened.incident
    offer = incident.offers.get(responder=only)
    offer_decline(offer_id=offer.pk, responder=only, now=T0 + s(5))
    incident.refresh_from_db()
    assert incident.attention == Shortfall.ALL_DECLINED
    assert word("attention", incident.attention).startswith("no one left to ask")
    assert stage(public_api, opened) == "unanswered"
    # Rounds go on; the cool-down (5 min for P2) passes; Sam is asked again.
    now = T0 + s(5)
    while now < T0 + s(5 + 300 + 90):
        now += s(15)
        fire_due(now=now)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.PENDING
    assert offer.asks == 2
    incident.refresh_from_db()
    assert incident.round_shortfall == ""
    # The second decline waits twice as long (10 min) before a third ask.
    offer_decline(offer_id=offer.pk, responder=only, now=now)
    for later in range(60, 540, 60):
        fire_due(now=now + s(later))
    offer.refresh_from_db()
    assert offer.status == OfferStatus.DECLINED


def test_no_offer_beyond_the_cap(make_responder: Any) -> None:
    """3. A walker 20 km away is not offered a welfare check; the dispatcher sees how
    far the nearest available is."""
    make_responder("far", at=offset(CENTRE, 20_000))
    incident = open_(Kind.WELFARE_CHECK).incident
    assert incident.priority != Priority.P1
    assert not incident.offers.exists()
    assert incident.attention == Shortfall.OUT_OF_REACH
    data = events(incident, "no_offers")[-1]
    assert data == {"round": 1, "shortfall": "out_of_reach", "nearest_minutes": 359}
    sentence = event_sentence("no_offers", data, {})
    assert "the nearest available is 359 min away" in sentence


def test_a_freed_responder_gets_the_older_p1_at_once(make_responder: Any) -> None:
    """4. A responder who resolves an incident is offered the P1 that waited longest at
    once, not a newer P2 nearer to them at its next round."""
    ana = make_responder("ana", north_m=0)
    held = open_().incident
    offer_accept(offer_id=held.offers.get(responder=ana).pk, responder=ana, now=T0 + s(1))
    for step in ("en_route", "on_scene"):
        incident_report(incident_id=held.pk, type=step, now=T0 + s(2), responder=ana,
                        user_id=None)
    p1 = open_(at=offset(CENTRE, 600), now=T0 + s(10),
               breathing=Answer.NO).incident  # ana is busy: nobody to offer it to
    p2 = open_(at=offset(CENTRE, 50), now=T0 + s(20), breathing=Answer.YES,
               conscious=Answer.YES).incident
    assert (p1.priority, p2.priority) == (Priority.P1, Priority.P2)
    assert not Offer.objects.filter(responder=ana, status=OfferStatus.PENDING).exists()
    incident_report(incident_id=held.pk, type="resolved", now=T0 + s(30), responder=ana,
                    user_id=None)
    pending = Offer.objects.filter(responder=ana, status=OfferStatus.PENDING)
    assert [o.incident_id for o in pending] == [p1.pk]
    made = events(p1, "offers_made")[-1]
    assert made["why"] == "responder_free" and made["responder_ids"] == [ana.pk]


def test_a_responder_who_moves_within_reach_is_offered_at_once(make_responder: Any) -> None:
    far = make_responder("far", at=offset(CENTRE, 5000))
    incident = open_().incident
    assert not incident.offers.exists()
    responder_locate(responder=far, location=offset(CENTRE, 300), now=T0 + s(10))
    assert incident.offers.get(responder=far).status == OfferStatus.PENDING


def test_could_not_find_them_after_arriving_is_not_served(make_responder: Any) -> None:
    """5. On scene, then unable to locate: unserved, and the dispatcher sees why."""
    ana = make_responder("ana", north_m=100)
    incident = open_().incident
    offer_accept(offer_id=incident.offers.get(responder=ana).pk, responder=ana,
                 now=T0 + s(5))
    for step in ("on_scene", "unable_to_locate"):
        incident_report(incident_id=incident.pk, type=step, now=T0 + s(60), responder=ana,
                        user_id=None)
    incident.refresh_from_db()
    assert incident.state == State.UNABLE_TO_LOCATE
    assert incident.unserved_reason == Shortfall.UNABLE_TO_LOCATE
    assert events(incident, "unserved") == [{"reason": "unable_to_locate"}]


def test_an_overdose_nobody_near_can_reach_gets_an_ambulance_proposed_at_once(
    make_responder: Any, public_api: Api,
) -> None:
    """6. Only a walker 900 m away (about 16 min) for a P1 overdose: proposed at once,
    by the policy, not two minutes later at the deadline. The walker is still asked."""
    far = make_responder("far", north_m=900)
    opened = open_(breathing=Answer.NO)
    incident = opened.incident
    incident.refresh_from_db()
    assert incident.priority == Priority.P1
    assert incident.offers.get(responder=far).status == OfferStatus.PENDING
    assert incident.ems_proposed_at == T0
    assert incident.ems_requested_at is None
    proposed = IncidentEvent.objects.get(incident=incident, type="ems_proposed")
    assert proposed.actor == Actor.POLICY
    assert proposed.data == {"why": "beyond_target", "target_minutes": 8,
                             "nearest_minutes": 16}
    assert stage(public_api, opened) == "ambulance_proposed"
    # At the deadline it is marked unanswered, but not proposed twice.
    fire_due(now=T0 + s(121))
    assert IncidentEvent.objects.filter(incident=incident, type="ems_proposed").count() == 1


def test_an_overdose_with_a_responder_near_waits_for_the_deadline(make_responder: Any) -> None:
    make_responder("near", north_m=200)  # about 4 min on foot
    incident = open_(breathing=Answer.NO).incident
    incident.refresh_from_db()
    assert incident.ems_proposed_at is None


def test_with_auto_ems_the_ambulance_is_requested_at_once(make_responder: Any) -> None:
    make_responder("far", north_m=900)
    p1 = DEFAULT_POLICY[Priority.P1]
    policy = DispatchPolicy({**DEFAULT_POLICY.by_priority,
                             Priority.P1: type(p1)(**{**{f: getattr(p1, f) for f in
                                                        p1.__slots__}, "auto_ems": True})})
    with override_settings(SPOTLINE_POLICY=policy):
        incident = open_(breathing=Answer.NO).incident
    incident.refresh_from_db()
    assert incident.ems_requested_at == T0
    assert incident.ems_requested_by == Actor.POLICY


@pytest.mark.parametrize("mode", [Mode.BIKE, Mode.CAR])
def test_the_cap_is_travel_time_not_distance(make_responder: Any, mode: Mode) -> None:
    # 3 km: beyond a walker's 20 minutes, within a bike's or a car's.
    fast = make_responder("fast", at=offset(CENTRE, 3000), mode=mode)
    make_responder("walker", at=offset(CENTRE, 3000))
    incident = open_(breathing=Answer.NO).incident
    assert [o.responder_id for o in incident.offers.all()] == [fast.pk]


# -- found in review: the freed responder's offer, and the person's texts ----------------------


def test_a_responder_is_never_offered_their_own_backup_even_once_free(
    make_responder: Any,
) -> None:
    ana = make_responder("ana", north_m=100)
    incident = open_().incident
    offer_accept(offer_id=incident.offers.get(responder=ana).pk, responder=ana, now=T0 + s(5))
    incident_report(incident_id=incident.pk, type="on_scene", now=T0 + s(60), responder=ana,
                    user_id=None)
    incident_report(incident_id=incident.pk, type="need_backup", now=T0 + s(70),
                    responder=ana, user_id=None)
    backup = Incident.objects.get(backup_for=incident)
    incident_report(incident_id=incident.pk, type="resolved", now=T0 + s(80), responder=ana,
                    user_id=None)
    # Free again, next to a waiting P1: still not offered the backup for herself, at
    # once or at its next rounds.
    assert not backup.offers.filter(responder=ana).exists()
    for later in (125, 170, 215):
        fire_due(now=T0 + s(later))
    assert not backup.offers.filter(responder=ana).exists()


def test_a_responder_sharing_no_location_is_not_sent_to_the_front_of_the_queue(
    make_responder: Any,
) -> None:
    nowhere = make_responder("nowhere", on_shift=False)
    incident = open_().incident
    shift_set(responder=nowhere, on_shift=True, location=None, now=T0 + s(10))
    # Not at once; the incident's own rounds offer them last, as before.
    assert not incident.offers.filter(responder=nowhere).exists()


def test_a_texted_overdose_nobody_is_on_shift_for_gets_one_text_not_two(db: Any) -> None:
    incident = incident_open(IncidentRequest(
        kind=Kind.OVERDOSE, location=CENTRE, source=Source.SMS,
        callback_phone="+15550104242"), now=T0).incident
    assert incident.ems_proposed_at == T0 and incident.round_shortfall == "nobody_on_shift"
    [text] = [unseal(m.body_sealed, context="message.body")
              for m in Message.objects.filter(purpose="status", incident_id=incident.pk)]
    assert text.startswith("No responder is on shift right now. A dispatcher has been "
                           "alerted.")


def test_no_ambulance_is_proposed_once_one_was_requested(make_responder: Any) -> None:
    make_responder("near", north_m=200)
    incident = open_().incident
    incident_escalate(incident_id=incident.pk, to=EscalationTarget.EMS, user_id=None,
                      now=T0 + s(5))
    for later in (45, 90, 121):
        fire_due(now=T0 + s(later))
    assert not IncidentEvent.objects.filter(incident=incident, type="ems_proposed").exists()
