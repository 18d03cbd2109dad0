"""Staff screens speak words, local time and the reader's language (issue 13, item 11)."""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import timezone, translation

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, login_staff
from spotline.core.checkin import CheckState
from spotline.core.lifecycle import Event, State
from spotline.core.outcome import Referral
from spotline.core.policy import Actor, EscalationTarget, OfferStatus, Shortfall
from spotline.core.triage import Answer, Kind, Skill
from spotline.dispatch.actions.dispatcher import incident_escalate
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import EmsOutcome, Source
from spotline.dispatch.words import EVENT_SENTENCES, WORDS, event_sentence, relative, word

# Every code a staff screen shows, by the group that words it.
CODES = {
    "state": State, "kind": Kind, "offer": OfferStatus, "target": EscalationTarget,
    "actor": Actor, "answer": Answer, "ems": EmsOutcome, "reason": Shortfall,
    "checkin": CheckState, "skill": Skill, "referral": Referral, "source": Source,
}


@pytest.mark.parametrize("group", sorted(CODES))
def test_every_code_has_a_word(group: str) -> None:
    missing = [c.value for c in CODES[group] if c.value not in WORDS[group]]
    assert missing == [], f"{group} codes without a word: {missing}"


def test_every_lifecycle_move_has_a_timeline_sentence() -> None:
    assert [e.value for e in Event if e.value not in EVENT_SENTENCES] == []


def test_a_timeline_sentence_names_responders_and_gives_reasons() -> None:
    names = {1: "Ana", 5: "Eve"}
    with translation.override("en"):
        assert event_sentence("offers_made", {"round": 1, "responder_ids": [1, 2, 5]},
                              names) == "Offered to Ana, responder #2, Eve"
        assert event_sentence("offer_withdrawn", {"responder_id": 5,
                                                  "why": "responder_busy"}, names) == \
            "Offer to Eve withdrawn: the responder took another incident"
        assert event_sentence("outcome", {"naloxone_doses": 2, "ems": "not_needed"},
                              names) == "Outcome recorded: 2 naloxone doses, ambulance not needed"
        assert event_sentence("accept", {"responder_id": 1}, names) == "Ana accepted"
        assert event_sentence("told_more", {"answers": ["breathing"], "priority_from": "P2",
                                            "priority_to": "P1"}, names) == \
            "The person told us more: priority P2 → P1"
    with translation.override("es"):
        assert event_sentence("no_offers", {"shortfall": "all_busy"}, names) == \
            "No hay a quién ofrecerlo: todos estaban ocupados"


def test_every_event_the_write_path_records_has_a_sentence() -> None:
    """Every literal event type in the actions, so a new one cannot reach the timeline
    as a code."""
    root = Path(__file__).resolve().parents[2] / "dispatch" / "actions"
    written = set()
    for source in root.glob("*.py"):
        text = source.read_text()
        written |= set(re.findall(r'\bevent\(\s*\w+,\s*"([a-z_]+)"', text))
        written |= set(re.findall(r'NewEvent\(\s*"([a-z_]+)"', text))
    assert len(written) >= 15
    assert sorted(written - set(EVENT_SENTENCES)) == []


def test_an_unknown_code_is_still_readable() -> None:
    assert word("state", "some_new_state") == "some new state"
    assert event_sentence("some_new_event", {}, {}) == "Some new event"


@pytest.mark.parametrize(("seconds", "en", "es"), [
    (40, "in 40 s", "en 40 s"), (-180, "3 min ago", "hace 3 min"), (2, "now", "ahora"),
    (3 * 3600 + 120, "in 3 h 2 min", "en 3 h 2 min"),
])
def test_relative_times_in_words(seconds: float, en: str, es: str) -> None:
    with translation.override("en"):
        assert relative(seconds) == en
    with translation.override("es"):
        assert relative(seconds) == es


def test_clock_times_are_the_organizations_local_time() -> None:
    # The example: 16:23:47 UTC read in Helsinki in winter is 18:23:47.
    at = datetime(2026, 12, 7, 16, 23, 47, tzinfo=UTC)
    now = at - timedelta(seconds=40)
    with timezone.override("Europe/Helsinki"), translation.override("en"):
        out = Template("{% load words %}{% when at now %}").render(
            Context({"at": at, "now": now}))
    assert 'title="18:23:47"' in out and ">in 40 s</time>" in out
    assert 'datetime="2026-12-07T16:23:47+00:00"' in out


def visible_text(page: str) -> str:
    """What a person reads: no tags, no attributes, no scripts."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.django_db
def test_the_console_speaks_spanish_words_not_codes() -> None:
    dispatcher = Client(headers={"accept-language": "es"})
    login_staff(dispatcher, user_create(name="dana", role=Role.DISPATCHER, password=None))
    incident = incident_open(IncidentRequest(kind=Kind.MENTAL_HEALTH, location=CENTRE,
                                             description="Corner shop"),
                             now=timezone.now()).incident
    incident_escalate(incident_id=incident.pk, to=EscalationTarget.MORE_RESPONDERS,
                      user_id=None, now=timezone.now())
    queue = visible_text(dispatcher.get("/console/").content.decode())
    detail = visible_text(dispatcher.get(f"/console/incidents/{incident.pk}/").content.decode())
    assert "Incidentes activos" in queue and "crisis de salud mental" in queue
    assert "buscando a alguien del equipo" in queue
    assert "Cronología" in detail and "Solicitud abierta" in detail
    assert "Escalado a más personas de respuesta (ampliar)" in detail
    assert "una ambulancia" in detail  # the escalate choices, in words
    for code in ("mental_health", "dispatching", "more_responders", "responder_ids",
                 "no_one_qualified", "nobody_on_shift", "crisis_team"):
        assert code not in queue and code not in detail, code


def test_every_page_that_runs_live_js_hands_it_its_words() -> None:
    """live.js reads #ui-strings; a page without them would speak English in Spanish."""
    root = Path(__file__).resolve().parents[2]
    pages = [p for p in root.glob("*/templates/**/*.html") if "live.js" in p.read_text()]
    assert len(pages) >= 4
    assert [p.name for p in pages if "{% ui_strings %}" not in p.read_text()] == []


@pytest.mark.django_db
def test_a_page_without_scripts_carries_no_script_words() -> None:
    assert "ui-strings" not in Client().get("/transparency/").content.decode()
