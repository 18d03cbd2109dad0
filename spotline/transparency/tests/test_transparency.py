"""The public transparency page: what we hold right now, as counts and ages only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from spotline.checkins.actions import checkin_done, checkin_start
from spotline.checkins.plans import Plan, Trusted, plan_delete, plan_save
from spotline.conftest import CENTRE, T0, offset
from spotline.core.checkin import OnMiss
from spotline.core.policy import Actor
from spotline.core.triage import Kind
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import Incident
from spotline.dispatch.timers import fire_due
from spotline.intake.sms import sms_receive
from spotline.notify.actions import message_queue
from spotline.notify.sender import send_due
from spotline.transparency import police

pytestmark = pytest.mark.django_db

MIN = timedelta(minutes=1)
H = timedelta(hours=1)

# Distinctive values that must never appear on the public side.
PLACE = "Zanzibar-blue door behind the Kallio sauna"
DETAILS = "Wearing a tangerine raincoat, lying by the recycling"
PHONE = "+358 40 918 2736"
PHONE_DIGITS = "409182736"
ACCESS = "Key under the flamingo pot"
TRUSTED = "+15550199881"
SMS_FROM = "+15550144772"
SMS_BODY = "my friend is not breathing behind the Quixotic Laundromat"
WHERE = offset(CENTRE, 250, 130)

CATEGORIES = {
    "incidents_open", "incidents_closed_awaiting_purge", "checkins_holding_place",
    "saved_checkin_plans", "sms_conversations", "sms_inbound_dedup",
    "outbox_messages_unsent", "idempotency_answers", "responders_sharing_location",
    "sms_opt_outs",
}


def get(path: str, at: datetime) -> Any:
    with time_machine.travel(at, tick=False):
        return Client().get(path)


def held(at: datetime) -> dict[str, dict[str, Any]]:
    response = get("/transparency/data.json", at)
    assert response.status_code == 200
    holdings: dict[str, dict[str, Any]] = response.json()["holdings"]
    return holdings


def open_incident(at: datetime, **kwargs: Any) -> Incident:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=WHERE, **kwargs),
                         now=at).incident


def test_it_counts_open_incidents_and_the_oldest_ones_age() -> None:
    assert held(T0)["incidents_open"] == {"count": 0, "oldest_age_seconds": None}
    open_incident(T0)
    open_incident(T0 + 10 * MIN)
    assert held(T0 + H)["incidents_open"] == {"count": 2, "oldest_age_seconds": 3600}


def test_it_moves_a_closed_incident_to_awaiting_purge_and_forgets_it_at_the_purge(
        settings) -> None:
    settings.SPOTLINE_RETENTION_HOURS = 6
    first = open_incident(T0)
    open_incident(T0 + 10 * MIN)
    incident_cancel(incident_id=first.pk, actor=Actor.PERSON, user_id=None,
                            now=T0 + H)

    now = held(T0 + 2 * H)
    assert now["incidents_open"] == {"count": 1, "oldest_age_seconds": 110 * 60}
    assert now["incidents_closed_awaiting_purge"] == {
        "count": 1, "oldest_age_seconds": 2 * 3600, "longest_since_closed_seconds": 3600}

    fire_due(now=T0 + 7 * H - MIN)  # not yet
    assert held(T0 + 7 * H - MIN)["incidents_closed_awaiting_purge"]["count"] == 1

    fire_due(now=T0 + 7 * H)  # closed + 6 h: the purge
    first.refresh_from_db()
    assert first.purged_at is not None
    after = held(T0 + 8 * H)
    assert after["incidents_closed_awaiting_purge"] == {
        "count": 0, "oldest_age_seconds": None, "longest_since_closed_seconds": None}
    assert after["incidents_open"]["count"] == 1


def test_it_counts_check_ins_until_they_end_and_saved_plans_until_deleted() -> None:
    started = checkin_start(location=WHERE, description=PLACE, minutes=5,
                                     on_miss=OnMiss.RESPONDERS, phone=PHONE, language="en",
                                     now=T0, access=ACCESS)
    token = plan_save(Plan(location=WHERE, description=PLACE,
                                             access=ACCESS, phone=PHONE), now=T0 + MIN)
    now = held(T0 + 3 * MIN)
    assert now["checkins_holding_place"] == {"count": 1, "oldest_age_seconds": 180}
    assert now["saved_checkin_plans"] == {"count": 1, "oldest_age_seconds": 120,
                                          "longest_unused_seconds": 120}

    checkin_done(checkin_id=started.checkin.pk, now=T0 + 4 * MIN)
    plan_delete(token=token)
    later = held(T0 + 5 * MIN)
    assert later["checkins_holding_place"] == {"count": 0, "oldest_age_seconds": None}
    assert later["saved_checkin_plans"]["count"] == 0


def test_it_counts_sms_conversations_inbound_ids_and_opt_outs() -> None:
    with time_machine.travel(T0, tick=False):
        sms_receive(sid="SM" + "1" * 32, from_number=SMS_FROM, body=SMS_BODY, now=T0)
        sms_receive(sid="SM" + "2" * 32, from_number=TRUSTED, body="STOP", now=T0 + MIN)
    now = held(T0 + 10 * MIN)
    assert now["sms_conversations"] == {"count": 1, "oldest_age_seconds": 600}
    assert now["sms_inbound_dedup"] == {"count": 2, "oldest_age_seconds": 600}
    assert now["sms_opt_outs"] == {"count": 1, "oldest_age_seconds": 540}


def test_it_counts_outbox_messages_until_they_are_sent() -> None:
    message_queue(key="transparency:1", purpose="status", body=DETAILS, channels=["sms"],
                  to=PHONE, now=T0)
    assert held(T0 + MIN)["outbox_messages_unsent"] == {"count": 1, "oldest_age_seconds": 60}
    send_due(now=T0 + MIN)
    assert held(T0 + 2 * MIN)["outbox_messages_unsent"]["count"] == 0


def test_it_counts_responders_sharing_a_location_only_while_on_shift(make_responder) -> None:
    sam = make_responder("sam", now=T0)
    make_responder("lee", on_shift=False)
    assert held(T0 + 30 * MIN)["responders_sharing_location"] == {
        "count": 1, "oldest_age_seconds": 1800}
    shift_set(responder=sam, on_shift=False, location=None, now=T0 + H)
    assert held(T0 + H)["responders_sharing_location"]["count"] == 0


def test_the_json_has_the_documented_keys(settings) -> None:
    settings.SPOTLINE_RETENTION_HOURS = 48
    body = get("/transparency/data.json", T0).json()
    assert set(body) == {"generated_at", "holdings", "retention", "policy"}
    assert body["generated_at"] == T0.isoformat()
    assert set(body["holdings"]) == CATEGORIES
    for key, row in body["holdings"].items():
        assert {"count", "oldest_age_seconds"} <= set(row), key
    assert body["retention"] == {
        "incident_after_close": {"seconds": 48 * 3600, "setting": "SPOTLINE_RETENTION_HOURS",
                                 "value": 48, "unit": "hours"},
        "unanswered_request_max_open": {"seconds": 12 * 3600, "value": 12, "unit": "hours",
                                        "setting": "SPOTLINE_MAX_OPEN_HOURS"},
        "saved_plan_unused": {"seconds": 30 * 86400, "setting": "SPOTLINE_PLAN_KEEP_DAYS",
                              "value": 30, "unit": "days"},
        "idempotency_answer": {"seconds": 86400, "setting": None, "value": 24,
                               "unit": "hours"},
        "sms_inbound": {"seconds": 86400, "setting": None, "value": 24, "unit": "hours"},
        "sms_answer": {"seconds": 600, "setting": None, "value": 10, "unit": "minutes"},
    }
    policy = body["policy"]
    assert policy["police_responder_kind"] is False
    assert policy["police_escalation"] is False
    assert policy["police_integration"] is False
    assert policy["last_escalation"] == "ambulance"
    assert set(policy) == {"police_responder_kind", "police_escalation", "police_integration",
                           "last_escalation", "ems_auto_request_priorities", "legal_demands"}


def test_the_page_is_public_and_says_what_we_hold(settings) -> None:
    settings.SPOTLINE_RETENTION_HOURS = 48
    open_incident(T0)
    response = get("/transparency/", T0 + 2 * H)
    assert response.status_code == 200
    html = response.content.decode()
    assert "What we hold about people, right now" in html
    assert "Open requests for help" in html
    assert "2\xa0hours" in html  # the oldest open request's age (Django's timesince)
    assert "48 hours after the request closes" in html
    assert "SPOTLINE_RETENTION_HOURS" in html
    assert "We never send the police" in html
    assert 'href="/transparency/data.json"' in html
    assert "<script" not in html  # nothing here needs JavaScript


def test_the_page_and_json_answer_only_reads() -> None:
    client = Client()
    assert client.post("/transparency/").status_code == 405
    assert client.post("/transparency/data.json").status_code == 405
    assert client.head("/transparency/data.json").status_code == 200


def test_nothing_personal_reaches_the_public_side(make_responder) -> None:
    make_responder("quetzal", at=offset(CENTRE, 40))
    open_incident(T0, description=PLACE, details=DETAILS, callback_phone=PHONE)
    checkin_start(location=WHERE, description=PLACE, minutes=5,
                           on_miss=OnMiss.RESPONDERS, phone=PHONE, language="en", now=T0,
                           access=ACCESS, trusted=Trusted(phone=TRUSTED, name="Kim"))
    with time_machine.travel(T0, tick=False):
        sms_receive(sid="SM" + "3" * 32, from_number=SMS_FROM, body=SMS_BODY, now=T0)
    secrets = [PLACE, "Zanzibar", DETAILS, "tangerine", PHONE, PHONE_DIGITS, ACCESS,
               "flamingo", TRUSTED, TRUSTED[1:], "Kim", SMS_FROM, SMS_FROM[1:], "Quixotic",
               "Quetzal", "quetzal", f"{WHERE.lat:.4f}", f"{WHERE.lon:.4f}"]
    for path in ("/transparency/", "/transparency/data.json"):
        text = get(path, T0 + MIN).content.decode()
        for secret in secrets:
            assert secret not in text, (path, secret)


def test_it_reads_aggregates_not_rows(django_assert_max_num_queries) -> None:
    for i in range(5):
        open_incident(T0 + i * MIN, description=PLACE)
    with django_assert_max_num_queries(10):
        get("/transparency/data.json", T0 + H)
    with django_assert_max_num_queries(10):
        get("/transparency/", T0 + H)


# -- the no-police promise is read from the code ------------------------------------------


def test_the_police_flags_come_from_what_the_code_can_do() -> None:
    # The vocabularies are the code's own: what a check-in can send, where an incident
    # can escalate, which providers exist. Not a list written for this page.
    assert {"ems", "trusted", "crisis_team"} <= set(police.escalation_vocabulary())
    assert {"overdose", "naloxone", "responder", "dispatcher"} <= set(
        police.responder_vocabulary())
    assert {"twilio", "sms", "voice", "hotline"} & set(police.integration_vocabulary())
    assert police.police_capabilities() == {"police_responder_kind": False,
                                            "police_escalation": False,
                                            "police_integration": False}
    # "policy" (who decided) and "polite" are not the police; these are.
    assert not police.names_police(["policy", "polite", "copper", "Cape Cod"])
    for word in ("police", "Police_Department", "policía", "law_enforcement", "sheriff",
                 "cops", "poliisi", "polis", "constable", "state_trooper"):
        assert police.names_police([word]), word


def test_the_page_would_say_so_if_the_code_could_reach_the_police(monkeypatch) -> None:
    assert "We never send the police" in get("/transparency/", T0).content.decode()
    real = police.escalation_vocabulary
    monkeypatch.setattr(police, "escalation_vocabulary", lambda: [*real(), "police"])
    response = get("/transparency/", T0)
    html = response.content.decode()
    assert "We never send the police" not in html
    assert "This software can reach the police" in html and "an escalation step" in html
    body = get("/transparency/data.json", T0).json()
    assert body["policy"]["police_escalation"] is True
    assert body["policy"]["police_responder_kind"] is False
