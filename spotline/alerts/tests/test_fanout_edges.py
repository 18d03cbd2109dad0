"""The edges a review found: a cancel or an update that races the fan-out, STOP while
texts wait for the carrier's rate, two alerts sharing that rate, stray control
characters, areas too big or with a part too small, a dismissed spike that grows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings

from spotline.alerts.actions import fanout
from spotline.alerts.actions.areas import area_create
from spotline.alerts.actions.review import AlertFields, alert_cancel, alert_draft, alert_publish
from spotline.alerts.actions.spikes import signal_dismiss, spikes_check
from spotline.alerts.actions.subscribers import subscribe_push, subscribe_sms
from spotline.alerts.cap import schema
from spotline.alerts.models import Area, CapMessage, Signal, Subscriber
from spotline.alerts.sms import alerts_by_text
from spotline.alerts.tests.conftest import CENTRE_BOX, box
from spotline.alerts.tests.test_spikes import overdoses_now
from spotline.conftest import CENTRE, T0
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.errors import Invalid
from spotline.notify.models import Message
from spotline.notify.sender import send_due
from spotline.privacy.crypto import normalize_phone, phone_digest

pytestmark = pytest.mark.django_db

CONSOLE = override_settings(SPOTLINE_PROVIDERS=["console"])


def fields(area: Area, **changes: Any) -> AlertFields:
    base: dict[str, Any] = {"substance": "xylazine", "severity": "severe",
                            "expires": T0 + timedelta(hours=24), "area_ids": [area.pk],
                            "signs": ["heavy_sedation"], "text": "Pink powder this week."}
    base.update(changes)
    return AlertFields(**base)


def drain(now: Any) -> None:
    while fanout.fire_due(now=now):
        pass


def subscribers(area: Area, n: int) -> list[str]:
    phones = [f"+3584033{i:05d}" for i in range(n)]
    for phone in phones:
        subscribe_sms(phone=phone, area_ids=[area.pk], all_areas=False, language="en", now=T0)
    return phones


def sent_to(message: CapMessage) -> set[str]:
    """Subscriber ids (as in the key) a message went to."""
    return {m.key.rsplit(":", 1)[1] for m in Message.objects.filter(
        key__startswith=f"alert:{message.pk}:", sent_at__isnull=False)}


def publish(area: Area, people: tuple[Any, Any], **changes: Any) -> int:
    alert = alert_draft(fields=fields(area, **changes), user_id=people[0].pk, now=T0)
    alert_publish(alert_id=alert.pk, user_id=people[1].pk, now=T0)
    return alert.pk


def test_a_cancel_before_the_worker_ran_sends_nothing(centre_area: Area,
                                                     coordinators: tuple[Any, Any]) -> None:
    subscribers(centre_area, 3)
    alert_id = publish(centre_area, coordinators)
    alert_cancel(alert_id=alert_id, user_id=coordinators[0].pk, now=T0 + timedelta(seconds=2))
    drain(T0 + timedelta(seconds=3))
    with CONSOLE:
        send_due(now=T0 + timedelta(hours=1), limit=100)
    assert not Message.objects.filter(sent_at__isnull=False).exists()


@override_settings(SPOTLINE_SMS_PER_SECOND=0)
def test_a_cancel_during_the_fan_out_stops_it_and_tells_who_got_it(
        centre_area: Area, coordinators: tuple[Any, Any], monkeypatch: Any) -> None:
    monkeypatch.setattr(fanout, "BATCH", 2)
    subscribers(centre_area, 6)
    alert_id = publish(centre_area, coordinators)
    fanout.fire_due(now=T0)  # one batch of two
    with CONSOLE:
        send_due(now=T0, limit=100)
    alert_cancel(alert_id=alert_id, user_id=coordinators[0].pk, now=T0 + timedelta(seconds=2))
    drain(T0 + timedelta(seconds=3))
    with CONSOLE:
        send_due(now=T0 + timedelta(hours=1), limit=100)
    first = CapMessage.objects.get(alert_id=alert_id, msg_type="Alert")
    cancel = CapMessage.objects.get(alert_id=alert_id, msg_type="Cancel")
    assert len(sent_to(first)) == 2
    assert sent_to(cancel) == sent_to(first)


@override_settings(SPOTLINE_SMS_PER_SECOND=0)
def test_someone_who_left_does_not_end_the_cancel_for_the_rest(
        centre_area: Area, coordinators: tuple[Any, Any], monkeypatch: Any) -> None:
    monkeypatch.setattr(fanout, "BATCH", 2)
    phones = subscribers(centre_area, 6)
    alert_id = publish(centre_area, coordinators)
    drain(T0)
    with CONSOLE:
        send_due(now=T0, limit=100)
    alerts_by_text(digest=phone_digest(normalize_phone(phones[1])), phone=phones[1],
                   body="ALERTS STOP", sid="SM1", now=T0)
    alert_cancel(alert_id=alert_id, user_id=coordinators[0].pk, now=T0 + timedelta(seconds=2))
    drain(T0 + timedelta(seconds=3))
    cancel = CapMessage.objects.get(alert_id=alert_id, msg_type="Cancel")
    assert Message.objects.filter(key__startswith=f"alert:{cancel.pk}:s").count() == 5


@override_settings(SPOTLINE_SMS_PER_SECOND=1.0)
def test_alerts_stop_drops_the_text_still_waiting(centre_area: Area,
                                                 coordinators: tuple[Any, Any]) -> None:
    phones = subscribers(centre_area, 3)
    publish(centre_area, coordinators)
    drain(T0)
    reply = alerts_by_text(digest=phone_digest(normalize_phone(phones[2])), phone=phones[2],
                           body="ALERTS STOP", sid="SM1", now=T0)
    assert reply
    with CONSOLE:
        send_due(now=T0 + timedelta(seconds=10), limit=100)
    assert Message.objects.filter(sent_at__isnull=False).count() == 2
    (dropped,) = Message.objects.filter(cancelled_at__isnull=False)
    assert dropped.last_error == "unsubscribed" and dropped.to_sealed == ""


@override_settings(SPOTLINE_SMS_PER_SECOND=2.0)
def test_every_fan_out_shares_the_carriers_rate(centre_area: Area, vuosaari_area: Area,
                                                coordinators: tuple[Any, Any]) -> None:
    subscribers(centre_area, 3)
    for i in range(3):
        subscribe_sms(phone=f"+3584044{i:05d}", area_ids=[vuosaari_area.pk], all_areas=False,
                      language="en", now=T0)
    publish(centre_area, coordinators)
    publish(vuosaari_area, coordinators)
    drain(T0)
    times = sorted(Message.objects.values_list("next_attempt_at", flat=True))
    assert [(t - T0).total_seconds() for t in times] == [0, 0.5, 1, 1.5, 2, 2.5]
    # A worker back after a minute away starts from now: no burst of the missed slots.
    publish(centre_area, coordinators, substance="fentanyl")
    drain(T0 + timedelta(minutes=1))
    later = sorted(Message.objects.filter(next_attempt_at__gt=T0 + timedelta(seconds=30))
                   .values_list("next_attempt_at", flat=True))
    assert [(t - T0).total_seconds() for t in later] == [60, 60.5, 61]


def test_control_characters_never_reach_the_cap(coordinators: tuple[Any, Any]) -> None:
    area = area_create(name="Kes\x08kusta", aliases=["00\x01100"], geometry=CENTRE_BOX, now=T0)
    assert area.name == "Keskusta" and area.aliases == ["00100"]
    alert_id = publish(area, coordinators, text="Bad batch\x01 in the centre\x7f")
    message = CapMessage.objects.get(alert_id=alert_id)
    schema().validate(message.xml)
    assert "Bad batch in the centre" in message.xml


def test_areas_too_big_or_with_a_part_too_small_are_refused(db: Any) -> None:
    with pytest.raises(Invalid, match="too large"):
        area_create(name="World", h3_cell="8011fffffffffff", now=T0)
    tiny = box(25.0, 60.30, 25.0001, 60.3001)["coordinates"]
    with pytest.raises(Invalid, match="part or hole"):
        area_create(name="City and a door", now=T0, geometry={
            "type": "MultiPolygon", "coordinates": [CENTRE_BOX["coordinates"], tiny]})
    outer = CENTRE_BOX["coordinates"][0]
    hole = [[24.940, 60.170], [24.9401, 60.170], [24.9401, 60.1701], [24.940, 60.1701],
            [24.940, 60.170]]
    with pytest.raises(Invalid, match="part or hole"):
        area_create(name="City but a house", now=T0,
                    geometry={"type": "Polygon", "coordinates": [outer, hole]})
    assert not Area.objects.exists()


def test_an_expiry_is_said_to_the_hour(centre_area: Area, coordinators: tuple[Any, Any]) -> None:
    alert = alert_draft(fields=fields(centre_area, expires=T0 + timedelta(hours=5, minutes=7)),
                        user_id=coordinators[0].pk, now=T0)
    assert alert.expires == T0 + timedelta(hours=6)


def test_a_dismissed_spike_that_grows_opens_a_new_signal(centre_area: Area,
                                                        coordinators: tuple[Any, Any]) -> None:
    overdoses_now(3)
    assert spikes_check(now=T0) == 1
    signal_dismiss(signal_id=Signal.objects.get().pk, user_id=coordinators[0].pk, now=T0)
    # Seen again with the same numbers: the person's "no" stands.
    assert spikes_check(now=T0 + timedelta(minutes=5)) == 0
    incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                  now=T0 + timedelta(minutes=20))
    assert spikes_check(now=T0 + timedelta(minutes=25)) == 1
    fresh = Signal.objects.get(status="open")
    assert fresh.observed == 4
    assert Signal.objects.get(status="dismissed").observed == 3


def test_a_browser_its_push_service_forgot_is_deleted(centre_area: Area,
                                                       coordinators: tuple[Any, Any]) -> None:
    kept, gone = (subscribe_push(endpoint=f"https://fcm.googleapis.com/fcm/send/{name}",
                                 p256dh="k" * 20, auth="a" * 10, area_ids=[centre_area.pk],
                                 all_areas=False, language="en", now=T0)
                  for name in ("kept", "gone"))
    publish(centre_area, coordinators)
    drain(T0)
    Message.objects.filter(key__endswith=f":s{gone.pk}").update(failed_at=T0,
                                                                last_error="push 410")
    Message.objects.filter(key__endswith=f":s{kept.pk}").update(failed_at=T0,
                                                                last_error="push 500")
    assert fanout.forgotten_push_delete(now=T0) == 1
    assert list(Subscriber.objects.values_list("pk", flat=True)) == [kept.pk]
    assert fanout.recipients(["alert:3:s12", "alert:3:r7", "alert:3:sx", "other"], "s") == {12}
