"""Dispatch invariants under any sequence of moves, against the real database.

Hypothesis builds a roster (random skills, on or off shift, spread around CENTRE), one
or two incidents, and then a random sequence of what people and timers do: accept,
decline, let rounds expire (the worker's ``fire_due`` with time moved on), assign,
cancel, report, go on or off shift, escalate. Moves the rules forbid must be refused
with an ActionError; after every move the database must still hold the invariants the
whole system rests on.

Issue 15 added the policy's promises: no incident waits with no offer open and no
alarm; no offer beyond the cap is made automatically; a decliner is asked again only
after the cool-down; a freed responder is offered the most urgent waiting incident they
can take; the unserved reason is the last round's recorded cause.

The plain tests at the end pin down, one scenario each, bugs found while writing these.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, offset
from spotline.core.geo import Mode, Point, StraightLineEstimator
from spotline.core.lifecycle import HELD, TERMINAL, State
from spotline.core.policy import (
    Actor,
    EscalationTarget,
    OfferStatus,
    PastOffer,
    Shortfall,
    may_offer,
)
from spotline.core.triage import Answer, Kind, Priority, Skill
from spotline.dispatch.actions.dispatcher import incident_assign, incident_cancel, incident_escalate
from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.actions.shifts import responder_locate, shift_set
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
    "assign", "cancel", "report", "report", "shift", "escalate", "locate",
]
ESTIMATOR = StraightLineEstimator(detour_factor=1.4)
REPORT_TYPES = ["en_route", "on_scene", "resolved", "unable_to_locate", "release",
                "need_backup"]


def expected_reason(incident: Incident) -> str:
    """The unserved reason docs/dispatch-policy.md's table gives, from the timeline
    alone: how it closed (the last move's event), whether a responder held it then, and
    what its last round said (the last "offers_made" or "no_offers": a round that offers
    nobody for the same reason as the one before writes no line of its own). The replay
    found "all busy" on the timeline and "no answer" in the record."""
    timeline = list(IncidentEvent.objects.filter(incident=incident).order_by("at", "id"))
    closing = [e for e in timeline if e.data.get("to") == incident.state][-1]
    rounds = [e for e in timeline if e.type in ("offers_made", "no_offers")]
    last = rounds[-1] if rounds else None
    shortfall = last.data.get("shortfall", "") if last and last.type == "no_offers" else ""
    if incident.state_enum is State.UNABLE_TO_LOCATE:
        return Shortfall.UNABLE_TO_LOCATE.value
    if incident.on_scene_at is not None:
        return ""
    by_person = closing.actor == Actor.PERSON.value
    if closing.data["from"] in {s.value for s in HELD}:
        return (Shortfall.CANCELLED_BY_PERSON if by_person
                else Shortfall.CANCELLED_BY_DISPATCHER).value
    if shortfall:
        return str(shortfall)
    if by_person:
        return Shortfall.CANCELLED_BY_PERSON.value
    if closing.actor == Actor.SYSTEM.value:
        return Shortfall.NO_ANSWER.value
    return Shortfall.CANCELLED_BY_DISPATCHER.value


class Run:
    """One generated scenario: the moves, the clock, and what the checks remember."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data
        self.now = T0
        self.seen_offers: set[int] = set()
        # (incident, responder) -> when they declined and how often they were asked
        self.declined: dict[tuple[int, int], tuple[datetime, int]] = {}
        self.freed: int | None = None  # a responder the last move freed
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
        elif name == "locate":
            responder = self.pick_responder()
            asked = Offer.objects.filter(responder=responder,
                                         status=OfferStatus.PENDING).exists()
            responder_locate(responder=responder,
                             location=offset(CENTRE, self.draw(st.integers(-3000, 3000))),
                             now=self.now)
            if not asked:
                self.freed = responder.pk  # moved with no offer open: as if freed
        elif name == "report":
            incident = Incident.objects.get(pk=self.pick_incident())
            # The assigned responder, or a dispatcher on their behalf, or someone else.
            who = self.draw(st.sampled_from(["holder", "dispatcher", "other"]))
            responder = None
            if who == "holder" and incident.assigned_responder_id is not None:
                responder = incident.assigned_responder
            elif who == "other":
                responder = self.pick_responder()
            holder = incident.assigned_responder_id
            incident_report(incident_id=incident.pk,
                                    type=self.draw(st.sampled_from(REPORT_TYPES)),
                                    now=self.now, responder=responder, user_id=None)
            incident.refresh_from_db()
            if holder is not None and incident.state_enum not in HELD:
                self.freed = holder
        elif name == "shift":
            responder = self.pick_responder()
            location = offset(CENTRE, self.draw(st.integers(-3000, 3000)))
            shift_set(responder=responder, on_shift=not responder.on_shift,
                      location=location, now=self.now)
            if not responder.on_shift:
                self.freed = responder.pk  # came on shift
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
        self.check_freed()

    def check_freed(self) -> None:
        """A responder the last move freed has an offer for the most urgent, oldest
        waiting incident they qualify for, may be asked and can reach in time."""
        rid, self.freed = self.freed, None
        if rid is None:
            return
        r = Responder.objects.get(pk=rid)
        if not r.on_shift or r.point is None or Incident.objects.filter(
                assigned_responder_id=rid, state__in=[s.value for s in HELD]).exists():
            return
        offered_now = set(Offer.objects.filter(responder_id=rid, status=OfferStatus.PENDING,
                                               created_at=self.now)
                          .values_list("incident_id", flat=True))
        takeable = []
        for incident in Incident.objects.filter(state=State.DISPATCHING.value):
            if incident.lat is None or not set(incident.required_skills) <= set(r.skills):
                continue
            rules = django_settings.SPOTLINE_POLICY[Priority(incident.priority)]
            eta = ESTIMATOR.eta_seconds(r.point, Point(incident.lat, incident.lon),
                                        Mode(r.mode))
            if rules.max_eta is not None and eta > rules.max_eta.total_seconds():
                continue
            past = Offer.objects.filter(incident=incident, responder_id=rid).first()
            if incident.pk in offered_now or may_offer(
                    None if past is None else PastOffer(rid, OfferStatus(past.status),
                                                        past.answered_at, past.asks),
                    rules, self.now):
                takeable.append(incident)
        best = min(takeable, key=lambda i: (i.priority, i.opened_at, i.pk), default=None)
        assert offered_now == ({best.pk} if best else set()), (
            f"freed responder {rid} offered {offered_now}, most urgent is {best}")

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
            if key in self.declined and key not in self.assigned and (
                    o.status != OfferStatus.DECLINED):
                # Asked again: only after the cool-down, doubled per earlier ask.
                declined_at, asks = self.declined.pop(key)
                rules = django_settings.SPOTLINE_POLICY[Priority(incident.priority)]
                assert may_offer(PastOffer(o.responder_id, OfferStatus.DECLINED,
                                           declined_at, asks), rules, o.created_at), (
                    f"declined {key} came back before the cool-down")
            if o.status == OfferStatus.DECLINED and key not in self.declined:
                assert o.answered_at is not None
                self.declined[key] = (o.answered_at, o.asks)
            cap = django_settings.SPOTLINE_POLICY[Priority(incident.priority)].max_eta
            if (o.created_at == self.now and o.round != 0 and cap is not None
                    and o.eta_seconds is not None
                    and not IncidentEvent.objects.filter(
                        incident=incident, type="escalated",
                        data__round=o.round).exists()):
                assert o.eta_seconds <= cap.total_seconds(), "offer beyond the cap"
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
            if not incident.offers.filter(status=OfferStatus.PENDING).exists():
                # Nobody is being asked: the dispatcher is alerted and the reason kept.
                assert incident.attention, (
                    f"{incident} waits with no offer and no alarm: "
                    f"{list(incident.events.values_list('type', 'data'))} "
                    f"{list(incident.offers.values_list('responder_id', 'status', 'round'))}"
                    f" {list(Responder.objects.values_list('pk', 'on_shift_since', 'lat'))}")
                assert incident.round_shortfall, f"{incident} waits with no reason"
        if incident.closed_at is not None:
            assert incident.unserved_reason == expected_reason(incident), (
                f"{incident}: {list(incident.events.values_list('type', 'data'))}")
        assert (incident.closed_at is not None) == (state in TERMINAL)
        if incident.closed_at is not None:
            if incident.on_scene_at is None or state is State.UNABLE_TO_LOCATE:
                # Arriving and not finding them is not serving them.
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
            if incident.unserved_reason:
                event(f"unserved {incident.unserved_reason}")
        # "need backup" opens backup incidents of their own; the requests are all there.
        assert Incident.objects.filter(backup_for__isnull=True).count() == len(incidents)

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(roster=st.lists(responder_specs, min_size=1, max_size=3), first=st.booleans(),
           target=incident_specs, data=st.data())
    def test_every_request_that_ends_unserved_gets_the_reason_the_table_gives(
        self, roster: list[ResponderSpec], first: bool, target: IncidentSpec,
        data: st.DataObject,
    ) -> None:
        """The moves above mostly end in a cancel while offers are out. Here: a small
        roster, maybe another incident to keep them busy, a few moves, and then the
        request ends every way one can (the person or a dispatcher cancels, the
        responder could not find them, Spotline closes it for age)."""
        run = Run(data)
        for n, spec in enumerate(roster):
            run.add_responder(n, spec)
        if first:
            run.open(IncidentSpec(Kind.OVERDOSE, Answer.NO, Answer.UNKNOWN, Answer.NO, True))
            run.check()
            # Someone takes it: busy when the request below comes in.
            taker = Offer.objects.order_by("pk").first()
            if taker is not None:
                offer_accept(offer_id=taker.pk, responder=taker.responder, now=run.now)
                run.check()
        run.now += timedelta(seconds=1)
        run.open(target)
        run.check()
        incident_id = Incident.objects.order_by("-pk").values_list("pk", flat=True)[0]
        for _ in range(data.draw(st.integers(0, 6), label="steps")):
            run.now += timedelta(seconds=data.draw(st.integers(1, 90)))
            move = data.draw(st.sampled_from(
                ["accept", "decline", "expire", "expire", "shift", "locate"]), label="move")
            with contextlib.suppress(ActionError):  # a refused move is part of the run
                run.move(move)
            run.check()
        run.now += timedelta(seconds=1)
        end = data.draw(st.sampled_from(["person", "dispatcher", "not found", "age"]))
        incident = Incident.objects.get(pk=incident_id)
        with contextlib.suppress(ActionError):
            if end == "age":
                run.now += timedelta(hours=13)
                fire_due(now=run.now)
            elif end == "not found" and incident.assigned_responder_id is not None:
                incident_report(incident_id=incident_id, type="unable_to_locate",
                                now=run.now, responder=None, user_id=None)
            else:
                incident_cancel(incident_id=incident_id, now=run.now, user_id=None,
                                actor=Actor.PERSON if end == "person" else Actor.DISPATCHER)
        run.check()
        incident.refresh_from_db()
        event(f"{end}: {incident.unserved_reason or incident.state}")


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
