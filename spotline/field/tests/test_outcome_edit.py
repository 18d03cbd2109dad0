"""A saved outcome is shown, edited on purpose, and never overwritten by a form of
defaults (issue 13, item 9)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from spotline.conftest import CENTRE
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, Offer, Outcome
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

NOTE = "Went home with a friend"


def login(responder: Responder) -> Client:
    client = Client()
    client.force_login(responder.user)
    return client


def resolved(make_responder: Any, name: str = "sam") -> tuple[Responder, Client, Incident]:
    """A responder who took an incident, reached it and resolved it."""
    sam = make_responder(name, north_m=200)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                             description="By the bins",
                                             breathing=Answer.NO), now=timezone.now()).incident
    client = login(sam)
    offer = Offer.objects.get(responder=sam, incident=incident)
    client.post(f"/responder/offers/{offer.pk}/accept/")
    for step in ("on_scene", "resolved"):
        client.post(f"/responder/incidents/{incident.pk}/report/", {"type": step})
    return sam, client, incident


def url(incident: Incident) -> str:
    return f"/responder/incidents/{incident.pk}/outcome/"


def save_first(client: Client, incident: Incident) -> Outcome:
    r = client.post(url(incident), {"naloxone_doses": "2", "responsive_after": "yes",
                                     "ems": "not_needed", "referrals": ["housing"],
                                     "notes": NOTE, "replaces": ""}, follow=True)
    assert r.status_code == 200
    return Outcome.objects.get(incident=incident)


def forms_for(html: str, incident: Incident) -> int:
    return html.count(f'action="{url(incident)}"')


def selected(html: str, name: str) -> list[str]:
    """The values of the selected options of the <select name=...>."""
    match = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert match, name
    return re.findall(r'<option value="([^"]*)" selected>', match.group(1))


# -- the responder page ------------------------------------------------------------------


def test_it_offers_one_blank_form_with_no_answer_chosen(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    html = client.get("/responder/").content.decode()
    assert forms_for(html, incident) == 1
    # "Responsive afterwards?" starts with no answer: the empty choice, and required.
    assert selected(html, "responsive_after") == [""]
    assert re.search(r'<select name="responsive_after"[^>]*required', html)
    assert 'name="replaces" value=""' in html


def test_it_shows_the_saved_outcome_instead_of_a_form(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    save_first(client, incident)
    html = client.get("/responder/").content.decode()
    assert forms_for(html, incident) == 0
    summary = re.search(rf'<dl class="outcome" id="outcome-{incident.pk}">(.*?)</dl>', html,
                        re.S)
    assert summary, html
    text = summary.group(1)
    assert "<dd>2</dd>" in text
    assert "<dd>Yes</dd>" in text
    assert "<dd>Not needed</dd>" in text
    assert "<dd>housing</dd>" in text
    assert NOTE in text
    assert f'href="{url(incident)}"' in html  # the explicit "Edit"


def test_it_shows_one_form_or_one_summary_per_incident(make_responder) -> None:
    sam, client, first = resolved(make_responder)
    save_first(client, first)
    second = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                           breathing=Answer.NO), now=timezone.now()).incident
    client.post(f"/responder/offers/{Offer.objects.get(responder=sam, incident=second).pk}"
                "/accept/")
    for step in ("on_scene", "resolved"):
        client.post(f"/responder/incidents/{second.pk}/report/", {"type": step})
    html = client.get("/responder/").content.decode()
    assert forms_for(html, first) == 0
    assert html.count(f'id="outcome-{first.pk}"') == 1
    assert forms_for(html, second) == 1
    assert f'id="outcome-{second.pk}"' not in html


# -- never a silent overwrite --------------------------------------------------------------


def test_it_refuses_a_form_of_defaults_over_a_saved_outcome(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    saved = save_first(client, incident)
    # A form left on another tab from before the save: it says it records a new outcome.
    r = client.post(url(incident), {"naloxone_doses": "0", "responsive_after": "unknown",
                                     "ems": "not_needed", "replaces": ""}, follow=True)
    assert any("already saved" in str(m) for m in r.context["messages"])
    again = Outcome.objects.get(incident=incident)
    assert again.naloxone_doses == 2
    assert again.notes == NOTE
    assert again.referrals == ["housing"]
    assert again.recorded_at == saved.recorded_at


def test_it_refuses_a_form_that_does_not_say_what_it_edits(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    save_first(client, incident)
    client.post(url(incident), {"naloxone_doses": "0", "responsive_after": "no",
                                "ems": "not_needed"})
    assert Outcome.objects.get(incident=incident).naloxone_doses == 2


def test_it_refuses_an_outcome_with_no_answer_for_responsive_afterwards(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    r = client.post(url(incident), {"naloxone_doses": "1", "ems": "not_needed",
                                     "replaces": ""})
    assert r.status_code == 400
    assert "Responsive afterwards" in r.content.decode()
    assert not Outcome.objects.filter(incident=incident).exists()


# -- editing on purpose ----------------------------------------------------------------------


def test_it_opens_the_edit_form_filled_with_the_saved_outcome(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    saved = save_first(client, incident)
    r = client.get(url(incident))
    assert r.status_code == 200
    html = r.content.decode()
    assert forms_for(html, incident) == 1
    assert re.search(r'name="naloxone_doses"[^>]*value="2"', html)
    assert selected(html, "responsive_after") == ["yes"]
    assert selected(html, "ems") == ["not_needed"]
    assert re.search(r'value="housing"[^>]*checked', html)
    assert not re.search(r'value="detox"[^>]*checked', html)
    assert f">{NOTE}</textarea>" in html
    assert f'name="replaces" value="{saved.recorded_at.isoformat()}"' in html
    assert "no-cache" in r["Cache-Control"] or "no-store" in r["Cache-Control"]


def test_it_saves_an_edit(make_responder) -> None:
    sam, client, incident = resolved(make_responder)
    saved = save_first(client, incident)
    r = client.post(url(incident), {
        "naloxone_doses": "3", "responsive_after": "no", "ems": "requested",
        "referrals": ["housing", "detox"], "notes": NOTE + ", later",
        "replaces": saved.recorded_at.isoformat()}, follow=True)
    assert "Outcome updated." in [str(m) for m in r.context["messages"]]
    edited = Outcome.objects.get(incident=incident)
    assert (edited.naloxone_doses, edited.responsive_after, edited.ems) == (3, "no",
                                                                           "requested")
    assert edited.referrals == ["detox", "housing"]
    assert edited.notes == NOTE + ", later"
    assert edited.recorded_by_user_id == sam.user_id
    event = incident.events.filter(type="outcome").order_by("-id").first()
    assert event is not None and event.data["corrected"] is True


def test_it_refuses_an_edit_of_an_outcome_changed_since(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    saved = save_first(client, incident)
    opened_at = saved.recorded_at.isoformat()
    client.post(url(incident), {"naloxone_doses": "3", "responsive_after": "yes",
                                "ems": "not_needed", "notes": NOTE, "replaces": opened_at})
    # A second tab, opened before that edit, saves with what it showed.
    r = client.post(url(incident), {"naloxone_doses": "1", "responsive_after": "no",
                                     "ems": "not_needed", "replaces": opened_at}, follow=True)
    assert any("changed since" in str(m) for m in r.context["messages"])
    assert Outcome.objects.get(incident=incident).naloxone_doses == 3


def test_it_shows_the_form_again_as_typed_when_something_is_wrong(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    saved = save_first(client, incident)
    r = client.post(url(incident), {"naloxone_doses": "25", "responsive_after": "no",
                                     "ems": "declined", "notes": "typed",
                                     "replaces": saved.recorded_at.isoformat()})
    assert r.status_code == 400
    html = r.content.decode()
    assert "from 0 to 20" in html
    assert re.search(r'name="naloxone_doses"[^>]*value="25"', html)
    assert selected(html, "responsive_after") == ["no"]
    assert ">typed</textarea>" in html
    assert Outcome.objects.get(incident=incident).naloxone_doses == 2


def test_it_hides_another_responders_outcome_page(make_responder) -> None:
    _sam, _client, incident = resolved(make_responder)
    alex = make_responder("alex", north_m=400)
    assert login(alex).get(url(incident)).status_code == 404


def test_it_answers_a_stale_edit_form_token_with_a_message(make_responder) -> None:
    _sam, client, incident = resolved(make_responder)
    save_first(client, incident)
    r = client.post(url(incident), {"naloxone_doses": "1", "responsive_after": "no",
                                     "ems": "not_needed", "replaces": "yesterday"})
    assert r.status_code == 400
    assert "out of date" in r.content.decode()
    assert Outcome.objects.get(incident=incident).naloxone_doses == 2
