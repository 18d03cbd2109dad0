"""What every provider's transport is: ``Transport``, what a send returns, and the two
ways it can fail."""

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
