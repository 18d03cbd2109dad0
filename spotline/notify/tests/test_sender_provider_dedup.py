"""A lease lost during the provider call, with a provider that drops duplicates by key.

The sender passes "<message key>:<channel>" so that the provider can drop a resend
(``sender`` step 5); a provider that does (Twilio's idempotency token, the Twilio stub
``make faults`` and ``make soak`` run against) answers the resend with the FIRST send's
id. Two attempts of one message then carry the same ``provider_ref``, which
``Delivery.provider_ref`` holds unique. ``test_sender_lease`` covers the lost lease only
with a fake provider that answers every call with a new id.

Each test names its interleaving. Sender A leases the message at T0 and calls the
provider, which accepts; A is paused past its lease; sender B takes the message over and
calls the provider with the same key, which answers with A's id.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import ClassVar

import pytest
from django.db import connection

from spotline.conftest import HANG_SECONDS, T0
from spotline.notify import sender
from spotline.notify.models import Message
from spotline.notify.providers.base import Sent, Transport
from spotline.notify.sender import due_message_ids, send_due, send_one
from spotline.notify.tests.test_outbox import PHONE, deliveries, queue

S = timedelta(seconds=1)
LEASE = 15 * S
BODY = "Spotline: naloxone needed, reply 1"


@pytest.fixture(autouse=True)
def lease(settings):
    settings.SPOTLINE_OUTBOX_LEASE_SECONDS = 15


class Provider:
    """The provider's side: one message per key; the same key again gets its id."""

    def __init__(self) -> None:
        self.refs: dict[str, str] = {}
        self.calls: list[str] = []

    def accept(self, key: str) -> str:
        self.calls.append(key)
        return self.refs.setdefault(key, f"SM{len(self.refs) + 1:032d}")


class Dedup(Transport):
    """A sender's connection to ``Provider``; ``then`` runs once the provider accepted,
    before the answer reaches the sender (the sender is paused there)."""

    name: ClassVar[str] = "dedup"
    channels: ClassVar[frozenset[str]] = frozenset({"sms"})

    def __init__(self, provider: Provider, then: object = None) -> None:
        self.provider = provider
        self.then = then

    def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
        ref = self.provider.accept(key)
        if callable(self.then):
            self.then()
        return Sent(ref=ref)


@pytest.mark.django_db
def test_paused_sender_whose_text_the_taker_over_resent_records_its_attempt_sent():
    # A's text is accepted; A is paused past its lease; B takes over, resends under the
    # same key (the provider answers with A's id) and records it sent. A resumes.
    message = queue(key="test:dedup-b-first", channels=["sms"], to=PHONE, body=BODY)
    provider = Provider()
    clock_now = [T0]
    took_over: list[bool] = []

    def paused() -> None:
        clock_now[0] = T0 + LEASE + S
        took_over.append(send_one(message.pk, now=clock_now[0],
                                  transports={"sms": Dedup(provider)}))
        clock_now[0] = T0 + LEASE + 5 * S

    # The provider did take A's text: A reports it sent (as with a provider that
    # answers a resend with a new id, test_sender_lease), it does not crash on the id.
    assert send_one(message.pk, now=T0, transports={"sms": Dedup(provider, paused)},
                    clock=lambda: clock_now[0]) is True

    assert took_over == [True]
    assert provider.calls == ["test:dedup-b-first:sms"] * 2
    # "The attempt's own Delivery always records what the provider said": both sent,
    # neither left "sending".
    assert deliveries(message) == [("sms", 1, "sent"), ("sms", 2, "sent")]
    message.refresh_from_db()
    assert message.sent_at == T0 + LEASE + S


@pytest.mark.django_db(transaction=True)
def test_taker_over_that_records_after_the_paused_sender_still_marks_the_message_sent(
        monkeypatch):
    # A's text is accepted; A is paused past its lease; B takes over and resends under
    # the same key (the provider answers with A's id). A resumes and records its attempt
    # first (its lease is lost: the message's outcome is left to B); then B records.
    message = queue(key="test:dedup-a-first", channels=["sms"], to=PHONE, body=BODY)
    provider = Provider()
    a_called, a_may_go = threading.Event(), threading.Event()
    a_clock = [T0]
    a_result: list[object] = []

    def a_paused() -> None:
        a_called.set()
        assert a_may_go.wait(HANG_SECONDS)
        a_clock[0] = T0 + LEASE + 5 * S

    def run_a() -> None:
        try:
            a_result.append(send_one(message.pk, now=T0,
                                     transports={"sms": Dedup(provider, a_paused)},
                                     clock=lambda: a_clock[0]))
        except BaseException as exc:  # reported below, in the test's thread
            a_result.append(exc)
        finally:
            connection.close()

    a = threading.Thread(target=run_a)
    a.start()
    assert a_called.wait(HANG_SECONDS)

    def b_before_its_record() -> None:
        a_may_go.set()  # A resumes and records first
        a.join(HANG_SECONDS)
        assert not a.is_alive(), "sender A hung"

    b_at = T0 + LEASE + S
    monkeypatch.setattr(sender, "registry",
                        lambda: {"sms": Dedup(provider, b_before_its_record)})
    send_due(now=b_at, clock=lambda: b_at)  # B: the worker's pass

    assert a_result == [True]
    assert provider.calls == ["test:dedup-a-first:sms"] * 2
    message.refresh_from_db()
    # The provider has the message (twice, under one key): it is sent, and nothing
    # brings it due again. Otherwise every later pass calls the provider once more.
    assert message.sent_at is not None
    at: datetime = b_at + 10 * 60 * S
    assert due_message_ids(now=at) == []
    send_due(now=at, clock=lambda: at)
    assert provider.calls == ["test:dedup-a-first:sms"] * 2
    assert Message.objects.filter(pk=message.pk, sent_at__isnull=True).count() == 0
