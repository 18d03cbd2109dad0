"""The help page with a place typed in words, on the demo map (central Helsinki):
found at send, asked about on the status page (no JavaScript needed), suggested while
typing (names only)."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable

import pytest
from django.test import Client

from spotline.conftest import offset
from spotline.core.geo import Point, distance_m
from spotline.core.policy import OfferStatus
from spotline.dispatch.models import Incident, LocatedBy, Offer
from spotline.places.tests.conftest import gazetteer  # noqa: F401
from spotline.responders.models import Responder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("gazetteer")]

ALEPA = Point(60.169178, 24.938563)  # Alepa, Mannerheimintie 20
STOCKMANN = Point(60.167704, 24.942772)
TRACK = re.compile(r"^/t/([\w-]+)/$")


def send(client: Client, where: str, **extra: str) -> str:
    r = client.post("/", {"kind": "overdose", "where": where, **extra})
    assert r.status_code == 302, r.content[:500]
    found = TRACK.match(r["Location"])
    assert found
    return found.group(1)


def buttons(page: str) -> list[str]:
    return [html.unescape(v) for v in re.findall(r'name="pick" value="([^"]*)"', page)]


def test_a_typed_place_the_map_knows_opens_the_request_there(
        make_responder: Callable[..., Responder]) -> None:
    near = make_responder(at=offset(ALEPA, 80))
    make_responder(at=offset(ALEPA, 3000))
    client = Client()
    token = send(client, "behind the Alepa on Mannerheimintie")
    incident = Incident.objects.get()
    assert distance_m(Point(incident.lat, incident.lon), ALEPA) <= 150
    assert incident.located_by == LocatedBy.WORDS and incident.location_status == "approximate"
    assert Offer.objects.filter(incident=incident, responder=near).exists()
    page = client.get(f"/t/{token}/").content.decode()
    assert "Which of these is it?" not in page and 'id="place-other"' not in page


def test_a_place_that_could_be_several_opens_without_a_point_and_asks_which(
        make_responder: Callable[..., Responder]) -> None:
    make_responder(at=offset(ALEPA, 80))
    client = Client()
    token = send(client, "the alepa")
    incident = Incident.objects.get()
    assert incident.lat is None and incident.dispatched_at is not None  # help not held up
    page = client.get(f"/t/{token}/").content.decode()
    assert "Which of these is it?" in page
    names = buttons(page)
    assert len(names) >= 2 and all("Alepa" in n for n in names)
    r = client.post(f"/t/{token}/place/", {"where": "the alepa", "pick": names[1]})
    assert r.status_code == 302 and r["Location"] == f"/t/{token}/?placed=1"
    incident.refresh_from_db()
    assert incident.lat is not None and incident.located_by == LocatedBy.WORDS
    page = client.get(r["Location"]).content.decode()
    assert "Thank you: we updated where you are." in page
    assert "Which of these is it?" not in page
    assert Offer.objects.filter(incident=incident, status=OfferStatus.PENDING).exists()


def test_a_pick_that_the_words_do_not_mean_moves_nothing() -> None:
    client = Client()
    token = send(client, "the alepa")
    r = client.post(f"/t/{token}/place/", {"where": "the alepa", "pick": "Stockmann"})
    assert r.status_code == 200 and "Which of these is it?" in r.content.decode()
    assert Incident.objects.get().lat is None


def test_a_place_not_on_the_map_asks_for_a_street_corner_on_a_page_that_stays_still() -> None:
    client = Client()
    token = send(client, "the blue door of zyxwq")
    page = client.get(f"/t/{token}/").content.decode()
    assert "Tell us a street corner or a place nearby" in page
    form = client.get(f"/t/{token}/place/").content.decode()
    assert 'http-equiv="refresh"' not in form and 'name="where"' in form
    r = client.post(f"/t/{token}/place/", {"where": "behind the stockmann"})
    assert r.status_code == 302
    incident = Incident.objects.get()
    assert distance_m(Point(incident.lat, incident.lon), STOCKMANN) <= 150
    assert incident.location_description == "behind the stockmann"


def test_an_empty_answer_is_a_clear_400() -> None:
    client = Client()
    token = send(client, "the blue door of zyxwq")
    r = client.post(f"/t/{token}/place/", {"where": "   "})
    assert r.status_code == 400
    assert "Tell us a street corner or a place nearby." in r.content.decode()


@pytest.mark.parametrize("where", [
    "\U0001F198" * 200, 'alepa" OR NEAR(a b) * -- ;', "x" * 500,
])
def test_bad_input_opens_the_request_without_a_point_never_a_500(where: str) -> None:
    client = Client()
    token = send(client, where)
    assert Incident.objects.get().lat is None
    assert client.get(f"/t/{token}/").status_code == 200
    assert client.post(f"/t/{token}/place/", {"where": where}).status_code == 200


def test_it_suggests_at_most_five_names_and_no_coordinates(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    r = Client().get("/places/suggest", {"q": "alepa"})
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    data = json.loads(r.content)
    assert set(data) == {"names"}
    assert 2 <= len(data["names"]) <= 5 and all(isinstance(n, str) for n in data["names"])
    assert any(n.startswith("Alepa, Mannerheimintie") for n in data["names"])
    assert "60.1" not in r.content.decode() and "24.9" not in r.content.decode()
    assert "alepa" not in caplog.text.lower()  # the query is never logged


@pytest.mark.parametrize("q", ["", "al", "\U0001F198\U0001F198\U0001F198", '"*" OR NEAR',
                               "k" * 5000])
def test_suggestions_for_nothing_usable_are_an_empty_list(q: str) -> None:
    r = Client().get("/places/suggest", {"q": q})
    assert r.status_code == 200 and json.loads(r.content)["names"] == []
