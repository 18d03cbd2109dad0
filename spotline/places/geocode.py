"""``geocode(text)``: the places a person's words may mean, best first.

This is the interface every door that receives a place as words uses (SMS intake, the
help page, the hotline, the console). It runs on this machine against the local
gazetteer (the organization's OpenStreetMap extract and its own landmarks); a text is
never sent to a third party unless the organization runs its own Nominatim and sets
``SPOTLINE_GEOCODER=nominatim``. Queries are never logged: not the text, not the point.

Acting on the answer: ``decide(candidates)`` returns the candidate to act on, or None
to ask the person back (offer ``candidates[:3]`` as the choices, or ask for a street
corner when there are none). The rule is in ``spotline.core.candidates``: the best
confidence reaches ``CONFIDENT`` (0.8) and nothing elsewhere comes within ``MARGIN``.
"""

from __future__ import annotations

from spotline.core.candidates import CONFIDENT, KINDS, MARGIN, Candidate, decide
from spotline.core.geo import Point

__all__ = ["CONFIDENT", "KINDS", "MARGIN", "Candidate", "decide", "geocode"]

MAX_LIMIT = 20


def geocode(
    text: str, *, near: Point | None = None, language: str | None = None, limit: int = 5
) -> list[Candidate]:
    """Ranked candidates for ``text``, best first, at most ``limit`` (1 to 20).

    ``near`` (where the person is believed to be, or the organization's centre) breaks
    ties between equal names towards the nearer one; ``language`` ("en", "es", "fi",
    "sv") prefers that language's names and words. Never raises on any text: empty,
    emoji, 1,600 characters or SQL syntax give an empty list or low confidence.
    """
    raise NotImplementedError  # the local gazetteer follows in the next commits
