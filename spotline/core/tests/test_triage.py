"""Triage: what kind of help, how urgent, who can give it."""

from __future__ import annotations

import itertools

import pytest

from spotline.core.triage import (
    BASE_PRIORITY,
    REQUIRED_SKILLS,
    Answer,
    Kind,
    Priority,
    Skill,
    Triage,
    triage,
)

# Lower is more urgent.
URGENCY = {Priority.P1: 1, Priority.P2: 2, Priority.P3: 3}
ANSWER_COMBOS = list(itertools.product(Answer, repeat=3))

EXPECTED = {
    Kind.OVERDOSE: ({Skill.NALOXONE}, Priority.P1),
    Kind.MENTAL_HEALTH: ({Skill.CRISIS_INTERVENTION}, Priority.P2),
    Kind.WELFARE_CHECK: (set(), Priority.P3),
    Kind.MEDICAL: ({Skill.FIRST_AID}, Priority.P2),
    Kind.CONFLICT: ({Skill.DE_ESCALATION}, Priority.P2),
    Kind.OTHER: (set(), Priority.P3),
}


def test_it_knows_every_kind() -> None:
    assert set(EXPECTED) == set(Kind)
    assert set(REQUIRED_SKILLS) == set(Kind)
    assert set(BASE_PRIORITY) == set(Kind)


@pytest.mark.parametrize("kind", list(Kind))
def test_it_gives_each_kind_its_skills_and_base_priority(kind: Kind) -> None:
    skills, priority = EXPECTED[kind]
    assert REQUIRED_SKILLS[kind] == skills
    assert BASE_PRIORITY[kind] is priority
    assert triage(kind) == Triage(priority=priority, skills=frozenset(skills))


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize(
    ("breathing", "conscious"),
    [(Answer.NO, Answer.YES), (Answer.YES, Answer.NO), (Answer.NO, Answer.NO),
     (Answer.NO, Answer.UNKNOWN), (Answer.UNKNOWN, Answer.NO)],
)
def test_it_makes_anyone_not_breathing_or_not_conscious_p1(
    kind: Kind, breathing: Answer, conscious: Answer
) -> None:
    for danger in Answer:
        t = triage(kind, breathing=breathing, conscious=conscious, danger=danger)
        assert t.priority is Priority.P1


@pytest.mark.parametrize("kind", [k for k in Kind if k is not Kind.OVERDOSE])
def test_it_asks_for_first_aid_when_someone_is_not_breathing(kind: Kind) -> None:
    t = triage(kind, breathing=Answer.NO)
    assert Skill.FIRST_AID in t.skills
    assert REQUIRED_SKILLS[kind] <= t.skills


def test_it_sends_naloxone_to_an_overdose_that_is_not_breathing() -> None:
    t = triage(Kind.OVERDOSE, breathing=Answer.NO, conscious=Answer.NO)
    assert t == Triage(priority=Priority.P1, skills=frozenset({Skill.NALOXONE}))


def test_it_lowers_an_overdose_to_p2_only_when_breathing_and_conscious() -> None:
    for danger in Answer:
        t = triage(Kind.OVERDOSE, breathing=Answer.YES, conscious=Answer.YES, danger=danger)
        assert t.priority is Priority.P2
        assert t.skills == {Skill.NALOXONE}
    for breathing, conscious in itertools.product(Answer, repeat=2):
        if (breathing, conscious) != (Answer.YES, Answer.YES):
            t = triage(Kind.OVERDOSE, breathing=breathing, conscious=conscious)
            assert t.priority is Priority.P1, (breathing, conscious)


@pytest.mark.parametrize("kind", [Kind.MENTAL_HEALTH, Kind.CONFLICT])
def test_it_makes_danger_p1_for_mental_health_and_conflict(kind: Kind) -> None:
    for breathing, conscious in itertools.product(Answer, repeat=2):
        t = triage(kind, breathing=breathing, conscious=conscious, danger=Answer.YES)
        assert t.priority is Priority.P1
    assert triage(kind, danger=Answer.NO).priority is BASE_PRIORITY[kind]


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize(("breathing", "conscious", "danger"), ANSWER_COMBOS)
def test_it_never_lets_an_unknown_answer_lower_the_priority(
    kind: Kind, breathing: Answer, conscious: Answer, danger: Answer
) -> None:
    """Skipping a question is never less urgent than answering it reassuringly."""
    answers = {"breathing": breathing, "conscious": conscious, "danger": danger}
    given = triage(kind, **answers)
    for question, answer in answers.items():
        if answer is Answer.YES and question != "danger":
            skipped = triage(kind, **{**answers, question: Answer.UNKNOWN})
            assert URGENCY[skipped.priority] <= URGENCY[given.priority], question
        if answer is Answer.NO and question == "danger":
            skipped = triage(kind, **{**answers, question: Answer.UNKNOWN})
            assert URGENCY[skipped.priority] <= URGENCY[given.priority], question
    # All unknown is exactly the base priority, and only a reassuring overdose drops
    # below it.
    assert triage(kind).priority is BASE_PRIORITY[kind]
    if URGENCY[given.priority] > URGENCY[BASE_PRIORITY[kind]]:
        assert (kind, breathing, conscious) == (Kind.OVERDOSE, Answer.YES, Answer.YES)


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize(("breathing", "conscious", "danger"), ANSWER_COMBOS)
def test_it_always_requires_at_least_the_skills_of_the_kind(
    kind: Kind, breathing: Answer, conscious: Answer, danger: Answer
) -> None:
    t = triage(kind, breathing=breathing, conscious=conscious, danger=danger)
    assert REQUIRED_SKILLS[kind] <= t.skills
    assert t.skills - REQUIRED_SKILLS[kind] <= {Skill.FIRST_AID}


def test_it_has_no_police_kind_or_skill() -> None:
    words = [w.lower() for e in (Kind, Skill) for m in e for w in (m.name, m.value)]
    for banned in ("police", "law", "enforcement", "arrest", "officer"):
        assert not [w for w in words if banned in w], banned
    assert {s.value for s in Skill} == {
        "naloxone", "crisis_intervention", "first_aid", "de_escalation", "crisis_team",
    }
