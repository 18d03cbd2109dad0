"""An alert from draft to everyone's phone: subscribers of its area get it once, others
never; the two-person rule; update and cancel; CAP valid at every step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import xmlschema
from django.test import override_settings

from spotline.alerts.actions import fanout
from spotline.alerts.actions.review import (
    AlertFields,
    alert_cancel,
    alert_draft,
    alert_edit,
    alert_publish,
    alert_revise,
)
from spotline.alerts.actions.subscribers import subscribe_push, subscribe_sms, unsubscribe_phone
from spotline.alerts.cap import schema
from spotline.alerts.models import Alert, AlertStatus, Area, CapMessage, Fanout
from spotline.conftest import CENTRE, T0
from spotline.errors import Conflict, Invalid
from spotline.notify.actions import message_queue
from spotline.notify.models import Message
from spotline.notify.sender import due_message_ids, send_due
from spotline.privacy.crypto import unseal

pytestmark = pytest.mark.django_db

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


def fields(area: Area, **changes: Any) -> AlertFields:
    base: dict[str, Any] = {
        "substance": "xylazine", "severity": "severe", "expires": T0 + timedelta(hours=24),
        "area_ids": [area.pk], "signs": ["heavy_sedation", "naloxone_no_response"],
        "text": "Pink powder sold as heroin in Keskusta this week."}
    base.update(changes)
    return AlertFields(**base)


def drain(now: Any) -> int:
    """Fire fan-out batches until none is due; how many firings."""
    n = 0
    while fanout.fire_due(now=now):
        n += 1
    return n


def alert_messages(cap_message: CapMessage) -> list[Message]:
    return list(Message.objects.filter(key__startswith=f"alert:{cap_message.pk}:"))


def test_subscriber_in_the_area_gets_it_once_and_one_elsewhere_never(
        centre_area: Area, vuosaari_area: Area, coordinators: tuple[Any, Any],
        make_responder: Any) -> None:
    author, second = coordinators
    subscribe_sms(phone="+358401110001", area_ids=[centre_area.pk], all_areas=False,
                  language="en", now=T0)
    subscribe_sms(phone="+358401110002", area_ids=[vuosaari_area.pk], all_areas=False,
                  language="es", now=T0)
    subscribe_sms(phone="+358401110003", area_ids=[], all_areas=True, language="es", now=T0)
    inside = make_responder("inside", at=CENTRE)
    make_responder("away", at=type(CENTRE)(60.21, 25.15))  # in Vuosaari
    alert = alert_draft(fields=fields(centre_area), user_id=author.pk, now=T0)
    alert_publish(alert_id=alert.pk, user_id=second.pk, now=T0)
    drain(T0)
    drain(T0)  # a second worker pass, as after a restart: nothing more
    message = CapMessage.objects.get(alert=alert)
    rows = alert_messages(message)
    to = sorted(unseal(m.to_sealed, context="message.to") for m in rows if m.to_sealed)
    assert to == ["+358401110001", "+358401110003"]
    assert {m.responder_id for m in rows if m.responder_id} == {inside.pk}
    spanish = next(m for m in rows if m.to_sealed and unseal(
        m.to_sealed, context="message.to") == "+358401110003")
    body = unseal(spanish.body_sealed, context="message.body")
    assert "Keskusta" in body and f"/alerts/{alert.pk}/" in body and len(body) <= 160
    assert Fanout.objects.get(cap_message=message).done_at is not None
    # The worker sends each once.
    with override_settings(SPOTLINE_PROVIDERS=["console"]):
        send_due(now=T0 + timedelta(seconds=5), limit=100)
        send_due(now=T0 + timedelta(seconds=10), limit=100)
    assert all(m.deliveries.count() == 1 for m in alert_messages(message))


def test_stop_deletes_the_subscriber_before_the_alert(centre_area: Area,
                                                      coordinators: tuple[Any, Any]) -> None:
    author, second = coordinators
    subscribe_sms(phone="+358401110001", area_ids=[centre_area.pk], all_areas=False,
                  language="en", now=T0)
    assert unsubscribe_phone(phone="+358 40 111 0001", now=T0)
    alert = alert_draft(fields=fields(centre_area), user_id=author.pk, now=T0)
    alert_publish(alert_id=alert.pk, user_id=second.pk, now=T0)
    drain(T0)
    assert not Message.objects.filter(key__startswith="alert:").exists()


@override_settings(SPOTLINE_ALERTS_TWO_PERSON=True)
def test_two_person_rule(centre_area: Area, coordinators: tuple[Any, Any]) -> None:
    author, second = coordinators
    alert = alert_draft(fields=fields(centre_area), user_id=author.pk, now=T0)
    with pytest.raises(Conflict, match="other than the author"):
        alert_publish(alert_id=alert.pk, user_id=author.pk, now=T0)
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.DRAFT
    assert not CapMessage.objects.exists()
    # The second person edits it: now they are the author, and the first may publish.
    alert_edit(alert_id=alert.pk, fields=fields(centre_area, severity="extreme"),
               user_id=second.pk, now=T0)
    with pytest.raises(Conflict):
        alert_publish(alert_id=alert.pk, user_id=second.pk, now=T0)
    alert_publish(alert_id=alert.pk, user_id=author.pk, now=T0)
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.PUBLISHED


def test_cap_alert_update_cancel_validate_and_reference(centre_area: Area,
                                                        coordinators: tuple[Any, Any]) -> None:
    author, second = coordinators
    alert = alert_draft(fields=fields(centre_area), user_id=author.pk, now=T0)
    alert_publish(alert_id=alert.pk, user_id=second.pk, now=T0)
    update = alert_revise(alert_id=alert.pk, user_id=author.pk, now=T0 + timedelta(hours=1))
    alert_edit(alert_id=update.pk, fields=fields(centre_area, severity="extreme"),
               user_id=author.pk, now=T0 + timedelta(hours=1))
    alert_publish(alert_id=update.pk, user_id=second.pk, now=T0 + timedelta(hours=1))
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.SUPERSEDED
    alert_cancel(alert_id=update.pk, user_id=author.pk, now=T0 + timedelta(hours=2))
    messages = list(CapMessage.objects.order_by("sent"))
    assert [m.msg_type for m in messages] == ["Alert", "Update", "Cancel"]
    for m in messages:
        schema().validate(m.xml)
        data = schema().to_dict(m.xml)
        assert data["scope"] == "Public" and data["status"] == "Actual"
        info = data["info"]
        assert [i["language"] for i in info] == ["en-US", "es-US"]
        assert all(i["category"] == ["Health"] for i in info)
        polygon = info[0]["area"][0]["polygon"][0]
        first = polygon.split()[0]
        lat, lon = (float(v) for v in first.split(","))
        assert 60 < lat < 61 and 24 < lon < 26  # CAP's "lat,lon", not GeoJSON's order
        assert polygon.split()[0] == polygon.split()[-1]
    update_refs = schema().to_dict(messages[1].xml)["references"].split()
    assert update_refs[0].split(",")[1] == messages[0].identifier
    cancel_refs = schema().to_dict(messages[2].xml)["references"].split()
    assert [r.split(",")[1] for r in cancel_refs] == [messages[0].identifier,
                                                       messages[1].identifier]


def test_an_alert_that_points_at_someone_is_refused(centre_area: Area,
                                                    coordinators: tuple[Any, Any]) -> None:
    author, _ = coordinators
    for text in ("Call 555 123 4567", "Overdose at 3:15 at the park",
                 "Same as incident #42", "Outside 12 Main Street",
                 "at 60.16990, 24.93840"):
        with pytest.raises(Invalid):
            alert_draft(fields=fields(centre_area, text=text), user_id=author.pk, now=T0)
    with pytest.raises(Invalid, match="past"):
        alert_draft(fields=fields(centre_area, expires=T0 - timedelta(minutes=1)),
                    user_id=author.pk, now=T0)
    assert not Alert.objects.exists()


def test_push_subscriber_message_goes_to_its_subscription(centre_area: Area,
                                                          coordinators: tuple[Any, Any]) -> None:
    author, second = coordinators
    # The worker posts to the endpoint: only to the browsers' push services.
    with pytest.raises(Invalid, match="push service"):
        subscribe_push(endpoint="https://10.0.0.5/admin", p256dh="k" * 20, auth="a" * 10,
                       area_ids=[centre_area.pk], all_areas=False, language="en", now=T0)
    subscribe_push(endpoint="https://fcm.googleapis.com/fcm/send/abc", p256dh="k" * 20,
                   auth="a" * 10, area_ids=[centre_area.pk], all_areas=False, language="en",
                   now=T0)
    alert = alert_draft(fields=fields(centre_area), user_id=author.pk, now=T0)
    alert_publish(alert_id=alert.pk, user_id=second.pk, now=T0)
    drain(T0)
    (row,) = Message.objects.filter(purpose="alert_push")
    assert unseal(row.to_sealed, context="message.to").startswith(
        'subscription:{"endpoint": "https://fcm.googleapis.com/fcm/send/abc"')
    assert xmlschema  # the schema library is what validates CAP above


def test_an_offer_queued_during_a_fan_out_is_sent_before_the_alert(
        centre_area: Area, coordinators: tuple[Any, Any]) -> None:
    """With no spacing (SPOTLINE_SMS_PER_SECOND=0) thousands of alert texts are due at
    once; a message about someone in need, queued later, still goes first."""
    author, second = coordinators
    for i in range(60):
        subscribe_sms(phone=f"+3584022{i:05d}", area_ids=[centre_area.pk], all_areas=False,
                      language="en", now=T0)
    alert = alert_draft(fields=fields(centre_area), user_id=author.pk, now=T0)
    with override_settings(SPOTLINE_SMS_PER_SECOND=0):
        alert_publish(alert_id=alert.pk, user_id=second.pk, now=T0)
        drain(T0)
    urgent = message_queue(key="offer:test", purpose="offer", body="Overdose nearby",
                           channels=["sms"], to="+358401119999",
                           now=T0 + timedelta(seconds=1))
    due = due_message_ids(now=T0 + timedelta(seconds=2), limit=50)
    assert due[0] == urgent.pk
    assert Message.objects.filter(key__startswith="alert:", priority=1).count() == 60


def test_a_cancel_reaches_who_got_the_alert_and_drops_texts_still_waiting(
        centre_area: Area, coordinators: tuple[Any, Any]) -> None:
    author, second = coordinators
    for i in range(3):
        subscribe_sms(phone=f"+3584033{i:05d}", area_ids=[centre_area.pk], all_areas=False,
                      language="en", now=T0)
    alert = alert_draft(fields=fields(centre_area), user_id=author.pk, now=T0)
    with override_settings(SPOTLINE_SMS_PER_SECOND=1.0):  # one text a second
        alert_publish(alert_id=alert.pk, user_id=second.pk, now=T0)
        drain(T0)
        with override_settings(SPOTLINE_PROVIDERS=["console"]):
            send_due(now=T0, limit=100)  # only the first is due yet
        first = CapMessage.objects.get(alert=alert)
        assert sorted(m.sent_at is not None for m in alert_messages(first)) == [
            False, False, True]
        # Someone subscribes after the alert went out: the cancel is not for them.
        subscribe_sms(phone="+358403399999", area_ids=[centre_area.pk], all_areas=False,
                      language="en", now=T0)
        alert_cancel(alert_id=alert.pk, user_id=author.pk, now=T0 + timedelta(seconds=1))
        drain(T0 + timedelta(seconds=1))
    waiting = [m for m in alert_messages(first) if m.sent_at is None]
    assert len(waiting) == 2 and all(m.cancelled_at is not None for m in waiting)
    assert all(m.to_sealed == "" and m.body_sealed == "" for m in waiting)
    cancel = CapMessage.objects.get(alert=alert, msg_type="Cancel")
    (told,) = alert_messages(cancel)
    assert unseal(told.to_sealed, context="message.to") == "+358403300000"
    assert "withdrawn" in unseal(told.body_sealed, context="message.body")
