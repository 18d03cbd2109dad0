"""Sending first, asking after (issue 13, item 7): the status page's "Tell us more
(optional)", driven like a phone with JavaScript off (plain form posts), and what the
dispatcher and the responder see of the answers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, login_staff
from spotline.core.policy import Actor
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.answers import DETAILS_MAX
from spotline.dispatch.actions.dispatcher import incident_assign, incident_cancel
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, IncidentEvent
from spotline.intake.tests.test_help_page import parse
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db


def send_without_answers(client: Client, kind: str = "mental_health") -> str:
    """The help page's first screen only: the kind, the place, Send."""
    r = client.post("/", {"kind": kind, "where": "bench by the fountain"})
    assert r.status_code == 302, r.content.decode()[:1000]
    return str(r["Location"]).split("/")[2]


def more_form(html: str, token: str) -> dict[str, Any]:
    forms = [f for f in parse(html).forms if f["attrs"].get("action") == f"/t/{token}/more/"]
    assert len(forms) == 1, "the status page has one 'tell us more' form"
    return forms[0]


def region(html: str, name: str) -> str:
    start = html.index(f'<div id="{name}" data-live>')
    return html[start:html.index("</div>\n<div", start)]


def test_a_request_sent_without_answers_is_asked_them_on_its_status_page() -> None:
    client = Client()
    token = send_without_answers(client)
    html = client.get(f"/t/{token}/").content.decode()
    assert "Tell us more (optional)" in html
    form = more_form(html, token)
    assert form["attrs"]["method"] == "post"
    assert set(form["fields"]) == {"breathing", "conscious", "danger", "details"}
    assert [w["value"] for w in form["fields"]["breathing"]] == ["yes", "no", "unknown"]
    assert form["fields"]["details"][0]["maxlength"] == str(DETAILS_MAX)
    # After the status, what to do and the first aid: it is optional, and it says so.
    assert html.index('id="status-message"') < html.index('id="guidance"') < html.index(
        'id="more-form"')


def test_it_asks_only_what_was_not_answered() -> None:
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                           breathing=Answer.NO, details="blue jacket"),
                           now=timezone.now())
    token = opened.tracking_token
    form = more_form(Client().get(f"/t/{token}/").content.decode(), token)
    assert set(form["fields"]) == {"conscious", "danger", "details"}
    assert form["fields"]["details"][0]["maxlength"] == str(DETAILS_MAX - len("blue jacket") - 1)


def test_not_breathing_sent_by_a_plain_post_raises_the_priority_and_comes_back(
        make_responder: Callable[..., Responder]) -> None:
    make_responder("sam", skills=("crisis_intervention",), north_m=100)
    client = Client(enforce_csrf_checks=True)  # no cookies needed, like the help form
    token = send_without_answers(client)
    incident = Incident.objects.get()
    assert (incident.priority, incident.breathing) == ("P2", "unknown")

    r = client.post(f"/t/{token}/more/", {"breathing": "no", "conscious": "unknown",
                                          "danger": "unknown", "details": "lips are blue"})
    assert r.status_code == 302
    assert r["Location"] == f"/t/{token}/?told=1"
    incident = Incident.objects.get()
    assert (incident.priority, incident.breathing, incident.details) == (
        "P1", "no", "lips are blue")
    page = client.get(r["Location"]).content.decode()
    assert "Thank you: we added it to your request." in page
    assert set(more_form(page, token)["fields"]) == {"conscious", "danger", "details"}

    dispatcher = login_staff(Client(), user_create(name="dana", role=Role.DISPATCHER,
                                                   password=None))
    console = dispatcher.get("/console/").content.decode()
    assert re.search(rf'<tr data-incident="{incident.pk}"[^>]*data-priority="P1"', console)
    detail = dispatcher.get(f"/console/incidents/{incident.pk}/").content.decode()
    assert f"Incident {incident.pk}: mental-health crisis · P1" in detail
    assert "no / not known / not known" in detail and "lips are blue" in detail
    assert "The person told us more: priority P2 → P1" in detail


def test_the_assigned_responder_sees_what_was_added(
        make_responder: Callable[..., Responder]) -> None:
    sam = make_responder("sam", north_m=100)
    client = Client()
    token = send_without_answers(client, kind="overdose")
    incident = Incident.objects.get()
    # Sent with words only ("bench by the fountain"), so nobody is offered it blindly:
    # a dispatcher assigns Sam.
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None,
                    now=timezone.now())
    r = client.post(f"/t/{token}/more/", {"conscious": "no", "details": "door code 4411"})
    assert r.status_code == 302
    app = Client()
    app.force_login(sam.user)
    html = app.get("/responder/").content.decode()
    assert "door code 4411" in html
    assert "Awake? no" in html


def test_the_same_post_twice_adds_it_once() -> None:
    client = Client()
    token = send_without_answers(client)
    for _ in range(2):
        r = client.post(f"/t/{token}/more/", {"details": "third floor"})
        assert r.status_code == 302
    assert Incident.objects.get().details == "third floor"
    assert IncidentEvent.objects.filter(type="told_more").count() == 1


def test_too_much_text_comes_back_with_what_fits_and_what_was_typed() -> None:
    client = Client()
    token = send_without_answers(client)
    client.post(f"/t/{token}/more/", {"details": "x" * 1990})
    r = client.post(f"/t/{token}/more/", {"details": "a longer note"})
    assert r.status_code == 400
    html = r.content.decode()
    assert "you can add 9 more characters" in html
    assert "a longer note" in html
    assert '<meta http-equiv="refresh"' not in html  # a page that stays still to fix it
    assert Incident.objects.get().details == "x" * 1990


def test_an_answer_someone_already_gave_is_not_talked_down() -> None:
    client = Client()
    token = send_without_answers(client)
    client.post(f"/t/{token}/more/", {"breathing": "no"})
    # A second tab still showing the question, answered the other way.
    r = client.post(f"/t/{token}/more/", {"breathing": "yes", "details": "sitting up"})
    assert r.status_code == 400
    assert "already answered" in r.content.decode()
    incident = Incident.objects.get()
    assert (incident.breathing, incident.details, incident.priority) == ("no", "", "P1")


def test_the_form_has_a_page_of_its_own_for_writing_without_javascript() -> None:
    client = Client()
    token = send_without_answers(client)
    status = client.get(f"/t/{token}/").content.decode()
    assert '<noscript><meta http-equiv="refresh"' in status  # the status page reloads
    assert f'href="/t/{token}/more/"' in status
    page = client.get(f"/t/{token}/more/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "refresh" not in html
    assert set(more_form(html, token)["fields"]) == {"breathing", "conscious", "danger",
                                                      "details"}


def test_a_push_never_resets_the_form_while_nothing_changed() -> None:
    """live.js swaps a region only when its HTML differs: the form's must be the same
    from one render to the next (no per-render token in it), or what the person is
    choosing would be wiped by every update of the status."""
    client = Client()
    token = send_without_answers(client)
    first, second = (region(client.get(f"/t/{token}/", headers={"X-Live": "1"})
                            .content.decode(), "more-live") for _ in range(2))
    assert 'id="more-form"' in first
    assert first == second


def test_a_closed_request_asks_nothing_and_takes_nothing() -> None:
    client = Client()
    token = send_without_answers(client)
    incident = Incident.objects.get()
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None,
                    now=timezone.now())
    html = client.get(f"/t/{token}/").content.decode()
    assert "Tell us more" not in html and "/more/" not in html
    r = client.post(f"/t/{token}/more/", {"breathing": "no", "details": "too late"})
    assert r.status_code == 302 and r["Location"] == f"/t/{token}/"
    incident = Incident.objects.get()
    assert (incident.breathing, incident.details) == ("unknown", "")


def test_an_unknown_token_is_404_and_a_get_changes_nothing() -> None:
    assert Client().post("/t/not-a-real-token/more/", {"breathing": "no"}).status_code == 404
    assert Client().get("/t/not-a-real-token/more/").status_code == 404
    token = send_without_answers(Client())
    Client().get(f"/t/{token}/more/?breathing=no")
    assert Incident.objects.get().breathing == "unknown"


def test_it_asks_in_spanish() -> None:
    client = Client(headers={"Accept-Language": "es"})
    token = send_without_answers(client)
    html = client.get(f"/t/{token}/").content.decode()
    assert "Cuéntenos más (opcional)" in html
    assert "¿Respira?" in html and "Enviar estas respuestas" in html
    assert "Tell us more" not in html
