"""Messaging providers as plug-ins: one folder each, a small Transport, a registry.

A provider is enabled by settings (``SPOTLINE_PROVIDERS``), serves one or more
channels, and declares the request fields to redact from anything it logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class TransientError(Exception):
    """Try again later on the same channel (a timeout, a 5xx, a rate limit)."""


class PermanentError(Exception):
    """This channel will not work for this message (bad number, unsubscribed)."""


@dataclass(frozen=True)
class Sent:
    ref: str  # the provider's id for it (Twilio's SID), for status callbacks


class Transport:
    name: ClassVar[str]
    channels: ClassVar[frozenset[str]]
    # Request fields that carry personal data: never logged, never stored raw.
    redact: ClassVar[frozenset[str]] = frozenset()

    def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
        raise NotImplementedError


def registry() -> dict[str, Transport]:
    """Enabled transports by channel, first enabled provider wins per channel."""
    from django.conf import settings

    from spotline.notify.providers.console import ConsoleTransport
    from spotline.notify.providers.email import EmailTransport
    from spotline.notify.providers.twilio import TwilioTransport
    from spotline.notify.providers.webpush import WebPushTransport

    known: dict[str, type[Transport]] = {
        ConsoleTransport.name: ConsoleTransport, TwilioTransport.name: TwilioTransport,
        EmailTransport.name: EmailTransport, WebPushTransport.name: WebPushTransport,
    }
    by_channel: dict[str, Transport] = {}
    for name in settings.SPOTLINE_PROVIDERS:
        transport = known[name]()
        for channel in sorted(transport.channels):
            by_channel.setdefault(channel, transport)
    return by_channel
