"""Compliance keywords: STOP, START, HELP and their Spanish equivalents.

The shell checks these before anything else. Their confirmations are in
``replies.MESSAGES``, with the organization's name in front.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from spotline.core.sms.replies import say
from spotline.core.sms.text import fold, language_code


class Keyword(StrEnum):
    STOP = "stop"
    START = "start"
    HELP = "help"


# The whole message must be the keyword. "YES", "Y" and "SI" are deliberately not START
# words, although Twilio's defaults treat YES as one: responders accept offers with "Y"
# or "YES 42" and people confirm with "si", and none of that may resubscribe anyone.
# OPTOUT and REVOKE follow the FCC's 2025 revocation rule as carriers implement it.
KEYWORDS: dict[str, Keyword] = {
    **dict.fromkeys(
        ["stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke",
         "parar", "alto", "baja", "detener", "cancelar"],
        Keyword.STOP,
    ),
    **dict.fromkeys(["start", "unstop", "inicio", "comenzar"], Keyword.START),
    **dict.fromkeys(["help", "info", "ayuda"], Keyword.HELP),
}
SPANISH_KEYWORDS = frozenset({"parar", "alto", "baja", "detener", "cancelar", "inicio",
                              "comenzar", "ayuda"})


def keyword_word(text: str) -> str:
    """A whole message as one folded word ("¡Ayuda!" is "ayuda"); "" for a long one."""
    if len(text) > 100:
        return ""
    return "".join(ch for ch in fold(unicodedata.normalize("NFKC", text)) if ch.isalnum())


def classify_keyword(text: str) -> Keyword | None:
    """The compliance keyword this whole message is, ignoring case, accents, spaces,
    punctuation and emoji; None for anything else ("stop by the park" is not STOP)."""
    return KEYWORDS.get(keyword_word(text))


def keyword_reply(keyword: Keyword, *, language: str = "en", org: str = "Spotline") -> str:
    """The confirmation carriers expect for a compliance keyword."""
    return say(language_code(language) or "en", keyword.value, org=org[:60])


def keyword_language(text: str) -> str:
    """The language to answer a keyword in: Spanish for PARAR, AYUDA..., else English."""
    return "es" if keyword_word(text) in SPANISH_KEYWORDS else "en"
