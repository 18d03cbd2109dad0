"""What is audited: every incident and check-in change, every look at an incident's or
a conversation's sensitive fields — and none of the data itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from spotline.accounts.actions import token_create, user_create
from spotline.accounts.models import Role
from spotline.audit.models import AuditEntry
from spotline.audit.tests.helpers import sql
from spotline.audit.verify import verify
from spotline.checkins.actions import checkin_ok, checkin_start
from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.conftest import CENTRE, T0, Api, login_staff
from spotline.core.checkin import OnMiss
from spotline.core.policy import Actor
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.dispatcher import incident_cancel, incident_note
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.actions.safety_timers import safety_ok
from spotline.dispatch.models import Offer
from spotline.intake.models import SmsConversation
from spotline.intake.sms import sms_receive

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
MIN = timedelta(minutes=1)

# Distinctive strings: none of them may ever reach the audit log.
PLACE = "Behind the teal door at 41 Quokka Lane"
DETAILS = "Wearing a Zanzibar-patterned scarf"
PHONE = "+15550100987"
NOTE = "Sister is called Marguerite-Okonkwo"
SMS_PHONE = "+15550100876"
SMS_TEXT = "my friend Bartholomew collapsed"
PERSONAL = [PLACE, "Quokka", DETAILS, "Zanzibar", PHONE, "5550100987", "0100987", NOTE,
            "Marguerite", SMS_PHONE, "5550100876", SMS_TEXT, "Bartholomew", "60.16", "24.93"]


@pytest.fixture
def dana() -> User:
    return user_create(name="dana", role=Role.DISPATCHER, password=None)


def client_for(user: User) -> Client:
    client = Client()
    login_staff(client, user)
    return client


def entries_for(object_type: str, object_id: int) -> list[tuple[str, str, int | None]]:
    return list(AuditEntry.objects.filter(object_type=object_type, object_id=object_id)
                .order_by("id").values_list("action", "actor", "actor_user_id"))


def open_distinctive(*, user_id: int | None = None) -> int:
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE, description=PLACE,
                 details=DETAILS, callback_phone=PHONE, breathing=Answer.NO,
                 opened_by_user_id=user_id), now=T0)
    return opened.incident.pk


def test_every_incident_change_is_audited_with_who(make_responder, dana: User) -> None:
    ana = make_responder("ana", north_m=100)
    incident_id = open_distinctive(user_id=dana.pk)
    offer = Offer.objects.get(incident_id=incident_id, responder=ana)
    offer_accept(offer_id=offer.pk, responder=ana, now=T0 + 10 * S)
    incident_cancel(incident_id=incident_id, actor=Actor.DISPATCHER,
                            user_id=dana.pk, now=T0 + MIN)
    assert entries_for("incident", incident_id) == [
        ("incident.opened", "dispatcher", dana.pk),
        ("incident.dispatch", "system", None),
        ("incident.offers_made", "system", None),
        ("incident.accept", "responder", ana.user_id),
        ("incident.cancel", "dispatcher", dana.pk),
        ("incident.unserved", "system", None),
    ]
    assert verify().ok


def test_a_dispatcher_opening_an_incident_is_audited_with_the_fields_shown(dana: User) -> None:
    incident_id = open_distinctive()
    incident_note(incident_id=incident_id, text=NOTE, user_id=dana.pk, now=T0 + S)
    html = client_for(dana).get(f"/console/incidents/{incident_id}/").content.decode()
    assert NOTE in html and DETAILS in html
    view = AuditEntry.objects.filter(action="incident.view").get()
    assert (view.object_type, view.object_id, view.actor, view.actor_user_id) == (
        "incident", incident_id, "user", dana.pk)
    assert view.fields == ["location", "details", "callback_phone", "notes"]


def test_a_live_refresh_of_the_page_is_audited_too(dana: User) -> None:
    incident_id = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                                now=T0).incident.pk
    client = client_for(dana)
    client.get(f"/console/incidents/{incident_id}/")
    client.get(f"/console/incidents/{incident_id}/", headers={"X-Live": "1"})
    views = AuditEntry.objects.filter(action="incident.view")
    assert [v.fields for v in views.order_by("id")] == [["location"], ["location"]]


def test_an_outsider_gets_a_404_and_no_view_is_recorded() -> None:
    incident_id = open_distinctive()
    responder = user_create(name="rob", role=Role.RESPONDER, password=None)
    assert client_for(responder).get(f"/console/incidents/{incident_id}/").status_code == 404
    assert not AuditEntry.objects.filter(action="incident.view").exists()


def test_the_api_incident_detail_is_audited(dana: User) -> None:
    incident_id = open_distinctive()
    r = Api(token_create(name="dana", now=T0)).get(f"/api/v1/incidents/{incident_id}")
    assert r.status_code == 200 and r.json()["details"] == DETAILS
    view = AuditEntry.objects.filter(action="incident.view").get()
    assert (view.object_id, view.actor_user_id, view.fields) == (
        incident_id, dana.pk, ["location", "details"])


def test_reading_a_text_conversation_is_audited(dana: User) -> None:
    sms_receive(sid="SM1", from_number=SMS_PHONE, body=SMS_TEXT, now=T0)
    conversation = SmsConversation.objects.get()
    html = client_for(dana).get(f"/console/sms/{conversation.pk}/").content.decode()
    assert SMS_TEXT in html
    view = AuditEntry.objects.filter(action="conversation.view").get()
    assert (view.object_type, view.object_id, view.actor_user_id, view.fields) == (
        "sms_conversation", conversation.pk, dana.pk, ["phone", "transcript"])


def test_check_in_moves_are_audited(settings) -> None:
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60
    started = checkin_start(location=CENTRE, description=PLACE, minutes=5,
                            on_miss=OnMiss.RESPONDERS, phone=PHONE, language="en", now=T0)
    checkin_id = started.checkin.pk
    checkin_ok(checkin_id=checkin_id, now=T0 + MIN)
    fire_due_checkins(now=T0 + 7 * MIN)  # the check falls due: "are you OK?"
    assert entries_for("checkin", checkin_id) == [
        ("checkin.ok", "person", None), ("checkin.due", "system", None)]
    assert verify().ok


def test_a_responders_safety_timer_is_audited_as_theirs(make_responder, settings) -> None:
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60
    ana = make_responder("ana", north_m=50)
    incident_id = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                                now=T0).incident.pk
    offer = Offer.objects.get(incident_id=incident_id, responder=ana)
    offer_accept(offer_id=offer.pk, responder=ana, now=T0 + S)
    incident_report(incident_id=incident_id, type="on_scene", now=T0 + MIN,
                            responder=ana, user_id=ana.user_id)
    timer = safety_ok(responder=ana, minutes=20, now=T0 + 2 * MIN)
    incident_report(incident_id=incident_id, type="resolved", now=T0 + 5 * MIN,
                            responder=ana, user_id=ana.user_id)
    assert entries_for("safety_timer", timer.pk) == [
        ("safety.ok", "responder", ana.user_id), ("safety.done", "system", None)]
    assert verify().ok


def test_the_log_holds_no_personal_data(dana: User, make_responder) -> None:
    make_responder("ana", north_m=100)
    incident_id = open_distinctive(user_id=dana.pk)
    incident_note(incident_id=incident_id, text=NOTE, user_id=dana.pk, now=T0 + S)
    client_for(dana).get(f"/console/incidents/{incident_id}/")
    Api(token_create(name="dana", now=T0)).get(f"/api/v1/incidents/{incident_id}")
    sms_receive(sid="SM1", from_number=SMS_PHONE, body=SMS_TEXT, now=T0)
    client_for(dana).get(f"/console/sms/{SmsConversation.objects.get().pk}/")
    checkin_start(location=CENTRE, description=PLACE, minutes=5, on_miss=OnMiss.RESPONDERS,
                  phone=PHONE, language="en", now=T0)
    for minutes in (6, 8, 10):  # missed, asked twice, then an incident of its own
        fire_due_checkins(now=T0 + minutes * MIN)

    rows = sql("SELECT * FROM audit_auditentry")
    logged = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"incident.opened", "incident.view", "conversation.view", "checkin.due",
            "checkin.grace"} <= logged
    assert AuditEntry.objects.filter(action="incident.opened").count() == 2  # + check-in's
    dump = "\n".join(repr(row) for row in rows)
    for text in PERSONAL:
        assert text not in dump, text
    assert verify().ok
