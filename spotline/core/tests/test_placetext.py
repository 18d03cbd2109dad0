"""Reading how people write a place: folding, abbreviations, ordinals, Nordic street
words, noise, and the shapes of a place (intersection, relative, house number)."""

from __future__ import annotations

import pytest

from spotline.core.placetext import Query, fold, normalise, parse


def test_it_folds_case_accents_and_punctuation() -> None:
    assert fold("  Töölönlahdenkatu,   HÄMEENTIE! ") == "toolonlahdenkatu hameentie"
    assert fold("O'Malley\u2019s") == "omalleys"


@pytest.mark.parametrize(("text", "expected"), [
    ("5th St", "5 street"),
    ("Fifth Street", "5 street"),
    ("fifth st.", "5 street"),
    ("Main Ave", "main avenue"),
    ("la quinta avenida", "la 5 avenida"),
    ("7-11", "7 eleven"),
    ("seven eleven", "7 eleven"),
])
def test_it_spells_out_abbreviations_and_ordinals(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Aleksanterin katu", "aleksanterinkatu"),
    ("Mannerheimin tie", "mannerheimintie"),
    ("Mannerheimintie street", "mannerheimintie"),
    ("Kalevan gatan", "kalevangatan"),
    ("Mannerheimintiellä", "mannerheimintie"),
    ("Aleksanterinkadulla", "aleksanterinkatu"),
    ("Yrjönkadun", "yrjonkatu"),
])
def test_it_reads_finnish_and_swedish_street_words(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_it_drops_the_noise_around_a_place() -> None:
    assert parse("we're at Kiasma, hurry please").words == "kiasma"
    assert parse("estamos en la biblioteca, rápido").words == "biblioteca"
    assert parse("my friend isnt breathing").words == ""


@pytest.mark.parametrize("text", [
    "5th and Main", "5th & main", "corner of Fifth and Main St.", "esquina de la 5 y Main",
    "5th/main", "the corner of 5th and main, hurry",
])
def test_it_reads_an_intersection(text: str) -> None:
    streets = parse(text).streets
    assert streets is not None
    assert streets[0] == "5"
    assert streets[1] in ("main", "main street")


def test_it_reads_finnish_and_swedish_corners() -> None:
    assert parse("Yrjönkadun ja Kalevankadun kulma").streets == ("yrjonkatu", "kalevankatu")
    assert parse("hörnet av Mannerheimvägen och Kalevagatan").streets == (
        "mannerheimvagen", "kalevagatan")


def test_it_reads_a_place_relative_to_another() -> None:
    query = parse("my friend isnt breathing behind the 7-11 on 5th st")
    assert (query.target, query.anchor) == ("7 eleven", "5 street")
    query = parse("the park by the library")
    assert (query.target, query.anchor) == ("park", "library")
    query = parse("detrás del kiosko en la calle Mayor")
    assert query.target == "kiosko"
    assert query.anchor is not None and "mayor" in query.anchor


@pytest.mark.parametrize(("text", "street", "number"), [
    ("Mannerheimintie 5", "mannerheimintie", "5"),
    ("we're at Mannerheimintie 5 B, hurry", "mannerheimintie", "5b"),
    ("123 Main Street", "main street", "123"),
    ("Aleksanterin katu 9", "aleksanterinkatu", "9"),
])
def test_it_reads_a_house_number(text: str, street: str, number: str) -> None:
    query = parse(text)
    assert (query.street, query.number) == (street, number)


def test_a_plain_name_has_no_shape() -> None:
    assert parse("Kansalliskirjasto") == Query(words="kansalliskirjasto",
                                               raw="kansalliskirjasto")


def test_it_reads_only_the_start_of_a_very_long_text() -> None:
    assert len(parse("kiasma " * 400).raw) <= 300
