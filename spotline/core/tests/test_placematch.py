"""How well a name explains a phrase (rapidfuzz), and the confident/ask-back rule."""

from __future__ import annotations

from spotline.core.candidates import CONFIDENT, Candidate, decide
from spotline.core.placematch import categories, explain


def test_a_whole_name_alone_is_certain() -> None:
    fit = explain("kiasma", "kiasma")
    assert fit is not None and fit.exact and fit.confidence == 1.0


def test_a_typo_costs_a_little() -> None:
    fit = explain("mannerhiemintie", "mannerheimintie")
    assert fit is not None and not fit.exact
    assert 0.8 <= fit.confidence < 1.0


def test_words_left_over_cost_more() -> None:
    whole = explain("alepa kluuvi", "alepa kluuvi")
    part = explain("alepa kluuvi", "kluuvi")
    assert whole is not None and part is not None
    assert whole.confidence - part.confidence > 0.15


def test_descriptive_words_are_free() -> None:
    fit = explain("kiasma museum lobby", "kiasma", free=frozenset({"museum"}))
    assert fit is not None and fit.confidence == 1.0


def test_half_a_name_counts_but_less() -> None:
    fit = explain("dubliner", "dubliner kaivopiha")
    assert fit is not None and fit.part
    assert fit.confidence < 1.0


def test_a_kind_or_a_number_is_not_half_a_name() -> None:
    assert explain("pharmacy", "university pharmacy") is None
    assert explain("5", "blue house 5") is None


def test_a_short_name_must_be_spelt_right() -> None:
    assert explain("bat", "bar") is None
    assert explain("nothing like it", "kiasma") is None


def test_it_knows_kinds_of_place_even_misspelt() -> None:
    assert "amenity=library" in categories("libary")
    assert "amenity=pharmacy" in categories("la farmacia")
    assert categories("kiasma") == {}


def _c(name: str, confidence: float, lat: float = 60.17, lon: float = 24.94) -> Candidate:
    return Candidate(name=name, lat=lat, lon=lon, confidence=confidence, kind="poi",
                     radius_m=25.0, reason="test")


def test_decide_acts_on_one_sure_candidate() -> None:
    best = _c("Kiasma", 0.95)
    assert decide([best, _c("Far away", 0.5, lat=60.18)]) is best


def test_decide_asks_when_nothing_is_sure_enough() -> None:
    assert decide([]) is None
    assert decide([_c("Kiasma", CONFIDENT - 0.01)]) is None


def test_decide_asks_between_two_close_candidates_in_two_places() -> None:
    assert decide([_c("R-kioski", 1.0), _c("R-kioski", 0.9, lat=60.18)]) is None


def test_decide_takes_the_same_place_found_twice_as_one() -> None:
    best = _c("Lidl", 1.0)
    assert decide([best, _c("Kaivokatu 8", 0.95, lat=60.1701)]) is best
