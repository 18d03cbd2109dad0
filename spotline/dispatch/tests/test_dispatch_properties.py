"""Dispatch invariants under any sequence of moves, against the real database.

Hypothesis builds a roster (random skills, on or off shift, spread around CENTRE), one
or two incidents, and then a random sequence of what people and timers do: accept,
decline, let rounds expire (the worker's ``fire_due`` with time moved on), assign,
cancel, report, go on or off shift, escalate. Moves the rules forbid must be refused
with an ActionError; after every move the database must still hold the invariants the
whole system rests on.

The plain tests at the end pin down, one scenario each, bugs found while writing these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, offset
from spotline.core.geo import Mode
from spotline.core.lifecycle import HELD, TERMINAL, State
from spotline.core.policy import Actor, EscalationTarget, OfferStatus, Shortfall
from spotline.core.triage import Answer, Kind, Skill
from spotline.dispatch.actions.dispatcher import incident_assign, incident_cancel, incident_escalate
from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import Incident, IncidentEvent, Offer, Timer
from spotline.dispatch.timers import fire_due
from spotline.errors import ActionError
from spotline.responders.models import Responder


@dataclass(frozen=True)
class ResponderSpec:
    skills: frozenset[Skill]
    on_shift: bool
    north_m: int
    east_m: int
    mode: Mode


@dataclass(frozen=True)
class IncidentSpec:
    kind: Kind
    breathing: Answer
    conscious: Answer
    danger: Answer
    located: bool


responder_specs = st.builds(
    ResponderSpec,
    skills=st.frozensets(st.sampled_from(Skill)),
    on_shift=st.booleans(),
    north_m=st.integers(-3000, 3000),
    east_m=st.integers(-3000, 3000),
    mode=st.sampled_from(Mode),
)
incident_specs = st.builds(
    IncidentSpec,
    kind=st.sampled_from(Kind),
    breathing=st.sampled_from(Answer),
    conscious=st.sampled_from(Answer),
    danger=st.sampled_from(Answer),
    located=st.booleans() | st.just(True),
)

# The common moves are listed twice so that runs spend most of their steps on them.
MOVES = [
    "accept", "accept", "decline", "decline", "expire", "expire",
    "assign", "cancel", "report", "shift", "escalate",
]
REPORT_TYPES = ["en_route", "on_scene", "resolved", "unable_to_locate", "release",
                "need_backup"]


class Run:
    """One generated scenario: the moves, the clock, and what the checks remember."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data
        self.now = T0
        self.seen_offers: set[int] = set()
        self.declined: set[tuple[int, int]] = set()  # (incident, responder)
        self.assigned: set[tuple[int, int]] = set()  # a dispatcher assigned directly

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(strategy)

    # -- setting the scene ----------------------------------------------------------

    def add_responder(self, n: int, spec: ResponderSpec) -> None:
        user = user_create(name=f"r{n}", role=Role.RESPONDER, password=None,
                           skills=[s.value for s in spec.skills], mode=spec.mode)
        responder = Responder.objects.get(user=user)
        if spec.on_shift:
            shift_set(responder=responder, on_shift=True,
                      location=offset(CENTRE, spec.north_m, spec.east_m), now=self.now)

    def open(self, spec: IncidentSpec) -> None:
        incident_open(IncidentRequest(kind=spec.kind, location=CENTRE if spec.located else None,
            description="" if spec.located else "by the fountain in the park",
            breathing=spec.breathing, conscious=spec.conscious, danger=spec.danger
        ), now=self.now)

    # -- moves ----------------------------------------------------------------------

    def pick_offer(self) -> tuple[int, Responder] | None:
        offers = list(Offer.objects.order_by("pk").values_list("pk", "responder_id"))
        if not offers:
            return None
        pk, rid = self.draw(st.sampled_from(offers))
        return pk, Responder.objects.get(pk=rid)

    def pick_incident(self) -> int:
        return self.draw(st.sampled_from(list(
            Incident.objects.order_by("pk").values_list("pk", flat=True))))

    def pick_responder(self) -> Responder:
        return self.draw(st.sampled_from(list(Responder.objects.order_by("pk"))))

    def move(self, name: str) -> None:
        if name == "accept" and (picked := self.pick_offer()):
            offer_accept(offer_id=picked[0], responder=picked[1], now=self.now)
        elif name == "decline" and (picked := self.pick_offer()):
            offer_decline(offer_id=picked[0], responder=picked[1], now=self.now)
        elif name == "expire":
            due = (Timer.objects.filter(fired_at__isnull=True).order_by("due_at")
                   .values_list("due_at", flat=True).first())
            if due is not None and due > self.now:
                self.now = due
            fire_due(now=self.now)
        elif name == "assign":
            incident_id, responder = self.pick_incident(), self.pick_responder()
            incident_assign(incident_id=incident_id, responder_id=responder.pk,
                                    user_id=None, now=self.now)
            self.assigned.add((incident_id, responder.pk))
        elif name == "cancel":
            actor = self.draw(st.sampled_from([Actor.PERSON, Actor.DISPATCHER]))
            incident_cancel(incident_id=self.pick_incident(), actor=actor,
                                    user_id=None, now=self.now)
        elif name == "report":
            incident = Incident.objects.get(pk=self.pick_incident())
            # The assigned responder, or a dispatcher on their behalf, or someone else.
            who = self.draw(st.sampled_from(["holder", "dispatcher", "other"]))
            responder = None
            if who == "holder" and incident.assigned_responder_id is not None:
                responder = incident.assigned_responder
            elif who == "other":
                responder = self.pick_responder()
            incident_report(incident_id=incident.pk,
                                    type=self.draw(st.sampled_from(REPORT_TYPES)),
                                    now=self.now, responder=responder, user_id=None)
        elif name == "shift":
            responder = self.pick_responder()
            location = offset(CENTRE, self.draw(st.integers(-3000, 3000)))
            shift_set(responder=responder, on_shift=not responder.on_shift,
                      location=location, now=self.now)
        elif name == "escalate":
            incident_escalate(incident_id=self.pick_incident(),
                                      to=self.draw(st.sampled_from(EscalationTarget)),
                                      user_id=None, now=self.now)

    # -- what must always hold ----------------------------------------------------------

    def check(self) -> None:
        responders = {r.pk: r for r in Responder.objects.all()}
        incidents = list(Incident.objects.order_by("pk"))
        holding: dict[int, list[int]] = {}
        for incident in incidents:
            if incident.state_enum in HELD:
                holding.setdefault(incident.assigned_responder_id, []).append(incident.pk)
        assert all(len(held) == 1 for held in holding.values()), holding
        crisis_rounds = {
            (e.incident_id, e.data.get("round"))
            for e in IncidentEvent.objects.filter(type="escalated")
            if e.data.get("to") == EscalationTarget.CRISIS_TEAM.value
        }
        for incident in incidents:
            self.check_offers(incident, responders, holding, crisis_rounds)
            self.check_incident(incident)
        # A handler that blew up is postponed by the worker, not raised: look for it.
        assert not Timer.objects.exclude(last_error="").exists()

    def check_offers(self, incident: Incident, responders: dict[int, Responder],
                     holding: dict[int, list[int]], crisis_rounds: set[Any]) -> None:
        offers = list(Offer.objects.filter(incident=incident))
        accepted = [o for o in offers if o.status == OfferStatus.ACCEPTED]
        assert len(accepted) <= 1, f"two accepted offers for {incident}"
        assert len({o.responder_id for o in offers}) == len(offers)
        for o in offers:
            key = (incident.pk, o.responder_id)
            if o.pk not in self.seen_offers:
                self.seen_offers.add(o.pk)
                assert o.created_at == self.now
            if o.created_at == self.now and o.round != 0:
                # Made, or made again, in this step: nothing in a step that makes offers
                # changes a responder's shift, skills or load after, so judge it by now.
                r = responders[o.responder_id]
                required = (
                    {Skill.CRISIS_TEAM.value}
                    if (incident.pk, o.round) in crisis_rounds
                    else set(incident.required_skills)
                )
                assert r.on_shift, f"offer to off-shift {r.pk}"
                assert required <= set(r.skills), f"offer to unqualified {r.pk}"
                assert holding.get(o.responder_id, [incident.pk]) == [incident.pk], (
                    f"offer to busy {r.pk}"
                )
            if key in self.declined and key not in self.assigned:
                assert o.status == OfferStatus.DECLINED, f"declined {key} came back"
            if o.status == OfferStatus.DECLINED:
                self.declined.add(key)
        pending = [o for o in offers if o.status == OfferStatus.PENDING]
        if incident.state_enum is not State.DISPATCHING:
            assert not pending, f"pending offers on a {incident.state} incident"
        if incident.state_enum in HELD:
            assert incident.assigned_responder_id is not None
            assert [o.responder_id for o in accepted] == [incident.assigned_responder_id]

    def check_incident(self, incident: Incident) -> None:
        state = incident.state_enum
        if state is State.DISPATCHING:
            assert incident.assigned_responder_id is None
        assert (incident.closed_at is not None) == (state in TERMINAL)
        if incident.closed_at is not None:
            if incident.on_scene_at is None:
                assert incident.unserved_reason, f"{incident} closed unserved, no reason"
                assert Shortfall(incident.unserved_reason)
            else:
                assert incident.unserved_reason == ""
        else:
            assert incident.unserved_reason == ""


class DispatchPropertiesTest(TestCase):
    @settings(
        max_examples=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        roster=st.lists(responder_specs, min_size=1, max_size=6),
        incidents=st.lists(incident_specs, min_size=1, max_size=2),
        data=st.data(),
    )
    def test_it_keeps_the_dispatch_invariants_under_any_sequence_of_moves(
        self, roster: list[ResponderSpec], incidents: list[IncidentSpec],
        data: st.DataObject,
    ) -> None:
        run = Run(data)
        for n, spec in enumerate(roster):
            run.add_responder(n, spec)
        for spec in incidents:
            run.open(spec)
            run.check()
            run.now += timedelta(seconds=1)
        for _ in range(data.draw(st.integers(1, 14), label="steps")):
            run.now += timedelta(seconds=data.draw(st.integers(1, 60)))
            move = data.draw(st.sampled_from(MOVES), label="move")
            try:
                run.move(move)
            except ActionError as exc:
                event(f"{move} refused: {exc.code}")
            else:
                event(f"{move} done")
            run.check()
        event(f"offers made: {min(len(run.seen_offers), 10)}")
        for incident in Incident.objects.all():
            event(f"ended {incident.state}")
        # "need backup" opens backup incidents of their own; the requests are all there.
        assert Incident.objects.filter(backup_for__isnull=True).count() == len(incidents)


# -- bugs found while writing these, one scenario each ---------------------------------------


def _open(now: datetime = T0) -> Incident:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=now).incident


def test_it_blames_the_person_who_cancels_while_offers_are_still_pending(
    make_responder: Any,
) -> None:
    make_responder("sam", north_m=100)
    make_responder("alex", north_m=300)
    incident = _open()
    assert incident.offers.filter(status=OfferStatus.PENDING).count() == 2
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None,
                            now=T0 + timedelta(seconds=10))
    incident.refresh_from_db()
    # Nobody declined and nobody let an offer lapse: the person gave up (or was fine).
    assert incident.unserved_reason == Shortfall.CANCELLED_BY_PERSON


def test_it_blames_the_declines_when_the_person_cancels_after_everyone_declined(
    make_responder: Any,
) -> None:
    sam = make_responder("sam", north_m=100)
    incident = _open()
    offer = incident.offers.get(responder=sam)
    offer_decline(offer_id=offer.pk, responder=sam, now=T0 + timedelta(seconds=5))
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None,
                            now=T0 + timedelta(seconds=60))
    incident.refresh_from_db()
    assert incident.unserved_reason == Shortfall.ALL_DECLINED


def test_it_refuses_an_accept_from_a_responder_who_went_off_shift(
    make_responder: Any,
) -> None:
    sam = make_responder("sam", north_m=100)
    incident = _open()
    offer = incident.offers.get(responder=sam)
    sam = shift_set(responder=sam, on_shift=False, location=None,
                    now=T0 + timedelta(seconds=5))
    with pytest.raises(ActionError):
        offer_accept(offer_id=offer.pk, responder=sam, now=T0 + timedelta(seconds=10))
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHING
    assert incident.assigned_responder_id is None


def test_it_gives_back_a_responders_other_offers_when_a_dispatcher_assigns_them(
    make_responder: Any,
) -> None:
    sam = make_responder("sam", north_m=100)
    first, second = _open(), _open(T0 + timedelta(seconds=1))
    assert second.offers.get(responder=sam).status == OfferStatus.PENDING
    incident_assign(incident_id=first.pk, responder_id=sam.pk, user_id=None,
                            now=T0 + timedelta(seconds=5))
    # As after an accept: one incident at a time, so the other offer goes back.
    assert second.offers.get(responder=sam).status == OfferStatus.WITHDRAWN
