"""The dispatch loop at each deadline of the default P1 policy, driven by the worker.

K=3 offers per round, offers expire after 45 s, the escalation deadline is 120 s. The
worker's pass (``fire_due(now=...)``) is called directly with the moment it runs at,
so every deadline is hit exactly, with no sleeping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from spotline.conftest import CENTRE, T0, offset
from spotline.core.geo import Mode, Point
from spotline.core.policy import Actor, DispatchPolicy, OfferStatus, PriorityPolicy
from spotline.core.triage import Answer, Kind, Priority
from spotline.dispatch import timers as worker
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.actions.opening import IncidentRequest, Opened, incident_open
from spotline.dispatch.actions.reports import incident_outcome, incident_report
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import (
    EmsOutcome,
    Incident,
    IncidentEvent,
    Offer,
    Outcome,
    Timer,
    TimerKind,
)
from spotline.dispatch.presenters import tracking
from spotline.errors import IncidentTaken
from spotline.responders.models import Responder
from spotline.timers.engine import MAX_BACKOFF

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


def open_overdose(*, now: Any = T0, at: Point = CENTRE, **kwargs: Any) -> Opened:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=at, breathing=Answer.NO,
               **kwargs), now=now)


def reload(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def events(incident: Incident, type: str) -> list[IncidentEvent]:
    return list(IncidentEvent.objects.filter(incident=incident, type=type))


def offered(incident: Incident, *, round: int | None = None,
            status: OfferStatus | None = None) -> set[int]:
    offers = Offer.objects.filter(incident=incident)
    if round is not None:
        offers = offers.filter(round=round)
    if status is not None:
        offers = offers.filter(status=status)
    return set(offers.values_list("responder_id", flat=True))


def offer_of(incident: Incident, responder: Responder) -> Offer:
    return Offer.objects.get(incident=incident, responder=responder)


@pytest.fixture
def cast(make_responder: Callable[..., Responder]) -> dict[str, Responder]:
    """Three near, three far qualified responders, and two near ones who must not count.

    The far ones ride bikes: 6-7 min away, within the P1 cap (20 min) and the target
    under which an overdose gets no ambulance proposed at once (8 min), so these tests
    see the widening and the deadline alone (``test_policy_replay`` has the rest)."""
    return {
        "near1": make_responder("near1", north_m=100),
        "near2": make_responder("near2", north_m=200),
        "near3": make_responder("near3", north_m=300),
        "far1": make_responder("far1", north_m=1000, mode=Mode.BIKE),
        "far2": make_responder("far2", north_m=1100, mode=Mode.BIKE),
        "far3": make_responder("far3", north_m=1200, mode=Mode.BIKE),
        "off_shift": make_responder("offshift", north_m=50, on_shift=False),
        "unqualified": make_responder("unqualified", north_m=60, skills=("first_aid",)),
    }


def ids(cast: dict[str, Responder], *names: str) -> set[int]:
    return {cast[n].pk for n in names}


def auto_ems_for_p1(policy: DispatchPolicy) -> DispatchPolicy:
    p1 = dataclasses.replace(policy[Priority.P1], auto_ems=True)
    return DispatchPolicy(by_priority={**policy.by_priority, Priority.P1: p1})


# -- the P1 defaults ----------------------------------------------------------------------


def test_it_runs_on_the_documented_p1_defaults(settings: Any) -> None:
    assert settings.SPOTLINE_POLICY[Priority.P1] == PriorityPolicy(
        offers_per_round=3, offer_expiry=45 * S, deadline=120 * S, auto_ems=False,
        max_eta=20 * 60 * S, reoffer_after=120 * S, ems_target=8 * 60 * S,
    )


def test_it_offers_the_three_nearest_qualified_on_shift_responders_at_once(cast):
    incident = open_overdose().incident
    assert incident.priority == "P1"
    assert incident.state == "dispatching"
    assert offered(incident) == ids(cast, "near1", "near2", "near3")
    assert offered(incident, round=1, status=OfferStatus.PENDING) == ids(
        cast, "near1", "near2", "near3")
    assert {o.expires_at for o in Offer.objects.filter(incident=incident)} == {T0 + 45 * S}
    timers = {(t.kind, t.round): t.due_at for t in Timer.objects.filter(incident=incident)}
    assert timers == {
        (TimerKind.ROUND_EXPIRY.value, 1): T0 + 45 * S,
        (TimerKind.DEADLINE.value, 1): T0 + 120 * S,
    }


def test_it_does_nothing_before_the_offers_expire(cast):
    incident = open_overdose().incident
    assert worker.fire_due(now=T0 + 44 * S) == 0
    assert offered(incident, status=OfferStatus.PENDING) == ids(cast, "near1", "near2", "near3")
    assert reload(incident).current_round == 1


def test_it_expires_the_round_at_45_seconds_and_widens_to_the_next_three(cast):
    incident = open_overdose().incident
    assert worker.fire_due(now=T0 + 45 * S) == 1

    incident = reload(incident)
    assert incident.current_round == 2
    assert offered(incident, round=1, status=OfferStatus.EXPIRED) == ids(
        cast, "near1", "near2", "near3")
    assert offered(incident, round=2, status=OfferStatus.PENDING) == ids(
        cast, "far1", "far2", "far3")
    # Nobody is offered twice, and the off-shift and unqualified ones never.
    assert Offer.objects.filter(incident=incident).count() == 6
    assert not offered(incident) & ids(cast, "off_shift", "unqualified")
    # The dispatcher is told, and the timeline says what happened.
    assert incident.attention == "widened"
    assert incident.attention_at == T0 + 45 * S
    [expired] = events(incident, "offers_expired")
    assert (expired.at, expired.actor, expired.data) == (
        T0 + 45 * S, Actor.SYSTEM.value, {"round": 1, "count": 3})
    [widened] = events(incident, "widened")
    assert widened.at == T0 + 45 * S
    assert widened.data == {"round": 2, "offers": 3, "why": "no_answer"}
    assert Timer.objects.get(incident=incident, kind="round_expiry", round=1).fired_at == (
        T0 + 45 * S)
    assert Timer.objects.get(incident=incident, kind="round_expiry", round=2).due_at == (
        T0 + 90 * S)


def test_it_never_re_offers_when_everyone_has_had_an_offer(cast):
    incident = open_overdose().incident
    worker.fire_due(now=T0 + 45 * S)
    worker.fire_due(now=T0 + 90 * S)

    incident = reload(incident)
    assert incident.current_round == 3
    assert offered(incident, round=3) == set()
    assert offered(incident, status=OfferStatus.EXPIRED) == ids(
        cast, "near1", "near2", "near3", "far1", "far2", "far3")
    assert Offer.objects.filter(incident=incident).count() == 6
    assert incident.round_shortfall == "no_answer"
    assert [e.data["round"] for e in events(incident, "offers_expired")] == [1, 2]


def test_it_marks_the_incident_unanswered_at_120_seconds_and_proposes_an_ambulance(cast):
    incident = open_overdose().incident
    worker.fire_due(now=T0 + 45 * S)
    worker.fire_due(now=T0 + 90 * S)
    assert reload(incident).unanswered_at is None
    assert worker.fire_due(now=T0 + 119 * S) == 0

    assert worker.fire_due(now=T0 + 120 * S) == 1
    incident = reload(incident)
    assert incident.state == "dispatching"
    assert incident.unanswered_at == T0 + 120 * S
    # Proposed already at 90 s, when the far three's offers lapsed too and nobody was
    # left to ask within the 8-minute target; the deadline does not propose it twice.
    assert incident.ems_proposed_at == T0 + 90 * S
    assert incident.attention == "unanswered"
    [unanswered] = events(incident, "unanswered")
    assert unanswered.actor == Actor.POLICY.value
    assert unanswered.at == T0 + 120 * S
    [proposed] = events(incident, "ems_proposed")
    assert (proposed.actor, proposed.data["why"]) == (Actor.POLICY.value, "beyond_target")
    # The organization did not ask for automatic ambulances: a person decides.
    assert incident.ems_requested_at is None
    assert incident.ems_requested_by == ""
    assert events(incident, "escalated") == []


def test_it_requests_an_ambulance_at_the_deadline_when_the_policy_says_so(cast, settings):
    settings.SPOTLINE_POLICY = auto_ems_for_p1(settings.SPOTLINE_POLICY)
    incident = open_overdose().incident
    worker.fire_due(now=T0 + 120 * S)

    incident = reload(incident)
    assert incident.unanswered_at == T0 + 120 * S
    assert incident.ems_requested_at == T0 + 120 * S
    assert incident.ems_requested_by == Actor.POLICY.value
    [escalated] = events(incident, "escalated")
    assert escalated.actor == Actor.POLICY.value
    assert escalated.data == {"to": "ems"}
    assert incident.attention == "ems_requested"


def test_it_requests_no_ambulance_for_other_priorities_when_only_p1_is_automatic(
        cast, settings):
    settings.SPOTLINE_POLICY = auto_ems_for_p1(settings.SPOTLINE_POLICY)
    # Breathing and conscious: an overdose drops to P2, whose deadline is 300 s.
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                   breathing=Answer.YES, conscious=Answer.YES), now=T0).incident
    assert incident.priority == "P2"
    worker.fire_due(now=T0 + 300 * S)
    incident = reload(incident)
    assert incident.unanswered_at == T0 + 300 * S
    assert incident.ems_requested_at is None


def test_it_does_not_escalate_an_accepted_incident_at_the_deadline(cast, settings):
    settings.SPOTLINE_POLICY = auto_ems_for_p1(settings.SPOTLINE_POLICY)
    incident = open_overdose().incident
    offer_accept(offer_id=offer_of(incident, cast["near2"]).pk,
                         responder=cast["near2"], now=T0 + 10 * S)

    worker.fire_due(now=T0 + 45 * S)
    worker.fire_due(now=T0 + 120 * S)

    incident = reload(incident)
    assert incident.state == "assigned"
    assert incident.assigned_responder_id == cast["near2"].pk
    assert incident.current_round == 1
    assert incident.unanswered_at is None
    assert incident.ems_proposed_at is None
    assert incident.ems_requested_at is None
    assert events(incident, "unanswered") == []
    assert events(incident, "widened") == []
    assert offered(incident, status=OfferStatus.WITHDRAWN) == ids(cast, "near1", "near3")
    assert Timer.objects.filter(incident=incident, fired_at__isnull=True).count() == 0


def test_it_widens_at_once_when_every_offer_is_declined(cast):
    incident = open_overdose().incident
    offer_decline(offer_id=offer_of(incident, cast["near1"]).pk,
                          responder=cast["near1"], now=T0 + 5 * S)
    offer_decline(offer_id=offer_of(incident, cast["near2"]).pk,
                          responder=cast["near2"], now=T0 + 6 * S)
    assert reload(incident).current_round == 1  # one offer is still out

    offer_decline(offer_id=offer_of(incident, cast["near3"]).pk,
                          responder=cast["near3"], now=T0 + 7 * S)
    incident = reload(incident)
    assert incident.current_round == 2
    assert offered(incident, round=2, status=OfferStatus.PENDING) == ids(
        cast, "far1", "far2", "far3")
    [widened] = events(incident, "widened")
    assert widened.at == T0 + 7 * S
    assert widened.data["why"] == "all_declined"
    assert incident.attention == "widened"

    # The first round's timer is stale: it must neither expire the new offers nor widen.
    assert worker.fire_due(now=T0 + 45 * S) == 1
    incident = reload(incident)
    assert incident.current_round == 2
    assert offered(incident, round=2, status=OfferStatus.PENDING) == ids(
        cast, "far1", "far2", "far3")
    assert events(incident, "offers_expired") == []
    # The new round runs on its own clock.
    worker.fire_due(now=T0 + 52 * S)
    assert offered(reload(incident), round=2, status=OfferStatus.EXPIRED) == ids(
        cast, "far1", "far2", "far3")


def test_it_says_nobody_is_on_shift_and_offers_to_whoever_comes_on_shift(make_responder):
    late = make_responder("late", on_shift=False)
    opened = open_overdose()
    incident = opened.incident
    assert incident.round_shortfall == "nobody_on_shift"
    assert incident.attention == "nobody_on_shift"
    assert Offer.objects.filter(incident=incident).count() == 0
    [no_offers] = events(incident, "no_offers")
    assert no_offers.data == {"round": 1, "shortfall": "nobody_on_shift"}
    assert tracking(reload(incident), now=T0 + S).nobody_on_shift is True

    # Offered at once, not at the next round (issue 15: a responder coming free).
    shift_set(responder=late, on_shift=True, location=offset(CENTRE, 400), now=T0 + 20 * S)
    incident = reload(incident)
    assert offered(incident, round=2, status=OfferStatus.PENDING) == {late.pk}
    assert incident.round_shortfall == ""
    assert tracking(incident, now=T0 + 21 * S).nobody_on_shift is False


def test_it_keeps_looking_after_the_deadline_when_nobody_is_on_shift(make_responder):
    late = make_responder("late", on_shift=False)
    incident = open_overdose().incident
    worker.fire_due(now=T0 + 45 * S)
    worker.fire_due(now=T0 + 90 * S)
    worker.fire_due(now=T0 + 120 * S)
    incident = reload(incident)
    assert incident.unanswered_at == T0 + 120 * S
    # "Say so once per change": the quiet rounds do not repeat the line.
    assert len(events(incident, "no_offers")) == 1

    shift_set(responder=late, on_shift=True, location=offset(CENTRE, 400), now=T0 + 130 * S)
    worker.fire_due(now=T0 + 135 * S)
    assert offered(reload(incident), status=OfferStatus.PENDING) == {late.pk}


def test_it_records_no_answer_when_the_person_cancels_after_an_unanswered_deadline(
        make_responder):
    for n in (100, 200, 300):
        make_responder(north_m=n)
    incident = open_overdose().incident
    worker.fire_due(now=T0 + 45 * S)
    worker.fire_due(now=T0 + 120 * S)
    assert reload(incident).unanswered_at == T0 + 120 * S

    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None,
                            now=T0 + 130 * S)
    incident = reload(incident)
    assert incident.state == "cancelled"
    assert incident.closed_by == Actor.PERSON.value
    assert incident.unserved_reason == "no_answer"
    assert [e.data for e in events(incident, "unserved")] == [{"reason": "no_answer"}]


def test_it_records_no_one_qualified_when_only_the_unqualified_are_on_shift(make_responder):
    helper = make_responder("helper", north_m=100, skills=("first_aid",))
    incident = open_overdose().incident
    assert incident.round_shortfall == "no_one_qualified"
    assert Offer.objects.filter(incident=incident).count() == 0
    worker.fire_due(now=T0 + 120 * S)
    assert not Offer.objects.filter(responder=helper).exists()

    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None,
                            now=T0 + 130 * S)
    assert reload(incident).unserved_reason == "no_one_qualified"


def test_it_purges_personal_data_when_the_retention_window_ends(cast, settings):
    settings.SPOTLINE_RETENTION_HOURS = 6
    incident = open_overdose(description="behind the kiosk", details="blue jacket",
                             callback_phone="+358401234567", accuracy_m=12.0).incident
    near1 = cast["near1"]
    offer_accept(offer_id=offer_of(incident, near1).pk, responder=near1,
                         now=T0 + 10 * S)
    for step in ("en_route", "on_scene"):
        incident_report(incident_id=incident.pk, type=step, now=T0 + 60 * S,
                                responder=near1, user_id=near1.user_id)
    incident_outcome(incident_id=incident.pk, responder=near1, user_id=near1.user_id,
                             now=T0 + 300 * S, naloxone_doses=2, responsive_after=Answer.YES,
                             ems=EmsOutcome.NOT_NEEDED, referrals=["detox"],
                             notes="lives at the shelter on 5th")
    incident_report(incident_id=incident.pk, type="resolved", now=T0 + 600 * S,
                            responder=near1, user_id=near1.user_id)
    closed_at = reload(incident).closed_at
    assert closed_at == T0 + 600 * S
    purge = Timer.objects.get(incident=incident, kind=TimerKind.PURGE.value)
    assert purge.due_at == closed_at + timedelta(hours=6)

    worker.fire_due(now=closed_at + timedelta(hours=6) - S)
    assert reload(incident).details == "blue jacket"

    worker.fire_due(now=closed_at + timedelta(hours=6))
    incident = reload(incident)
    assert incident.purged_at == closed_at + timedelta(hours=6)
    assert (incident.lat, incident.lon, incident.accuracy_m) == (None, None, None)
    assert incident.location_description == ""
    assert incident.details == ""
    assert incident.callback_phone == ""
    outcome = Outcome.objects.get(incident=incident)
    assert outcome.notes == ""
    # The coarse record stays for the reports.
    assert (incident.kind, incident.priority) == ("overdose", "P1")
    assert incident.area != ""
    assert outcome.naloxone_doses == 2
    assert incident.state == "resolved"
    assert len(events(incident, "purged")) == 1
    # And no event on the timeline carries what was destroyed.
    for e in IncidentEvent.objects.filter(incident=incident):
        text = repr(e.data)
        assert "kiosk" not in text and "358401234567" not in text and "shelter" not in text


def test_it_pushes_a_poison_timer_forward_and_fires_the_others_in_the_same_pass(
        cast, monkeypatch):
    poisoned = open_overdose().incident
    healthy = open_overdose(at=offset(CENTRE, 10)).incident
    original = worker.HANDLERS[TimerKind.ROUND_EXPIRY.value]

    def poison(*, timer: Timer, now: Any) -> None:
        # Do the work, then fail: none of it may stay.
        original(timer=timer, now=now)
        if timer.incident_id == poisoned.pk:
            raise RuntimeError("boom")

    monkeypatch.setitem(worker.HANDLERS, TimerKind.ROUND_EXPIRY.value, poison)

    assert worker.fire_due(now=T0 + 45 * S) == 1
    timer = Timer.objects.get(incident=poisoned, kind="round_expiry", round=1)
    assert timer.fired_at is None
    assert timer.attempts == 1
    assert timer.last_error == "RuntimeError"
    assert timer.due_at == T0 + 46 * S
    # The failed handler's writes were rolled back with the claim.
    assert reload(poisoned).current_round == 1
    assert offered(poisoned, status=OfferStatus.PENDING) == ids(cast, "near1", "near2", "near3")
    assert events(poisoned, "offers_expired") == []
    # The healthy incident was not held up.
    assert reload(healthy).current_round == 2
    assert len(events(healthy, "widened")) == 1

    # Backoff doubles; the row is never retried in a tight loop.
    assert worker.fire_due(now=T0 + 46 * S) == 0
    timer.refresh_from_db()
    assert (timer.attempts, timer.due_at) == (2, T0 + 48 * S)
    assert worker.fire_due(now=T0 + 47 * S) == 0
    timer.refresh_from_db()
    assert timer.attempts == 2

    # Once the cause is fixed, the timer fires, once.
    monkeypatch.setitem(worker.HANDLERS, TimerKind.ROUND_EXPIRY.value, original)
    assert worker.fire_due(now=T0 + 48 * S) == 1
    timer.refresh_from_db()
    assert timer.fired_at == T0 + 48 * S
    poisoned = reload(poisoned)
    assert poisoned.current_round == 2
    assert len(events(poisoned, "offers_expired")) == 1


def test_it_caps_the_backoff_of_a_poison_timer(cast, monkeypatch):
    incident = open_overdose().incident

    def boom(*, timer: Timer, now: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(worker.HANDLERS, TimerKind.ROUND_EXPIRY.value, boom)
    timer = Timer.objects.get(incident=incident, kind="round_expiry", round=1)
    Timer.objects.filter(pk=timer.pk).update(attempts=30)
    worker.fire_due(now=T0 + 45 * S)
    timer.refresh_from_db()
    assert timer.attempts == 31
    assert timer.due_at == T0 + 45 * S + MAX_BACKOFF


def test_it_lets_a_late_responder_accept_an_expired_offer_while_still_dispatching(cast):
    incident = open_overdose().incident
    worker.fire_due(now=T0 + 45 * S)
    late_offer = offer_of(incident, cast["near1"])
    assert late_offer.status == OfferStatus.EXPIRED

    accepted = offer_accept(offer_id=late_offer.pk, responder=cast["near1"],
                                    now=T0 + 50 * S)
    assert accepted.status == OfferStatus.ACCEPTED
    incident = reload(incident)
    assert incident.state == "assigned"
    assert incident.assigned_responder_id == cast["near1"].pk
    assert incident.assigned_at == T0 + 50 * S
    # The widened round is withdrawn, and its timer then changes nothing.
    assert offered(incident, round=2, status=OfferStatus.WITHDRAWN) == ids(
        cast, "far1", "far2", "far3")
    worker.fire_due(now=T0 + 120 * S)
    incident = reload(incident)
    assert incident.state == "assigned"
    assert incident.current_round == 2
    assert incident.unanswered_at is None
    assert Offer.objects.filter(incident=incident, status=OfferStatus.ACCEPTED).count() == 1


def test_it_refuses_a_late_accept_once_someone_else_holds_the_incident(cast):
    incident = open_overdose().incident
    worker.fire_due(now=T0 + 45 * S)
    offer_accept(offer_id=offer_of(incident, cast["far1"]).pk,
                         responder=cast["far1"], now=T0 + 50 * S)

    with pytest.raises(IncidentTaken):
        offer_accept(offer_id=offer_of(incident, cast["near1"]).pk,
                             responder=cast["near1"], now=T0 + 55 * S)
    assert offer_of(incident, cast["near1"]).status == OfferStatus.EXPIRED
    assert reload(incident).assigned_responder_id == cast["far1"].pk
