"""A database restart between the provider's "accepted" and the sender's record of it.

Seen by ``make faults`` (docs/performance.md, issue 7) and now judged by ``make soak``:
PostgreSQL stopped right after the provider accepted a text, the record of it failed,
the message came due again and the next pass sent it a second time. The sender now
writes that record again, on a new connection, until the database is back
(``sender._through_a_blip``). These tests run outside a test transaction
(``transaction=True``): the sender closes a broken connection.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.db.models.query import QuerySet

from spotline.conftest import T0
from spotline.notify import sender
from spotline.notify.models import DeliveryStatus, Message
from spotline.notify.sender import due_message_ids, send_one
from spotline.notify.tests.test_outbox import PHONE, Scripted, deliveries, queue

pytestmark = pytest.mark.django_db(transaction=True)

BODY = "Spotline: naloxone needed, reply 1"


class DatabaseGoneAfterSend(Scripted):
    """The provider accepts; then the next ``failures`` writes find the database gone."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, failures: int) -> None:
        super().__init__()
        self.failures = failures
        real_update = QuerySet.update

        def update(qs: QuerySet[Any], **kwargs: Any) -> int:
            if self.calls and self.failures > 0:
                self.failures -= 1
                raise OperationalError("terminating connection due to administrator command")
            return real_update(qs, **kwargs)

        monkeypatch.setattr(QuerySet, "update", update)


@pytest.fixture(autouse=True)
def no_pause(settings, monkeypatch):
    settings.SPOTLINE_OUTBOX_LEASE_SECONDS = 15
    monkeypatch.setattr(sender, "RECORD_PAUSE_SECONDS", 0)


def test_sent_message_is_recorded_through_a_database_restart_and_not_sent_again(monkeypatch):
    message = queue(key="test:blip", channels=["sms"], to=PHONE, body=BODY)
    provider = DatabaseGoneAfterSend(monkeypatch, failures=3)

    assert send_one(message.pk, now=T0, transports={"sms": provider}) is True

    assert provider.failures == 0  # the restart really happened after the send
    message.refresh_from_db()
    assert message.sent_at == T0
    assert message.leased_until is None
    assert deliveries(message) == [("sms", 1, DeliveryStatus.SENT)]
    # After the lease, nothing is due again: no second pass sends it.
    assert due_message_ids(now=T0 + timedelta(minutes=1)) == []
    assert Message.objects.filter(sent_at__isnull=True).count() == 0
    assert [c["key"] for c in provider.calls] == ["test:blip:sms"]


def test_a_database_that_stays_gone_is_not_waited_on_forever(monkeypatch, caplog):
    message = queue(key="test:gone", channels=["sms"], to=PHONE, body=BODY)
    provider = DatabaseGoneAfterSend(monkeypatch, failures=10 * sender.RECORD_TRIES)

    # It gives up (send_due logs the message and goes on with the pass); the message is
    # left to a later pass after its lease: the at-least-once that remains.
    with caplog.at_level(logging.WARNING), pytest.raises(OperationalError):
        send_one(message.pk, now=T0, transports={"sms": provider})

    assert 10 * sender.RECORD_TRIES - provider.failures == sender.RECORD_TRIES
    assert caplog.text.count("recording a sent message failed") == sender.RECORD_TRIES - 1
    assert PHONE not in caplog.text and BODY not in caplog.text
    provider.failures = 0
    message.refresh_from_db()
    assert message.sent_at is None
