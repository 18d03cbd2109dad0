"""Replies: every message in both languages, the English ones in plain GSM-7, none that
suggests the police. ``GSM7`` and ``police_free`` are shared with the conversation's and
the check-ins' tests."""

from __future__ import annotations

from spotline.core.sms.replies import MESSAGES, WHAT
from spotline.core.triage import Kind

# GSM 03.38 basic character set: the texts that cost one segment per 160 characters.
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
ALLOWED = ("we never send police", "nunca enviamos a la policía")


def police_free(reply: str) -> bool:
    """No mention of the police, other than to say that we never send them."""
    rest = reply.lower()
    for phrase in ALLOWED:
        rest = rest.replace(phrase, "")
    return "polic" not in rest


def test_every_message_exists_in_both_languages() -> None:
    for key, texts in MESSAGES.items():
        assert set(texts) == {"en", "es"}, key
    for kind in Kind:
        assert set(WHAT[kind]) == {"en", "es"}


def test_english_messages_are_plain_gsm() -> None:
    for texts in (*MESSAGES.values(), *WHAT.values()):
        english = texts["en"].format(what="x", place="x", org="x")
        assert set(english) <= GSM7, english


def test_no_message_mentions_police_except_to_say_we_never_send_them() -> None:
    for texts in (*MESSAGES.values(), *WHAT.values()):
        for text in texts.values():
            assert police_free(text), text
