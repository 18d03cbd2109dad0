"""Sending first, telling more after (issue 13, item 7): ``incident_tell_more``, the one
write path for the answers a person adds to their open request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from spotline.audit.models import AuditEntry
from spotline.audit.verify import verify
from spotline.conftest import CENTRE, T0
from spotline.core.policy import Actor, OfferStatus
from spotline.core.triage import Answer, Kind
from spotline.dispatch import timers as worker
from spotline.dispatch.actions.answers import (
    DETAILS_MAX,
    AnswerKept,
    TooLong,
    incident_tell_more,
    questions_open,
)
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, IncidentEvent, Offer, Timer, TimerKind
from spotline.errors import Conflict
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
CRISIS = ("crisis_intervention",)


def open_crisis(**kwargs: Any) -> Incident:
    """A mental-health crisis, sent with no answers: P2 (90 s rounds, 300 s deadline)."""
    return incident_open(IncidentRequest(kind=Kind.MENTAL_HEALTH, location=CENTRE, **kwargs),
                         now=T0).incident


def reload(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


def types(incident: Incident) -> list[str]:
    return list(IncidentEvent.objects.filter(incident=incident).values_list("type", flat=True))


def told(incident: Incident) -> list[dict[str, Any]]:
    return [e.data for e in IncidentEvent.objects.filter(incident=incident, type="told_more")]


@pytest.fixture
def crisis_team(make_responder: Callable[..., Responder]) -> list[Responder]:
    """Six who can take a crisis, nearest first: a first round of 3, and 3 more."""
    return [make_responder(f"c{i}", skills=CRISIS, north_m=100 * (i + 1)) for i in range(6)]


def test_it_raises_the_priority_when_they_are_not_breathing_and_widens_at_once(
        crisis_team: list[Responder]) -> None:
    incident = open_crisis()
    assert incident.priority == "P2"
    first = set(Offer.objects.filter(incident=incident).values_list("responder_id", flat=True))
    assert first == {r.pk for r in crisis_team[:3]}

    incident_tell_more(incident_id=incident.pk, breathing=Answer.NO, now=T0 + 30 * S)

    incident = reload(incident)
    assert (incident.priority, incident.breathing) == ("P1", "no")
    assert told(incident) == [{"breathing": "no", "details_added": False,
                               "priority_from": "P2", "priority_to": "P1"}]
    # The search goes on at P1's pace: a wider round now, under P1's 45 s expiry...
    wider = Offer.objects.filter(incident=incident, round=2)
    assert {o.responder_id for o in wider} == {r.pk for r in crisis_team[3:]}
    assert {o.expires_at for o in wider} == {T0 + 75 * S}
    assert incident.current_round == 2
    widened = IncidentEvent.objects.get(incident=incident, type="widened")
    assert widened.data["why"] == "priority_raised"
    # ...the first round's offers stay out (nobody is taken off), and the deadline is
    # where P1 puts it, counted from when the search started: 120 s, not 300 s.
    assert Offer.objects.filter(incident=incident, round=1,
                                status=OfferStatus.PENDING).count() == 3
    deadline = Timer.objects.get(incident=incident, kind=TimerKind.DEADLINE)
    assert deadline.due_at == T0 + 120 * S
    worker.fire_due(now=T0 + 120 * S)
    incident = reload(incident)
    assert incident.unanswered_at == T0 + 120 * S
    assert incident.ems_proposed_at == T0 + 120 * S


def test_a_late_answer_brings_a_passed_deadline_to_now(crisis_team: list[Responder]) -> None:
    incident = open_crisis()
    incident_tell_more(incident_id=incident.pk, conscious=Answer.NO, now=T0 + 200 * S)
    deadline = Timer.objects.get(incident=incident, kind=TimerKind.DEADLINE)
    assert deadline.due_at == T0 + 120 * S  # already past: the next pass fires it
    worker.fire_due(now=T0 + 201 * S)
    assert reload(incident).unanswered_at == T0 + 201 * S


def test_it_never_lowers_a_priority(make_responder: Callable[..., Responder]) -> None:
    make_responder("sam", north_m=100)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                             now=T0).incident
    assert incident.priority == "P1"
    # Both "yes" would triage an overdose as P2 at the door: here it stays P1.
    incident_tell_more(incident_id=incident.pk, breathing=Answer.YES, conscious=Answer.YES,
                       now=T0 + 10 * S)
    incident = reload(incident)
    assert (incident.priority, incident.breathing, incident.conscious) == ("P1", "yes", "yes")
    assert "priority_to" not in told(incident)[0]
    assert "widened" not in types(incident)
    deadline = Timer.objects.get(incident=incident, kind=TimerKind.DEADLINE)
    assert deadline.due_at == T0 + 120 * S  # untouched


def test_an_answer_given_is_kept_and_only_a_more_urgent_one_replaces_it(
        make_responder: Callable[..., Responder]) -> None:
    make_responder("sam", north_m=100)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                             breathing=Answer.YES, danger=Answer.YES),
                             now=T0).incident
    version = incident.version
    with pytest.raises(AnswerKept):
        incident_tell_more(incident_id=incident.pk, danger=Answer.NO, now=T0 + S)
    # The same answers again, and "don't know", change nothing and say nothing.
    incident_tell_more(incident_id=incident.pk, breathing=Answer.YES, danger=Answer.YES,
                       conscious=Answer.UNKNOWN, now=T0 + 2 * S)
    incident = reload(incident)
    assert (incident.breathing, incident.danger, incident.version) == ("yes", "yes", version)
    assert told(incident) == []
    # They stopped breathing: that is more urgent, and it is taken.
    incident_tell_more(incident_id=incident.pk, breathing=Answer.NO, now=T0 + 3 * S)
    incident = reload(incident)
    assert incident.breathing == "no"
    assert incident.version == version + 1
    with pytest.raises(AnswerKept):
        incident_tell_more(incident_id=incident.pk, breathing=Answer.YES, now=T0 + 4 * S)
    assert reload(incident).breathing == "no"


def test_it_appends_details_sealed_once_and_within_the_limit(
        make_responder: Callable[..., Responder]) -> None:
    make_responder("sam", north_m=100)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                             details="blue jacket"), now=T0).incident
    incident_tell_more(incident_id=incident.pk, details="  lying on his side ",
                       now=T0 + S)
    incident_tell_more(incident_id=incident.pk, details="lying on his side", now=T0 + 2 * S)
    assert reload(incident).details == "blue jacket\nlying on his side"
    assert told(incident) == [{"details_added": True}]
    # Audited as a change by the person, with the codes of the change and no words.
    audited = AuditEntry.objects.filter(object_type="incident", object_id=incident.pk,
                                        action="incident.told_more")
    assert list(audited.values_list("actor", flat=True)) == ["person"]
    assert "lying" not in repr(list(AuditEntry.objects.values()))
    assert verify().ok
    with connection.cursor() as cursor:
        cursor.execute("SELECT details FROM dispatch_incident WHERE id = %s", [incident.pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith("k") and "lying" not in raw and "jacket" not in raw

    room = DETAILS_MAX - len("blue jacket\nlying on his side") - 1
    with pytest.raises(TooLong) as refused:
        incident_tell_more(incident_id=incident.pk, details="x" * (room + 1),
                           breathing=Answer.NO, now=T0 + 3 * S)
    assert refused.value.room == room
    incident = reload(incident)
    assert incident.breathing == "unknown"  # refused whole: nothing half-written
    incident_tell_more(incident_id=incident.pk, details="x" * room, now=T0 + 4 * S)
    assert len(reload(incident).details) == DETAILS_MAX
    assert questions_open(reload(incident)) == ["breathing", "conscious", "danger"]


def test_it_refuses_a_closed_request(make_responder: Callable[..., Responder]) -> None:
    make_responder("sam", north_m=100)
    incident = open_crisis()
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None, now=T0 + S)
    with pytest.raises(Conflict, match="closed"):
        incident_tell_more(incident_id=incident.pk, breathing=Answer.NO, details="late",
                           now=T0 + 2 * S)
    incident = reload(incident)
    assert (incident.priority, incident.breathing, incident.details) == ("P2", "unknown", "")
    assert told(incident) == []
    assert questions_open(incident) == []


def test_a_held_request_gets_the_answers_and_no_new_round(
        crisis_team: list[Responder]) -> None:
    incident = open_crisis()
    taker = crisis_team[0]
    offer_accept(offer_id=Offer.objects.get(incident=incident, responder=taker).pk,
                 responder=taker, now=T0 + 10 * S)
    incident_tell_more(incident_id=incident.pk, danger=Answer.YES, details="knife in the room",
                       now=T0 + 20 * S)
    incident = reload(incident)
    assert (incident.priority, incident.danger, incident.details) == (
        "P1", "yes", "knife in the room")
    assert incident.current_round == 1 and "widened" not in types(incident)
    assert questions_open(incident) == ["breathing", "conscious", "details"]


def test_the_purge_destroys_the_added_details(settings: Any,
                                              make_responder: Callable[..., Responder]) -> None:
    settings.SPOTLINE_RETENTION_HOURS = 1
    make_responder("sam", north_m=100)
    incident = open_crisis(details="first words")
    incident_tell_more(incident_id=incident.pk, details="words added later", now=T0 + S)
    with connection.cursor() as cursor:
        cursor.execute("SELECT details FROM dispatch_incident WHERE id = %s", [incident.pk])
        (copy,) = cursor.fetchone()  # what a backup taken now would hold
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None, now=T0 + 2 * S)
    worker.fire_due(now=T0 + 2 * S + timedelta(hours=1))
    incident = reload(incident)
    assert incident.purged_at is not None and incident.details == ""
    # The copy taken before was sealed under the incident's key, now destroyed.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE dispatch_incident SET details = %s WHERE id = %s",
                       [copy, incident.pk])
    assert reload(incident).details == ""
    for e in IncidentEvent.objects.filter(incident=incident):
        assert "words" not in repr(e.data)
