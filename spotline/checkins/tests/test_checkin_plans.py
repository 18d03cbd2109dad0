"""Personal response plans: whom a missed check-in sends (responders, a trusted person,
an ambulance, or a mix), how to get in, and saved plans the person can delete."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn, SavedPlan
from spotline.checkins.plans import plans_expire
from spotline.conftest import CENTRE, T0, raw_rows
from spotline.dispatch.models import Incident, Offer
from spotline.intake.sms import sms_receive
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
JSON = "application/json"
TRUSTED = "+15550100177"
ACCESS = "Side door, key under the blue pot"


@pytest.fixture(autouse=True)
def grace(settings):
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60


def post(body: dict, at=T0):
    with time_machine.travel(at, tick=False):
        return Client().post("/api/v1/checkins", json.dumps(body), content_type=JSON)


def start(**overrides) -> dict:
    body = {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon,
                         "description": "Flat 3B, Kallio"}, "minutes": 5, **overrides}
    r = post(body)
    assert r.status_code == 201, r.content
    return r.json()


def silence(minutes: int = 5) -> None:
    due = T0 + timedelta(minutes=minutes)
    for after in (0, 60, 120):
        fire_due_checkins(now=due + after * S)


def bodies(purpose: str) -> list[str]:
    return [unseal(m.body_sealed, context="message.body")
            for m in Message.objects.filter(purpose=purpose)]


def test_the_trusted_person_is_texted_the_place_and_how_to_get_in(make_responder) -> None:
    make_responder("sam", north_m=100)
    created = start(access=ACCESS, send=["responders", "trusted"],
                    trusted={"phone": TRUSTED, "name": "Kim", "from_name": "Alex"})
    assert not any(TRUSTED[2:] in row or "Kim" in row or "blue pot" in row
                   for row in raw_rows(CheckIn)), "the plan is sealed from the start"
    silence()
    checkin = CheckIn.objects.get(pk=created["id"])
    assert checkin.state == "escalated" and checkin.trusted_sealed == ""
    (text,) = bodies("checkin_trusted")
    assert "Alex" in text and "Flat 3B, Kallio" in text and ACCESS in text
    assert f"mlat={CENTRE.lat:.5f}" in text and "responders are on the way" in text
    message = Message.objects.get(purpose="checkin_trusted")
    assert unseal(message.to_sealed, context="message.to") == TRUSTED
    assert message.channels == ["sms", "voice"]
    # Responders too, and they learn how to get in.
    incident = Incident.objects.get()
    assert ACCESS in incident.details and Offer.objects.filter(incident=incident).exists()
    html = Client().get(f"/c/{created['token']}/").content.decode()
    assert "We texted the person you trust" in html


def test_a_trusted_person_only_plan_opens_no_incident(make_responder) -> None:
    make_responder("sam", north_m=100)
    created = start(send=["trusted"], trusted={"phone": TRUSTED})
    silence()
    assert CheckIn.objects.get(pk=created["id"]).state == "escalated"
    assert not Incident.objects.exists()
    (text,) = bodies("checkin_trusted")
    assert "Someone who trusts you" in text and "on the way" not in text
    got = Client().get(f"/api/v1/checkins/{created['token']}").json()
    assert got["escalated"] is True and got["send"] == ["trusted"]


def test_an_ambulance_only_plan_offers_no_responder_and_asks_for_the_ambulance(
        make_responder) -> None:
    make_responder("sam", north_m=100)
    start(send=["ems"])
    silence()
    incident = Incident.objects.get()
    assert incident.state == "new" and not Offer.objects.exists()
    assert incident.ems_requested_by == "policy" and incident.attention == "ems_requested"


def test_on_miss_responders_and_ems_still_adds_the_ambulance_to_a_plan() -> None:
    created = start(on_miss="responders_and_ems", send=["responders"])
    assert CheckIn.objects.get(pk=created["id"]).send == ["ems", "responders"]


@pytest.mark.parametrize("body, needle", [
    ({"send": ["trusted"]}, "trusted.phone"),
    ({"send": []}, "send"),
    ({"send": ["police"]}, "send"),
    ({"trusted": {"phone": "not a phone"}}, "phone"),
    ({"location": None}, "location"),
    ({"plan_token": "../../etc"}, "plan_token"),
])
def test_bad_plans_are_refused_clearly(body: dict, needle: str) -> None:
    full = {"location": {"description": "somewhere"}, **body}
    if body.get("location", 1) is None:
        full.pop("location")
    r = post(full)
    assert r.status_code == 422, r.content
    assert needle in r.content.decode()
    assert not CheckIn.objects.exists()


def test_a_saved_plan_is_reused_overridden_and_deleted_by_the_person() -> None:
    created = start(access=ACCESS, minutes=12, save_plan=True, phone="+15550100188",
                    send=["responders", "trusted"], trusted={"phone": TRUSTED, "name": "Kim"})
    plan_token = created["plan_token"]
    assert plan_token and SavedPlan.objects.count() == 1
    (raw,) = raw_rows(SavedPlan)
    assert "Kim" not in raw and "blue pot" not in raw and "Kallio" not in raw
    Client().post(f"/api/v1/checkins/{created['token']}/done", content_type=JSON)
    assert SavedPlan.objects.count() == 1, "ending a check-in keeps the plan they saved"

    got = Client().get(f"/api/v1/checkins/plans/{plan_token}").json()
    assert got["access"] == ACCESS and got["minutes"] == 12
    assert got["trusted"]["name"] == "Kim" and got["location"]["description"] == "Flat 3B, Kallio"

    again = post({"plan_token": plan_token, "minutes": 3}, at=T0 + timedelta(days=2))
    assert again.status_code == 201, again.content
    checkin = CheckIn.objects.get(pk=again.json()["id"])
    assert checkin.minutes == 3 and checkin.send == ["responders", "trusted"]
    assert checkin.trusted_sealed and checkin.phone_digest
    assert SavedPlan.objects.get().used_at == T0 + timedelta(days=2)

    r = Client().delete(f"/api/v1/checkins/plans/{plan_token}")
    assert r.status_code == 204 and not SavedPlan.objects.exists()
    assert Client().get(f"/api/v1/checkins/plans/{plan_token}").status_code == 404
    assert Client().delete(f"/api/v1/checkins/plans/{plan_token}").status_code == 404
    assert post({"plan_token": plan_token}).status_code == 404


def test_unused_plans_are_deleted_after_the_keep_window(settings) -> None:
    settings.SPOTLINE_PLAN_KEEP_DAYS = 30
    start(save_plan=True)
    assert plans_expire(now=T0 + timedelta(days=30)) == 0
    assert plans_expire(now=T0 + timedelta(days=30, seconds=1)) == 1
    assert not SavedPlan.objects.exists()


def test_the_web_page_starts_saves_reuses_and_deletes_a_plan(make_responder) -> None:
    client = Client()
    with time_machine.travel(T0, tick=False):
        r = client.post("/checkin/", {
            "where": "Room 12, the motel on 5th", "access": ACCESS, "minutes": "4",
            "send": ["responders", "trusted"], "trusted_phone": TRUSTED,
            "trusted_name": "Kim", "save_plan": "on"})
    assert r.status_code == 302
    _, _, fragment = r["Location"].partition("#")
    assert fragment.startswith("plan=")
    plan_token = fragment.removeprefix("plan=")
    checkin = CheckIn.objects.get()
    assert checkin.send == ["responders", "trusted"] and checkin.minutes == 4

    form = client.get(f"/checkin/p/{plan_token}/").content.decode()
    assert "Room 12, the motel on 5th" in form and ACCESS in form and TRUSTED in form
    assert 'value="trusted" id="id_send_1" checked' in form
    assert 'value="ems" id="id_send_2">' in form  # not ticked: not in the plan
    r = client.post(f"/checkin/p/{plan_token}/", {
        "where": "Room 12, the motel on 5th", "access": ACCESS, "minutes": "6",
        "send": ["trusted"], "trusted_phone": TRUSTED})
    assert r.status_code == 302 and "#" not in r["Location"]
    assert CheckIn.objects.order_by("-pk").first().send == ["trusted"]

    r = client.post(f"/checkin/p/{plan_token}/delete/")
    assert r.status_code == 200 and "Saved plan deleted" in r.content.decode()
    assert not SavedPlan.objects.exists()
    gone = client.get(f"/checkin/p/{plan_token}/")
    assert gone.status_code == 404 and "No saved plan here" in gone.content.decode()
    # Deleting twice answers the same: nothing tells whether it existed.
    assert client.post(f"/checkin/p/{plan_token}/delete/").status_code == 200


def test_the_plan_token_reaches_the_server_only_in_a_post_body(make_responder) -> None:
    """Issue 13, item 17: the saved link is /checkin/#plan=…; the page posts the token
    (or the person pastes the link) and no URL the server sees ever holds it."""
    client = Client()
    with time_machine.travel(T0, tick=False):
        r = client.post("/checkin/", {
            "where": "Room 12, the motel on 5th", "access": ACCESS, "minutes": "4",
            "send": ["responders"], "save_plan": "on"})
    plan_token = r["Location"].partition("#plan=")[2]
    assert plan_token
    start_page = client.get("/checkin/").content.decode()
    assert 'action="/checkin/plan/"' in start_page and 'id="plan-paste"' in start_page

    for given in ({"plan_token": plan_token},
                  {"plan_link": f"https://help.example.org/checkin/#plan={plan_token}"},
                  {"plan_link": f"https://help.example.org/checkin/p/{plan_token}/ "}):
        r = client.post("/checkin/plan/", {"step": "open", **given})
        assert r.status_code == 200, given
        form = r.content.decode()
        assert "Room 12, the motel on 5th" in form and ACCESS in form
        # The token is in the page only as a form value, never in a link or an action.
        assert re.findall(rf'(?:href|action)="[^"]*{plan_token}', form) == []
        assert f'name="plan_token" value="{plan_token}"' in form
    r = client.post("/checkin/plan/", {
        "plan_token": plan_token, "where": "Room 12, the motel on 5th", "access": ACCESS,
        "minutes": "6", "send": ["responders"]})
    assert r.status_code == 302 and r["Location"].startswith("/c/")
    assert plan_token not in r["Location"]
    assert CheckIn.objects.order_by("-pk").first().minutes == 6

    bad = client.post("/checkin/plan/", {"step": "open", "plan_link": "not a plan"})
    assert bad.status_code == 404 and "No saved plan here" in bad.content.decode()
    r = client.post("/checkin/plan/delete/", {"plan_token": plan_token})
    assert r.status_code == 200 and not SavedPlan.objects.exists()
    assert client.post("/checkin/plan/", {"step": "open", "plan_token": plan_token}
                       ).status_code == 404


def test_the_web_form_asks_for_the_trusted_persons_phone() -> None:
    r = Client().post("/checkin/", {"where": "the park", "minutes": "5", "send": ["trusted"]})
    assert r.status_code == 400 and "Give their phone" in r.content.decode()
    assert not CheckIn.objects.exists()


def test_a_new_check_in_by_text_replaces_the_running_one_but_the_api_never_does() -> None:

    phone = "+15550100199"
    sms_receive(sid="SM" + "1" * 32, from_number=phone, body="SPOT 5 the old place", now=T0)
    old = CheckIn.objects.get()
    # Someone else giving that number on the web or the API must not switch it off.
    other = start(phone=phone, minutes=10, location={"description": "elsewhere"})
    old.refresh_from_db()
    assert old.state == "active"
    sms_receive(sid="SM" + "2" * 32, from_number=phone, body="SPOT 10 the new place",
                now=T0 + S)
    old.refresh_from_db()
    assert old.state == "ended" and old.place_sealed == ""
    # The phone's own text ends every check-in that names it (its owner is answering).
    assert CheckIn.objects.get(pk=other["id"]).state == "ended"
    assert CheckIn.objects.filter(state="active").count() == 1
