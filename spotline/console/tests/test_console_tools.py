"""The console's other tools: a hotline caller's incident, notes, setup, script-driven
forms answering JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.checkins.actions import checkin_start
from spotline.conftest import CENTRE, T0, login_staff
from spotline.core.checkin import OnMiss
from spotline.core.geo import Point
from spotline.core.policy import Actor
from spotline.core.triage import Kind
from spotline.dispatch.actions.dispatcher import incident_assign, incident_cancel
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, IncidentEvent, IncidentNote, Source
from spotline.dispatch.timers import fire_due
from spotline.intake.models import Guidance
from spotline.places.geocode import geocode
from spotline.places.models import Landmark

pytestmark = pytest.mark.django_db

FETCH = {"X-Requested-With": "fetch"}


def login(user: User) -> Client:
    client = Client()
    login_staff(client, user)
    return client


@pytest.fixture
def dispatcher() -> Client:
    return login(user_create(name="dana", role=Role.DISPATCHER, password=None))


@pytest.fixture
def coordinator() -> Client:
    return login(user_create(name="cory", role=Role.COORDINATOR, password=None))


def test_it_opens_an_incident_for_a_hotline_caller(dispatcher: Client, make_responder) -> None:
    make_responder("sam", north_m=100)
    r = dispatcher.post("/console/new/", {
        "kind": "mental_health", "breathing": "unknown", "conscious": "yes",
        "where": "Bus shelter, 5th and Main", "lat": CENTRE.lat, "lon": CENTRE.lon,
        "callback_phone": "+1 555 010 0199"})
    incident = Incident.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/console/incidents/{incident.pk}/"
    assert incident.source == Source.OPERATOR
    assert incident.state == "dispatching"  # dispatched at once, like any request
    opened = incident.events.get(type="opened")
    assert opened.actor == Actor.DISPATCHER and opened.actor_user_id is not None


def test_it_refuses_a_caller_incident_without_a_place(dispatcher: Client) -> None:
    r = dispatcher.post("/console/new/", {"kind": "overdose", "breathing": "no",
                                          "conscious": "no", "lat": "61"})
    assert r.status_code == 400
    assert Incident.objects.count() == 0


def test_it_keeps_a_note_out_of_the_timeline_and_deletes_it_with_the_purge(
    dispatcher: Client, settings
) -> None:
    settings.SPOTLINE_RETENTION_HOURS = 1
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0).incident
    r = dispatcher.post(f"/console/incidents/{incident.pk}/note/",
                        {"text": "Caller says the side door is open"}, headers=FETCH)
    assert r.status_code == 200 and r.json() == {"detail": "Note added."}
    note = IncidentNote.objects.get()
    event = IncidentEvent.objects.get(type="note")
    # The timeline holds the note's id, never its words.
    assert event.data == {"note_id": note.pk}
    assert "side door" in dispatcher.get(f"/console/incidents/{incident.pk}/").content.decode()
    incident_cancel(incident_id=incident.pk, actor=Actor.DISPATCHER, user_id=None,
                            now=T0)
    fire_due(now=T0 + timedelta(hours=1, seconds=1))
    assert IncidentNote.objects.count() == 0


def test_it_answers_a_script_driven_form_with_json(dispatcher: Client) -> None:
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE
               ), now=timezone.now()).incident
    r = dispatcher.post(f"/console/incidents/{incident.pk}/note/", {"text": "  "},
                        headers=FETCH)
    assert r.status_code == 400 and "1 to 2000" in r.json()["detail"]
    r = dispatcher.post(f"/console/incidents/{incident.pk}/escalate/", {"to": "police"},
                        headers=FETCH)
    assert r.status_code == 400 and r.json()["detail"] == "Choose what to escalate to."
    r = dispatcher.post(f"/console/incidents/{incident.pk}/escalate/", {"to": "ems"},
                        headers=FETCH)
    assert r.status_code == 200
    incident.refresh_from_db()
    assert incident.ems_requested_by == "dispatcher"


def test_it_records_a_phoned_in_status_for_the_responder(dispatcher: Client,
                                                         make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE
               ), now=timezone.now()).incident
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None,
                            now=timezone.now())
    r = dispatcher.post(f"/console/incidents/{incident.pk}/report/", {"type": "on_scene"},
                        headers=FETCH)
    assert r.status_code == 200
    incident.refresh_from_db()
    assert incident.state == "on_scene"
    assert incident.events.get(type="on_scene").actor == Actor.DISPATCHER


def test_it_lets_only_a_coordinator_edit_setup(dispatcher: Client, coordinator: Client) -> None:
    assert dispatcher.get("/console/setup/").status_code == 404
    assert coordinator.get("/console/setup/").status_code == 200


def test_it_shows_the_coordinators_guidance_on_the_status_page(coordinator: Client) -> None:
    r = coordinator.post("/console/setup/", {
        "g-kind": "overdose", "g-language": "en",
        "g-text": "Use the naloxone kit in the blue box by the door\nStay with them"})
    assert r.status_code == 302
    # Saving again for the same kind and language replaces, not duplicates.
    coordinator.post("/console/setup/", {"g-kind": "overdose", "g-language": "en",
                                         "g-text": "Blue box by the door\nStay with them"})
    assert Guidance.objects.count() == 1
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE
             ), now=timezone.now())
    html = Client().get(f"/t/{opened.tracking_token}/").content.decode()
    assert "<li>Blue box by the door</li>" in html
    assert "one spray in a nostril" not in html  # the default text is replaced


def test_it_adds_a_landmark_the_help_page_offers(coordinator: Client) -> None:
    r = coordinator.post("/console/setup/", {"l-name": "Night shelter", "l-lat": "60.17",
                                             "l-lon": "24.94", "l-active": "on"})
    assert r.status_code == 302
    landmark = Landmark.objects.get()
    html = Client().get("/").content.decode()
    assert "Night shelter" in html
    r = Client().post("/", {"kind": "overdose", "breathing": "no", "conscious": "no",
                            "landmark": landmark.pk})
    assert r.status_code == 302
    incident = Incident.objects.get()
    assert (incident.lat, incident.lon) == (60.17, 24.94)
    assert incident.location_description == "Night shelter"


def test_it_refuses_a_landmark_off_the_map(coordinator: Client) -> None:
    r = coordinator.post("/console/setup/", {"l-name": "Nowhere", "l-lat": "95", "l-lon": "0"})
    assert r.status_code == 400
    assert Landmark.objects.count() == 0


def test_it_shows_active_check_ins_without_their_places(dispatcher: Client) -> None:

    place = Point(60.21234, 25.01234)  # not the map's centre, which the page does show
    started = checkin_start(location=place, description="Motel room 12", minutes=5,
                            on_miss=OnMiss.RESPONDERS, phone="", language="en", now=T0)
    html = dispatcher.get("/console/").content.decode()
    assert f'data-checkin="{started.checkin.pk}"' in html
    assert '<span id="checkins-count">1</span> active' in html
    assert "Motel room 12" not in html and "60.2123" not in html


def test_a_landmarks_other_names_are_found_first(coordinator: Client) -> None:
    r = coordinator.post("/console/setup/", {
        "l-name": "Railway yard", "l-aliases": "  the tracks \n\nunder the bridge\n",
        "l-lat": "60.1745", "l-lon": "24.9410", "l-active": "on"})
    assert r.status_code == 302
    assert Landmark.objects.get().aliases == "the tracks\nunder the bridge"
    assert "(the tracks, under the bridge)" in coordinator.get("/console/setup/").content.decode()
    best = geocode("my friend is down by the tracks, hurry")[0]
    assert (best.name, best.kind, best.lat) == ("Railway yard", "landmark", 60.1745)


@pytest.mark.parametrize("aliases", ["x" * 81, "bad\x00name",
                                     "\n".join(f"n{i}" for i in range(21))])
def test_it_refuses_unusable_other_names(coordinator: Client, aliases: str) -> None:
    r = coordinator.post("/console/setup/", {"l-name": "Yard", "l-aliases": aliases,
                                             "l-lat": "60.17", "l-lon": "24.94"})
    assert r.status_code == 400
    assert Landmark.objects.count() == 0
