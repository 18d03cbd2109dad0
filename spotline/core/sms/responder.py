"""Responders answering an offer by text: "Y", "YES 42", "no #42"."""

from __future__ import annotations

import re
from dataclasses import dataclass

_RESPONDER_REPLY = re.compile(
    r"^\s*(?P<word>y|yes|yeah|ok|si|sí|1|n|no|2)\b[\s.!#:]*(?P<offer>\d{1,12})?[\s.!]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ResponderReply:
    accept: bool
    offer_id: int | None  # None: "the one offer I have"


def parse_responder_reply(text: str) -> ResponderReply | None:
    """"Y", "YES 42", "no #42" from a responder's phone; None if it is not an answer."""
    match = _RESPONDER_REPLY.match(text or "")
    if match is None:
        return None
    word = match.group("word").lower()
    offer = match.group("offer")
    return ResponderReply(accept=word not in ("n", "no", "2"),
                          offer_id=int(offer) if offer else None)
