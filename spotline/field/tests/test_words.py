"""The responder app says codes in words, in the responder's language, and says the
write path's refusals in that language too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.utils import translation

import spotline
from spotline.core.lifecycle import Event, IllegalTransition, State
from spotline.core.outcome import Referral
from spotline.core.triage import Answer, Kind, Priority
from spotline.dispatch.actions.shifts import OffersOpen
from spotline.dispatch.models import EmsOutcome
from spotline.dispatch.words import WORDS, word
from spotline.errors import Conflict, Invalid
from spotline.field.replies import SAID, reply

# Every code the responder app shows, by the words group that says it.
SHOWN = {"state": State, "kind": Kind, "answer": Answer, "ems": EmsOutcome,
         "referral": Referral, "priority": Priority}
SAME_IN_SPANISH = {"no"}


@pytest.mark.parametrize("group", sorted(SHOWN))
def test_every_code_the_app_shows_has_words_in_english_and_spanish(group: str) -> None:
    codes = [c.value for c in SHOWN[group]]
    assert [c for c in codes if c not in WORDS[group]] == []
    for code in codes:
        with translation.override("en"):
            english = word(group, code)
        assert "_" not in english
        with translation.override("es"):
            spanish = word(group, code)
        assert spanish != english or english in SAME_IN_SPANISH, (group, code)


def _raised_messages() -> set[str]:
    """Every string constant in the write path's modules (adjacent literals joined, as
    Python joins them)."""
    root = Path(spotline.__file__).parent
    found: set[str] = set()
    for room in ("dispatch", "responders", "errors.py"):
        for path in ([root / room] if room.endswith(".py") else (root / room).rglob("*.py")):
            if "tests" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.add(node.value)
    return found


def test_every_refusal_it_translates_is_one_the_write_path_still_raises() -> None:
    raised = _raised_messages()
    assert [m for m in SAID if m not in raised] == []


def test_it_says_a_refusal_in_spanish() -> None:
    with translation.override("es"):
        assert reply(Conflict("this incident is already taken")) == (
            "Este incidente ya lo tomó otra persona.")
        assert reply(OffersOpen([4, 5])).startswith("Tiene 2 avisos abiertos")


def test_it_says_an_illegal_move_with_the_state_in_words() -> None:
    exc = Conflict(str(IllegalTransition(State.RESOLVED, Event.EN_ROUTE)))
    with translation.override("en"):
        assert reply(exc) == "That cannot be done now: the incident is resolved."
    exc = Conflict(str(IllegalTransition(State.UNABLE_TO_LOCATE, Event.ON_SCENE)))
    with translation.override("es"):
        assert "no se encontró a la persona" in reply(exc)


def test_it_shows_a_refusal_it_has_no_words_for_as_it_came() -> None:
    assert reply(Invalid("unknown event type 'arrested'")) == "unknown event type 'arrested'"
