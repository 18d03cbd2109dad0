"""``geocode`` and ``spotline places search`` on the demo extract: the fixed JSON
contract, landmarks first, bad input never raising, and no query in the logs."""

from __future__ import annotations

import json
import logging
import math
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings
from hypothesis import strategies as st

from spotline.core.geo import Point
from spotline.places.geocode import KINDS, decide, geocode
from spotline.places.models import Landmark

pytestmark = pytest.mark.django_db

CONTRACT = {"name", "lat", "lon", "confidence", "kind", "radius_m"}


def search(*args: str) -> list[str]:
    out = StringIO()
    call_command("places", "search", *args, stdout=out)
    return out.getvalue().splitlines()


def test_json_is_one_object_per_line_best_first(gazetteer: None) -> None:
    lines = search("r-kioski", "--json")
    assert len(lines) >= 2
    found = [json.loads(line) for line in lines]
    for item in found:
        assert CONTRACT <= item.keys()
        assert 0.0 <= item["confidence"] <= 1.0 and item["kind"] in KINDS
    confidences = [item["confidence"] for item in found]
    assert confidences == sorted(confidences, reverse=True)


def test_it_prints_nothing_when_nothing_is_found(gazetteer: None) -> None:
    assert search("zzqx vvkk", "--json") == []
    assert search("", "--json") == []


def test_near_prefers_the_nearer_of_equal_names(gazetteer: None) -> None:
    # Two K-Markets carry the same brand name; each --near picks its own.
    south = json.loads(search("k-market", "--json", "--near", "60.1648,24.9443")[0])
    north = json.loads(search("k-market", "--json", "--near", "60.1706,24.9407")[0])
    assert (south["lat"], south["lon"]) != (north["lat"], north["lon"])


def test_a_bad_near_is_one_clear_error(gazetteer: None) -> None:
    with pytest.raises(CommandError, match="--near takes LAT,LON"):
        search("kiasma", "--near", "north")


def test_the_organizations_landmarks_rank_first(gazetteer: None) -> None:
    Landmark.objects.create(name="Kiasma steps", lat=60.1721, lon=24.9370,
                            aliases="the steps\nkiasma")
    found = geocode("kiasma")
    assert found[0].kind == "landmark" and found[0].name == "Kiasma steps"


def test_an_alias_finds_its_landmark_and_an_inactive_one_is_not_found(
        gazetteer: None) -> None:
    Landmark.objects.create(name="Rail yard", lat=60.1752, lon=24.9398,
                            aliases="the tracks\n\n  behind the station yard ")
    Landmark.objects.create(name="Old squat", lat=60.17, lon=24.93, active=False,
                            aliases="the squat")
    chosen = decide(geocode("my friend is down at the tracks"))
    assert chosen is not None and chosen.name == "Rail yard"
    assert all(c.name != "Old squat" for c in geocode("the squat"))


BAD = ["", "   ", "x" * 1600, "🙂🆘🔥" * 20, '"', "*", "NEAR", "OR", "'", ";",
       '" OR * NEAR(a b) ; DROP TABLE places_place; --', "kiasma\" OR \"*", "%_%",
       "\x00\x01", "NEAR(kiasma oodi, 2)", "kiasma; DELETE FROM intake_landmark"]


@pytest.mark.parametrize("text", BAD)
def test_bad_input_is_empty_or_asked_back(gazetteer: None, text: str) -> None:
    found = geocode(text)
    assert len(found) <= 5
    if text.strip().strip("\x00\x01") and "kiasma" not in text:
        assert decide(found) is None
    assert Landmark.objects.count() >= 0  # the table is still there


@settings(max_examples=60)
@given(text=st.text(max_size=120), limit=st.integers(min_value=-3, max_value=40))
def test_any_text_gives_sane_candidates(gazetteer: None, text: str, limit: int) -> None:
    found = geocode(text, near=Point(60.17, 24.94), limit=limit)
    assert len(found) <= max(1, min(limit, 20))
    for c in found:
        assert 0.0 <= c.confidence <= 1.0
        assert c.kind in KINDS and c.reason and c.name
        assert math.isfinite(c.lat) and math.isfinite(c.lon) and c.radius_m > 0
        assert 59.5 < c.lat < 61.0 and 24.0 < c.lon < 26.0  # the extract, and landmarks


def test_a_query_is_never_logged(gazetteer: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        geocode("we're at Mannerheimintie 5, hurry", near=Point(60.17, 24.94))
        search("corner of bulevardi and mannerheimintie", "--json")
    for record in caplog.records:
        text = record.getMessage().lower()
        assert "mannerheimintie" not in text and "60.17" not in text
