"""The outbox: messages queued with the state change, leased, sent, retried, fallen back.

The sender's pass (``send_one`` / ``send_due``) is called directly with the moment it
runs at. Fallback and retry use small transports of our own ``Transport`` interface
(the plug-in seam, not a third party); the console provider is the real one.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.db import connection, transaction

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, offset
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions import opening
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import Incident, Offer
from spotline.notify.actions import message_queue, optout_record, optout_remove
from spotline.notify.models import Delivery, DeliveryStatus, Message
from spotline.notify.providers.base import PermanentError, Sent, TransientError, Transport
from spotline.notify.providers.console import transport as console_provider
from spotline.notify.sender import MAX_TRIES_PER_CHANNEL, due_message_ids, send_due, send_one
from spotline.privacy.crypto import phone_digest, unseal
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
PHONE = "+15550100100"
PHONE_AS_TYPED = "+1 (555) 010-0100"
PLACE = "behind the 7-11 on 5th"
DETAILS = "blue door, second floor"


def responder_with(name: str, *, phone: str = "", channels: list[str] | None = None,
                   north_m: float = 100.0) -> Responder:
    """An on-shift responder near the centre, with a phone and a channel order."""
    user = user_create(name=name, role=Role.RESPONDER, password=None, skills=("naloxone",),
                       phone=phone)
    responder = Responder.objects.get(user=user)
    if channels is not None:
        Responder.objects.filter(pk=responder.pk).update(channels=channels)
    return shift_set(responder=responder, on_shift=True, location=offset(CENTRE, north_m),
                     now=T0)


def open_overdose(**kwargs: Any) -> Incident:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE, breathing=Answer.NO,
                                         description=PLACE, details=DETAILS, **kwargs),
                         now=T0).incident


def body_of(message: Message) -> str:
    return unseal(message.body_sealed, context="message.body")


def raw_row(model: Any, pk: int) -> dict[str, Any]:
    """The row as the database holds it, bypassing the model."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])  # noqa: S608
        names = [c[0] for c in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


class Scripted(Transport):
    """A transport that fails as told, in order, then succeeds; records every call."""

    name: ClassVar[str] = "scripted"
    channels: ClassVar[frozenset[str]] = frozenset({"push", "sms", "voice", "email"})

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[dict[str, str]] = []

    def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
        self.calls.append({"channel": channel, "to": to, "body": body, "key": key})
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        return Sent(ref="scripted-" + secrets.token_hex(8))


class Crash(BaseException):
    """The process dying mid-send: nothing after the provider call runs."""


def queue(*, key: str = "test:1", channels: list[str], responder: Responder | None = None,
          to: str = "", body: str = "Spotline: a test message") -> Message:
    return message_queue(key=key, purpose="test", body=body, channels=channels, now=T0,
                         responder_id=responder.pk if responder else None, to=to)


def deliveries(message: Message) -> list[tuple[str, int, str]]:
    return list(message.deliveries.order_by("id").values_list("channel", "attempt", "status"))


# -- queuing with the state change -------------------------------------------------------


def test_it_queues_one_offer_message_per_offered_responder(make_responder):
    for n in (100, 200, 300, 1000):
        make_responder(north_m=n)
    incident = open_overdose()

    offers = Offer.objects.filter(incident=incident, round=1)
    assert offers.count() == 3
    messages = Message.objects.filter(incident=incident)
    assert sorted(messages.values_list("responder_id", flat=True)) == sorted(
        offers.values_list("responder_id", flat=True))
    assert {m.key for m in messages} == {f"offer:{o.pk}:1" for o in offers}
    for m in messages:
        assert m.purpose == "offer"
        assert m.channels == ["push", "sms", "voice"]  # the default, none chosen
        assert (m.created_at, m.next_attempt_at, m.sent_at) == (T0, T0, None)


def test_it_uses_the_responders_own_channel_order(make_responder):
    responder = responder_with("sam", phone=PHONE, channels=["sms", "push"])
    incident = open_overdose()

    message = Message.objects.get(purpose="offer", incident=incident, responder=responder)
    assert message.channels == ["sms", "push"]


def test_it_leaves_no_message_when_the_opening_rolls_back(make_responder):
    make_responder(north_m=100)

    with pytest.raises(RuntimeError), transaction.atomic():
        open_overdose()
        assert Message.objects.count() == 1  # queued inside the transaction...
        raise RuntimeError("the request failed after the incident was written")

    assert Message.objects.count() == 0  # ...and gone with it
    assert Incident.objects.count() == 0


# A real transaction: inside the test's own, a failed opening would doom it (the opening
# joins its caller's transaction without a savepoint, as it should).
@pytest.mark.django_db(transaction=True)
def test_it_opens_no_incident_when_queuing_its_messages_fails(make_responder, monkeypatch):
    make_responder(north_m=100)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("outbox unavailable")

    # Where the one door for a new incident calls it.
    monkeypatch.setattr(opening, "messages_queue", broken)
    with pytest.raises(RuntimeError):
        open_overdose()

    assert Incident.objects.count() == 0
    assert Offer.objects.count() == 0


def test_it_names_kind_and_priority_but_never_the_place(make_responder):
    make_responder(north_m=100)
    incident = open_overdose()

    body = body_of(Message.objects.get(purpose="offer", incident=incident))
    assert "P1" in body
    assert "overdose" in body
    for secret in (PLACE, "7-11", DETAILS, str(CENTRE.lat), str(CENTRE.lon), "60.1", "24.9"):
        assert secret not in body


def test_it_keeps_bodies_sealed_in_the_database(make_responder):
    make_responder(north_m=100)
    message = Message.objects.get(purpose="offer", incident=open_overdose())

    row = raw_row(Message, message.pk)
    assert row["body_sealed"].startswith("v2.")
    # "overdose" (8 letters) cannot turn up in base64 ciphertext by chance; "P1" could.
    assert not any("overdose" in str(v) for v in row.values())
    assert "Spotline: P1" not in row["body_sealed"]


def test_it_queues_a_key_once():
    first = queue(key="offer:7:1", channels=["sms"], body="first")
    again = queue(key="offer:7:1", channels=["push"], body="second")

    assert again.pk == first.pk
    assert Message.objects.filter(key="offer:7:1").count() == 1
    assert body_of(Message.objects.get(pk=first.pk)) == "first"


# -- sending -------------------------------------------------------------------------------


def test_it_sends_through_the_console_provider_and_records_it(settings, caplog):
    settings.SPOTLINE_PROVIDERS = ["console"]
    console_provider.SENT.clear()
    caplog.set_level(logging.DEBUG)
    message = queue(key="test:console", channels=["sms"], to=PHONE, body="Console body 51")
    assert message.to_sealed and message.body_sealed

    assert send_due(now=T0) == 1

    message.refresh_from_db()
    assert message.sent_at == T0
    assert (message.to_sealed, message.body_sealed, message.leased_until) == ("", "", None)
    delivery = Delivery.objects.get(message=message)
    assert (delivery.channel, delivery.provider, delivery.status, delivery.attempt) == (
        "sms", "console", DeliveryStatus.SENT, 1)
    assert delivery.provider_ref.startswith("console-")
    assert list(console_provider.SENT) == [("sms", "test:console:sms", "Console body 51")]
    # Logged by id and key only.
    assert "Console body 51" not in caplog.text
    assert PHONE not in caplog.text
    assert send_due(now=T0 + S) == 0  # sent is sent


def test_it_sends_every_offer_of_an_incident_in_one_pass(settings, make_responder):
    settings.SPOTLINE_PROVIDERS = ["console"]
    console_provider.SENT.clear()
    for n in (100, 200, 300):
        make_responder(north_m=n)
    incident = open_overdose()

    assert send_due(now=T0) == 3

    assert Message.objects.filter(incident=incident, sent_at=T0).count() == 3
    assert {key for _, key, _ in console_provider.SENT} == {
        f"{m.key}:push" for m in Message.objects.filter(incident=incident)}
    assert all(channel == "push" for channel, _, _ in console_provider.SENT)


def test_it_falls_back_to_the_next_channel_after_a_permanent_error():
    responder = responder_with("sam", phone=PHONE)
    push, sms = Scripted(PermanentError("no push subscription")), Scripted()
    transports: dict[str, Transport] = {"push": push, "sms": sms}
    message = queue(key="offer:1:1", channels=["push", "sms"], responder=responder)

    assert send_one(message.pk, now=T0, transports=transports) is False

    message.refresh_from_db()
    assert (message.channel_index, message.channel) == (1, "sms")
    assert message.next_attempt_at == T0  # the next channel at once, no backoff
    assert message.leased_until is None
    assert message.last_error == "no push subscription"
    assert message.sent_at is None and message.failed_at is None

    assert send_one(message.pk, now=T0 + S, transports=transports) is True

    assert push.calls == [{"channel": "push", "to": f"responder:{responder.pk}",
                           "body": "Spotline: a test message", "key": "offer:1:1:push"}]
    assert sms.calls == [{"channel": "sms", "to": PHONE, "body": "Spotline: a test message",
                          "key": "offer:1:1:sms"}]
    assert deliveries(message) == [("push", 1, "failed"), ("sms", 1, "sent")]
    assert message.deliveries.get(channel="push").error == "no push subscription"
    message.refresh_from_db()
    assert message.sent_at == T0 + S


def test_it_texts_and_calls_no_responder_who_opted_out_but_still_pushes():
    responder = responder_with("sam", phone=PHONE)
    optout_record(phone=PHONE, now=T0)  # they texted STOP
    push, sms, voice = Scripted(), Scripted(), Scripted()
    transports: dict[str, Transport] = {"push": push, "sms": sms, "voice": voice}
    by_text = queue(key="offer:7:1", channels=["sms", "voice", "push"], responder=responder)
    assert send_one(by_text.pk, now=T0, transports=transports) is True
    assert (sms.calls, voice.calls) == ([], [])
    assert [c["to"] for c in push.calls] == [f"responder:{responder.pk}"]
    only_calls = queue(key="offer-call:7:1", channels=["voice"], responder=responder)
    assert send_one(only_calls.pk, now=T0, transports=transports) is False
    only_calls.refresh_from_db()
    assert only_calls.failed_at == T0 and voice.calls == []
    optout_remove(phone=PHONE)  # START
    again = queue(key="offer:8:1", channels=["sms"], responder=responder)
    assert send_one(again.pk, now=T0, transports=transports) is True
    assert [c["to"] for c in sms.calls] == [PHONE]


def test_it_retries_a_transient_error_with_backoff_then_falls_back():
    responder = responder_with("sam", phone=PHONE)
    flaky = Scripted(*[TransientError("twilio 503")] * MAX_TRIES_PER_CHANNEL)
    sms = Scripted()
    transports: dict[str, Transport] = {"push": flaky, "sms": sms}
    message = queue(key="offer:2:1", channels=["push", "sms"], responder=responder)

    now = T0
    retry_times = []
    for _ in range(MAX_TRIES_PER_CHANNEL - 1):
        assert send_one(message.pk, now=now, transports=transports) is False
        message.refresh_from_db()
        assert message.channel == "push"  # same channel again...
        assert message.next_attempt_at > now  # ...later
        assert message.leased_until is None
        assert message.id not in due_message_ids(now=message.next_attempt_at - S / 2)
        assert message.id in due_message_ids(now=message.next_attempt_at)
        retry_times.append(message.next_attempt_at - now)
        now = message.next_attempt_at
    assert retry_times == sorted(retry_times) and retry_times[0] < retry_times[-1]

    # The last try on this channel fails too: on to the next one, at once.
    assert send_one(message.pk, now=now, transports=transports) is False
    message.refresh_from_db()
    assert (message.channel, message.next_attempt_at) == ("sms", now)
    assert len(flaky.calls) == MAX_TRIES_PER_CHANNEL
    assert {c["key"] for c in flaky.calls} == {"offer:2:1:push"}  # one key for every retry

    assert send_one(message.pk, now=now, transports=transports) is True
    assert deliveries(message) == [
        *[("push", n, "failed") for n in range(1, MAX_TRIES_PER_CHANNEL + 1)], ("sms", 1, "sent")]
    assert message.attempts == MAX_TRIES_PER_CHANNEL


def test_it_marks_a_message_failed_when_no_channel_is_left():
    responder = responder_with("sam", phone=PHONE)
    transports: dict[str, Transport] = {"push": Scripted(PermanentError("gone")),
                                        "sms": Scripted(PermanentError("twilio 400 code 21211"))}
    message = queue(key="offer:3:1", channels=["push", "sms"], responder=responder,
                    to=PHONE)

    assert send_one(message.pk, now=T0, transports=transports) is False
    assert send_one(message.pk, now=T0 + S, transports=transports) is False

    message.refresh_from_db()
    assert message.failed_at == T0 + S
    assert message.sent_at is None
    assert (message.to_sealed, message.body_sealed) == ("", "")  # nothing kept
    assert message.last_error == "twilio 400 code 21211"
    assert deliveries(message) == [("push", 1, "failed"), ("sms", 1, "failed")]
    assert message.id not in due_message_ids(now=T0 + 60 * S)
    assert send_one(message.pk, now=T0 + 60 * S, transports=transports) is False
    assert message.deliveries.count() == 2


def test_it_marks_a_message_failed_after_the_last_channels_retries():
    transports: dict[str, Transport] = {
        "sms": Scripted(*[TransientError("twilio 500")] * MAX_TRIES_PER_CHANNEL)}
    message = queue(key="test:4", channels=["sms"], to=PHONE)

    now = T0
    for _ in range(MAX_TRIES_PER_CHANNEL):
        assert send_one(message.pk, now=now, transports=transports) is False
        message.refresh_from_db()
        now = message.next_attempt_at

    assert message.failed_at is not None
    assert (message.to_sealed, message.body_sealed) == ("", "")
    assert message.deliveries.filter(status="failed").count() == MAX_TRIES_PER_CHANNEL


def test_it_skips_a_channel_without_a_transport():
    responder = responder_with("sam", phone=PHONE)
    sms = Scripted()
    message = queue(key="offer:5:1", channels=["push", "sms"], responder=responder)

    # Push has no transport: skipped within the same pass, straight to SMS.
    assert send_one(message.pk, now=T0, transports={"sms": sms}) is True
    message.refresh_from_db()
    assert message.channel == "sms"
    assert [c["channel"] for c in sms.calls] == ["sms"]
    assert deliveries(message) == [("sms", 1, "sent")]


def test_it_skips_sms_and_voice_for_a_responder_without_a_phone():
    responder = responder_with("nophone", channels=["sms", "voice", "push"])
    transport = Scripted()
    transports: dict[str, Transport] = {"sms": transport, "voice": transport, "push": transport}
    message = queue(key="offer:6:1", channels=["sms", "voice", "push"], responder=responder)

    # No phone: SMS and voice are skipped in the same pass, straight to push.
    assert send_one(message.pk, now=T0, transports=transports) is True
    assert transport.calls == [{"channel": "push", "to": f"responder:{responder.pk}",
                                "body": "Spotline: a test message", "key": "offer:6:1:push"}]
    assert deliveries(message) == [("push", 1, "sent")]


def test_it_does_not_send_a_message_another_sender_is_sending(settings):
    settings.SPOTLINE_OUTBOX_LEASE_SECONDS = 15
    message = queue(key="test:7", channels=["sms"], to=PHONE)
    second: list[bool] = []

    class Slow(Scripted):
        def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
            # While this send is in flight, a second sender looks at the same message.
            second.append(send_one(message.pk, now=T0 + S, transports={"sms": other}))
            return super().send(channel=channel, to=to, body=body, key=key)

    first, other = Slow(), Scripted()
    assert send_one(message.pk, now=T0, transports={"sms": first}) is True

    assert second == [False]
    assert other.calls == []
    assert len(first.calls) == 1
    assert deliveries(message) == [("sms", 1, "sent")]


def test_it_resends_with_the_same_key_only_after_a_dead_senders_lease_expires(settings):
    settings.SPOTLINE_OUTBOX_LEASE_SECONDS = 15
    message = queue(key="test:8", channels=["sms"], to=PHONE)

    class Dies(Scripted):
        def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
            super().send(channel=channel, to=to, body=body, key=key)
            raise Crash

    dead, survivor = Dies(), Scripted()
    with pytest.raises(Crash):
        send_one(message.pk, now=T0, transports={"sms": dead})

    message.refresh_from_db()
    assert message.leased_until == T0 + 15 * S
    assert deliveries(message) == [("sms", 1, "sending")]  # recorded before the call
    # Still leased: a second sender leaves it alone.
    assert message.id not in due_message_ids(now=T0 + 14 * S)
    assert send_one(message.pk, now=T0 + 14 * S, transports={"sms": survivor}) is False
    assert survivor.calls == []

    # The lease ran out: the sender is presumed dead and the message is due again.
    assert message.id in due_message_ids(now=T0 + 16 * S)
    assert send_one(message.pk, now=T0 + 16 * S, transports={"sms": survivor}) is True

    assert [c["key"] for c in dead.calls + survivor.calls] == ["test:8:sms", "test:8:sms"]
    assert deliveries(message) == [("sms", 1, "sending"), ("sms", 2, "sent")]
    message.refresh_from_db()
    assert message.sent_at == T0 + 16 * S


def test_it_lets_a_late_sender_not_undo_the_outcome_of_the_one_that_took_over(settings):
    settings.SPOTLINE_OUTBOX_LEASE_SECONDS = 15
    message = queue(key="test:10", channels=["sms"], to=PHONE)
    took_over: list[bool] = []

    class Stuck(Scripted):
        def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
            # Stuck past its lease: another sender takes the message and sends it...
            took_over.append(send_one(message.pk, now=T0 + 20 * S,
                                      transports={"sms": Scripted()}))
            raise PermanentError("twilio 400 code 21211")  # ...then this one fails late

    send_one(message.pk, now=T0, transports={"sms": Stuck()})

    assert took_over == [True]
    message.refresh_from_db()
    assert message.sent_at == T0 + 20 * S
    assert message.failed_at is None  # today: failed at T0 as well as sent


def test_it_sends_the_rest_of_a_pass_when_one_transport_raises_unexpectedly(settings,
                                                                              monkeypatch):
    settings.SPOTLINE_PROVIDERS = ["console"]
    poison = queue(key="test:11", channels=["sms"], to=PHONE)
    healthy = queue(key="test:12", channels=["sms"], to=PHONE)
    real_send = console_provider.ConsoleTransport.send

    def send(self: Transport, *, channel: str, to: str, body: str, key: str) -> Sent:
        if key.startswith("test:11:"):
            raise ValueError("a bug in a provider")
        return real_send(self, channel=channel, to=to, body=body, key=key)

    monkeypatch.setattr(console_provider.ConsoleTransport, "send", send)
    try:
        send_due(now=T0)
    finally:
        healthy.refresh_from_db()
        poison.refresh_from_db()
    assert healthy.sent_at == T0
    assert poison.deliveries.get().status == "failed"  # recorded, not left "sending"


def test_it_does_not_send_an_offer_that_was_withdrawn_meanwhile(make_responder):
    taker = make_responder(north_m=100)
    other = responder_with("other", phone=PHONE, channels=["push", "sms"], north_m=200)
    incident = open_overdose()
    message = Message.objects.get(purpose="offer", incident=incident, responder=other)
    push, sms = Scripted(TransientError("push service 503")), Scripted()
    transports: dict[str, Transport] = {"push": push, "sms": sms}
    assert send_one(message.pk, now=T0, transports=transports) is False  # retry later

    offer_accept(offer_id=Offer.objects.get(incident=incident, responder=taker).pk,
                         responder=taker, now=T0 + S)
    assert Offer.objects.get(incident=incident, responder=other).status == "withdrawn"
    send_one(message.pk, now=T0 + 10 * S, transports=transports)

    assert len(push.calls) == 1  # today: offered again, on push
    assert sms.calls == []


# -- phone numbers ---------------------------------------------------------------------------


def test_it_stores_a_responders_phone_only_sealed_and_hashed():
    responder = responder_with("sam", phone=PHONE_AS_TYPED)

    row = raw_row(Responder, responder.pk)
    for shape in (PHONE, PHONE_AS_TYPED, "5550100100", "010-0100", "0100100"):
        assert not any(shape in str(value) for value in row.values()), shape
    assert row["phone_digest"] == phone_digest(PHONE)
    assert row["phone_digest"] != phone_digest("+15550100101")
    assert unseal(row["phone_sealed"], context="responder.phone") == PHONE


def test_it_keeps_an_explicit_address_sealed_in_the_outbox():
    message = queue(key="test:9", channels=["sms"], to=PHONE)

    row = raw_row(Message, message.pk)
    assert not any("5550100100" in str(value) for value in row.values())
    assert unseal(row["to_sealed"], context="message.to") == PHONE


def test_it_stores_an_incidents_callback_phone_only_sealed():
    incident = open_overdose(callback_phone=PHONE)

    row = raw_row(Incident, incident.pk)
    assert not any("5550100100" in str(value) for value in row.values())
