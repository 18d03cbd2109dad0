"""Development provider: nothing leaves the machine. Messages are kept in memory for
the outbox page and logged by id only (bodies never reach the log)."""

from __future__ import annotations

import logging
import secrets
from collections import deque
from typing import ClassVar

from spotline.notify.providers.base import Sent, Transport

log = logging.getLogger(__name__)

# The last messages "sent", newest last: (channel, key, body). Process-local, dev only.
SENT: deque[tuple[str, str, str]] = deque(maxlen=200)


class ConsoleTransport(Transport):
    name: ClassVar[str] = "console"
    channels: ClassVar[frozenset[str]] = frozenset({"console", "push", "sms", "voice", "email"})

    def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
        SENT.append((channel, key, body))
        log.info("console provider: %s message key=%s (not sent anywhere)", channel, key)
        return Sent(ref="console-" + secrets.token_hex(8))
