"""The console's place tools (issue 14): finding a place from words and clicking the
map set or move an incident's point, and the offers follow it; a place not known is
shown in red with the person's words; a hotline caller's incident never takes typed
coordinates. Against the demo extract of Helsinki."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.audit.models import AuditEntry
from spotline.conftest import CENTRE, login_staff
from spotline.core.candidates import KINDS
from spotline.core.geo import Point, distance_m
from spotline.core.policy import Actor, OfferStatus
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, LocatedBy, Offer
from spotline.dispatch.words import WORDS

# The demo extract, imported once for the module (places' own fixture).
from spotline.places.tests.conftest import gazetteer  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("gazetteer")]

FETCH = {"X-Requested-With": "fetch"}
HAKANIEMI = Point(60.1790, 24.9500)  # about 1.2 km north-east of CENTRE


@pytest.fixture
def dispatcher() -> Client:
    client = Client()
    login_staff(client, user_create(name="dana", role=Role.DISPATCHER, password=None))
    return client


def dispatcher_user() -> User:
    return User.objects.get(username="dana")


def near(p: Point, north_m: float) -> Point:
    return Point(p.lat + north_m / 111_320, p.lon)


@pytest.fixture
def two_groups(make_responder: Any) -> tuple[set[int], set[int]]:
    """Three responders around CENTRE and three around Hakaniemi (an overdose is
    offered to three at a time)."""
    here = {make_responder(n, at=near(CENTRE, m)).pk
            for n, m in (("ana", 60), ("ben", -80), ("cy", 120))}
    there = {make_responder(n, at=near(HAKANIEMI, m)).pk
             for n, m in (("dee", 50), ("eli", -70), ("fay", 110))}
    return here, there


def open_at(location: Point | None, description: str = "") -> Incident:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=location,
                                         description=description, breathing=Answer.NO),
                         now=timezone.now()).incident


def pending(incident: Incident) -> set[int]:
    return set(Offer.objects.filter(incident=incident, status=OfferStatus.PENDING)
               .values_list("responder_id", flat=True))


def forms_posting_to(page: str, action: str) -> list[dict[str, str]]:
    found = re.findall(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>',
                       page, re.S)
    return [{k: htmllib.unescape(v) for k, v in
             re.findall(r'name="(\w+)" value="([^"]*)"', f)} for f in found]


# -- finding a place, and moving the point -----------------------------------------------


def test_it_lists_places_found_from_words_each_with_a_put_it_here_button(
        dispatcher: Client) -> None:
    incident = open_at(CENTRE)
    url = f"/console/incidents/{incident.pk}/"
    page = dispatcher.get(url, {"q": "mannerhiemintie 5"}).content.decode()
    assert 'id="place-q"' in page and 'value="mannerhiemintie 5"' in page
    assert "Mannerheimintie 5" in page and "Put it here" in page
    first = forms_posting_to(page, f"{url}place/")[0]
    assert first["how"] == "words" and float(first["radius_m"]) > 0
    assert distance_m(Point(float(first["lat"]), float(first["lon"])),
                      Point(60.1694, 24.9404)) < 150
    # No words, no list (the one form left is the map's confirm, hidden until a
    # click); words that mean nothing say so.
    plain = forms_posting_to(dispatcher.get(url).content.decode(), f"{url}place/")
    assert [f["how"] for f in plain] == ["map"]
    nothing = dispatcher.get(url, {"q": "zzqx vvkk"}).content.decode()
    assert "Nothing found for those words" in nothing


def test_a_place_chosen_from_the_search_moves_the_point_and_re_ranks_the_offers(
        dispatcher: Client, two_groups: tuple[set[int], set[int]]) -> None:
    here, there = two_groups
    incident = open_at(CENTRE, description="by the market hall, the tall one")
    assert pending(incident) == here
    url = f"/console/incidents/{incident.pk}/"
    page = dispatcher.get(url, {"q": "hakaniemi"}).content.decode()
    chosen = forms_posting_to(page, f"{url}place/")[0]
    r = dispatcher.post(f"{url}place/", chosen)  # without JavaScript: back to the page
    assert r.status_code == 302 and r["Location"] == url
    incident.refresh_from_db()
    assert incident.location_status == "approximate"
    assert incident.located_by == LocatedBy.WORDS
    assert incident.accuracy_m == pytest.approx(float(chosen["radius_m"]))
    assert distance_m(Point(incident.lat, incident.lon), HAKANIEMI) < 300
    # The person's own words are kept: the point is what moved.
    assert incident.location_description == "by the market hall, the tall one"
    # Offers withdrawn from the old three, made to the three nearest the new point.
    assert pending(incident) == there
    assert set(Offer.objects.filter(incident=incident, status=OfferStatus.WITHDRAWN)
               .values_list("responder_id", flat=True)) == here
    relocated = incident.events.get(type="relocated")
    assert relocated.actor == Actor.DISPATCHER
    assert relocated.actor_user_id == dispatcher_user().pk
    page = dispatcher.get(url).content.decode()
    assert "approximate (within" in page and "found from the words given" in page
    assert 'data-radius="' in page  # the map draws its circle


def test_a_click_on_the_map_sets_an_unknown_place_and_offers_from_it(
        dispatcher: Client, two_groups: tuple[set[int], set[int]]) -> None:
    _, there = two_groups
    incident = open_at(None, description="the yellow door near the market")
    url = f"/console/incidents/{incident.pk}/"
    assert "Set the place" in dispatcher.get(url).content.decode()
    r = dispatcher.post(f"{url}place/", {"how": "map", "lat": f"{HAKANIEMI.lat:.6f}",
                                         "lon": f"{HAKANIEMI.lon:.6f}"}, headers=FETCH)
    assert r.status_code == 200 and r.json() == {"detail": "Place set."}
    incident.refresh_from_db()
    assert (incident.lat, incident.lon) == pytest.approx((HAKANIEMI.lat, HAKANIEMI.lon))
    assert incident.location_status == "exact" and incident.located_by == LocatedBy.MAP
    assert incident.accuracy_m is None
    # Offered from the new point: the three nearest it, whoever had it before.
    assert incident.state == "dispatching" and pending(incident) == there
    assert "Move the place" in dispatcher.get(url).content.decode()


@pytest.mark.parametrize("body", [
    {},
    {"how": "map", "lat": "60.1"},
    {"how": "map", "lat": "nan", "lon": "24.9"},
    {"how": "map", "lat": "91", "lon": "24.9"},
    {"how": "words", "lat": "60.17", "lon": "24.94"},  # a found place has a radius
    {"how": "words", "lat": "60.17", "lon": "24.94", "radius_m": "9000"},
    {"how": "device", "lat": "60.17", "lon": "24.94"},
])
def test_it_refuses_a_place_that_is_not_one_and_changes_nothing(
        dispatcher: Client, body: dict[str, str]) -> None:
    incident = open_at(CENTRE)
    r = dispatcher.post(f"/console/incidents/{incident.pk}/place/", body, headers=FETCH)
    assert r.status_code == 400
    assert r.json() == {"detail": "Choose a place from the list, or click the map."}
    incident.refresh_from_db()
    assert (incident.lat, incident.lon) == (CENTRE.lat, CENTRE.lon)
    assert not incident.events.filter(type="relocated").exists()


def test_a_closed_incidents_place_stays_where_it_was(dispatcher: Client) -> None:
    incident = open_at(CENTRE)
    incident_cancel(incident_id=incident.pk, actor=Actor.DISPATCHER, user_id=None,
                    now=timezone.now())
    url = f"/console/incidents/{incident.pk}/"
    assert 'id="place-tools"' not in dispatcher.get(url).content.decode()
    r = dispatcher.post(f"{url}place/", {"how": "map", "lat": "60.18", "lon": "24.95"},
                        headers=FETCH)
    assert r.status_code == 409
    incident.refresh_from_db()
    assert (incident.lat, incident.lon) == (CENTRE.lat, CENTRE.lon)


# -- the queue -------------------------------------------------------------------------------


def test_the_queue_marks_a_place_not_known_in_red_with_the_persons_words(
        dispatcher: Client) -> None:
    words = "behind the blue kiosk by the tram stop, the one with the mural on its side"
    unknown = open_at(None, description=words)
    known = open_at(CENTRE, description="flat 3")
    page = dispatcher.get("/console/").content.decode()
    row = re.search(rf'<tr data-incident="{unknown.pk}".*?</tr>', page, re.S).group(0)
    assert '<span class="location-unknown">location unknown</span>' in row
    assert "behind the blue kiosk by the tram" in row and words not in row  # truncated
    assert 'data-location="unknown"' in row and "data-lat" not in row
    other = re.search(rf'<tr data-incident="{known.pk}".*?</tr>', page, re.S).group(0)
    assert "location-unknown" not in other and "flat 3" not in other
    # Showing the words is a look at the place: audited, by field name only.
    looked = AuditEntry.objects.filter(action="incident.view", object_id=str(unknown.pk))
    assert looked.exists() and words not in str(list(looked.values()))
    assert not AuditEntry.objects.filter(action="incident.view",
                                         object_id=str(known.pk)).exists()


def test_the_red_is_a_css_class_with_enough_contrast() -> None:
    css = (Path(__file__).resolve().parents[2] / "static" / "spotline" / "app.css"
           ).read_text()
    assert re.search(r"\.location-unknown\{[^}]*color:var\(--red\)", css)
    assert "--red:#a1001c" in css  # 8.3:1 on white, 6.9:1 on an urgent row


def test_every_kind_of_place_found_has_a_word() -> None:
    assert set(WORDS["place_kind"]) == set(KINDS)


# -- a hotline caller's new incident ----------------------------------------------------------


def test_the_new_incident_form_has_no_typed_coordinates(dispatcher: Client) -> None:
    page = dispatcher.get("/console/new/").content.decode()
    for name in ("lat", "lon", "radius_m", "located_by"):
        assert re.search(rf'<input type="hidden" name="{name}"', page), name
    assert not re.search(r'<input type="(number|text)" name="(lat|lon)"', page)
    assert "Latitude" not in page and "Longitude" not in page
    assert 'data-pick="caller-form"' in page and 'name="find"' in page


def test_without_javascript_the_operator_finds_the_place_and_picks_one(
        dispatcher: Client, two_groups: tuple[set[int], set[int]]) -> None:
    _, there = two_groups
    form = {"kind": "overdose", "breathing": "no", "conscious": "no", "danger": "unknown",
            "where": "hakaniemi", "details": "friend says he took something",
            "callback_phone": "+358 40 123 4567"}
    page = dispatcher.post("/console/new/", {**form, "find": "1"})
    assert page.status_code == 200 and Incident.objects.count() == 0
    text = page.content.decode()
    assert 'value="friend says he took something"' not in text  # a textarea keeps it
    assert "friend says he took something" in text and 'value="+358 40 123 4567"' in text
    choices = re.findall(r'name="candidate" value="([^"]+)"', text)
    assert choices and "Hakaniemi" in text
    r = dispatcher.post("/console/new/", {**form, "candidate": choices[0]})
    incident = Incident.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/console/incidents/{incident.pk}/"
    assert incident.location_status == "approximate" and incident.accuracy_m > 0
    assert distance_m(Point(incident.lat, incident.lon), HAKANIEMI) < 300
    assert incident.location_description == "hakaniemi"
    assert pending(incident) == there


def test_a_click_on_the_new_incidents_map_is_an_exact_point(dispatcher: Client) -> None:
    r = dispatcher.post("/console/new/", {
        "kind": "mental_health", "breathing": "unknown", "conscious": "yes",
        "where": "", "lat": f"{HAKANIEMI.lat:.6f}", "lon": f"{HAKANIEMI.lon:.6f}",
        "located_by": "map", "radius_m": ""})
    assert r.status_code == 302
    incident = Incident.objects.get()
    assert incident.located_by == LocatedBy.MAP and incident.location_status == "exact"


@pytest.mark.parametrize("candidate", ["60.1,24.9", "x,y,z", "95,24.9,25", "60.1,24.9,nan",
                                       "60.1,24.9,99999"])
def test_it_refuses_a_candidate_that_is_not_one(dispatcher: Client, candidate: str) -> None:
    r = dispatcher.post("/console/new/", {"kind": "overdose", "breathing": "no",
                                          "conscious": "no", "where": "somewhere",
                                          "candidate": candidate})
    assert r.status_code == 400 and Incident.objects.count() == 0
    assert "Choose a place from the list, or click the map." in r.content.decode()


def test_words_alone_open_an_incident_whose_place_is_unknown(dispatcher: Client) -> None:
    r = dispatcher.post("/console/new/", {"kind": "overdose", "breathing": "no",
                                          "conscious": "no", "where": "the old bridge"})
    assert r.status_code == 302
    incident = Incident.objects.get()
    assert incident.location_status == "unknown" and incident.lat is None
    assert incident.location_description == "the old bridge"


def test_the_place_tools_speak_spanish(dispatcher: Client, settings: Any) -> None:
    incident = open_at(None, description="la puerta amarilla")
    dispatcher.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    url = f"/console/incidents/{incident.pk}/"
    page = dispatcher.get(url, {"q": "kiasma"}).content.decode()
    assert "lugar desconocido" in page and "Fijar el lugar" in page
    assert "Buscar una dirección o un lugar" in page and "Ponerlo aquí" in page
    assert "lugar con nombre, a menos de" in page  # Kiasma: a named place, within N m
    dispatcher.post(f"{url}place/", {"how": "words", "lat": "60.172015",
                                     "lon": "24.936676", "radius_m": "66"})
    page = dispatcher.get(url).content.decode()
    assert "aproximado (a menos de 66 m), hallado a partir de lo escrito" in page
    queue = dispatcher.get("/console/").content.decode()
    assert "<th scope=\"col\">Lugar</th>" in queue
