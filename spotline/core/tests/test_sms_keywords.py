"""Compliance keywords: STOP, START, HELP and their Spanish equivalents, only as a whole
message, each with the confirmation carriers expect."""

from __future__ import annotations

import pytest

from spotline.core.sms.keywords import (
    KEYWORDS,
    Keyword,
    classify_keyword,
    keyword_language,
    keyword_reply,
)
from spotline.core.sms.text import MAX_REPLY


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", Keyword.STOP), ("stop", Keyword.STOP), ("  Stop.  ", Keyword.STOP),
        ("STOP!!!", Keyword.STOP), ("stop all", Keyword.STOP), ("STOPALL", Keyword.STOP),
        ("Unsubscribe", Keyword.STOP), ("cancel", Keyword.STOP), ("END", Keyword.STOP),
        ("quit", Keyword.STOP), ("PARAR", Keyword.STOP), ("Alto", Keyword.STOP),
        ("baja", Keyword.STOP), ("detener", Keyword.STOP), ("Cancelar.", Keyword.STOP),
        ("\uff33\uff34\uff2f\uff30", Keyword.STOP), ("stop 🙏", Keyword.STOP),
        ("START", Keyword.START), ("unstop", Keyword.START), ("Inicio", Keyword.START),
        ("INICIO", Keyword.START), ("comenzar", Keyword.START),
        ("HELP", Keyword.HELP), ("help?", Keyword.HELP), ("info", Keyword.HELP),
        ("AYUDA", Keyword.HELP), ("¡Ayuda!", Keyword.HELP),
    ],
)
def test_it_recognises_compliance_keywords(text: str, keyword: Keyword) -> None:
    assert classify_keyword(text) is keyword


@pytest.mark.parametrize(
    "text",
    [
        "stop by the park", "help my friend", "please help", "help me", "ayuda por favor",
        "end of the street", "cancel that, he's ok", "info on narcan", "start over",
        # Used for responder accepts and confirmations: never a resubscribe.
        "YES", "Y", "yes 42", "SI", "sí", "",
        "1", "🙏", "s" * 5000,
    ],
)
def test_it_takes_only_a_whole_message_as_a_keyword(text: str) -> None:
    assert classify_keyword(text) is None


def test_every_keyword_is_one_folded_word() -> None:
    for word in KEYWORDS:
        assert word.isalnum() and word.islower() and classify_keyword(word.upper())


@pytest.mark.parametrize("keyword", list(Keyword))
@pytest.mark.parametrize("language", ["en", "es"])
def test_it_has_a_carrier_reply_for_each_keyword(keyword: Keyword, language: str) -> None:
    reply = keyword_reply(keyword, language=language, org="Harm Reduction Hub")
    assert reply.startswith("Harm Reduction Hub:")
    assert len(reply) <= MAX_REPLY


def test_it_answers_spanish_keywords_in_spanish() -> None:
    assert keyword_language("PARAR") == "es"
    assert keyword_language("¡ayuda!") == "es"
    assert keyword_language("STOP") == "en"
    assert "INICIO" in keyword_reply(Keyword.STOP, language="es")
