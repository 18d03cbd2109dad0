"""The incident lifecycle table, in the manner of h11's tests/test_state.py.

Every row of the table does what it says, every pair that is not in the table is
refused without changing anything, and the paths a real incident takes are spelled out
step by step so that a change to the table shows up as a change to the behaviour.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotline.core.lifecycle import (
    HELD,
    OPEN,
    TERMINAL,
    TRANSITIONS,
    Effect,
    Event,
    IllegalTransition,
    State,
    Transition,
    allowed_events,
    transition,
)

NOW = datetime(2026, 11, 27, 3, 0, 0, tzinfo=UTC)

LEGAL = sorted(TRANSITIONS)
ILLEGAL = [(s, e) for s in State for e in Event if (s, e) not in TRANSITIONS]
# Close before withdrawing: the unserved reason reads the offers before they are void.
CLOSING = (Effect.CLOSE, Effect.WITHDRAW_OFFERS)


def _id(pair: tuple[State, Event]) -> str:
    return f"{pair[0].value}-{pair[1].value}"


def walk(*events: Event, start: State = State.NEW) -> list[Transition]:
    state, steps = start, []
    for event in events:
        t = transition(state, event, now=NOW)
        steps.append(t)
        state = t.new
    return steps


@pytest.mark.parametrize("pair", LEGAL, ids=_id)
def test_it_gives_the_listed_state_and_effects_for_every_transition(
    pair: tuple[State, Event],
) -> None:
    state, event = pair
    new, effects = TRANSITIONS[pair]
    t = transition(state, event, now=NOW)
    assert t == Transition(old=state, new=new, event=event, effects=effects, at=NOW)


@pytest.mark.parametrize("pair", ILLEGAL, ids=_id)
def test_it_refuses_every_pair_not_in_the_table_and_changes_nothing(
    pair: tuple[State, Event],
) -> None:
    state, event = pair
    table_before = copy.deepcopy(TRANSITIONS)
    caller_state = state
    with pytest.raises(IllegalTransition) as excinfo:
        transition(caller_state, event, now=NOW)
    assert excinfo.value.state is state
    assert excinfo.value.event is event
    assert event.value in str(excinfo.value) and state.value in str(excinfo.value)
    assert caller_state is state
    assert TRANSITIONS == table_before


def test_it_covers_every_state_and_event_pair_exactly_once() -> None:
    assert len(LEGAL) + len(ILLEGAL) == len(State) * len(Event)
    assert set(LEGAL).isdisjoint(ILLEGAL)


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_it_allows_nothing_in_a_terminal_state(state: State) -> None:
    assert allowed_events(state) == frozenset()
    for event in Event:
        with pytest.raises(IllegalTransition):
            transition(state, event, now=NOW)


@pytest.mark.parametrize("state", list(State))
def test_it_lists_the_allowed_events_of_each_state_from_the_table(state: State) -> None:
    expected = {e for e in Event if (state, e) in TRANSITIONS}
    assert allowed_events(state) == expected
    assert all(isinstance(e, Event) for e in allowed_events(state))


def test_it_partitions_the_states_into_open_and_terminal() -> None:
    assert OPEN | TERMINAL == frozenset(State)
    assert OPEN & TERMINAL == frozenset()
    assert HELD <= OPEN
    assert TERMINAL == {State.RESOLVED, State.CANCELLED, State.UNABLE_TO_LOCATE}
    assert HELD == {State.ASSIGNED, State.EN_ROUTE, State.ON_SCENE}


def test_it_walks_the_happy_path_from_new_to_resolved() -> None:
    steps = walk(Event.DISPATCH, Event.ACCEPT, Event.EN_ROUTE, Event.ON_SCENE, Event.RESOLVE)
    assert [t.new for t in steps] == [
        State.DISPATCHING, State.ASSIGNED, State.EN_ROUTE, State.ON_SCENE, State.RESOLVED,
    ]
    assert [t.old for t in steps] == [
        State.NEW, State.DISPATCHING, State.ASSIGNED, State.EN_ROUTE, State.ON_SCENE,
    ]
    assert [t.effects for t in steps] == [
        (Effect.START_OFFERS,), (Effect.WITHDRAW_OFFERS,), (), (), CLOSING,
    ]
    assert all(t.at == NOW for t in steps)


def test_it_lets_a_dispatcher_assign_directly_and_reassign() -> None:
    steps = walk(Event.DISPATCH, Event.ASSIGN, Event.ASSIGN, Event.EN_ROUTE, Event.ASSIGN)
    assert [t.new for t in steps] == [
        State.DISPATCHING, State.ASSIGNED, State.ASSIGNED, State.EN_ROUTE, State.ASSIGNED,
    ]
    # Taking the incident out of the search voids the pending offers; a reassignment
    # of an already held incident has no offers left to void.
    assert steps[1].effects == (Effect.WITHDRAW_OFFERS,)
    assert steps[2].effects == ()
    assert transition(State.NEW, Event.ASSIGN, now=NOW).new is State.ASSIGNED


def test_it_skips_en_route_when_the_responder_is_already_there() -> None:
    steps = walk(Event.DISPATCH, Event.ACCEPT, Event.ON_SCENE, Event.RESOLVE)
    assert steps[-1].new is State.RESOLVED


@pytest.mark.parametrize(
    "state", [State.NEW, State.DISPATCHING, State.ASSIGNED, State.EN_ROUTE]
)
def test_it_cancels_from_each_open_state_before_the_responder_arrives(state: State) -> None:
    t = transition(state, Event.CANCEL, now=NOW)
    assert t.new is State.CANCELLED
    assert t.effects == CLOSING


def test_it_does_not_cancel_once_a_responder_is_on_scene() -> None:
    with pytest.raises(IllegalTransition):
        transition(State.ON_SCENE, Event.CANCEL, now=NOW)


@pytest.mark.parametrize("state", sorted(HELD))
def test_it_closes_as_unable_to_locate_from_each_held_state(state: State) -> None:
    t = transition(state, Event.UNABLE_TO_LOCATE, now=NOW)
    assert t.new is State.UNABLE_TO_LOCATE
    assert t.effects == CLOSING


@pytest.mark.parametrize("state", [State.NEW, State.DISPATCHING])
def test_it_refuses_unable_to_locate_before_anyone_was_sent(state: State) -> None:
    with pytest.raises(IllegalTransition):
        transition(state, Event.UNABLE_TO_LOCATE, now=NOW)


@pytest.mark.parametrize("state", [State.ASSIGNED, State.EN_ROUTE])
def test_it_releases_back_to_dispatching_and_offers_again(state: State) -> None:
    t = transition(state, Event.RELEASE, now=NOW)
    assert t.new is State.DISPATCHING
    assert t.effects == (Effect.START_OFFERS,)
    # And the search goes on to a new responder.
    assert transition(t.new, Event.ACCEPT, now=NOW).new is State.ASSIGNED


@pytest.mark.parametrize("state", [State.NEW, State.DISPATCHING])
def test_it_refuses_a_release_when_nobody_holds_the_incident(state: State) -> None:
    with pytest.raises(IllegalTransition):
        transition(state, Event.RELEASE, now=NOW)


def test_it_accepts_only_while_dispatching() -> None:
    accepting = {s for s in State if (s, Event.ACCEPT) in TRANSITIONS}
    assert accepting == {State.DISPATCHING}


@pytest.mark.parametrize("pair", LEGAL, ids=_id)
def test_it_closes_exactly_when_the_incident_becomes_terminal(
    pair: tuple[State, Event],
) -> None:
    new, effects = TRANSITIONS[pair]
    if new in TERMINAL:
        assert effects == CLOSING
    else:
        assert Effect.CLOSE not in effects


@pytest.mark.parametrize("pair", LEGAL, ids=_id)
def test_it_starts_offers_exactly_when_the_search_starts(pair: tuple[State, Event]) -> None:
    new, effects = TRANSITIONS[pair]
    assert (Effect.START_OFFERS in effects) == (new is State.DISPATCHING)


@pytest.mark.parametrize("pair", LEGAL, ids=_id)
def test_it_voids_pending_offers_whenever_the_search_ends(pair: tuple[State, Event]) -> None:
    old, _ = pair
    new, effects = TRANSITIONS[pair]
    if old is State.DISPATCHING and new is not State.DISPATCHING:
        assert Effect.WITHDRAW_OFFERS in effects


def reachable_from(start: State) -> set[State]:
    seen, frontier = {start}, [start]
    while frontier:
        state = frontier.pop()
        for event in allowed_events(state):
            new = TRANSITIONS[(state, event)][0]
            if new not in seen:
                seen.add(new)
                frontier.append(new)
    return seen


def test_it_reaches_every_state_from_new() -> None:
    assert reachable_from(State.NEW) == set(State)


@pytest.mark.parametrize("state", sorted(OPEN))
def test_it_can_close_an_incident_from_every_open_state(state: State) -> None:
    assert reachable_from(state) & TERMINAL


@given(st.lists(st.sampled_from(list(Event)), max_size=30))
def test_it_moves_only_along_the_table_for_any_sequence_of_events(events: list[Event]) -> None:
    state = State.NEW
    for event in events:
        before = state
        if (state, event) in TRANSITIONS:
            t = transition(state, event, now=NOW)
            assert t.old is before and t.event is event
            state = t.new
        else:
            with pytest.raises(IllegalTransition):
                transition(state, event, now=NOW)
            assert state is before
        if before in TERMINAL:
            assert state is before


def test_it_never_mentions_the_police() -> None:
    words = [m.name.lower() for e in (State, Event, Effect) for m in e]
    words += [m.value.lower() for e in (State, Event, Effect) for m in e]
    for banned in ("police", "law", "arrest", "enforcement", "cop"):
        assert not [w for w in words if banned in w], banned
