"""The person always hears the truth about their request (issue 13, item 1): offered to
how many, widening, nobody left to ask, nobody accepted in time and an ambulance
proposed or requested; what they can do themselves; by page, API and SMS alike."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from spotline.conftest import T0, Api
from spotline.core.geo import Point
from spotline.core.policy import Actor, DispatchPolicy
from spotline.core.triage import Priority
from spotline.dispatch.actions.relocate import incident_relocate
from spotline.dispatch.models import Incident, LocatedBy
from spotline.dispatch.timers import fire_due
from spotline.intake.sms import sms_receive
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
HOTLINE = "+358401234567"
ASK_WHERE = ("We need to know where you are to send someone: text us an address, a street "
             "corner or a place nearby.")


@pytest.fixture(autouse=True)
def numbers(settings):
    settings.SPOTLINE_HOTLINE = HOTLINE
    settings.SPOTLINE_EMERGENCY_NUMBER = "112"
    settings.SPOTLINE_SITE_URL = "https://help.example.org"


def ask(**overrides: Any) -> dict[str, Any]:
    body = {"kind": "overdose", "location": {"lat": 60.1699, "lon": 24.9384},
            "breathing": "no", **overrides}
    with time_machine.travel(T0, tick=False):
        r = Api().post("/api/v1/incidents", body)
    assert r.status_code == 201, r.content
    return r.json()


def track(token: str, at) -> dict[str, Any]:
    with time_machine.travel(at, tick=False):
        r = Api().get(f"/api/v1/track/{token}")
    assert r.status_code == 200, r.content
    return r.json()


def five_on_shift(make_responder) -> None:
    # 2 to 8 min away on foot: all within the 8 minutes under which a P1 overdose gets
    # no ambulance proposed while they are being asked.
    for n in range(5):
        make_responder(north_m=100 + 80 * n)


def test_a_p1_nobody_accepts_is_told_at_every_stage(make_responder) -> None:
    five_on_shift(make_responder)
    token = ask()["tracking_token"]
    body = track(token, T0)
    assert body["stage"] == "finding" and body["offered_to"] == 3
    assert body["message"] == "We asked 3 responders nearby. Waiting for one to accept."
    assert body["hotline"] == HOTLINE and body["emergency_number"] == "112"

    fire_due(now=T0 + 45 * S)  # the first round ran out: the two further away are asked
    body = track(token, T0 + 45 * S)
    assert body["stage"] == "widening" and body["offered_to"] == 2
    assert "asking 2 more responders, further away" in body["message"]

    fire_due(now=T0 + 90 * S)  # nobody is left to ask: for an overdose, an ambulance
    body = track(token, T0 + 90 * S)
    assert body["stage"] == "ambulance_proposed" and body["offered_to"] == 0
    assert body["message"] == ("Nobody who could get there quickly is free. A dispatcher "
                               "has been alerted, and an ambulance was proposed to them.")

    deadline = T0 + 120 * S
    fire_due(now=deadline)
    body = track(token, deadline + 5 * S)  # within 5 s of the deadline, it says so
    assert body["stage"] == "ambulance_proposed"
    assert body["message"] == ("Nobody has accepted in time. A dispatcher has been alerted, "
                               "and an ambulance was proposed to them.")
    assert body["status"] == "dispatching" and body["closed"] is False
    assert "police" not in str(body).lower()


def test_nobody_on_shift_is_unanswered_from_the_start() -> None:
    token = ask(breathing="yes", conscious="yes")["tracking_token"]  # a P2
    body = track(token, T0)
    assert body["stage"] == "unanswered" and body["nobody_on_shift"] is True
    assert body["message"].startswith("No responder is on shift right now.")


def test_a_p1_overdose_with_nobody_on_shift_has_an_ambulance_proposed_from_the_start(
) -> None:
    token = ask()["tracking_token"]
    body = track(token, T0)
    assert body["stage"] == "ambulance_proposed" and body["nobody_on_shift"] is True
    assert body["message"] == ("No responder is on shift right now. A dispatcher has been "
                               "alerted, and an ambulance was proposed to them.")


def test_a_spanish_p2_hears_in_spanish_after_five_minutes(make_responder) -> None:
    make_responder(north_m=200)
    token = ask(breathing="yes", conscious="yes", language="es")["tracking_token"]
    body = track(token, T0)
    assert body["priority"] == "P2" and body["stage"] == "finding"
    assert body["message"] == "Pedimos ayuda a 1 persona cercana. Esperamos que acepte."
    fire_due(now=T0 + 90 * S)
    fire_due(now=T0 + 300 * S)
    body = track(token, T0 + 300 * S)
    assert body["stage"] == "ambulance_proposed"
    assert body["message"].startswith("Nadie aceptó a tiempo.")


def test_an_ambulance_requested_by_policy_is_said(settings, make_responder) -> None:
    make_responder(north_m=200)
    policy = settings.SPOTLINE_POLICY
    p1 = dataclasses.replace(policy[Priority.P1], auto_ems=True)
    settings.SPOTLINE_POLICY = DispatchPolicy(by_priority={**policy.by_priority,
                                                           Priority.P1: p1})
    token = ask()["tracking_token"]
    fire_due(now=T0 + 120 * S)
    body = track(token, T0 + 120 * S)
    assert body["stage"] == "ambulance_requested"
    assert body["message"] == "Our dispatcher has been asked to call an ambulance to you."


def test_the_status_page_says_it_and_offers_calls_only_while_nobody_accepted(
        make_responder) -> None:
    five_on_shift(make_responder)
    created = ask()
    token = created["tracking_token"]
    fire_due(now=T0 + 120 * S)
    with time_machine.travel(T0 + 120 * S, tick=False):
        html = Client().get(f"/t/{token}/").content.decode()
    assert 'data-stage="ambulance_proposed"' in html
    assert 'class="notice"' in html and "an ambulance was proposed" in html
    assert 'href="tel:112"' in html and f'href="tel:{HOTLINE}"' in html
    assert "What you can do now" in html
    assert "police" not in html.lower().replace("we never send police", "")


# -- the SMS thread ----------------------------------------------------------------------


def status_texts() -> list[str]:
    return [unseal(m.body_sealed, context="message.body")
            for m in Message.objects.filter(purpose="status").order_by("id")]


def test_a_person_who_texted_hears_each_stage_once_by_sms(make_responder) -> None:
    five_on_shift(make_responder)
    replies = sms_receive(sid="SM1", from_number="+15550104242",
                          body="my friend isn't breathing behind the 7-11 on 5th", now=T0)
    assert any("7-11" in r for r in replies)
    # The test gazetteer is empty: no point, so nobody is offered it and the person is
    # asked where; a dispatcher then sets the place on the map.
    assert status_texts() == [ASK_WHERE]
    incident_relocate(incident_id=Incident.objects.get().pk, point=Point(60.1699, 24.9384),
                      located_by=LocatedBy.MAP, actor=Actor.DISPATCHER, now=T0)
    for at in (45, 90, 120, 121, 200):
        fire_due(now=T0 + at * S)
    texts = status_texts()
    assert texts[1] == ("Still looking: nobody has accepted yet, so we are asking more "
                        "responders.")
    # Nobody left to ask for an overdose: the ambulance is proposed then, not at 120 s,
    # in one text that also says nobody near is free (not that, and this, twice).
    assert texts[2].startswith("Nobody who could get to you quickly is free. A dispatcher "
                               "has been alerted.")
    assert "you can call 112 yourself" in texts[2] and HOTLINE in texts[2]
    assert len(texts) == 3, texts  # each stage once, however often the timers fire
    assert not any(re.search(r"polic", t, re.I) for t in texts)
    incident = Incident.objects.get()
    assert {m.incident_id for m in Message.objects.filter(purpose="status")} == {incident.pk}


def test_a_web_request_gets_no_texts() -> None:
    ask()
    fire_due(now=T0 + 120 * S)
    assert status_texts() == []
