"""The kind and priority a simulated call carries, from its call type's words: a table
checked by hand on Milwaukee's natures (all the ones the rule table sends a community
team, and the medical ones next to them) and a few FDNY and LVMPD types."""

from __future__ import annotations

import pytest

from spotline.core.plan.classify import CallClass
from spotline.core.plan.kinds import kind_of, parse_kind, parse_priority
from spotline.core.triage import Kind, Priority

C, B = CallClass.COMMUNITY, CallClass.COMMUNITY_WITH_BACKUP

# (call type, its class in Milwaukee's classification, kind, priority), checked by hand.
MILWAUKEE = [
    ("TRBL W/SUBJ", B, Kind.CONFLICT, Priority.P2),  # trouble with a subject
    ("WELFARE CITIZEN", C, Kind.WELFARE_CHECK, Priority.P3),
    ("NOISE NUISANCE", B, Kind.CONFLICT, Priority.P2),
    ("FAMILY TROUBLE", B, Kind.CONFLICT, Priority.P2),
    ("TRBL W/JUV", B, Kind.CONFLICT, Priority.P2),
    ("CHILD CUSTODY", B, Kind.CONFLICT, Priority.P2),  # a dispute over a child
    ("LANDLORD/TEN TRB", B, Kind.CONFLICT, Priority.P2),
    ("FIREWORKS", B, Kind.CONFLICT, Priority.P2),
    ("LOUD MUSIC - VEH", B, Kind.CONFLICT, Priority.P2),
    ("LOUD MUSIC - BUS", B, Kind.CONFLICT, Priority.P2),
    ("LOUD MUSIC - RES", B, Kind.CONFLICT, Priority.P2),
    ("LOITERING", C, Kind.WELFARE_CHECK, Priority.P3),  # someone outside: outreach
    ("SUBJ DOWN", C, Kind.WELFARE_CHECK, Priority.P3),  # a person down outside
    ("INJ PERSON/SICK", C, Kind.MEDICAL, Priority.P2),
    ("MED RUN", C, Kind.MEDICAL, Priority.P2),
    ("FIGHT", B, Kind.CONFLICT, Priority.P2),
]
ELSEWHERE = [
    ("EDP TRANSPORT REQUESTED", C, Kind.MENTAL_HEALTH, Priority.P2),  # FDNY EDPT
    ("UNCONSCIOUS PATIENT", C, Kind.MEDICAL, Priority.P2),  # FDNY UNC
    ("HISTORY OF DRUG OR ALCOHOL ABUSE", C, Kind.OVERDOSE, Priority.P1),  # FDNY DRUG
    ("SUICIDE", C, Kind.MENTAL_HEALTH, Priority.P2),  # LVMPD 405
    ("DRUNK - UNHOUSED", C, Kind.WELFARE_CHECK, Priority.P3),  # LVMPD 408U
    ("MENTALLY ILL PERSON", C, Kind.MENTAL_HEALTH, Priority.P2),  # LVMPD 421A, not "ILL"
    ("OD UNCONSCIOUS", C, Kind.OVERDOSE, Priority.P1),  # an overdose before medical
    ("CHECK ON THE WELFARE - INTOXICATED", C, Kind.WELFARE_CHECK, Priority.P3),
    ("NEIGHBOR DISPUTE", B, Kind.CONFLICT, Priority.P2),
    ("PSYCHIATRIC CRISIS - VIOLENT", B, Kind.MENTAL_HEALTH, Priority.P2),
    ("JUVENILE DISTURBANCE - UNHOUSED", B, Kind.CONFLICT, Priority.P2),  # LVMPD 416AU
    ("FAMILY DISTURBANCE - UNHOUSED", B, Kind.CONFLICT, Priority.P2),  # LVMPD 417U
    ("HOMELESS PERSON", C, Kind.WELFARE_CHECK, Priority.P3),  # the person alone: outreach
    ("E.D.P.", C, Kind.MENTAL_HEALTH, Priority.P2),
]


@pytest.mark.parametrize(("text", "klass", "kind", "priority"), MILWAUKEE + ELSEWHERE)
def test_it_reads_the_kind_and_priority_from_the_words(text: str, klass: CallClass,
                                                       kind: Kind, priority: Priority) -> None:
    verdict = kind_of(text, klass)
    assert (verdict.kind, verdict.priority, verdict.matched) == (kind, priority, True)


def test_the_table_covers_every_milwaukee_community_nature() -> None:
    assert len(MILWAUKEE) >= 15
    # The 13 natures Milwaukee's May 2018 calls classify as community or with backup.
    assert {t for t, k, _, _ in MILWAUKEE if k in (C, B)} >= {
        "TRBL W/SUBJ", "WELFARE CITIZEN", "NOISE NUISANCE", "FAMILY TROUBLE", "TRBL W/JUV",
        "CHILD CUSTODY", "LANDLORD/TEN TRB", "FIREWORKS", "LOUD MUSIC - VEH", "LOITERING",
        "LOUD MUSIC - BUS", "LOUD MUSIC - RES", "SUBJ DOWN"}


def test_words_match_whole_words_only() -> None:
    # "MED" is a word of its own, not the start of MEDIATION; "OD" not of ODOR.
    assert kind_of("MEDIATION REQUEST").kind is Kind.OTHER
    assert kind_of("ODOR COMPLAINT").kind is Kind.OTHER


def test_an_unmatched_type_is_other_unless_it_needs_backup() -> None:
    assert kind_of("CITIZEN ASSIST", C) == kind_of("CITIZEN ASSIST")
    assert (kind_of("CITIZEN ASSIST").kind, kind_of("CITIZEN ASSIST").matched) == (
        Kind.OTHER, False)
    assert kind_of("CITIZEN ASSIST").priority is Priority.P3
    backed = kind_of("CITIZEN ASSIST", B)
    assert (backed.kind, backed.priority) == (Kind.CONFLICT, Priority.P2)


def test_a_reviewer_writes_kinds_and_priorities_loosely() -> None:
    assert parse_kind(" Mental health ") is Kind.MENTAL_HEALTH
    assert parse_kind("welfare-check") is Kind.WELFARE_CHECK
    assert parse_priority("1") is Priority.P1
    assert parse_priority("p3") is Priority.P3
    with pytest.raises(ValueError, match="not a kind"):
        parse_kind("police")
    with pytest.raises(ValueError, match="not a priority"):
        parse_priority("P9")
