"""The sender's lease against the clock: a sender paused past its lease (SIGSTOP, a
slow pass) does not send again what the sender that took over sent.

Each test names its interleaving. Sender A is given a ``clock`` that the test moves;
sender B is a second worker, ``send_one`` at a moment of the test's choosing. The
recording transports are test_outbox's ``Scripted`` and the real console provider.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from spotline.conftest import T0
from spotline.notify.models import Delivery, DeliveryStatus, Message
from spotline.notify.providers.base import Sent, Transport
from spotline.notify.providers.console import transport as console_provider
from spotline.notify.sender import send_due, send_one
from spotline.notify.tests.test_outbox import PHONE, Scripted, deliveries, queue

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
LEASE = 15 * S
BODY = "Spotline: naloxone needed, reply 1"


@pytest.fixture(autouse=True)
def lease_and_console(settings):
    settings.SPOTLINE_OUTBOX_LEASE_SECONDS = 15
    settings.SPOTLINE_PROVIDERS = ["console"]
    console_provider.SENT.clear()


def test_sender_paused_past_its_lease_does_not_send_again():
    message = queue(key="test:paused", channels=["sms"], to=PHONE, body=BODY)
    b = Scripted()
    took_over: list[bool] = []

    reads: list[int] = []

    def paused_clock() -> datetime:
        reads.append(len(reads))
        if len(reads) == 1:
            return T0  # A leases the message
        # A was stopped (SIGSTOP) after recording its attempt, until T0 + LEASE + 5 s;
        # meanwhile B found the lease over, took the message and sent it.
        if not took_over:
            took_over.append(send_one(message.pk, now=T0 + LEASE + S, transports={"sms": b}))
        return T0 + LEASE + 5 * S

    assert send_due(now=T0, clock=paused_clock) == 0  # A: nothing sent

    assert took_over == [True]
    assert list(console_provider.SENT) == []  # A never called its provider
    assert [c["key"] for c in b.calls] == ["test:paused:sms"]  # one text, from B
    assert Delivery.objects.filter(message=message, status=DeliveryStatus.SENT).count() == 1
    a_attempt, b_attempt = message.deliveries.order_by("id")
    assert (a_attempt.provider, a_attempt.status) == ("console", DeliveryStatus.SUPERSEDED)
    assert a_attempt.updated_at == T0 + LEASE + 5 * S
    assert (b_attempt.provider, b_attempt.status) == ("scripted", DeliveryStatus.SENT)
    message.refresh_from_db()
    assert message.sent_at == T0 + LEASE + S
    assert (message.leased_until, message.to_sealed, message.body_sealed) == (None, "", "")


def test_sender_resumed_after_its_lease_ran_out_leaves_the_message_to_the_next_pass():
    message = queue(key="test:resumed", channels=["sms"], to=PHONE, body=BODY)
    reads = iter([T0, T0 + LEASE + 5 * S])  # leased at T0, resumed after the lease

    # Nobody took over meanwhile, but the lease is over: A must not send on it.
    assert send_due(now=T0, clock=lambda: next(reads)) == 0

    assert list(console_provider.SENT) == []
    assert deliveries(message) == [("sms", 1, "superseded")]
    # The next pass sends it once; the superseded attempt spent none of the channel's tries.
    assert send_due(now=T0 + LEASE + 6 * S) == 1
    assert [key for _, key, _ in console_provider.SENT] == ["test:resumed:sms"]
    assert deliveries(message) == [("sms", 1, "superseded"), ("sms", 1, "sent")]
    message.refresh_from_db()
    assert message.sent_at == T0 + LEASE + 6 * S


def test_slow_pass_leases_each_message_at_its_own_time(monkeypatch):
    messages = [queue(key=f"test:slow:{n}", channels=["sms"], to=PHONE, body=BODY)
                for n in range(4)]
    clock_now = [T0]
    seen: list[tuple[datetime | None, datetime]] = []  # (the lease held, when) per send
    real_send = console_provider.ConsoleTransport.send

    def slow_send(self: Transport, *, channel: str, to: str, body: str, key: str) -> Sent:
        held = Message.objects.get(key=key.removesuffix(f":{channel}")).leased_until
        seen.append((held, clock_now[0]))
        clock_now[0] += 10 * S  # each provider call takes 10 s: the pass outlives a lease
        return real_send(self, channel=channel, to=to, body=body, key=key)

    monkeypatch.setattr(console_provider.ConsoleTransport, "send", slow_send)
    assert send_due(now=T0, clock=lambda: clock_now[0]) == 4

    # Leased at T0, T0+10, T0+20, T0+30, each for LEASE from then (with one `now` per
    # pass the third and fourth would have been handed out already expired).
    assert seen == [(T0 + n * 10 * S + LEASE, T0 + n * 10 * S) for n in range(4)]
    assert all(held is not None and held > at for held, at in seen)
    sent_at = [Message.objects.get(pk=m.pk).sent_at for m in messages]
    assert sent_at == [T0 + (n + 1) * 10 * S for n in range(4)]  # lateness as it was
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 4
    assert len(console_provider.SENT) == 4


def test_sender_that_loses_its_lease_during_the_provider_call_keeps_one_sent_at(caplog):
    caplog.set_level(logging.DEBUG)
    message = queue(key="test:lost", channels=["sms"], to=PHONE, body=BODY)
    b = Scripted()
    clock_now = [T0]
    took_over: list[bool] = []

    class Hangs(Scripted):
        def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
            # The provider call hangs past A's lease; B takes over and sends meanwhile.
            clock_now[0] = T0 + LEASE + S
            took_over.append(send_one(message.pk, now=clock_now[0], transports={"sms": b}))
            clock_now[0] = T0 + LEASE + 5 * S
            return super().send(channel=channel, to=to, body=body, key=key)

    a = Hangs()
    # The provider did take A's text: A reports it sent...
    assert send_one(message.pk, now=T0, transports={"sms": a},
                    clock=lambda: clock_now[0]) is True

    assert took_over == [True]
    # ...both calls happened (at least once), under one key the provider deduplicates by.
    assert [c["key"] for c in a.calls + b.calls] == ["test:lost:sms", "test:lost:sms"]
    assert deliveries(message) == [("sms", 1, "sent"), ("sms", 2, "sent")]
    message.refresh_from_db()
    assert message.sent_at == T0 + LEASE + S  # B's, not overwritten by A's late finish
    assert message.leased_until is None
    lost = [r for r in caplog.records if r.levelno == logging.WARNING
            and "lease lost during the provider call" in r.getMessage()]
    assert [r.getMessage().endswith(f"id={message.pk}") for r in lost] == [True]
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert PHONE not in logged
    assert BODY not in logged and "naloxone" not in logged
