"""What the person who asked for help is told about where their request stands.

The lifecycle says what state an incident is in; a person waiting for help needs more
than "dispatching": whether anyone was asked, whether the search had to widen, whether
nobody is left to ask or the deadline passed, whether an ambulance was proposed or
requested. ``stage`` reads that from the incident's facts (no clock: it judges only what
already happened) and is the ``stage`` of ``GET /api/v1/track/{token}`` (a fixed
contract: values are added, never renamed).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from spotline.core.lifecycle import State


class Stage(StrEnum):
    FINDING = "finding"  # offered to the nearest responders, waiting for one to accept
    WIDENING = "widening"  # nobody accepted: asking more, further away
    UNANSWERED = "unanswered"  # nobody accepted and nobody is left to ask: a dispatcher was alerted
    # The deadline passed, or (an overdose) nobody near enough was free: an ambulance was
    # proposed to a dispatcher.
    AMBULANCE_PROPOSED = "ambulance_proposed"
    AMBULANCE_REQUESTED = "ambulance_requested"  # a dispatcher is to call an ambulance
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    # Added for issue 14: no point for the place, so nobody can be sent until the person
    # (or a dispatcher) says where; the person is asked to.
    LOCATION_NEEDED = "location_needed"


# Stages in which nobody has accepted yet and the person should hear, plainly, what they
# can do themselves (the hotline, an ambulance of their own choosing).
WAITING = frozenset({Stage.FINDING, Stage.WIDENING, Stage.UNANSWERED, Stage.LOCATION_NEEDED,
                     Stage.AMBULANCE_PROPOSED, Stage.AMBULANCE_REQUESTED})
# The ones that are not good news: shown as a warning, not a calm green line.
ALARMING = frozenset({Stage.UNANSWERED, Stage.LOCATION_NEEDED, Stage.AMBULANCE_PROPOSED,
                      Stage.AMBULANCE_REQUESTED})


@dataclass(frozen=True, slots=True)
class Facts:
    state: State
    round: int  # 0 before the first round; 2 and more once the search widened
    pending_offers: int  # offers out now, waiting for an answer
    shortfall: str  # why the last round offered nobody ("" when it did offer)
    unanswered: bool  # the escalation deadline passed with nobody on the way
    ems_proposed: bool
    ems_requested: bool
    located: bool = True  # the incident has a point (exact or approximate)


def stage(facts: Facts) -> Stage:
    """The stage, most serious first: an ambulance requested outranks a place still
    needed, which outranks an ambulance proposed, which outranks "nobody answered",
    which outranks a search still going on.

    A place still needed outranks an ambulance proposed because neither a responder nor
    an ambulance can come without it, and it is the one thing the person can do; once
    a dispatcher is to call an ambulance, they take it from there."""
    state = facts.state
    if state is State.CANCELLED:
        return Stage.CANCELLED
    if state in (State.RESOLVED, State.UNABLE_TO_LOCATE):
        return Stage.CLOSED
    if state is State.ASSIGNED:
        return Stage.ACCEPTED
    if state is State.EN_ROUTE:
        return Stage.EN_ROUTE
    if state is State.ON_SCENE:
        return Stage.ON_SCENE
    if facts.ems_requested:
        return Stage.AMBULANCE_REQUESTED
    if not facts.located:
        return Stage.LOCATION_NEEDED
    if facts.ems_proposed:
        return Stage.AMBULANCE_PROPOSED
    if facts.unanswered or (facts.shortfall and facts.pending_offers == 0):
        return Stage.UNANSWERED
    if facts.round > 1:
        return Stage.WIDENING
    return Stage.FINDING
