"""What the person adds after sending: the questions they skipped, and more details.

Sending comes first: the help page asks nothing before Send, and an unknown answer
never lowers a priority (``core.triage``). The status page and
``POST /api/v1/track/{token}/details`` then ask what is still unknown, and
``incident_tell_more`` is the one write path for the answers:

1. Only an open request takes them (a closed one: ``Conflict``).
2. A question not answered yet takes any answer. One answered already changes only
   to the more urgent answer ("not breathing" after "breathing"); the same answer
   again changes nothing; a less urgent one is refused (``AnswerKept``), since a form
   must never talk a priority down.
3. Details are appended to the ones sent at first, sealed under the incident's data
   key like them (the purge destroys both), and the whole stays within
   ``DETAILS_MAX``, the help form's limit (``TooLong``). The same text twice is
   appended once: a re-sent form changes nothing.
4. The priority is triaged again with the answers now known and only ever raised.
   While responders are still being looked for, a raised priority widens the search
   at once under the new priority's policy (``rounds.widen``: its round size, its
   offer expiry), and the escalation deadline moves up to the one the new priority
   allows, counted from when the search started, never later than it was.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import F

from spotline.audit.actions import atomic as audit_atomic
from spotline.core.lifecycle import State
from spotline.core.policy import Actor
from spotline.core.triage import Answer, Kind, Priority, triage
from spotline.dispatch.actions.locks import lock
from spotline.dispatch.actions.records import event
from spotline.dispatch.actions.rounds import widen
from spotline.dispatch.actions.search import policy_for
from spotline.dispatch.models import Incident, Timer, TimerKind
from spotline.errors import Conflict, Invalid

log = logging.getLogger(__name__)

QUESTIONS = ("breathing", "conscious", "danger")
DETAILS_MAX = 2000  # the help form's and the API's limit for details, for the whole
SEPARATOR = "\n"  # between the details sent at first and each addition

# The more urgent answer to each question. An unanswered question ("unknown") takes
# any answer; an answered one changes only to this (they stopped breathing), and
# nothing answered goes back to "unknown".
URGENT: dict[str, Answer] = {"breathing": Answer.NO, "conscious": Answer.NO,
                             "danger": Answer.YES}


class AnswerKept(Conflict):
    """A question already answered more urgently: the answer stays as it is."""

    code = "already_answered"


class TooLong(Invalid):
    """Details beyond ``DETAILS_MAX`` in all."""

    code = "too_long"

    def __init__(self, message: str, *, room: int) -> None:
        super().__init__(message)
        self.room = room


def details_room(details: str) -> int:
    """How many characters may still be added to these details (the separator counts)."""
    if not details:
        return DETAILS_MAX
    return max(0, DETAILS_MAX - len(details) - len(SEPARATOR))


def questions_open(incident: Incident) -> list[str]:
    """What the person may still tell: the questions not answered yet, then "details"
    while there is room for more. Nothing once the request is closed."""
    if incident.closed_at is not None:
        return []
    asked = [q for q in QUESTIONS if getattr(incident, q) == Answer.UNKNOWN]
    return asked + (["details"] if details_room(incident.details or "") else [])


def incident_tell_more(*, incident_id: int, breathing: Answer = Answer.UNKNOWN,
                       conscious: Answer = Answer.UNKNOWN, danger: Answer = Answer.UNKNOWN,
                       details: str = "", now: datetime) -> Incident:
    """Add the person's answers and details to their open request (see the module's
    docstring). Safe to repeat: what is already there is not added again."""
    given = {"breathing": breathing, "conscious": conscious, "danger": danger}
    text = details.strip()
    if "\x00" in text:
        raise Invalid("details must not contain NUL characters")
    with audit_atomic():
        incident = lock(incident_id)
        if incident.closed_at is not None:
            raise Conflict("this request is closed")
        changed = _more_urgent(incident, given)
        stored = incident.details or ""
        if text and (text == stored or stored.endswith(SEPARATOR + text)):
            text = ""  # sent before: a repeated form
        if len(text) > details_room(stored):
            raise TooLong(f"details can take {details_room(stored)} more characters",
                          room=details_room(stored))
        if not changed and not text:
            return incident
        old = Priority(incident.priority)
        known = {q: Answer(changed.get(q, getattr(incident, q))) for q in QUESTIONS}
        new = min(old, triage(Kind(incident.kind), **known).priority)
        whole = SEPARATOR.join(part for part in (stored, text) if part)
        _store(incident, changed, new, details=whole, now=now)
        # Codes only: which answers, whether details came, never their text.
        told: dict[str, Any] = {q: a.value for q, a in changed.items()}
        told["details_added"] = bool(text)
        if new != old:
            told.update(priority_from=old.value, priority_to=new.value)
        event(incident, "told_more", actor=Actor.PERSON, now=now, **told)
        if new != old and incident.state_enum is State.DISPATCHING:
            _hurry(incident, was=old, now=now)
    log.info("incident told more id=%s answers=%s details_added=%s priority=%s",
             incident.pk, ",".join(sorted(changed)) or "-", bool(text), incident.priority)
    return incident


def _more_urgent(incident: Incident, given: dict[str, Answer]) -> dict[str, Answer]:
    """The answers that change something; ``AnswerKept`` if one would lower urgency."""
    changed: dict[str, Answer] = {}
    for question, answer in given.items():
        stored = Answer(getattr(incident, question))
        if answer in (Answer.UNKNOWN, stored):
            continue
        if stored is not Answer.UNKNOWN and answer is not URGENT[question]:
            raise AnswerKept(f"{question} was already answered {stored.value!r}; "
                             "it can only change to something more urgent")
        changed[question] = answer
    return changed


def _store(incident: Incident, changed: dict[str, Answer], priority: Priority, *,
           details: str, now: datetime) -> None:
    """Persist with a compare-and-set on the version, like every change of the row;
    the details through ``save`` so that they are sealed (a bulk update cannot seal)."""
    fields: dict[str, Any] = {q: a.value for q, a in changed.items()}
    fields.update(priority=priority.value, updated_at=now)
    updated = Incident.objects.filter(pk=incident.pk, version=incident.version).update(
        version=F("version") + 1, **fields)
    if updated != 1:
        raise Conflict("the request changed meanwhile; try again")
    for name, value in fields.items():
        setattr(incident, name, value)
    incident.version += 1
    if details != (incident.details or ""):
        incident.details = details
        incident.save(update_fields=["details"])


def _hurry(incident: Incident, *, was: Priority, now: datetime) -> None:
    """The search, still on, goes at the new priority's pace: a wider round at once,
    and the deadline where the new priority puts it (never later than it was)."""
    before, after = settings.SPOTLINE_POLICY[was], policy_for(incident)
    for timer in Timer.objects.filter(incident=incident, kind=TimerKind.DEADLINE,
                                      safety=None, fired_at__isnull=True, attempts=0):
        started = timer.due_at - before.deadline
        due = min(timer.due_at, started + after.deadline)
        if due != timer.due_at:
            Timer.objects.filter(pk=timer.pk, fired_at__isnull=True).update(due_at=due)
            event(incident, "deadline_moved", actor=Actor.SYSTEM, now=now, round=timer.round,
                  due_in_seconds=max(0, round((due - now).total_seconds())))
    widen(incident, now=now, why="priority_raised")
