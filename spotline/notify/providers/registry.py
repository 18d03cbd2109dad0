"""The enabled transports, by channel (settings ``SPOTLINE_PROVIDERS``, in order)."""

from __future__ import annotations

from django.conf import settings

from spotline.notify.providers.base import Transport
from spotline.notify.providers.console.transport import ConsoleTransport
from spotline.notify.providers.email.transport import EmailTransport
from spotline.notify.providers.twilio.transport import TwilioTransport
from spotline.notify.providers.webpush.transport import WebPushTransport

KNOWN: dict[str, type[Transport]] = {
    t.name: t for t in (ConsoleTransport, TwilioTransport, EmailTransport, WebPushTransport)
}


def registry() -> dict[str, Transport]:
    """Enabled transports by channel, first enabled provider wins per channel."""
    by_channel: dict[str, Transport] = {}
    for name in settings.SPOTLINE_PROVIDERS:
        transport = KNOWN[name]()
        for channel in sorted(transport.channels):
            by_channel.setdefault(channel, transport)
    return by_channel
