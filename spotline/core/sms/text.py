"""What the parts of ``core.sms`` share: text normalisation and the size limits.

Check-ins by text (``checkin``) use the limits but fold text their own way (see there).
"""

from __future__ import annotations

import re
import unicodedata

MAX_REPLY = 320  # two concatenated GSM-7 segments, five UCS-2 ones
MAX_PLACE = 200

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


def clean(text: str) -> str:
    """Control characters out, runs of spaces collapsed; line breaks are kept (they end
    a clause)."""
    kept = "".join(
        ch if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp") else " "
        for ch in text
    )
    lines = (" ".join(line.split()) for line in kept.split("\n"))
    return "\n".join(line for line in lines if line)


def fold(text: str) -> str:
    """Lower case without accents, one character for one character, so that a span
    matched in the folded text is the same span in the original."""
    out = []
    for ch in text.translate(_QUOTES):
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        low = base.lower()
        out.append(low if len(low) == 1 else ch)
    return "".join(out)


def any_of(*patterns: str) -> re.Pattern[str]:
    """One pattern that matches where any of ``patterns`` does."""
    return re.compile("|".join(f"(?:{p})" for p in patterns))


WORD = re.compile(r"[a-z0-9][a-z0-9']*")


def word_set(text: str) -> frozenset[str]:
    """A word list written as one whitespace-separated string."""
    return frozenset(text.split())


def language_code(code: str | None) -> str | None:
    """"es" or "en" for a language code ("es-MX", "EN"), None for anything else."""
    code = (code or "").strip().lower()
    return "es" if code.startswith("es") else "en" if code.startswith("en") else None
