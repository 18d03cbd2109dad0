"""The responder page: shift, offers, accept/decline, status buttons and the outcome."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, login_staff, offset
from spotline.core.lifecycle import State
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, Offer, Outcome
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

WHERE = "Behind the red door at Kallio library"
DETAILS = "Blue jacket, lying by the bins"
EXACT = f"{CENTRE.lat:.5f}, {CENTRE.lon:.5f}"


def login(responder: Responder) -> Client:
    client = Client()
    client.force_login(responder.user)
    return client


def open_incident() -> Incident:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE, description=WHERE,
               details=DETAILS, breathing=Answer.NO), now=timezone.now()).incident


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def offer_of(responder: Responder, incident: Incident) -> Offer:
    return Offer.objects.get(responder=responder, incident=incident)


def accept(client: Client, offer: Offer) -> Any:
    return client.post(f"/responder/offers/{offer.pk}/accept/", follow=True)


def held_by(make_responder: Any) -> tuple[Responder, Client, Incident]:
    sam = make_responder("sam", north_m=200)
    incident = open_incident()
    client = login(sam)
    r = accept(client, offer_of(sam, incident))
    assert r.status_code == 200
    return sam, client, incident


# -- shift -----------------------------------------------------------------------------


def test_it_goes_on_shift_with_a_location(make_responder) -> None:
    sam = make_responder("sam", on_shift=False)
    client = login(sam)
    assert "You are off shift" in client.get("/responder/").content.decode()
    here = offset(CENTRE, 250)
    r = client.post("/responder/shift/", {"on_shift": "1", "lat": str(here.lat),
                                          "lon": str(here.lon)}, follow=True)
    assert r.status_code == 200
    assert "You are on shift." in messages_of(r)
    sam.refresh_from_db()
    assert sam.on_shift_since is not None
    assert sam.lat == pytest.approx(here.lat) and sam.lon == pytest.approx(here.lon)
    assert sam.located_at is not None
    assert "Go off shift" in r.content.decode()


def test_it_goes_on_shift_without_a_location(make_responder) -> None:
    sam = make_responder("sam", on_shift=False)
    login(sam).post("/responder/shift/", {"on_shift": "1", "lat": "", "lon": ""})
    sam.refresh_from_db()
    assert sam.on_shift_since is not None
    assert sam.lat is None and sam.lon is None


@pytest.mark.parametrize("lat,lon", [("nan", "24.9"), ("95", "24.9"), ("60.1", "inf")])
def test_it_ignores_an_unusable_location(make_responder, lat: str, lon: str) -> None:
    sam = make_responder("sam", on_shift=False)
    r = login(sam).post("/responder/shift/", {"on_shift": "1", "lat": lat, "lon": lon})
    assert r.status_code == 302
    sam.refresh_from_db()
    assert sam.on_shift_since is not None
    assert sam.lat is None and sam.lon is None


def test_it_forgets_the_location_when_going_off_shift(make_responder) -> None:
    sam = make_responder("sam", north_m=300)
    assert sam.lat is not None
    r = login(sam).post("/responder/shift/", {"on_shift": "0"}, follow=True)
    assert "You are off shift." in messages_of(r)
    sam = Responder.objects.get(pk=sam.pk)
    assert sam.on_shift_since is None
    assert sam.lat is None and sam.lon is None and sam.located_at is None
    assert "Your location is not shared" in r.content.decode()


def test_it_gives_back_pending_offers_when_going_off_shift(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    incident = open_incident()
    offer = offer_of(sam, incident)
    login(sam).post("/responder/shift/", {"on_shift": "0", "withdraw": str(offer.pk)})
    assert offer_of(sam, incident).status == "withdrawn"


def test_it_keeps_a_responder_holding_an_incident_on_shift(make_responder) -> None:
    sam, client, _incident = held_by(make_responder)
    r = client.post("/responder/shift/", {"on_shift": "0"}, follow=True)
    assert any("hold an open incident" in m for m in messages_of(r))
    sam.refresh_from_db()
    assert sam.on_shift_since is not None and sam.lat is not None


# -- offers ----------------------------------------------------------------------------


def test_it_shows_an_offer_but_not_the_exact_location(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    incident = open_incident()
    offer = offer_of(sam, incident)
    html = login(sam).get("/responder/").content.decode()
    assert f'data-offer="{offer.pk}"' in html
    assert "<strong>Overdose</strong> · P1 life at risk" in html
    assert f"/responder/offers/{offer.pk}/accept/" in html
    assert EXACT not in html
    assert WHERE not in html and DETAILS not in html


def test_it_shows_the_exact_location_once_accepted(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    incident = open_incident()
    client = login(sam)
    r = accept(client, offer_of(sam, incident))
    assert r.status_code == 200
    assert "Accepted. Go now: the location is below." in messages_of(r)
    html = r.content.decode()
    assert EXACT in html
    assert WHERE in html and DETAILS in html
    assert 'id="current-state" data-state="assigned">responder assigned<' in html
    incident.refresh_from_db()
    assert incident.state == State.ASSIGNED
    assert incident.assigned_responder_id == sam.pk


def test_it_accepts_a_double_tap_once(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    incident = open_incident()
    client = login(sam)
    offer = offer_of(sam, incident)
    accept(client, offer)
    r = accept(client, offer)
    assert r.status_code == 200
    assert incident.events.filter(type="accept").count() == 1
    assert Offer.objects.filter(incident=incident, status="accepted").count() == 1


def test_it_declines_an_offer(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    incident = open_incident()
    offer = offer_of(sam, incident)
    r = login(sam).post(f"/responder/offers/{offer.pk}/decline/", follow=True)
    assert "Declined." in messages_of(r)
    offer.refresh_from_db()
    assert offer.status == "declined"
    assert f'data-offer="{offer.pk}"' not in r.content.decode()
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHING


def test_it_will_not_let_a_responder_accept_someone_elses_offer(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    alex = make_responder("alex", on_shift=False)
    incident = open_incident()
    offer = offer_of(sam, incident)
    r = accept(login(alex), offer)
    assert r.status_code == 404  # the same as an offer that does not exist
    offer.refresh_from_db()
    assert offer.status == "pending"
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHING
    assert incident.assigned_responder_id is None
    assert EXACT not in r.content.decode()


def test_it_tells_the_second_responder_the_incident_is_taken(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    alex = make_responder("alex", north_m=300)
    incident = open_incident()
    accept(login(sam), offer_of(sam, incident))
    r = accept(login(alex), offer_of(alex, incident))
    assert any("already taken" in m for m in messages_of(r))
    incident.refresh_from_db()
    assert incident.assigned_responder_id == sam.pk


def test_it_answers_404_to_an_unknown_answer(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    offer = offer_of(sam, open_incident())
    assert login(sam).post(f"/responder/offers/{offer.pk}/maybe/").status_code == 404
    offer.refresh_from_db()
    assert offer.status == "pending"


# -- status and outcome ------------------------------------------------------------------


def test_it_moves_through_en_route_on_scene_and_resolved(make_responder) -> None:
    _sam, client, incident = held_by(make_responder)
    for step, words in (("en_route", "on the way"), ("on_scene", "on scene")):
        r = client.post(f"/responder/incidents/{incident.pk}/report/", {"type": step},
                        follow=True)
        assert r.status_code == 200
        incident.refresh_from_db()
        assert incident.state == step
        assert f'id="current-state" data-state="{step}">{words}<' in r.content.decode()
    r = client.post(f"/responder/incidents/{incident.pk}/report/", {"type": "resolved"},
                    follow=True)
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED
    assert incident.closed_at is not None
    html = r.content.decode()
    assert 'id="current-state"' not in html
    assert f"/responder/incidents/{incident.pk}/outcome/" in html


def test_it_records_an_outcome(make_responder) -> None:
    sam, client, incident = held_by(make_responder)
    for step in ("on_scene", "resolved"):
        client.post(f"/responder/incidents/{incident.pk}/report/", {"type": step})
    r = client.post(f"/responder/incidents/{incident.pk}/outcome/", {
        "naloxone_doses": "2", "responsive_after": "yes", "ems": "not_needed",
        "referrals": "detox, housing ,", "notes": "Went home with a friend"}, follow=True)
    assert "Outcome recorded. Thank you." in messages_of(r)
    outcome = Outcome.objects.get(incident=incident)
    assert outcome.naloxone_doses == 2
    assert outcome.responsive_after == "yes"
    assert outcome.ems == "not_needed"
    assert outcome.referrals == ["detox", "housing"]
    assert outcome.notes == "Went home with a friend"
    assert outcome.recorded_by_user_id == sam.user_id


@pytest.mark.parametrize("field,value", [("naloxone_doses", "-1"), ("naloxone_doses", "99"),
                                         ("naloxone_doses", "two"), ("ems", "police"),
                                         ("responsive_after", "maybe")])
def test_it_answers_a_bad_outcome_with_a_message(make_responder, field: str,
                                                 value: str) -> None:
    _sam, client, incident = held_by(make_responder)
    client.post(f"/responder/incidents/{incident.pk}/report/", {"type": "on_scene"})
    form = {"naloxone_doses": "1", "responsive_after": "yes", "ems": "not_needed", field: value}
    r = client.post(f"/responder/incidents/{incident.pk}/outcome/", form)
    # The form again, as typed, with what to fix.
    assert r.status_code == 400
    html = r.content.decode()
    assert 'id="outcome-error"' in html
    assert f'action="/responder/incidents/{incident.pk}/outcome/"' in html
    assert "Outcome recorded" not in html
    assert not Outcome.objects.filter(incident=incident).exists()


def test_it_refuses_an_outcome_before_on_scene(make_responder) -> None:
    _sam, client, incident = held_by(make_responder)
    r = client.post(f"/responder/incidents/{incident.pk}/outcome/",
                    {"naloxone_doses": "0", "responsive_after": "unknown",
                     "ems": "not_needed"}, follow=True)
    assert any("on scene" in m for m in messages_of(r))
    assert not Outcome.objects.filter(incident=incident).exists()


def test_it_answers_an_unknown_report_type_with_a_message(make_responder) -> None:
    _sam, client, incident = held_by(make_responder)
    r = client.post(f"/responder/incidents/{incident.pk}/report/", {"type": "arrested"},
                    follow=True)
    assert r.status_code == 200
    assert any("unknown event type" in m for m in messages_of(r))
    incident.refresh_from_db()
    assert incident.state == State.ASSIGNED


def test_it_will_not_let_another_responder_report_on_an_incident(make_responder) -> None:
    _sam, _client, incident = held_by(make_responder)
    alex = make_responder("alex", north_m=500)
    r = login(alex).post(f"/responder/incidents/{incident.pk}/report/", {"type": "resolved"},
                         follow=True)
    assert r.status_code == 404
    incident.refresh_from_db()
    assert incident.state == State.ASSIGNED


def test_it_releases_an_incident_back_to_dispatch(make_responder) -> None:
    _sam, client, incident = held_by(make_responder)
    client.post(f"/responder/incidents/{incident.pk}/report/", {"type": "release"})
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHING
    assert incident.assigned_responder_id is None


# -- who may use the page ------------------------------------------------------------------


def test_it_answers_404_to_a_dispatcher() -> None:
    client = Client()
    login_staff(client, user_create(name="dana", role=Role.DISPATCHER, password=None))
    assert client.get("/responder/").status_code == 404
    assert client.post("/responder/shift/", {"on_shift": "1"}).status_code == 404


def test_it_sends_an_anonymous_visitor_to_sign_in() -> None:
    r = Client().get("/responder/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")
