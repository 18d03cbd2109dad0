"""The stage a person is told: every state, and the precedence among the alarms."""

from __future__ import annotations

import itertools

import pytest

from spotline.core.lifecycle import State
from spotline.core.stage import ALARMING, WAITING, Facts, Stage, stage


def facts(state: State = State.DISPATCHING, *, round: int = 1, pending: int = 3,
          shortfall: str = "", unanswered: bool = False, ems_proposed: bool = False,
          ems_requested: bool = False, located: bool = True) -> Facts:
    return Facts(state=state, round=round, pending_offers=pending, shortfall=shortfall,
                 unanswered=unanswered, ems_proposed=ems_proposed,
                 ems_requested=ems_requested, located=located)


@pytest.mark.parametrize(("state", "expected"), [
    (State.ASSIGNED, Stage.ACCEPTED), (State.EN_ROUTE, Stage.EN_ROUTE),
    (State.ON_SCENE, Stage.ON_SCENE), (State.RESOLVED, Stage.CLOSED),
    (State.UNABLE_TO_LOCATE, Stage.CLOSED), (State.CANCELLED, Stage.CANCELLED),
])
def test_a_state_past_dispatching_names_its_stage_whatever_the_alarms(state, expected):
    for flags in itertools.product([False, True], repeat=3):
        got = stage(facts(state, unanswered=flags[0], ems_proposed=flags[1],
                          ems_requested=flags[2], shortfall="all_busy", pending=0))
        assert got is expected
        assert got not in WAITING


def test_the_search_reads_as_finding_then_widening():
    assert stage(facts(round=1, pending=3)) is Stage.FINDING
    assert stage(facts(State.NEW, round=0, pending=0)) is Stage.FINDING
    assert stage(facts(round=2, pending=2)) is Stage.WIDENING
    assert stage(facts(round=5, pending=1)) is Stage.WIDENING


@pytest.mark.parametrize("shortfall", ["nobody_on_shift", "no_one_qualified", "all_busy",
                                       "all_declined", "no_answer"])
def test_nobody_left_to_ask_is_unanswered_at_once_not_a_calm_search(shortfall):
    assert stage(facts(round=1, pending=0, shortfall=shortfall)) is Stage.UNANSWERED
    assert stage(facts(round=3, pending=0, shortfall=shortfall)) is Stage.UNANSWERED
    # Offers still out from an earlier round: someone may yet accept.
    assert stage(facts(round=3, pending=2, shortfall=shortfall)) is Stage.WIDENING


def test_the_most_serious_alarm_wins():
    assert stage(facts(unanswered=True)) is Stage.UNANSWERED
    assert stage(facts(unanswered=True, ems_proposed=True)) is Stage.AMBULANCE_PROPOSED
    assert stage(facts(unanswered=True, ems_proposed=True,
                       ems_requested=True)) is Stage.AMBULANCE_REQUESTED
    assert stage(facts(ems_requested=True)) is Stage.AMBULANCE_REQUESTED
    assert {Stage.UNANSWERED, Stage.LOCATION_NEEDED, Stage.AMBULANCE_PROPOSED,
            Stage.AMBULANCE_REQUESTED} == ALARMING
    assert ALARMING < WAITING


@pytest.mark.parametrize("pending", [0, 4])
@pytest.mark.parametrize("shortfall", ["", "location_unknown", "nobody_on_shift"])
def test_without_a_point_the_person_is_asked_where_they_are(pending, shortfall):
    # Even with offers a dispatcher made by hand: nobody can come without a place.
    for state in (State.NEW, State.DISPATCHING):
        for unanswered, proposed in itertools.product([False, True], repeat=2):
            got = stage(facts(state, located=False, pending=pending, shortfall=shortfall,
                              unanswered=unanswered, ems_proposed=proposed))
            assert got is Stage.LOCATION_NEEDED
    assert Stage.LOCATION_NEEDED in WAITING and Stage.LOCATION_NEEDED in ALARMING


def test_an_ambulance_requested_and_a_responder_coming_outrank_a_missing_place():
    assert stage(facts(located=False, ems_requested=True)) is Stage.AMBULANCE_REQUESTED
    assert stage(facts(State.ASSIGNED, located=False)) is Stage.ACCEPTED
    assert stage(facts(State.CANCELLED, located=False)) is Stage.CANCELLED


def test_the_contract_values_are_kept():
    # GET /api/v1/track/{token} "stage": values may be added, never renamed.
    assert {"finding", "widening", "unanswered", "ambulance_proposed", "accepted",
            "en_route", "on_scene", "closed", "cancelled", "ambulance_requested",
            "location_needed"} <= {s.value for s in Stage}
