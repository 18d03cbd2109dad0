"""The conversation: what we answer, turn by turn.

The conversation paths are spelled out turn by turn, and hypothesis throws arbitrary text
at every step to hold the promises made to a person in crisis: always an answer, never
longer than two SMS, never a mention of police except that we never send them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from spotline.core.candidates import Candidate
from spotline.core.sms.converse import (
    NEXT_STEP,
    STEPS,
    ConversationState,
    OpenIncident,
    Step,
    Turn,
    converse,
    pick,
)
from spotline.core.sms.text import MAX_PLACE, MAX_REPLY
from spotline.core.tests.test_sms_replies import police_free
from spotline.core.tests.test_sms_understand import LONG, texts
from spotline.core.triage import Answer, Kind

NOW = datetime(2026, 11, 27, 3, 0, 0, tzinfo=UTC)

OD, MH, MED = Kind.OVERDOSE, Kind.MENTAL_HEALTH, Kind.MEDICAL
FIGHT, CHECK = Kind.CONFLICT, Kind.WELFARE_CHECK
NO = Answer.NO


def say(state: ConversationState, *texts: str) -> list[Turn]:
    turns = []
    for text in texts:
        turn = converse(state, text, now=NOW)
        turns.append(turn)
        state = turn.state
    return turns


def last(*texts: str, state: ConversationState | None = None) -> Turn:
    return say(state or ConversationState(), *texts)[-1]




def test_it_dispatches_at_once_when_the_first_text_says_what_and_where() -> None:
    turn = last("my friend isn't breathing behind the 7-11 on 5th")
    assert turn.replies[0] == (
        "Sending a responder for an overdose at: behind the 7-11 on 5th. We never send "
        "police. Reply with a better location anytime. Reply STOP to stop texts."
    )
    assert "naloxone" in turn.replies[1]
    assert turn.action == OpenIncident(
        kind=OD, place="behind the 7-11 on 5th", breathing=NO, conscious=Answer.UNKNOWN,
        language="en",
    )
    assert turn.state.step is Step.DISPATCHED
    assert turn.at == NOW


def test_it_confirms_a_place_without_repeating_the_cue() -> None:
    turn = last("overdose at the park")
    assert "for an overdose at: the park." in turn.replies[0]
    assert turn.action is not None and turn.action.place == "at the park"


def test_it_asks_where_when_it_knows_what() -> None:
    turn = last("my sister wants to die")
    assert turn.state.step is Step.ASK_PLACE
    assert turn.action is None
    assert turn.replies == (
        "Spotline here. We never send police. Where are you? A street address, cross "
        "streets, or a place people know.",
    )


def test_it_asks_what_with_numbered_choices_when_it_knows_where() -> None:
    turn = last("5th & Main")
    assert turn.state.step is Step.ASK_KIND
    assert turn.state.place == "5th & Main"
    assert "Got it: 5th & Main." in turn.replies[0]
    assert ("1 overdose, 2 mental health, 3 hurt or sick, 4 check on someone, 5 conflict, "
            "6 other") in turn.replies[0]


def test_it_asks_what_first_when_it_knows_neither() -> None:
    turn = last("pls help")
    assert turn.state.step is Step.ASK_KIND
    assert turn.replies[0].startswith("Spotline here. We never send police. What is happening?")


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ("1", OD), ("#1", OD), ("1.", OD), ("one", OD), ("uno", OD), (" 1 ", OD),
        ("overdose", OD), ("2", MH), ("mental health", MH), ("3", MED), ("sick", MED),
        ("4", CHECK), ("check on him", CHECK), ("5", FIGHT), ("conflict", FIGHT),
        ("6", Kind.OTHER), ("other", Kind.OTHER), ("otra cosa", Kind.OTHER),
        ("option 2", MH), ("3 at the park", MED),
    ],
)
def test_it_takes_a_number_or_words_for_what_is_happening(answer: str, kind: Kind) -> None:
    turn = last("help", answer)
    assert turn.state.kind is kind
    assert turn.state.step in (Step.ASK_PLACE, Step.DISPATCHED)


def test_it_does_not_take_a_house_number_for_a_choice() -> None:
    turn = last("help", "4 Elm St")
    assert turn.state.kind is None
    assert turn.state.place == "4 Elm St"
    assert turn.state.step is Step.ASK_KIND


def test_a_choice_with_a_known_place_dispatches() -> None:
    _, second = say(ConversationState(), "5th & Main", "1")
    assert second.action is not None
    assert (second.action.kind, second.action.place) == (OD, "5th & Main")


def test_it_asks_again_with_an_example_after_an_unclear_answer_about_what() -> None:
    turn = last("help", "asdf")
    assert turn.state.step is Step.ASK_KIND
    assert turn.state.attempts == 1
    assert turn.replies[0].startswith("Sorry, I did not get that.")
    assert "for example 1" in turn.replies[0]


def test_it_assumes_other_after_two_unclear_answers_about_what() -> None:
    turn = last("help", "asdf", "🤷")
    assert turn.state.kind is Kind.OTHER
    assert turn.state.step is Step.ASK_PLACE
    assert turn.replies[0].startswith("OK, we will send someone to help. Where are you?")


def test_it_dispatches_on_the_assumption_when_it_knows_where() -> None:
    turn = last("at the library", "??", "hmm")
    assert turn.action is not None
    assert (turn.action.kind, turn.action.place) == (Kind.OTHER, "at the library")


def test_it_takes_a_plain_answer_to_where() -> None:
    for answer in ("the library", "McDonald's", "Walgreens on 3rd"):
        turn = last("overdose", answer)
        assert turn.action is not None and turn.action.place == answer


def test_it_does_not_take_an_update_for_an_answer_to_where() -> None:
    turn = last("overdose", "he's not breathing pls hurry")
    assert turn.state.step is Step.ASK_PLACE
    assert turn.state.breathing is NO
    assert turn.replies[0].startswith("Sorry, I could not tell where you are.")
    assert '"5th and Main"' in turn.replies[0]


def test_it_dispatches_with_the_raw_text_after_two_unclear_answers_about_where() -> None:
    turn = last("overdose", "idk", "he's not breathing, pls")
    assert turn.action is not None
    assert turn.action.place == "he's not breathing, pls"
    assert turn.action.breathing is NO
    assert "could not tell exactly where" in turn.replies[0]


def test_it_dispatches_with_no_place_when_the_last_answer_is_empty() -> None:
    turn = last("overdose", "", "   ")
    assert turn.action is not None and turn.action.place is None
    assert "someone may call or text you" in turn.replies[0]


def test_it_keeps_what_it_learns_along_the_way() -> None:
    turn = last("she won't wake up", "not breathing either", "at the bus stop")
    assert turn.action == OpenIncident(
        kind=OD, place="at the bus stop", breathing=NO, conscious=NO, language="en"
    )


def test_it_sends_first_aid_for_an_overdose_once() -> None:
    turns = say(ConversationState(), "help", "1", "the library")
    assert [len(t.replies) for t in turns] == [1, 2, 1]
    assert "naloxone" in turns[1].replies[1]


def test_after_dispatch_texts_are_notes_for_the_responder() -> None:
    dispatched = last("overdose at the park").state
    turn = converse(dispatched, "he has a red jacket", now=NOW)
    assert turn.action is None
    assert turn.note == "he has a red jacket"
    assert turn.state.step is Step.DISPATCHED
    assert turn.replies == ("Thanks, we added that to your request. Text anytime with more "
                            "details.",)


def test_after_dispatch_a_new_place_updates_the_location() -> None:
    dispatched = last("overdose at the park").state
    turn = converse(dispatched, "actually we're behind the gym now", now=NOW)
    assert turn.state.place == "behind the gym now"
    assert turn.note == "actually we're behind the gym now"
    assert turn.replies[0].startswith("Thanks, we updated the location: behind the gym now.")


def test_after_dispatch_an_empty_text_gets_a_reminder() -> None:
    turn = converse(last("overdose at the park").state, "\x00 \n", now=NOW)
    assert turn.note is None
    assert turn.replies[0].startswith("Your request is still open.")


def test_a_closed_conversation_starts_over() -> None:
    closed = replace(last("overdose at the park").state, step=Step.CLOSED)
    turn = converse(closed, "someone is bleeding at 5th and main", now=NOW)
    assert turn.action is not None
    assert (turn.action.kind, turn.action.place) == (MED, "at 5th and main")
    assert turn.replies[0].startswith("Sending a responder for someone hurt or sick")


def test_it_runs_a_whole_conversation_in_spanish() -> None:
    turns = say(ConversationState(), "ayuda", "xx", "1", "no sé", "detrás de la iglesia",
                "tiene una chamarra roja")
    assert turns[0].replies[0].startswith("Aquí Spotline. Nunca enviamos a la policía.")
    assert turns[1].replies[0].startswith("Perdón, no entendí.")
    assert turns[2].replies[0].startswith("¿Dónde estás?")
    assert turns[2].replies[1].startswith("Si tienes naloxona")
    assert turns[3].replies[0].startswith("Perdón, no entendí dónde estás.")
    assert turns[4].replies[0] == (
        "Enviamos a una persona de apoyo por una sobredosis en: detrás de la iglesia. Nunca "
        "enviamos a la policía. Responde con una mejor ubicación cuando quieras. Responde "
        "PARAR para no recibir más mensajes."
    )
    assert turns[4].action == OpenIncident(
        kind=OD, place="detrás de la iglesia", breathing=Answer.UNKNOWN,
        conscious=Answer.UNKNOWN, language="es",
    )
    assert turns[5].replies[0].startswith("Gracias, lo añadimos")
    assert turns[5].note == "tiene una chamarra roja"
    assert all(t.state.language == "es" for t in turns)


def test_it_keeps_the_language_through_answers_that_show_none() -> None:
    turn = last("1", state=ConversationState(step=Step.ASK_KIND, language="es"))
    assert turn.replies[0].startswith("¿Dónde estás?")
    assert turn.state.language == "es"


def test_it_answers_in_the_language_of_the_latest_text() -> None:
    turn = last("my friend needs help", "hay una sobredosis")
    assert turn.state.language == "es"
    assert turn.replies[0].startswith("¿Dónde estás?")


def test_it_echoes_the_place_as_written_even_when_it_names_the_police() -> None:
    # The echo is the person's own words, so they can check them; our words never
    # suggest the police.
    turn = last("overdose behind the police station")
    assert "at: behind the police station." in turn.replies[0]


def test_it_shortens_a_long_place_in_the_reply_but_not_in_the_action() -> None:
    place = "at the " + "really " * 40 + "big park"
    state = ConversationState(step=Step.ASK_PLACE, kind=MH)
    turn = converse(state, place, now=NOW)
    assert turn.action is not None and turn.action.place == place[:MAX_PLACE].rstrip()
    assert len(turn.replies[0]) <= MAX_REPLY
    assert "..." in turn.replies[0]


def test_next_step_covers_every_combination_of_what_is_known() -> None:
    assert set(NEXT_STEP) == {(k, p) for k in (True, False) for p in (True, False)}
    assert set(STEPS) == set(Step)


# -- Hypothesis: any text, any state ---------------------------------------------------------

states = st.builds(
    ConversationState,
    step=st.sampled_from(Step),
    language=st.one_of(st.none(), st.sampled_from(["en", "es", "fr", ""])),
    kind=st.one_of(st.none(), st.sampled_from(Kind)),
    place=st.one_of(st.none(), texts),
    breathing=st.one_of(st.none(), st.sampled_from(Answer)),
    conscious=st.one_of(st.none(), st.sampled_from(Answer)),
    attempts=st.integers(min_value=0, max_value=5),
    stop_asked_at=st.one_of(st.none(), st.just(NOW)),
)


@given(state=states, text=texts)
@settings(max_examples=500)
@example(state=ConversationState(), text="")
@example(state=ConversationState(step=Step.ASK_PLACE, attempts=1), text="\x00")
@example(state=ConversationState(step=Step.ASK_KIND, attempts=1, place="police HQ"), text="x")
def test_every_text_in_every_state_gets_a_short_police_free_answer(
    state: ConversationState, text: str
) -> None:
    turn = converse(state, text, now=NOW)
    assert turn.replies
    said = " ".join([text, state.place or "", turn.state.place or ""]).lower()
    for reply in turn.replies:
        assert reply.strip()
        assert len(reply) <= MAX_REPLY
        # Only the person's own words, echoed back, may name the police.
        assert police_free(reply) or "polic" in said
    assert turn.state.step in STEPS[state.step]
    assert turn.state.language in ("en", "es")
    # A text that reaches the conversation is no YES to "cancel your request?".
    assert turn.state.stop_asked_at is None
    dispatching = turn.state.step is Step.DISPATCHED and state.step is not Step.DISPATCHED
    assert (turn.action is not None) == dispatching
    if state.step is not Step.DISPATCHED:
        assert turn.note is None


@pytest.mark.parametrize("step", list(Step))
@pytest.mark.parametrize("text", LONG, ids=lambda t: t[:12])
def test_long_texts_get_an_answer_in_every_step(step: Step, text: str) -> None:
    turn = converse(ConversationState(step=step, kind=OD), text, now=NOW)
    assert turn.replies and all(0 < len(r) <= MAX_REPLY for r in turn.replies)
    assert turn.note is None or len(turn.note) <= 1600


def test_it_picks_a_choice_by_its_number_after_dispatch() -> None:
    one = Candidate("Alepa, Kaivokatu 8", 60.17, 24.94, 0.9, "poi", 25, "exact")
    two = Candidate("Alepa, Mannerheimintie 20", 60.169, 24.938, 0.9, "poi", 25, "exact")
    assert pick("2", (one, two)) is two
    assert pick("#1", (one, two)) is one and pick("dos", (one, two)) is two
    assert pick("3", (one, two)) is None and pick("2", ()) is None
    assert pick("2 more people here", (one, two)) is None
