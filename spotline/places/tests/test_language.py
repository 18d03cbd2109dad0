"""``geocode(..., language=)``: of names that fit equally well, the one in the asker's
language names the place, and of two otherwise equal places, the one called so in their
language comes first. OpenStreetMap says a name's language in its key (``name:sv``);
plain ``name``, ``brand`` and the rest say none."""

from __future__ import annotations

import pytest

from spotline.core.candidates import Candidate
from spotline.places.actions import searchable
from spotline.places.geocode import geocode, rank
from spotline.places.local import language_of
from spotline.places.models import Place, PlaceName
from spotline.places.textsearch import fts_rebuild

pytestmark = pytest.mark.django_db


def place(key: str, lat: float, lon: float, street: str, *names: tuple[str, str]) -> Place:
    p = Place.objects.create(kind="poi", osm_key=key, name=names[0][1],
                             category="amenity=cafe", lat=lat, lon=lon, street=street,
                             housenumber="1")
    for variant, text in names:
        PlaceName.objects.create(place=p, text=text, norm=searchable(text), variant=variant)
    return p


def test_only_a_name_key_with_a_language_has_one() -> None:
    assert [language_of(v) for v in ("name:sv", "name:es", "name", "brand", "alt_name",
                                     "brand:wikidata")] == ["sv", "es", "", "", "", ""]


def test_the_askers_language_names_a_place_that_fits_in_two() -> None:
    place("n1", 60.170, 24.940, "Bulevardi", ("name", "Café Regatta"),
          ("name:en", "Cafe Regatta"))
    fts_rebuild()
    assert geocode("cafe regatta")[0].name == "Café Regatta, Bulevardi 1"
    english = geocode("cafe regatta", language="en")[0]
    assert english.name == "Cafe Regatta, Bulevardi 1" and english.language == "en"
    assert geocode("cafe regatta", language="es")[0].name == "Café Regatta, Bulevardi 1"


def test_of_two_equal_places_the_one_named_in_the_askers_language_comes_first() -> None:
    # One café is "Kaffebaren" in Swedish, another in Finnish, 2 km apart.
    swedish = place("n2", 60.170, 24.940, "Bulevardi", ("name", "Kahvila Sininen"),
                    ("name:sv", "Kaffebaren"))
    finnish = place("n3", 60.188, 24.950, "Hämeentie", ("name", "Kaffebaren"),
                    ("name:fi", "Kaffebaren"))
    fts_rebuild()
    for language, first in (("sv", swedish), ("fi", finnish)):
        found = geocode("kaffebaren", language=language)
        assert len(found) == 2 and found[0].confidence == found[1].confidence
        assert (found[0].lat, found[0].lon) == (first.lat, first.lon)
        assert found[0].language == language


def test_rank_breaks_an_exact_tie_by_language_whatever_order_it_is_given() -> None:
    # Candidates from two shapes (or two sources) arrive in no particular order.
    fi = Candidate(name="Kahvila", lat=60.17, lon=24.94, confidence=0.9, kind="poi",
                   radius_m=25, reason="place name, exact", language="fi")
    sv = Candidate(name="Kaffebaren", lat=60.18, lon=24.95, confidence=0.9, kind="poi",
                   radius_m=25, reason="place name, exact", language="sv")
    for given in ([fi, sv], [sv, fi]):
        assert rank(given, near=None, limit=5, language="sv")[0] is sv
        assert rank(given, near=None, limit=5, language="fi")[0] is fi
    surer = Candidate(name="Kahvila", lat=60.17, lon=24.94, confidence=0.95, kind="poi",
                      radius_m=25, reason="place name, exact", language="fi")
    assert rank([sv, surer], near=None, limit=5, language="sv")[0] is surer
