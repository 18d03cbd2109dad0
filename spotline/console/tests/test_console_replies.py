"""The console says the write path's refusals in the dispatcher's language."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone, translation

import spotline
from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, login_staff
from spotline.console.replies import PATTERNS, SAID, reply
from spotline.core.lifecycle import Event, IllegalTransition, State
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.errors import Conflict, Invalid


def _raised_messages() -> list[str]:
    """Every string constant (and f-string's constant parts, joined with a marker) in
    the modules whose refusals the console shows."""
    root = Path(spotline.__file__).parent
    found: list[str] = []
    for path in [*(root / "dispatch").rglob("*.py"), root / "intake" / "conversations.py"]:
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append(node.value)
            elif isinstance(node, ast.JoinedStr):
                found.append("".join(v.value if isinstance(v, ast.Constant) else "x_y"
                                     for v in node.values))
    return found


def test_every_refusal_it_translates_is_one_the_write_path_still_raises() -> None:
    raised = _raised_messages()
    assert [m for m in SAID if m not in raised] == []
    # Each pattern still matches a message the code builds (names and codes as x_y).
    assert [p.pattern for p, _ in PATTERNS
            if not any(p.fullmatch(m) for m in raised)] == []


def test_it_says_refusals_in_spanish_with_names_and_words() -> None:
    with translation.override("es"):
        assert reply(Conflict("Ana is off shift: ask them to go on shift first")) == \
            "Ana está fuera de turno: pídale primero que entre en turno."
        held = Conflict("only an incident still looking for a responder can get crisis_team; "
                        "this one is held: reassign it instead")
        assert "el equipo de crisis" in reply(held)
        illegal = Conflict(str(IllegalTransition(State.RESOLVED, Event.ASSIGN)))
        assert reply(illegal).endswith("resuelto.")
    assert reply(Invalid("unknown event type 'x'")) == "unknown event type 'x'"


@pytest.mark.django_db
def test_a_refused_note_comes_back_in_spanish() -> None:
    dispatcher = Client(headers={"accept-language": "es"})
    login_staff(dispatcher, user_create(name="dana", role=Role.DISPATCHER, password=None))
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                             now=timezone.now()).incident
    r = dispatcher.post(f"/console/incidents/{incident.pk}/note/", {"text": " "},
                        headers={"x-requested-with": "fetch"})
    assert r.status_code == 400
    assert r.json()["detail"] == "Una nota tiene de 1 a 2000 caracteres de texto."
