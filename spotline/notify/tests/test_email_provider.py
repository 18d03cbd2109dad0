"""Email goes to a real SMTP server (aiosmtpd on 127.0.0.1) started by the test."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from spotline.notify.providers.base import TransientError
from spotline.notify.providers.email.transport import EmailTransport


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings) -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.DEFAULT_FROM_EMAIL = "dispatch@help.example.org"
    settings.SPOTLINE_EMAIL_DOMAIN = "help.example.org"
    try:
        yield inbox
    finally:
        controller.stop()


def test_it_delivers_an_email_with_the_message_key_as_its_id(smtp: Inbox) -> None:
    sent = EmailTransport().send(channel="email", to="sam@example.org",
                                 body="Spotline: P1 overdose about 3 min away.",
                                 key="offer:7:1:email")
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert smtp.envelopes[0].rcpt_tos == ["sam@example.org"]
    assert mail["From"] == "dispatch@help.example.org"
    assert "P1 overdose" in mail.get_payload()
    message_id = sent.ref.partition("#")[0]
    assert mail["Message-ID"] == message_id and message_id.endswith("@help.example.org>")
    # The same key gives the same Message-ID: a resend is recognisably the same mail,
    # while each delivery keeps a reference of its own.
    again = EmailTransport().send(channel="email", to="sam@example.org", body="x",
                                  key="offer:7:1:email")
    assert smtp.messages[1]["Message-ID"] == message_id
    assert again.ref != sent.ref


def test_it_calls_an_unreachable_mail_server_transient(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    with pytest.raises(TransientError):
        EmailTransport().send(channel="email", to="sam@example.org", body="x", key="k:email")
