"""A place in words, at every door: what the geocoder makes of it, and whether to act.

SMS, the help page and the check-in (``checkins.actions.checkin_start``) turn a
person's words into a point the same way: ``place_find`` asks the local gazetteer
(``places.geocode``) and ``decide`` says whether the best answer is sure enough to
send someone there. When it is not, the request opens without a point all the same
(help is never held up by a question) and the person is asked which of ``choices`` it
is, or for a street corner.

Nothing here logs the text, the candidates or the point: only that a search failed,
by the exception's type.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import DatabaseError, transaction

from spotline.core.candidates import Candidate
from spotline.core.geo import Point
from spotline.places.centre import organization_centre
from spotline.places.geocode import decide, geocode

log = logging.getLogger(__name__)

CHOICES = 3  # "Which one? 1 ... 2 ... 3 ...": more is too much for a text
SUGGESTIONS = 5  # the help page's suggestions as the person types
MAX_TEXT = 500  # the help form's limit; a 1,600-character text is cut, not refused


@dataclass(frozen=True, slots=True)
class Found:
    """``best``: the place to act on, or None: ask which of ``choices`` (maybe none:
    ask for a street corner)."""

    best: Candidate | None
    choices: tuple[Candidate, ...] = ()


def candidates(text: str, *, near: Point | None = None, language: str | None = None,
               limit: int = 5) -> list[Candidate]:
    """``geocode``, never failing the door that asked: a search that breaks (a damaged
    text index, a database hiccup) is no answer, and the request goes on without a
    point. In a savepoint of its own, so the caller's transaction survives it."""
    text = (text or "")[:MAX_TEXT]
    if not text.strip():
        return []
    try:
        with transaction.atomic():
            return geocode(text, near=near or organization_centre(), language=language, limit=limit)
    except (DatabaseError, ValueError) as exc:
        log.warning("place search failed (%s): the request goes on without a point",
                    type(exc).__name__)
        return []


def place_find(text: str, *, near: Point | None = None,
               language: str | None = None) -> Found:
    """The place ``text`` names, or the choices to ask about."""
    found = candidates(text, near=near, language=language)
    best = decide(found)
    return Found(best, () if best is not None else tuple(found[:CHOICES]))


def choose(text: str, name: str, *, near: Point | None = None,
           language: str | None = None) -> Candidate | None:
    """The candidate called ``name`` among what ``text`` may mean: a choice the person
    made from a question (the page sends the name back, never a point)."""
    return next((c for c in candidates(text, near=near, language=language, limit=10)
                 if c.name == name), None)


def suggestions(text: str, *, language: str | None = None) -> list[str]:
    """Names for the help page to suggest as the person types: no coordinates."""
    names: list[str] = []
    for found in candidates(text[:200], language=language, limit=SUGGESTIONS * 2):
        if found.kind != "street" and found.name not in names:
            names.append(found.name)
    return names[:SUGGESTIONS]


def numbered(choices: tuple[Candidate, ...] | list[Candidate]) -> str:
    """"1 Alepa, Mannerheimintie 20 2 Alepa, Kaivokatu 8": for a text."""
    return " ".join(f"{i} {c.name}" for i, c in enumerate(choices, start=1))
