"""A responder's safety timer through the API: arriving on scene starts it, "I'm OK"
extends it, silence (or "need backup") sends the nearest other responders, leaving the
scene ends it, and nobody sees or extends anyone else's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils.dateparse import parse_datetime

from spotline.conftest import CENTRE, T0, Api, api_for, fire_timers, offset
from spotline.dispatch.models import Incident, Offer, SafetyTimer
from spotline.notify.models import Message
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
MIN = timedelta(minutes=1)
GRACE = 60 * S
ARRIVED = T0 + 5 * MIN  # when Sam reports on scene
DUE = ARRIVED + 15 * MIN  # the first check
URL = "/api/v1/me/safety"
PLACE = offset(CENTRE, 57, -83)


@pytest.fixture(autouse=True)
def timings(settings: Any) -> None:
    settings.SPOTLINE_SAFETY_MINUTES = 15
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60


@pytest.fixture
def sam(make_responder: Any) -> Responder:
    return make_responder("sam", north_m=100)


@pytest.fixture
def ana(make_responder: Any) -> Responder:
    return make_responder("ana", north_m=300)


def at(moment: datetime) -> Any:
    return time_machine.travel(moment, tick=False)


def on_scene(public_api: Api, responder: Responder) -> tuple[Api, int]:
    """A request near ``responder``, accepted, and them on scene at ARRIVED."""
    body = {"kind": "overdose", "location": {"lat": PLACE.lat, "lon": PLACE.lon},
            "breathing": "no"}
    with at(T0):
        r = public_api.post("/api/v1/incidents", body)
    assert r.status_code == 201, r.content
    incident_id = r.json()["id"]
    api = api_for(responder)
    offer = Offer.objects.get(responder=responder, incident_id=incident_id)
    with at(T0 + 10 * S):
        assert api.post(f"/api/v1/offers/{offer.pk}/accept").status_code == 200
    report(api, incident_id, "on_scene", ARRIVED)
    return api, incident_id


def report(api: Api, incident_id: int, type: str, moment: datetime) -> None:
    with at(moment):
        r = api.post(f"/api/v1/incidents/{incident_id}/events", {"type": type})
    assert r.status_code == 200, r.content


def timer(api: Api, moment: datetime = ARRIVED) -> dict[str, Any]:
    with at(moment):
        r = api.get(URL)
    assert r.status_code == 200, r.content
    return dict(r.json())


def ok(api: Api, moment: datetime, body: dict[str, Any] | None = None) -> Any:
    with at(moment):
        return api.post(f"{URL}/ok", body)


def when(body: dict[str, Any], field: str = "next_check_at") -> datetime | None:
    value = body[field]
    return parse_datetime(value) if value else None


def state_at(moment: datetime, responder: Responder) -> str:
    fire_timers(now=moment)
    return SafetyTimer.objects.get(responder=responder).state


def backup_for(incident_id: int) -> Incident:
    return Incident.objects.get(backup_for_id=incident_id)


# -- the timer starts on arrival ------------------------------------------------------------


def test_it_shows_no_timer_before_arriving(sam: Responder) -> None:
    assert timer(api_for(sam)) == {"running": False, "state": None, "next_check_at": None,
                                   "backup_at": None, "minutes": None, "incident_id": None,
                                   "backup_sent": False}


def test_it_starts_the_timer_when_the_responder_reports_on_scene(sam, public_api) -> None:
    api, incident_id = on_scene(public_api, sam)
    body = timer(api)
    assert body["running"] is True
    assert body["state"] == "active"
    assert body["minutes"] == 15
    assert body["incident_id"] == incident_id
    assert body["backup_sent"] is False
    assert when(body) == ARRIVED + 15 * MIN
    # Silence sends backup after the check and both grace periods.
    assert when(body, "backup_at") == ARRIVED + 15 * MIN + 2 * GRACE


def test_it_starts_no_timer_on_the_way(sam, public_api) -> None:
    body = {"kind": "overdose", "location": {"lat": PLACE.lat, "lon": PLACE.lon}}
    with at(T0):
        incident_id = public_api.post("/api/v1/incidents", body).json()["id"]
    api = api_for(sam)
    offer = Offer.objects.get(responder=sam, incident_id=incident_id)
    with at(T0 + 10 * S):
        api.post(f"/api/v1/offers/{offer.pk}/accept")
    report(api, incident_id, "en_route", T0 + 20 * S)
    assert timer(api)["running"] is False


# -- I'm OK --------------------------------------------------------------------------------


def test_it_extends_the_timer_by_the_same_interval_on_im_ok(sam, public_api) -> None:
    api, _ = on_scene(public_api, sam)
    r = ok(api, ARRIVED + 10 * MIN)
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "active"
    assert when(r.json()) == ARRIVED + 25 * MIN
    assert when(timer(api, ARRIVED + 10 * MIN)) == ARRIVED + 25 * MIN
    # The old deadline does nothing now.
    assert state_at(DUE, sam) == "active"


def test_it_extends_the_timer_by_the_chosen_minutes(sam, public_api) -> None:
    api, _ = on_scene(public_api, sam)
    r = ok(api, ARRIVED + 10 * MIN, {"minutes": 30})
    assert r.status_code == 200, r.content
    assert r.json()["minutes"] == 30
    assert when(r.json()) == ARRIVED + 40 * MIN
    # The new interval sticks: the next plain OK waits 30 minutes too.
    r = ok(api, ARRIVED + 20 * MIN)
    assert when(r.json()) == ARRIVED + 50 * MIN


def test_it_takes_im_ok_after_a_missed_check(sam, public_api) -> None:
    api, _ = on_scene(public_api, sam)
    assert state_at(DUE, sam) == "asked"
    asked = timer(api, DUE)
    assert asked["running"] is True and asked["state"] == "asked"
    assert when(asked, "backup_at") == DUE + 2 * GRACE
    assert state_at(DUE + GRACE, sam) == "warned"
    assert when(timer(api, DUE + GRACE), "backup_at") == DUE + 2 * GRACE

    r = ok(api, DUE + GRACE + 30 * S)
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "active"
    assert state_at(DUE + 2 * GRACE, sam) == "active"
    assert not Incident.objects.filter(backup_for__isnull=False).exists()


@pytest.mark.parametrize("minutes", [0, 61, -5, "15", 1.5, None, True])
def test_it_refuses_bad_minutes(sam, public_api, minutes: Any) -> None:
    api, _ = on_scene(public_api, sam)
    before = SafetyTimer.objects.get(responder=sam).next_at
    body = {"minutes": minutes}
    if minutes is None:  # explicitly null is "the same interval": allowed
        assert ok(api, ARRIVED + MIN, body).status_code == 200
        return
    r = ok(api, ARRIVED + MIN, body)
    assert r.status_code == 422, r.content
    assert r.json()["detail"]
    assert SafetyTimer.objects.get(responder=sam).next_at == before


def test_it_answers_404_to_im_ok_without_a_timer(sam) -> None:
    r = ok(api_for(sam), ARRIVED)
    assert r.status_code == 404, r.content
    assert r.json()["detail"] == "no safety timer is running"


# -- backup ----------------------------------------------------------------------------------


def test_it_sends_backup_after_a_missed_check_and_both_grace_periods(sam, ana,
                                                                     public_api) -> None:
    api, incident_id = on_scene(public_api, sam)
    assert state_at(DUE - S, sam) == "active"
    assert state_at(DUE, sam) == "asked"
    assert Message.objects.filter(purpose="safety", responder=sam).count() == 1
    assert state_at(DUE + GRACE - S, sam) == "asked"
    assert state_at(DUE + GRACE, sam) == "warned"
    # The second try rings first.
    assert Message.objects.filter(purpose="safety", responder=sam).latest("id") \
        .channels[0] == "voice"
    assert not Incident.objects.filter(backup_for_id=incident_id).exists()
    assert state_at(DUE + 2 * GRACE - S, sam) == "warned"

    assert state_at(DUE + 2 * GRACE, sam) == "escalated"
    backup = backup_for(incident_id)
    assert (backup.priority, backup.source, backup.kind) == ("P1", "backup", "overdose")
    offered = set(Offer.objects.filter(incident=backup).values_list("responder_id", "status"))
    assert offered == {(ana.pk, "pending")}  # Sam, in trouble, is never offered his own
    original = Incident.objects.get(pk=incident_id)
    assert original.attention == "missed_safety_check"

    body = timer(api, DUE + 2 * GRACE)
    assert body["running"] is False
    assert body["state"] == "escalated"
    assert body["backup_sent"] is True
    assert body["next_check_at"] is None
    assert body["incident_id"] == incident_id
    # Too late for I'm OK: backup is already on the way.
    assert ok(api, DUE + 2 * GRACE + S).status_code == 404


def test_it_sends_backup_on_need_backup_and_keeps_the_timer(sam, ana, public_api) -> None:
    api, incident_id = on_scene(public_api, sam)
    report(api, incident_id, "need_backup", ARRIVED + 2 * MIN)
    backup = backup_for(incident_id)
    assert (backup.priority, backup.source) == ("P1", "backup")
    assert set(Offer.objects.filter(incident=backup).values_list("responder_id", flat=True)) \
        == {ana.pk}
    assert Incident.objects.get(pk=incident_id).attention == "need_backup"
    body = timer(api, ARRIVED + 2 * MIN)
    assert body["backup_sent"] is True
    assert body["running"] is True and body["state"] == "active"
    # Asking twice sends one backup.
    report(api, incident_id, "need_backup", ARRIVED + 3 * MIN)
    assert Incident.objects.filter(backup_for_id=incident_id).count() == 1


def test_it_sends_no_second_backup_when_a_check_is_missed_after_need_backup(
        sam, ana, public_api) -> None:
    api, incident_id = on_scene(public_api, sam)
    report(api, incident_id, "need_backup", ARRIVED + MIN)
    for moment in (DUE, DUE + GRACE, DUE + 2 * GRACE):
        fire_timers(now=moment)
    assert Incident.objects.filter(backup_for_id=incident_id).count() == 1
    assert Incident.objects.get(pk=incident_id).attention == "missed_safety_check"


# -- the timer ends with the scene -----------------------------------------------------------


@pytest.mark.parametrize("leaving", ["resolved", "unable_to_locate"])
def test_it_ends_the_timer_when_the_responder_leaves_the_scene(sam, ana, public_api,
                                                                leaving: str) -> None:
    api, incident_id = on_scene(public_api, sam)
    report(api, incident_id, leaving, ARRIVED + 5 * MIN)
    body = timer(api, ARRIVED + 5 * MIN)
    assert body["running"] is False
    assert body["state"] == "ended"
    assert body["next_check_at"] is None
    for moment in (DUE, DUE + GRACE, DUE + 2 * GRACE):
        fire_timers(now=moment)
    assert SafetyTimer.objects.get(responder=sam).state == "ended"
    assert not Incident.objects.filter(backup_for_id=incident_id).exists()
    assert not Message.objects.filter(purpose="safety").exists()
    assert ok(api, ARRIVED + 6 * MIN).status_code == 404


# -- only your own -----------------------------------------------------------------------------


def test_it_never_shows_or_extends_someone_elses_timer(sam, ana, public_api) -> None:
    on_scene(public_api, sam)
    theirs = api_for(ana)
    assert timer(theirs)["running"] is False
    assert timer(theirs)["incident_id"] is None
    assert ok(theirs, ARRIVED + MIN).status_code == 404
    assert ok(theirs, ARRIVED + MIN, {"minutes": 60}).status_code == 404
    safety = SafetyTimer.objects.get(responder=sam)
    assert (safety.next_at, safety.minutes) == (DUE, 15)


def test_it_shows_each_responder_their_own_timer(sam, ana, make_responder,
                                                 public_api) -> None:
    make_responder("kim", north_m=500)  # someone free for the second request
    sams, first = on_scene(public_api, sam)
    anas, second = on_scene(public_api, ana)
    assert timer(sams)["incident_id"] == first
    assert timer(anas)["incident_id"] == second
    assert ok(anas, ARRIVED + MIN, {"minutes": 30}).status_code == 200
    assert when(timer(sams)) == DUE
    assert when(timer(anas)) == ARRIVED + 31 * MIN


@pytest.mark.parametrize(("method", "path"), [("get", URL), ("post", f"{URL}/ok")])
def test_it_answers_401_without_credentials_and_404_to_a_dispatcher(
        dispatcher_api, method: str, path: str) -> None:
    r = getattr(Api(), method)(path)
    assert r.status_code == 401, r.content
    assert r.json()["detail"]
    r = getattr(Api("not-a-token"), method)(path)
    assert r.status_code == 401, r.content
    r = getattr(dispatcher_api, method)(path)
    assert r.status_code == 404, r.content
    assert r.json()["detail"] == "this endpoint is for responders"


def test_it_documents_the_safety_endpoints() -> None:
    schema = Api().get("/api/openapi.json").json()
    assert schema["paths"][URL]["get"]["summary"]
    assert schema["paths"][f"{URL}/ok"]["post"]["summary"]
    assert "responder" in schema["paths"][URL]["get"]["tags"]
