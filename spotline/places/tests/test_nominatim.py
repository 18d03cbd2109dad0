"""``SPOTLINE_GEOCODER=nominatim``: the organization's own Nominatim behind ``geocode``,
against recorded jsonv2 responses served on 127.0.0.1 (``nominatim_stub``).

The local gazetteer is asked first and Nominatim only when it has no answer to act on;
Nominatim's answers never outrank a local exact match; a slow, failing or garbled
server leaves the local answer, logged without the text; and with the default
``local`` nothing is sent anywhere."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from spotline.core.geo import Point, distance_m
from spotline.places import nominatim
from spotline.places.geocode import CONFIDENT, decide, geocode
from spotline.places.models import Landmark
from spotline.places.tests.nominatim_stub import Stub, serving

pytestmark = pytest.mark.django_db

TEXT = "we're at Mannerheimintie 5, hurry, my friend isn't breathing"
HOUSE = Point(60.1680012, 24.9413562)


@pytest.fixture
def stub(settings: Any) -> Iterator[Stub]:
    with serving() as server:
        settings.SPOTLINE_GEOCODER = "nominatim"
        settings.SPOTLINE_NOMINATIM_URL = server.url
        settings.SPOTLINE_NOMINATIM_TIMEOUT_SECONDS = 0.2
        yield server


def two_bridges() -> None:
    """Two landmarks answering to "the bridge", 3 km apart: found, but a question."""
    Landmark.objects.create(name="Long Bridge underpass", lat=60.1762, lon=24.9502,
                            aliases="the bridge")
    Landmark.objects.create(name="Lauttasaari bridge", lat=60.1610, lon=24.8960,
                            aliases="the bridge")


def assert_text_not_logged(caplog: pytest.LogCaptureFixture, stub: Stub) -> None:
    for record in caplog.records:
        line = record.getMessage().lower()
        assert "mannerheimintie" not in line and "bridge" not in line
        assert "aino" not in line and stub.url not in line and "60.1" not in line


def test_it_reads_a_recorded_house_into_a_candidate(stub: Stub) -> None:
    found = geocode(TEXT)
    assert len(found) == 1 and len(stub.requests) == 1
    house = found[0]
    assert house.kind == "address" and house.name == "5, Mannerheimintie, Kluuvi"
    assert distance_m(house.point, HOUSE) < 1 and 5 <= house.radius_m <= 15
    assert CONFIDENT <= house.confidence <= nominatim.CAP
    assert "Nominatim" in house.reason
    assert decide(found) == house  # one house in the organization's area: acted on


def test_it_sends_only_the_place_words_inside_the_organizations_area(
        stub: Stub, settings: Any) -> None:
    settings.SPOTLINE_MAP_CENTRE = "60.1699,24.9384"
    geocode(TEXT)
    geocode(TEXT, near=Point(60.20, 25.00), language="fi")
    (path, first), (_, second) = stub.requests
    assert path == "/nominatim/search"
    assert first["q"] == "mannerheimintie 5"  # not the person, the breathing, the hurry
    assert (first["format"], first["limit"], first["addressdetails"], first["bounded"]) == (
        "jsonv2", "5", "0", "1")
    assert "accept-language" not in first and second["accept-language"] == "fi"
    for params, (lat, lon) in ((first, (60.1699, 24.9384)), (second, (60.20, 25.00))):
        left, top, right, bottom = (float(v) for v in params["viewbox"].split(","))
        assert left < lon < right and bottom < lat < top


def test_each_kind_of_result_gets_its_kind_confidence_and_radius(stub: Stub) -> None:
    stub.answer = "several.json"
    library, street, suburb = nominatim.search("kallio library")
    assert (library.kind, street.kind, suburb.kind) == ("poi", "street", "poi")
    assert library.name == "Kallion kirjasto, 11, Viides linja"
    assert street.name == "Viides linja, Kallio, Keskinen suurpiiri"
    assert library.confidence > street.confidence > suburb.confidence
    assert street.confidence <= 0.6 and suburb.confidence <= nominatim.AREA
    assert library.radius_m == nominatim.MIN_RADIUS_M  # a 10 m box
    assert 100 < street.radius_m < 300 and suburb.radius_m > 700  # half the box's diagonal
    # In geocode the suburb, whose centre lies 140 m from the library, is the same answer.
    assert [c.name for c in geocode("kallio library")] == [library.name, street.name]


def test_results_without_a_usable_point_are_skipped(stub: Stub) -> None:
    stub.answer = "odd.json"
    found = geocode("r-kioski")
    assert [c.name for c in found] == ["R-kioski, 3, Kaivokatu"]
    assert found[0].radius_m == 25.0  # no box: a door


def test_a_confident_local_answer_never_asks_the_server(stub: Stub) -> None:
    Landmark.objects.create(name="Rail yard camp", lat=60.1752, lon=24.9398,
                            aliases="the tracks")
    chosen = decide(geocode("my friend is down at the tracks", limit=1))
    assert chosen is not None and chosen.name == "Rail yard camp"
    assert stub.requests == []


def test_a_local_question_asks_the_server_and_local_exact_matches_stay_first(
        stub: Stub) -> None:
    two_bridges()
    found = geocode("the bridge")
    assert len(stub.requests) == 1
    assert [c.kind for c in found] == ["landmark", "landmark", "address"]
    assert decide(found) is None  # still two bridges: asked, not guessed


@pytest.mark.parametrize(("answer", "logged"), [
    ("500", "nominatim failed status=500"),
    ("bad_json", "nominatim failed error=bad_json"),
    ("slow", "nominatim failed error=timeout"),
])
def test_a_failing_server_leaves_the_local_answer_and_logs_no_text(
        stub: Stub, caplog: pytest.LogCaptureFixture, answer: str, logged: str) -> None:
    stub.answer = answer
    two_bridges()
    with caplog.at_level(logging.DEBUG):
        found = geocode("we're under the bridge with Mannerheimintie Aino")
    assert len(stub.requests) == 1
    assert {c.name for c in found} == {"Long Bridge underpass", "Lauttasaari bridge"}
    assert logged in [r.getMessage() for r in caplog.records]
    assert_text_not_logged(caplog, stub)


def test_a_server_that_is_not_there_is_a_failure_too(
        stub: Stub, settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # a port nobody listens on
        settings.SPOTLINE_NOMINATIM_URL = f"http://127.0.0.1:{unused.getsockname()[1]}"
        with caplog.at_level(logging.WARNING):
            assert geocode(TEXT) == []
    assert "nominatim failed error=ConnectionRefusedError" in caplog.messages
    assert_text_not_logged(caplog, stub)


def test_with_the_local_geocoder_nothing_is_sent_anywhere(
        stub: Stub, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.SPOTLINE_GEOCODER = "local"  # the default; the URL stays set
    dialled: list[Any] = []
    real = socket.create_connection

    def watch(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        dialled.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", watch)
    two_bridges()
    assert len(geocode("the bridge")) == 2
    assert geocode(TEXT) == []  # nothing local, and still nothing asked
    assert dialled == [] and stub.requests == []
