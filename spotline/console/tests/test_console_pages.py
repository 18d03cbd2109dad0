"""The dispatcher console: the queue by priority, an incident's page and its actions."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, login_staff
from spotline.core.lifecycle import State
from spotline.core.policy import Actor
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident
from spotline.dispatch.timers import fire_due

pytestmark = pytest.mark.django_db


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


def open_incident(kind: Kind = Kind.OVERDOSE, *, breathing: Answer = Answer.NO) -> Incident:
    return incident_open(IncidentRequest(kind=kind, location=CENTRE, description="Corner shop",
               breathing=breathing), now=timezone.now()).incident


def rows(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-incident="(\d+)"', html)]


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# -- who may see the console ------------------------------------------------------------


def test_it_sends_an_anonymous_visitor_to_sign_in() -> None:
    incident = open_incident()
    client = Client()
    for url in ("/console/", f"/console/incidents/{incident.pk}/"):
        r = client.get(url)
        assert r.status_code == 302
        assert r["Location"].startswith("/accounts/login/?next=")


def test_it_does_not_let_an_anonymous_visitor_cancel() -> None:
    incident = open_incident()
    r = Client().post(f"/console/incidents/{incident.pk}/cancel/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/")
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHING


def test_it_answers_404_to_a_responder(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    incident = open_incident()
    client = login(sam.user)
    assert client.get("/console/").status_code == 404
    assert client.get(f"/console/incidents/{incident.pk}/").status_code == 404
    r = client.post(f"/console/incidents/{incident.pk}/assign/", {"responder_id": sam.pk})
    assert r.status_code == 404
    assert client.post(f"/console/incidents/{incident.pk}/cancel/").status_code == 404
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHING
    assert incident.assigned_responder_id is None


def test_it_answers_404_to_a_user_without_a_role() -> None:
    outsider = get_user_model().objects.create_user(username="outsider")
    client = login(outsider)
    assert client.get("/console/").status_code == 404


def test_it_lets_a_coordinator_in(coordinator: Client) -> None:
    incident = open_incident()
    r = coordinator.get("/console/")
    assert r.status_code == 200
    assert rows(r.content.decode()) == [incident.pk]


# -- the queue ---------------------------------------------------------------------------


def test_it_lists_active_incidents_by_priority(dispatcher: Client) -> None:
    p3 = open_incident(Kind.WELFARE_CHECK, breathing=Answer.UNKNOWN)
    p1 = open_incident(Kind.OVERDOSE)
    p2 = open_incident(Kind.MENTAL_HEALTH, breathing=Answer.UNKNOWN)
    assert (p1.priority, p2.priority, p3.priority) == ("P1", "P2", "P3")
    closed = open_incident(Kind.OVERDOSE)
    incident_cancel(incident_id=closed.pk, actor=Actor.PERSON, user_id=None,
                            now=timezone.now())
    r = dispatcher.get("/console/")
    assert r.status_code == 200
    assert rows(r.content.decode()) == [p1.pk, p2.pk, p3.pk]


def test_it_lists_older_incidents_first_within_a_priority(dispatcher: Client) -> None:
    first = open_incident()
    second = open_incident()
    assert rows(dispatcher.get("/console/").content.decode()) == [first.pk, second.pk]


def test_it_says_when_there_is_nothing_to_do(dispatcher: Client) -> None:
    assert "No active incidents" in dispatcher.get("/console/").content.decode()


def test_it_flags_an_unanswered_incident(dispatcher: Client) -> None:
    quiet = open_incident(Kind.WELFARE_CHECK, breathing=Answer.UNKNOWN)  # P3: 15 min
    loud = open_incident()  # P1: nobody on shift, deadline after 2 minutes
    fire_due(now=timezone.now() + timedelta(minutes=3))
    loud.refresh_from_db()
    assert loud.unanswered_at is not None
    html = dispatcher.get("/console/").content.decode()
    row = re.search(rf'<tr data-incident="{loud.pk}"[^>]*>.*?</tr>', html, re.S)
    assert row and "UNANSWERED" in row.group(0)
    other = re.search(rf'<tr data-incident="{quiet.pk}"[^>]*>.*?</tr>', html, re.S)
    assert other and "UNANSWERED" not in other.group(0)
    detail = dispatcher.get(f"/console/incidents/{loud.pk}/").content.decode()
    assert "UNANSWERED since" in detail


def test_it_never_offers_police_as_an_escalation(dispatcher: Client) -> None:
    incident = open_incident()
    html = dispatcher.get(f"/console/incidents/{incident.pk}/").content.decode()
    select = re.search(r'<select name="to".*?</select>', html, re.S)
    assert select is not None
    assert set(re.findall(r'value="([^"]+)"', select.group(0))) == {
        "more_responders", "crisis_team", "ems"}
    assert "police" not in html.lower()


# -- an incident ---------------------------------------------------------------------------


def test_it_shows_the_timeline(dispatcher: Client) -> None:
    incident = open_incident()
    r = dispatcher.get(f"/console/incidents/{incident.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    timeline = re.search(r'<ol id="timeline">(.*?)</ol>', html, re.S)
    assert timeline is not None
    items = re.findall(r"<li>(.*?)</li>", timeline.group(1), re.S)
    # Sentences in words, not event codes; who did it beside each.
    sentences = [re.sub(r"<[^>]+>", "", i).split(" · ", 1)[1] for i in items[:3]]
    assert sentences[:2] == ["Request opened (the person)", "Looking for a responder (Spotline)"]
    assert sentences[2].startswith("Nobody to offer it to: ") or \
        sentences[2].startswith("Offered to ")
    assert "responder_ids" not in html and "dispatch ·" not in html
    assert "Corner shop" in html


def test_it_answers_404_for_an_unknown_incident(dispatcher: Client) -> None:
    assert dispatcher.get("/console/incidents/999999/").status_code == 404


def test_it_assigns_a_responder(dispatcher: Client, make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    incident = open_incident()
    r = dispatcher.post(f"/console/incidents/{incident.pk}/assign/",
                        {"responder_id": str(sam.pk)}, follow=True)
    assert r.status_code == 200
    assert r.redirect_chain[-1][0] == f"/console/incidents/{incident.pk}/"
    assert "Assigned." in messages_of(r)
    incident.refresh_from_db()
    assert incident.state == State.ASSIGNED
    assert incident.assigned_responder_id == sam.pk
    assert 'data-state="assigned" id="state">responder assigned<' in r.content.decode()
    assert incident.events.filter(type="assign", actor="dispatcher").exists()


def test_it_reassigns_to_another_responder(dispatcher: Client, make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    alex = make_responder("alex", north_m=400)
    incident = open_incident()
    dispatcher.post(f"/console/incidents/{incident.pk}/assign/", {"responder_id": sam.pk})
    dispatcher.post(f"/console/incidents/{incident.pk}/assign/", {"responder_id": alex.pk})
    incident.refresh_from_db()
    assert incident.assigned_responder_id == alex.pk
    assert incident.offers.filter(status="accepted").count() == 1


@pytest.mark.parametrize("responder_id", ["", "abc", "1.5", "999999", "-1"])
def test_it_answers_a_bad_responder_id_with_a_message(dispatcher: Client,
                                                      responder_id: str) -> None:
    incident = open_incident()
    r = dispatcher.post(f"/console/incidents/{incident.pk}/assign/",
                        {"responder_id": responder_id}, follow=True)
    assert r.status_code == 200
    msgs = messages_of(r)
    assert len(msgs) == 1 and msgs[0] != "Assigned."
    assert r.context["messages"]  # shown on the page
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHING
    assert incident.assigned_responder_id is None


def test_it_will_not_give_a_busy_responder_a_second_incident(dispatcher: Client,
                                                             make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    first, second = open_incident(), open_incident()
    dispatcher.post(f"/console/incidents/{first.pk}/assign/", {"responder_id": sam.pk})
    r = dispatcher.post(f"/console/incidents/{second.pk}/assign/", {"responder_id": sam.pk},
                        follow=True)
    assert any("already holds an open incident" in m for m in messages_of(r))
    second.refresh_from_db()
    assert second.state == State.DISPATCHING


def test_it_escalates_to_an_ambulance(dispatcher: Client) -> None:
    incident = open_incident()
    r = dispatcher.post(f"/console/incidents/{incident.pk}/escalate/", {"to": "ems"},
                        follow=True)
    assert r.status_code == 200
    assert "Escalated to an ambulance." in messages_of(r)
    incident.refresh_from_db()
    assert incident.ems_requested_at is not None
    assert incident.ems_requested_by == "dispatcher"
    assert "AMBULANCE REQUESTED" in r.content.decode()
    assert incident.events.filter(type="escalated", data__to="ems").exists()


def test_it_escalates_to_more_responders(dispatcher: Client, make_responder) -> None:
    make_responder("sam", north_m=200)
    make_responder("alex", north_m=300)
    make_responder("jo", north_m=400)
    far = make_responder("kai", north_m=2000)
    incident = open_incident()
    assert not incident.offers.filter(responder=far).exists()  # P1 offers 3 per round
    r = dispatcher.post(f"/console/incidents/{incident.pk}/escalate/",
                        {"to": "more_responders"}, follow=True)
    assert "Escalated to more responders (widen)." in messages_of(r)
    assert incident.offers.filter(responder=far, status="pending").exists()


@pytest.mark.parametrize("target", ["police", "", "EMS"])
def test_it_refuses_an_unknown_escalation(dispatcher: Client, target: str) -> None:
    incident = open_incident()
    r = dispatcher.post(f"/console/incidents/{incident.pk}/escalate/", {"to": target},
                        follow=True)
    assert r.status_code == 200
    assert messages_of(r) == ["Choose what to escalate to."]
    incident.refresh_from_db()
    assert incident.ems_requested_at is None
    assert not incident.events.filter(type="escalated").exists()


def test_it_cancels_an_incident(dispatcher: Client) -> None:
    incident = open_incident()
    r = dispatcher.post(f"/console/incidents/{incident.pk}/cancel/", follow=True)
    assert r.status_code == 200
    assert "Cancelled." in messages_of(r)
    incident.refresh_from_db()
    assert incident.state == State.CANCELLED
    assert incident.closed_by == "dispatcher"
    html = r.content.decode()
    assert "/cancel/" not in html and "/assign/" not in html
    assert incident.pk not in rows(dispatcher.get("/console/").content.decode())


def test_it_explains_why_a_closed_incident_cannot_be_escalated(dispatcher: Client) -> None:
    incident = open_incident()
    dispatcher.post(f"/console/incidents/{incident.pk}/cancel/")
    r = dispatcher.post(f"/console/incidents/{incident.pk}/escalate/", {"to": "ems"},
                        follow=True)
    assert r.status_code == 200
    assert any("closed" in m for m in messages_of(r))
    incident.refresh_from_db()
    assert incident.ems_requested_at is None


def test_it_answers_a_get_on_an_action_with_405(dispatcher: Client) -> None:
    incident = open_incident()
    assert dispatcher.get(f"/console/incidents/{incident.pk}/cancel/").status_code == 405
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHING


def test_it_answers_an_action_on_an_unknown_incident_without_a_500(dispatcher: Client) -> None:
    r = dispatcher.post("/console/incidents/999999/cancel/")
    assert r.status_code in (302, 404)
    if r.status_code == 302:
        # If it redirects, the page it redirects to must itself be a clear 404.
        assert dispatcher.get(r["Location"]).status_code == 404
