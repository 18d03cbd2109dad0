"""Why an unserved incident went unserved: every situation a last round can be in,
crossed with every way the incident can close, against the table written out here.

Each situation is built as a roster and past offers, planned with ``plan_round`` (so
the round's own precedence is under test too), and closed with ``unserved_reason``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotline.core.geo import Mode, Point, StraightLineEstimator
from spotline.core.lifecycle import State
from spotline.core.policy import (
    DEFAULT_POLICY,
    WHY_NOBODY,
    Actor,
    Candidate,
    OfferStatus,
    PastOffer,
    Shortfall,
    plan_round,
)
from spotline.core.triage import Priority, Skill
from spotline.core.unserved import PRECEDENCE, unserved_reason

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
CENTRE = Point(60.1699, 24.9384)
P1 = DEFAULT_POLICY[Priority.P1]
NALOXONE = frozenset({Skill.NALOXONE})
JUST = NOW - timedelta(seconds=10)  # answered too recently to be asked again


def cand(rid: int, *, north_m: float = 200, on_shift: bool = True, busy: bool = False,
         skills: frozenset[Skill] = NALOXONE) -> Candidate:
    return Candidate(rid, Point(CENTRE.lat + north_m / 111_195, CENTRE.lon), Mode.WALK,
                     skills, on_shift, busy)


@dataclass(frozen=True)
class Situation:
    candidates: tuple[Candidate, ...]
    past: tuple[PastOffer, ...] = ()
    located: bool = True


SITUATIONS: dict[str, Situation] = {
    "nobody on shift": Situation((cand(1, on_shift=False),)),
    "nobody qualified": Situation((cand(1, skills=frozenset()),)),
    "all busy": Situation((cand(1, busy=True), cand(2, busy=True))),
    # A walker 5 km away needs about 90 min; the P1 cap is 20.
    "all out of reach": Situation((cand(1, north_m=5000),)),
    "all declined": Situation((cand(1), cand(2)), (
        PastOffer(1, OfferStatus.DECLINED, JUST), PastOffer(2, OfferStatus.DECLINED, JUST))),
    "no answer": Situation((cand(1), cand(2)), (
        PastOffer(1, OfferStatus.DECLINED, JUST), PastOffer(2, OfferStatus.EXPIRED, JUST))),
    "location unknown": Situation((cand(1),), located=False),
    # The last round still had an offer open, or made offers: the search was going on.
    "offers open": Situation((cand(1),), (PastOffer(1, OfferStatus.PENDING),)),
    "offers made": Situation((cand(1),)),
    # Item 1 of issue 15: the only responder's offer was withdrawn when they took
    # another incident, and they stayed busy. Not "no answer": nobody was free.
    "offer withdrawn, responder busy": Situation(
        (cand(1, busy=True),), (PastOffer(1, OfferStatus.WITHDRAWN, JUST),)),
}

# What each situation must be recorded as when the search failed and nobody held it,
# whoever closed it; None: the search was still going on, so the closer's reason.
EXPECTED: dict[str, Shortfall | None] = {
    "nobody on shift": Shortfall.NOBODY_ON_SHIFT,
    "nobody qualified": Shortfall.NO_ONE_QUALIFIED,
    "all busy": Shortfall.ALL_BUSY,
    "all out of reach": Shortfall.OUT_OF_REACH,
    "all declined": Shortfall.ALL_DECLINED,
    "no answer": Shortfall.NO_ANSWER,
    "location unknown": Shortfall.LOCATION_UNKNOWN,
    "offers open": None,
    "offers made": None,
    "offer withdrawn, responder busy": Shortfall.ALL_BUSY,
}
CLOSER = {Actor.PERSON: Shortfall.CANCELLED_BY_PERSON,
          Actor.DISPATCHER: Shortfall.CANCELLED_BY_DISPATCHER,
          Actor.SYSTEM: Shortfall.NO_ANSWER}  # closed for age right after offers lapsed


def last_round(s: Situation) -> Shortfall | None:
    return plan_round(location=CENTRE if s.located else None, required=NALOXONE,
                      candidates=s.candidates, past_offers=s.past, policy=P1,
                      estimator=StraightLineEstimator(), now=NOW).shortfall


@pytest.mark.parametrize("closed_by", list(CLOSER))
@pytest.mark.parametrize("name", list(SITUATIONS))
def test_a_search_that_failed_is_the_reason_whoever_closed_it(name: str,
                                                               closed_by: Actor) -> None:
    shortfall = last_round(SITUATIONS[name])
    got = unserved_reason(final_state=State.CANCELLED, reached_scene=False, held=False,
                          round_shortfall=shortfall, closed_by=closed_by)
    assert got is (EXPECTED[name] or CLOSER[closed_by])


@pytest.mark.parametrize("closed_by", [Actor.PERSON, Actor.DISPATCHER])
@pytest.mark.parametrize("name", list(SITUATIONS))
def test_a_cancel_while_a_responder_held_it_is_the_cancellers(name: str,
                                                              closed_by: Actor) -> None:
    # An earlier round's failure (before someone accepted) does not outlive the accept.
    got = unserved_reason(final_state=State.CANCELLED, reached_scene=False, held=True,
                          round_shortfall=last_round(SITUATIONS[name]), closed_by=closed_by)
    assert got is CLOSER[closed_by]


@pytest.mark.parametrize("reached_scene", [False, True])
@pytest.mark.parametrize("name", list(SITUATIONS))
def test_could_not_find_them_is_unserved_even_after_arriving(name: str,
                                                             reached_scene: bool) -> None:
    got = unserved_reason(final_state=State.UNABLE_TO_LOCATE, reached_scene=reached_scene,
                          held=True, round_shortfall=last_round(SITUATIONS[name]),
                          closed_by=Actor.RESPONDER)
    assert got is Shortfall.UNABLE_TO_LOCATE


@pytest.mark.parametrize("name", list(SITUATIONS))
def test_a_responder_on_scene_served_them(name: str) -> None:
    got = unserved_reason(final_state=State.RESOLVED, reached_scene=True, held=True,
                          round_shortfall=last_round(SITUATIONS[name]),
                          closed_by=Actor.RESPONDER)
    assert got is None


@given(
    final_state=st.sampled_from([State.CANCELLED, State.UNABLE_TO_LOCATE]),
    held=st.booleans(),
    shortfall=st.none() | st.sampled_from(Shortfall),
    closed_by=st.sampled_from(Actor),
)
def test_it_always_gives_a_reason_when_nobody_reached_the_scene(
    final_state: State, held: bool, shortfall: Shortfall | None, closed_by: Actor,
) -> None:
    got = unserved_reason(final_state=final_state, reached_scene=False, held=held,
                          round_shortfall=shortfall, closed_by=closed_by)
    assert isinstance(got, Shortfall)


def test_the_tables_name_every_round_reason_once() -> None:
    round_reasons = {r for _, r in WHY_NOBODY if r is not None}
    assert round_reasons == {
        Shortfall.NOBODY_ON_SHIFT, Shortfall.NO_ONE_QUALIFIED, Shortfall.ALL_BUSY,
        Shortfall.OUT_OF_REACH, Shortfall.ALL_DECLINED, Shortfall.NO_ANSWER}
    assert len(PRECEDENCE) == 7
    # Every reason a closed incident can get is reachable from the situations above.
    seen = {EXPECTED[n] for n in SITUATIONS} | set(CLOSER.values()) | {
        Shortfall.UNABLE_TO_LOCATE}
    assert set(Shortfall) <= seen
