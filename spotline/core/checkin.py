"""Check-ins for people using alone ("never use alone"), as a transition table.

    active --due--> asked --grace--> warned --grace--> escalated
    active/asked/warned --ok--> active (next check after the same interval)
    active/asked/warned --done--> ended

At "due" the person is asked ("Are you OK?"); after a grace period a second, louder
attempt; after a second grace period help is sent to where they said they are. Each
state has at most one pending deadline, so ``deadline_after`` says which one to arm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class CheckState(StrEnum):
    ACTIVE = "active"  # waiting for the next check
    ASKED = "asked"  # "are you OK?" went out
    WARNED = "warned"  # the louder second attempt went out
    ESCALATED = "escalated"  # help was sent
    ENDED = "ended"  # ended safely by the person


class CheckEvent(StrEnum):
    DUE = "due"
    GRACE = "grace"
    OK = "ok"
    CALL_OFF = "call_off"  # after help was sent: "I'm OK, cancel help"
    DONE = "done"


class OnMiss(StrEnum):
    RESPONDERS = "responders"
    RESPONDERS_AND_EMS = "responders_and_ems"


class Purpose(StrEnum):
    PERSON = "person"  # someone using alone
    SAFETY = "safety"  # a responder on scene: a missed check sends them backup


class Send(StrEnum):
    """Whom a person's response plan sends when they stop answering."""

    RESPONDERS = "responders"  # the organization's community responders (the default)
    TRUSTED = "trusted"  # a trusted person of their own, texted the place and how to get in
    EMS = "ems"  # an ambulance


MIN_MINUTES, MAX_MINUTES, DEFAULT_MINUTES = 1, 30, 5
# A responder's safety timer: started on arriving on scene, extendable.
SAFETY_DEFAULT_MINUTES, SAFETY_MAX_MINUTES = 15, 60


class BadPlan(ValueError):
    pass


def plan_sends(send: frozenset[Send] | None, on_miss: OnMiss,
               has_trusted_phone: bool) -> frozenset[Send]:
    """Whom to send, from an explicit choice or (the fixed contract) from ``on_miss``.

    ``on_miss: responders_and_ems`` always adds the ambulance, so an old client's
    choice is never weakened by the newer field.
    """
    chosen = set(send) if send is not None else {Send.RESPONDERS}
    if on_miss is OnMiss.RESPONDERS_AND_EMS:
        chosen.add(Send.EMS)
    if not chosen:
        raise BadPlan("choose whom to send: responders, a trusted person, an ambulance")
    if Send.TRUSTED in chosen and not has_trusted_phone:
        raise BadPlan("a trusted person needs a phone number to be texted")
    return frozenset(chosen)

CHECK_TRANSITIONS: dict[tuple[CheckState, CheckEvent], CheckState] = {
    (CheckState.ACTIVE, CheckEvent.DUE): CheckState.ASKED,
    (CheckState.ASKED, CheckEvent.GRACE): CheckState.WARNED,
    (CheckState.WARNED, CheckEvent.GRACE): CheckState.ESCALATED,
    (CheckState.ACTIVE, CheckEvent.OK): CheckState.ACTIVE,
    (CheckState.ASKED, CheckEvent.OK): CheckState.ACTIVE,
    (CheckState.WARNED, CheckEvent.OK): CheckState.ACTIVE,
    (CheckState.ACTIVE, CheckEvent.DONE): CheckState.ENDED,
    (CheckState.ASKED, CheckEvent.DONE): CheckState.ENDED,
    (CheckState.WARNED, CheckEvent.DONE): CheckState.ENDED,
    # The person woke up, or was only in the shower: the help sent is called off.
    (CheckState.ESCALATED, CheckEvent.CALL_OFF): CheckState.ENDED,
}

OPEN_STATES = frozenset({CheckState.ACTIVE, CheckState.ASKED, CheckState.WARNED})


class IllegalCheck(Exception):
    def __init__(self, state: CheckState, event: CheckEvent) -> None:
        super().__init__(f"cannot {event.value} a check-in that is {state.value}")


def check_transition(state: CheckState, event: CheckEvent) -> CheckState:
    try:
        return CHECK_TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalCheck(state, event) from None


@dataclass(frozen=True, slots=True)
class Deadline:
    event: CheckEvent
    due_at: datetime


def deadline_after(state: CheckState, *, now: datetime, minutes: int,
                   grace: timedelta) -> Deadline | None:
    """The one deadline to arm on entering ``state`` (None once it is over)."""
    if state is CheckState.ACTIVE:
        return Deadline(CheckEvent.DUE, now + timedelta(minutes=minutes))
    if state in (CheckState.ASKED, CheckState.WARNED):
        return Deadline(CheckEvent.GRACE, now + grace)
    return None
