"""Community drug alerts, the pure part: the fixed vocabulary, what an alert may not
say, and the text message that carries it.

An alert warns about a supply, never about a person: the fixed lists below are what a
coordinator picks from, plus a little free text. ``disclosures`` refuses free text
that would point at someone (a phone number, a street address, an incident number, a
time finer than the hour, coordinates, an email address); names cannot be told from
words by a pattern, which is why a person reviews every alert before it goes out.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


def codes(enum: type[StrEnum]) -> list[str]:
    """The codes of one of the lists below, in order."""
    return [m.value for m in enum]


class Substance(StrEnum):
    """What the alert is about. Codes are stable (CAP, API, stored rows)."""

    FENTANYL = "fentanyl"
    NITAZENES = "nitazenes"  # and carfentanil: stronger than fentanyl, more naloxone
    XYLAZINE = "xylazine"
    MEDETOMIDINE = "medetomidine"
    BENZODIAZEPINES = "benzodiazepines"  # bromazolam and other "benzo dope"
    STIMULANTS = "stimulants"  # cocaine or methamphetamine cut with an opioid
    UNKNOWN = "unknown"


class Sign(StrEnum):
    SEVERAL_DOSES = "several_doses"  # more than one naloxone dose needed
    NALOXONE_NO_RESPONSE = "naloxone_no_response"
    HEAVY_SEDATION = "heavy_sedation"  # the xylazine / medetomidine look
    WOUNDS = "wounds"
    SEIZURES = "seizures"
    UNUSUAL_COLOUR = "unusual_colour"
    UNUSUAL_STAMP = "unusual_stamp"
    UNEXPECTED_RESULT = "unexpected_result"  # drug checking found something else
    MANY_OVERDOSES = "many_overdoses"  # a spike of overdoses in the area


class Advice(StrEnum):
    CARRY_NALOXONE = "carry_naloxone"
    DONT_USE_ALONE = "dont_use_alone"
    USE_CHECKIN = "use_checkin"
    TEST_DRUGS = "test_drugs"
    START_LOW = "start_low"
    RECOVERY_POSITION = "recovery_position"  # sedation that naloxone does not reverse
    WOUND_CARE = "wound_care"


class Severity(StrEnum):
    MINOR = "minor"
    MODERATE = "moderate"
    SEVERE = "severe"
    EXTREME = "extreme"


class Method(StrEnum):
    """How a drug-checking result was found."""

    FTIR = "ftir"
    TEST_STRIP = "test_strip"
    LAB = "lab"
    OTHER = "other"


# The advice a coordinator starts from, per substance (they can change it).
ADVICE_FOR: dict[Substance, tuple[Advice, ...]] = {
    Substance.FENTANYL: (Advice.CARRY_NALOXONE, Advice.DONT_USE_ALONE, Advice.START_LOW,
                         Advice.TEST_DRUGS),
    Substance.NITAZENES: (Advice.CARRY_NALOXONE, Advice.DONT_USE_ALONE, Advice.START_LOW,
                          Advice.USE_CHECKIN),
    Substance.XYLAZINE: (Advice.CARRY_NALOXONE, Advice.RECOVERY_POSITION, Advice.WOUND_CARE,
                         Advice.DONT_USE_ALONE),
    Substance.MEDETOMIDINE: (Advice.CARRY_NALOXONE, Advice.RECOVERY_POSITION,
                             Advice.DONT_USE_ALONE),
    Substance.BENZODIAZEPINES: (Advice.CARRY_NALOXONE, Advice.RECOVERY_POSITION,
                                Advice.START_LOW, Advice.DONT_USE_ALONE),
    Substance.STIMULANTS: (Advice.CARRY_NALOXONE, Advice.TEST_DRUGS, Advice.DONT_USE_ALONE),
    Substance.UNKNOWN: (Advice.CARRY_NALOXONE, Advice.DONT_USE_ALONE, Advice.USE_CHECKIN,
                        Advice.TEST_DRUGS),
}

# CAP 1.2's words for severity; urgency follows from it (a severe supply: act now).
CAP_SEVERITY = {Severity.MINOR: "Minor", Severity.MODERATE: "Moderate",
                Severity.SEVERE: "Severe", Severity.EXTREME: "Extreme"}
CAP_URGENCY = {Severity.MINOR: "Expected", Severity.MODERATE: "Expected",
               Severity.SEVERE: "Immediate", Severity.EXTREME: "Immediate"}

MAX_TEXT = 500  # an alert's free text: a few sentences, the link carries the rest
MAX_REPORT_TEXT = 1000  # one free-text answer of a report


# -- what an alert may not say ----------------------------------------------------------

_STREET = (r"st|street|ave|avenue|rd|road|blvd|boulevard|dr|drive|ln|lane|way|ct|court|pl|"
           r"place|terrace|hwy|highway|pkwy|parkway|sq|square")
_CHECKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("phone", re.compile(r"(?:\+?\d[\s().-]*){7,}")),
    ("email", re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")),
    ("coordinates", re.compile(r"-?\d{1,3}\.\d{3,}\s*[,; ]\s*-?\d{1,3}\.\d{3,}")),
    # 3:15, 03.15, 3h15, 15h30: a time finer than the hour.
    ("time", re.compile(r"\b\d{1,2}\s*[:.h]\s*[0-5]\d\b", re.IGNORECASE)),
    ("incident", re.compile(r"(?:#\s*\d+|\b(?:incident|incidente|case|caso|call|llamada|"
                            r"ticket)\s*(?:no\.?|n[.º°]|number|n[úu]mero)?\s*#?\s*\d+)",
                            re.IGNORECASE)),
    ("address", re.compile(rf"\b\d{{1,5}}[a-z]?\s+(?:[\w'.-]+\s+){{0,3}}(?:{_STREET})\b\.?"
                           r"|\b(?:calle|avenida|av\.|carrera|paseo|plaza)\s+[\w'.-]+"
                           r"(?:\s+[\w'.-]+){0,3}\s*(?:#|n[.º°]?|no\.?)?\s*\d{1,5}\b"
                           r"|\b[\w-]+(?:katu|tie|gatan|vägen|strasse|straße)\s+\d{1,5}\b",
                           re.IGNORECASE)),
    ("link", re.compile(r"\bhttps?://|\bwww\.", re.IGNORECASE)),
)


def disclosures(text: str) -> list[str]:
    """What in ``text`` could point at a person or a place: "phone", "email",
    "coordinates", "time", "incident", "address", "link". Empty: nothing found."""
    normal = unicodedata.normalize("NFKC", text)
    return [name for name, pattern in _CHECKS if pattern.search(normal)]


# What XML 1.0 (CAP, Atom) cannot carry, and what nobody types: C0 controls other than
# tab and newlines, DEL and C1 controls, lone surrogates, U+FFFE/U+FFFF.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """``text`` without control characters (a stray one would make the CAP invalid)."""
    return _UNPRINTABLE.sub("", text)


def meaningful(text: str) -> bool:
    """Has at least one letter or digit (a report of emoji only says nothing)."""
    return any(ch.isalnum() for ch in unicodedata.normalize("NFKC", text))


# -- the text message -------------------------------------------------------------------

# GSM 03.38's basic set: a text in it is 160 characters a message; one character
# outside it makes the whole message UCS-2, 70 characters. Accented letters the set
# lacks (á, í, ó, ú...) are folded to their base letter so an alert stays one message.
GSM_CHARS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
SMS_LENGTH = 160
_STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                           "\u2013": "-", "\u2014": "-", "\u2026": "..."})


def gsm(text: str) -> str:
    """``text`` in GSM 03.38's basic set: letters outside it lose their accents, other
    characters go (emoji, curly quotes are straightened)."""
    out = []
    for ch in text.translate(_STRAIGHT):
        if ch in GSM_CHARS:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", ch)
                       if not unicodedata.combining(c))
        out.append(base if base and all(c in GSM_CHARS for c in base) else "")
    return re.sub(r"[ ]{2,}", " ", "".join(out)).strip()


def sms_body(*, lead: str, link: str, limit: int = SMS_LENGTH) -> str:
    """One text message: ``lead`` cut at a word to leave room for `` link``."""
    link = gsm(link)
    room = limit - len(link) - 1
    lead = gsm(lead)
    if room <= 0:
        return link[:limit]
    if len(lead) > room:
        lead = lead[: room - 3].rsplit(" ", 1)[0].rstrip(",.;: ") + "..."
    return f"{lead} {link}"
