"""``geocode(text)``: the places a person's words may mean, best first.

This is the interface every door that receives a place as words uses (SMS intake, the
help page, the hotline, the console). It runs on this machine against the local
gazetteer (the organization's OpenStreetMap extract and its own landmarks); a text is
never sent to a third party unless the organization runs its own Nominatim and sets
``SPOTLINE_GEOCODER=nominatim``. Queries are never logged: not the text, not the point.

With ``SPOTLINE_GEOCODER=nominatim`` the organization's own Nominatim is asked too, but
only when the gazetteer has no answer to act on (``decide`` gives None): its results
join the local ones and are ranked with them; none outranks a local exact match
(``places.nominatim``). A Nominatim that is slow or down leaves the local answer.

Acting on the answer: ``decide(candidates)`` returns the candidate to act on, or None
to ask the person back (offer ``candidates[:3]`` as the choices, or ask for a street
corner when there are none). The rule is in ``spotline.core.candidates``: the best
confidence reaches ``CONFIDENT`` (0.8) and nothing elsewhere comes within ``MARGIN``.
"""

from __future__ import annotations

from django.conf import settings

from spotline.core.candidates import CONFIDENT, KINDS, MARGIN, SAME_PLACE_M, Candidate, decide
from spotline.core.geo import Point, distance_m
from spotline.core.placetext import parse
from spotline.places import local, nominatim

__all__ = ["CONFIDENT", "KINDS", "MARGIN", "Candidate", "decide", "geocode"]

MAX_LIMIT = 20
NEAR_BONUS = 0.03  # at most: ties between equal names go to the nearer one
NEAR_SCALE_M = 5000.0


def geocode(
    text: str, *, near: Point | None = None, language: str | None = None, limit: int = 5
) -> list[Candidate]:
    """Ranked candidates for ``text``, best first, at most ``limit`` (1 to 20).

    ``near`` (where the person is believed to be, or the organization's centre) breaks
    ties between equal names towards the nearer one; ``language`` ("en", "es", "fi",
    "sv") names a place by its name in that language where two fit equally, and puts
    that language's candidate first between two otherwise equal. Never raises on any
    text: empty, emoji, 1,600 characters or SQL syntax give an empty list or low
    confidence.
    """
    query = parse(text)
    if not query.words:
        return []
    found = local.search(query, language=language)
    # Decided on every local candidate, not only the first ``limit``: a caller asking for
    # one must not make a doubtful answer look sure and skip the second source.
    if settings.SPOTLINE_GEOCODER != "nominatim" or decide(
            rank(found, near=near, limit=MAX_LIMIT, language=language)) is not None:
        return rank(found, near=near, limit=limit, language=language)
    more = nominatim.search(query.words, near=near, language=language)
    return rank(found + more, near=near, limit=limit, language=language)


def rank(candidates: list[Candidate], *, near: Point | None, limit: int,
         language: str | None = None) -> list[Candidate]:
    """Best first, one candidate per place (the same shop found as a place, an address
    and near a street is one answer: the surest), at most ``limit``."""
    def key(c: Candidate) -> tuple[float, bool]:
        score = c.confidence
        if near is not None:
            closeness = 1.0 - min(distance_m(near, c.point), NEAR_SCALE_M) / NEAR_SCALE_M
            score += NEAR_BONUS * closeness
        return score, bool(language) and c.language == language

    kept: list[Candidate] = []
    for candidate in sorted(candidates, key=key, reverse=True):
        if any((candidate.kind == k.kind
                and distance_m(candidate.point, k.point) <= SAME_PLACE_M)
               or candidate.name == k.name for k in kept):
            continue
        kept.append(candidate)
        if len(kept) >= max(1, min(limit, MAX_LIMIT)):
            break
    return kept
