"""Places by text: where a texted place is on the map, and what to answer about it.

``sms._open`` opens the incident at the place the words name when the geocoder is sure
(``places.finding.place_find``), and without a point when it is not: help is never held up by
a question. The answer then says where we understood ("Sending a responder ... to
Alepa, Mannerheimintie 20. Reply with a better place if that's wrong."), or asks
"Which one is it? 1 ... 2 ... 3 ... - or tell us a street corner". The choices offered
are kept in the conversation's sealed state (``ConversationState.choices``), deleted
with it. After dispatch, a reply "2" (``converse.pick``) or a new place in words moves
the incident there (``incident_relocate``: its offers are made again from the new
point).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from spotline.core.candidates import Candidate
from spotline.core.geo import Point
from spotline.core.policy import Actor
from spotline.core.sms.converse import ConversationState, OpenIncident, Turn, place_echo
from spotline.core.sms.replies import WHAT, say
from spotline.dispatch.actions.relocate import incident_relocate
from spotline.dispatch.models import Incident, LocatedBy
from spotline.errors import ActionError
from spotline.places.finding import Found, numbered, place_find

log = logging.getLogger(__name__)


def find_for_opening(action: OpenIncident) -> Found | None:
    """What the texted place means; None when no place was given at all."""
    if action.place is None:
        return None
    return place_find(action.place, language=action.language)


def opening_reply(action: OpenIncident, found: Found | None, replies: list[str]) -> None:
    """Put the answer about the place in place of the conversation's first reply (the
    one that said help is on its way)."""
    if found is None or not replies:
        return  # no place given: "we could not tell exactly where you are" stands
    what = WHAT[action.kind][action.language]
    if found.best is not None:
        text = say(action.language, "dispatched_to", what=what, place=found.best.name)
    elif found.choices:
        text = say(action.language, "dispatched_which", what=what,
                   place=numbered(found.choices))
    else:
        text = say(action.language, "dispatched_corner", what=what,
                   place=place_echo(action.place))
    replies[0] = text


def after_dispatch(turn: Turn, *, incident_id: int, now: datetime) -> Turn:
    """A reply after dispatch that picks one of the choices offered, or gives a new
    place in words: move the incident there, or ask again. Any other turn as it was."""
    if turn.chosen is None and turn.moved is None:
        return turn
    lang = turn.state.language or "en"
    if turn.chosen is not None:
        return _moved(turn, turn.chosen, incident_id=incident_id, description=None,
                      lang=lang, now=now)
    text = turn.moved or ""
    found = place_find(text, near=_point_of(incident_id), language=lang)
    if found.best is not None:
        return _moved(turn, found.best, incident_id=incident_id, description=text,
                      lang=lang, now=now)
    state = replace(turn.state, choices=found.choices)
    if found.choices:
        return replace(turn, state=state, replies=(say(lang, "which",
                                                       place=numbered(found.choices)),))
    return replace(turn, state=state, replies=(say(lang, "corner"),))


def _moved(turn: Turn, where: Candidate, *, incident_id: int, description: str | None,
           lang: str, now: datetime) -> Turn:
    try:
        incident_relocate(incident_id=incident_id, point=where.point,
                          located_by=LocatedBy.WORDS, radius_m=where.radius_m,
                          description=description, actor=Actor.PERSON, now=now)
    except ActionError as exc:  # closed or purged meanwhile: nothing to move
        log.info("sms place not moved incident=%s (%s)", incident_id, type(exc).__name__)
        return replace(turn, replies=(say(lang, "still_open"),))
    return replace(turn, state=replace(turn.state, choices=()),
                   replies=(say(lang, "moved_to", place=where.name),))


def _point_of(incident_id: int) -> Point | None:
    """The incident's point, if it has one: a correction is most likely near it."""
    row = Incident.objects.filter(pk=incident_id).values_list("lat", "lon").first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return Point(row[0], row[1])


def with_choices(state: ConversationState, found: Found | None) -> ConversationState:
    """The state to keep after opening: the choices asked about, if any."""
    return replace(state, choices=found.choices if found is not None else ())
