"""The incident lifecycle as a transition table.

``TRANSITIONS`` is the whole state machine: ``transition(state, event, now=...)`` looks
the pair up and returns the new state with the side effects the shell must carry out,
or raises ``IllegalTransition`` and changes nothing. The shell persists the result with
a compare-and-set on the old state, so two racing writers cannot both win.

    new -> dispatching -> assigned -> en_route -> on_scene -> resolved
    any open state -> cancelled; assigned/en_route/on_scene -> unable_to_locate
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    NEW = "new"
    DISPATCHING = "dispatching"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    UNABLE_TO_LOCATE = "unable_to_locate"


class Event(StrEnum):
    DISPATCH = "dispatch"  # start looking for responders
    ACCEPT = "accept"  # a responder accepted an offer
    ASSIGN = "assign"  # a dispatcher assigned (or reassigned) a responder
    RELEASE = "release"  # the assigned responder dropped out: look again
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVE = "resolve"
    UNABLE_TO_LOCATE = "unable_to_locate"
    CANCEL = "cancel"


class Effect(StrEnum):
    """What the shell must do besides storing the new state."""

    START_OFFERS = "start_offers"  # make the first round of offers, arm the timers
    WITHDRAW_OFFERS = "withdraw_offers"  # pending offers of this incident are void
    CLOSE = "close"  # stamp closed_at, record the outcome or unserved reason, arm purge


TERMINAL: frozenset[State] = frozenset(
    {State.RESOLVED, State.CANCELLED, State.UNABLE_TO_LOCATE}
)
OPEN: frozenset[State] = frozenset(State) - TERMINAL
# States in which a responder holds the incident.
HELD: frozenset[State] = frozenset({State.ASSIGNED, State.EN_ROUTE, State.ON_SCENE})

# Close first: the unserved reason is read from the offers' fate, which withdrawing
# them would erase (a cancel while offers are pending is the canceller's, not "no answer").
_CLOSE = (Effect.CLOSE, Effect.WITHDRAW_OFFERS)

TRANSITIONS: dict[tuple[State, Event], tuple[State, tuple[Effect, ...]]] = {
    (State.NEW, Event.DISPATCH): (State.DISPATCHING, (Effect.START_OFFERS,)),
    (State.NEW, Event.ASSIGN): (State.ASSIGNED, (Effect.WITHDRAW_OFFERS,)),
    (State.NEW, Event.CANCEL): (State.CANCELLED, _CLOSE),
    (State.DISPATCHING, Event.ACCEPT): (State.ASSIGNED, (Effect.WITHDRAW_OFFERS,)),
    (State.DISPATCHING, Event.ASSIGN): (State.ASSIGNED, (Effect.WITHDRAW_OFFERS,)),
    (State.DISPATCHING, Event.CANCEL): (State.CANCELLED, _CLOSE),
    (State.ASSIGNED, Event.ASSIGN): (State.ASSIGNED, ()),
    (State.ASSIGNED, Event.RELEASE): (State.DISPATCHING, (Effect.START_OFFERS,)),
    (State.ASSIGNED, Event.EN_ROUTE): (State.EN_ROUTE, ()),
    (State.ASSIGNED, Event.ON_SCENE): (State.ON_SCENE, ()),
    (State.ASSIGNED, Event.UNABLE_TO_LOCATE): (State.UNABLE_TO_LOCATE, _CLOSE),
    (State.ASSIGNED, Event.CANCEL): (State.CANCELLED, _CLOSE),
    (State.EN_ROUTE, Event.ASSIGN): (State.ASSIGNED, ()),
    (State.EN_ROUTE, Event.RELEASE): (State.DISPATCHING, (Effect.START_OFFERS,)),
    (State.EN_ROUTE, Event.ON_SCENE): (State.ON_SCENE, ()),
    (State.EN_ROUTE, Event.UNABLE_TO_LOCATE): (State.UNABLE_TO_LOCATE, _CLOSE),
    (State.EN_ROUTE, Event.CANCEL): (State.CANCELLED, _CLOSE),
    (State.ON_SCENE, Event.RESOLVE): (State.RESOLVED, _CLOSE),
    (State.ON_SCENE, Event.UNABLE_TO_LOCATE): (State.UNABLE_TO_LOCATE, _CLOSE),
    # Once a responder is with the person, only the responder (or a dispatcher on
    # their behalf) closes it, with an outcome: "they are OK now" is no longer a cancel.
}


class IllegalTransition(Exception):
    def __init__(self, state: State, event: Event) -> None:
        super().__init__(f"cannot {event.value} an incident that is {state.value}")
        self.state = state
        self.event = event


@dataclass(frozen=True, slots=True)
class Transition:
    old: State
    new: State
    event: Event
    effects: tuple[Effect, ...]
    at: datetime


def transition(state: State, event: Event, *, now: datetime) -> Transition:
    try:
        new, effects = TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None
    return Transition(old=state, new=new, event=event, effects=effects, at=now)


def allowed_events(state: State) -> frozenset[Event]:
    return frozenset(event for (s, event) in TRANSITIONS if s is state)
