"""What kind of help a call type asks for, and how urgent: the kind and priority a
simulated call carries into the dispatch policy.

A city's call types are classified (``core.plan.classify``) into who could take them;
the simulation also needs the incident kind (it decides the skills a responder needs,
``triage.REQUIRED_SKILLS``, and the time on scene) and the priority (offers per round,
expiry, deadlines). Both come from the type's words, tried in the order of ``KIND_WORDS``
so that the most urgent reading wins: "DRUG OVERDOSE - UNCONSCIOUS" is an overdose, not a
medical call. The priority is the kind's ``triage.BASE_PRIORITY``, as a call taken with
no answers to the triage questions would get. A reviewer can override both per call
type with ``kind`` and ``priority`` columns in classification.csv.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spotline.core.plan.classify import CallClass, word_regex
from spotline.core.triage import BASE_PRIORITY, Kind, Priority

#: Words (as in the rule table: at word boundaries, ``*`` for any ending, punctuation
#: between the words of a phrase ignored) that make a call type each kind, most urgent
#: reading first. Abbreviations are those of real exports (Milwaukee's TRBL, FDNY's EDP).
KIND_WORDS: tuple[tuple[Kind, tuple[str, ...]], ...] = (
    (Kind.OVERDOSE, ("OVERDOSE*", "OD", "DRUG*", "NARCOTIC*", "OPIOID*", "OPIATE*",
                     "HEROIN", "FENTANYL", "NARCAN", "NALOXONE", "POISONING")),
    (Kind.MENTAL_HEALTH, ("MENTAL*", "PSYCH*", "EDP", "E D P", "EMOTIONAL*", "SUICID*",
                          "CRISIS", "BEHAVIORAL", "BEHAVIOURAL", "JUMPER*", "JUMP UP",
                          "JUMPED UP", "LEDGE", "ON BRIDGE")),
    (Kind.WELFARE_CHECK, ("WELFARE", "CHECK ON", "CHECK THE WELFARE", "WELL BEING",
                          "WELLBEING", "SLEEPING", "INTOXICAT*", "INOXICAT*", "DRUNK",
                          "ALCOHOL*", "ETOH", "LOITER*", "SUBJ DOWN", "SUBJECT DOWN",
                          "PERSON DOWN", "MAN DOWN", "WOMAN DOWN")),
    (Kind.MEDICAL, ("SICK", "ILL", "INJUR*", "INJ", "MEDICAL", "MED", "UNCONSCIOUS",
                    "FALL", "FALLEN")),
    (Kind.CONFLICT, ("DISTURB*", "TRBL", "TRB", "TROUBL*", "FIGHT*", "DISPUTE*",
                     "NEIGHBOR*", "NEIGHBOUR*", "ARGUMENT*", "NOISE", "LOUD", "FIREWORK*",
                     "CUSTODY", "PARTY")),
    # These describe the person, not the need: LVMPD's "OTHER DISTURBANCE - UNHOUSED" is
    # a disturbance. Alone ("HOMELESS PERSON") they are outreach, a welfare check.
    (Kind.WELFARE_CHECK, ("HOMELESS*", "UNHOUSED", "ENCAMPMENT")),
)

_MATCHERS: tuple[tuple[Kind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile("|".join(word_regex(w) for w in words), re.IGNORECASE))
    for kind, words in KIND_WORDS
)


@dataclass(frozen=True, slots=True)
class KindVerdict:
    kind: Kind
    priority: Priority
    matched: bool  # False: no word matched, the default for the class was taken


def kind_of(text: str, klass: CallClass = CallClass.COMMUNITY) -> KindVerdict:
    """The kind and priority of a call type from its words (description and code).

    A type no word matches is ``OTHER`` (P3), except a ``community_with_backup`` one:
    the classifier sends a team with a safety protocol to disturbances and crises
    described as violent, so it is a ``CONFLICT`` (P2, de-escalation).
    """
    for kind, matcher in _MATCHERS:
        if matcher.search(text):
            return KindVerdict(kind, BASE_PRIORITY[kind], True)
    kind = Kind.CONFLICT if klass is CallClass.COMMUNITY_WITH_BACKUP else Kind.OTHER
    return KindVerdict(kind, BASE_PRIORITY[kind], False)


def parse_kind(value: str) -> Kind:
    """A kind as a reviewer writes it ("overdose", "Mental health"); ValueError else."""
    normal = re.sub(r"[\s-]+", "_", value.strip().lower())
    try:
        return Kind(normal)
    except ValueError:
        raise ValueError(f"{value!r} is not a kind (one of: "
                         f"{', '.join(k.value for k in Kind)})") from None


def parse_priority(value: str) -> Priority:
    """A priority as a reviewer writes it ("P1", "1", "p2"); ValueError else."""
    normal = value.strip().upper()
    if normal.isdigit():
        normal = "P" + normal
    try:
        return Priority(normal)
    except ValueError:
        raise ValueError(f"{value!r} is not a priority (P1, P2 or P3)") from None
