"""Incident kinds, skills and triage: what kind of help, how urgent, who can give it.

There is deliberately no police kind and no police skill: Spotline has no path to the
police (ARCHITECTURE.md, non-negotiable 1). The last escalation is an ambulance.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    OVERDOSE = "overdose"
    MENTAL_HEALTH = "mental_health"
    WELFARE_CHECK = "welfare_check"
    MEDICAL = "medical"
    CONFLICT = "conflict"
    OTHER = "other"


class Skill(StrEnum):
    NALOXONE = "naloxone"
    CRISIS_INTERVENTION = "crisis_intervention"
    FIRST_AID = "first_aid"
    DE_ESCALATION = "de_escalation"
    # Members of the organization's mobile crisis team; "escalate to crisis_team" offers
    # the incident to them.
    CRISIS_TEAM = "crisis_team"


class Priority(StrEnum):
    P1 = "P1"  # life threatening now: minutes matter
    P2 = "P2"  # urgent
    P3 = "P3"  # can wait for the nearest free responder


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


# What a responder must carry or know to be offered an incident of each kind.
REQUIRED_SKILLS: dict[Kind, frozenset[Skill]] = {
    Kind.OVERDOSE: frozenset({Skill.NALOXONE}),
    Kind.MENTAL_HEALTH: frozenset({Skill.CRISIS_INTERVENTION}),
    Kind.WELFARE_CHECK: frozenset(),
    Kind.MEDICAL: frozenset({Skill.FIRST_AID}),
    Kind.CONFLICT: frozenset({Skill.DE_ESCALATION}),
    Kind.OTHER: frozenset(),
}

# Priority when nothing in the answers raises it.
BASE_PRIORITY: dict[Kind, Priority] = {
    Kind.OVERDOSE: Priority.P1,
    Kind.MENTAL_HEALTH: Priority.P2,
    Kind.WELFARE_CHECK: Priority.P3,
    Kind.MEDICAL: Priority.P2,
    Kind.CONFLICT: Priority.P2,
    Kind.OTHER: Priority.P3,
}


@dataclass(frozen=True, slots=True)
class Triage:
    priority: Priority
    skills: frozenset[Skill]


def triage(
    kind: Kind,
    *,
    breathing: Answer = Answer.UNKNOWN,
    conscious: Answer = Answer.UNKNOWN,
    danger: Answer = Answer.UNKNOWN,
) -> Triage:
    """Priority and required skills from the kind and the caller's answers.

    Unknown answers never lower a priority: a panicking caller who skips the questions
    about an overdose still gets the P1 response. Only "yes, breathing" and "yes,
    conscious" together let an overdose drop to P2.
    """
    priority = BASE_PRIORITY[kind]
    skills = set(REQUIRED_SKILLS[kind])
    if breathing is Answer.NO or conscious is Answer.NO:
        priority = Priority.P1
        # Someone not breathing needs rescue breathing whatever the kind was called.
        if breathing is Answer.NO and kind is not Kind.OVERDOSE:
            skills.add(Skill.FIRST_AID)
    elif (
        kind is Kind.OVERDOSE and breathing is Answer.YES and conscious is Answer.YES
    ):
        priority = Priority.P2
    if danger is Answer.YES and kind in (Kind.MENTAL_HEALTH, Kind.CONFLICT):
        priority = Priority.P1
    return Triage(priority=priority, skills=frozenset(skills))
