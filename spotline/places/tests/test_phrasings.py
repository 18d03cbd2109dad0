"""The phrasing table: real ways of naming a place against the demo extract.

At least 90% must resolve (``decide`` acts on a candidate within 150 m of the place
meant); the rest must be asked back. A confident wrong answer sends help to the wrong
place, so the table allows none.
"""

from __future__ import annotations

import pytest

from spotline.core.geo import Point, distance_m
from spotline.places.geocode import decide, geocode
from spotline.places.tests.conftest import FIGURES
from spotline.places.tests.phrasings import ASK_BACK, ROWS

pytestmark = pytest.mark.django_db

WITHIN_M = 150.0


def test_the_table_is_large_enough() -> None:
    assert len(ROWS) >= 150
    assert len({row[0] for row in ROWS}) == len(ROWS)


def test_it_resolves_nine_in_ten_and_never_guesses_wrong(gazetteer: None) -> None:
    resolved, asked, wrong = [], [], []
    for text, lat, lon, what in ROWS:
        chosen = decide(geocode(text))
        if chosen is None:
            asked.append(f"{text!r} ({what})")
        elif distance_m(chosen.point, Point(lat, lon)) <= WITHIN_M:
            resolved.append(text)
        else:
            wrong.append(f"{text!r} -> {chosen.name} ({what} meant, "
                         f"{distance_m(chosen.point, Point(lat, lon)):.0f} m off)")
    n = len(ROWS)
    FIGURES["table"] = (
        f"{n} phrasings: {len(resolved)} resolved within {WITHIN_M:.0f} m "
        f"({100 * len(resolved) / n:.1f}%), {len(asked)} asked back "
        f"({100 * len(asked) / n:.1f}%), {len(wrong)} confidently wrong")
    if asked:
        FIGURES["asked"] = "asked back: " + "; ".join(asked)
    assert not wrong, wrong
    assert len(resolved) >= 0.9 * n, asked


@pytest.mark.parametrize("text", ASK_BACK)
def test_it_asks_when_the_text_names_no_one_place(gazetteer: None, text: str) -> None:
    assert decide(geocode(text)) is None
