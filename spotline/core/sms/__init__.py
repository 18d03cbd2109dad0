"""Help requests by SMS: compliance keywords, what a text says, and the conversation.

Three parts, all pure (no Django, no clock: time is passed in as ``now``):

1. ``classify_keyword``: the carrier compliance keywords (STOP, START, HELP and their
   Spanish equivalents). The shell checks these before anything else.
2. ``understand``: what kind of help, where, and whether the person is breathing and
   conscious, read from free English or Spanish text with plain phrase lists. It is
   simple on purpose, so a dispatcher can predict it: ``docs/sms-examples.md`` shows what
   it makes of real-looking texts, and the same table is a test.
3. ``converse``: a small table-driven state machine that asks one question at a time
   (what, then where) and never dead-ends. After two unclear answers it assumes rather
   than asks again: help sent on a guess beats a loop, and a dispatcher can call back.

Replies come from ``MESSAGES``, in English and Spanish, each at most 320 characters.
English ones are plain GSM-7, the cheapest and most compatible SMS encoding; Spanish
ones keep their accents (á, í, ó, ú are not in GSM-7, so they travel as UCS-2). No reply
mentions the police except to say that we never send them.

Check-ins by text ("SPOT 5 <where>", OK, DONE, saved places) are in ``core.sms.checkin``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from spotline.core.sms import checkin as sms_checkin
from spotline.core.triage import Answer, Kind

MAX_REPLY = 320  # two concatenated GSM-7 segments, five UCS-2 ones
MAX_PLACE = 200
MAX_NOTE = 1600  # the longest message carriers deliver
MAX_TRIES = 2  # unclear answers to one question before we assume


# -- Text normalisation ------------------------------------------------------------------

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


def _clean(text: str) -> str:
    """Control characters out, runs of spaces collapsed; line breaks are kept (they end
    a clause)."""
    kept = "".join(
        ch if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp") else " "
        for ch in text
    )
    lines = (" ".join(line.split()) for line in kept.split("\n"))
    return "\n".join(line for line in lines if line)


def _fold(text: str) -> str:
    """Lower case without accents, one character for one character, so that a span
    matched in the folded text is the same span in the original."""
    out = []
    for ch in text.translate(_QUOTES):
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        low = base.lower()
        out.append(low if len(low) == 1 else ch)
    return "".join(out)


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


_WORD = re.compile(r"[a-z0-9][a-z0-9']*")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- 1. Compliance keywords ---------------------------------------------------------------


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


def _keyword_word(text: str) -> str:
    if len(text) > 100:
        return ""
    return "".join(ch for ch in _fold(unicodedata.normalize("NFKC", text)) if ch.isalnum())


def classify_keyword(text: str) -> Keyword | None:
    """The compliance keyword this whole message is, ignoring case, accents, spaces,
    punctuation and emoji; None for anything else ("stop by the park" is not STOP)."""
    return KEYWORDS.get(_keyword_word(text))


# -- 2. Understanding a text --------------------------------------------------------------

_BREATH = r"(?:breath?(?:ing|in)|brething|breathng)\b"
_NOT_BREATHING = (
    rf"(?:\bnot|n'?t|\bstopped|\bquit|\bno longer|\bno|\bnever)\s+(?:really\s+)?{_BREATH}",
    r"\bdejo de respirar",
    r"\bno\s+(?:esta\s+|estaba\s+)?respira\w*",
)
_NOT_CONSCIOUS = (
    r"\bunconscious\b",
    r"\bunresponsive\b",
    r"\b(?:not|isn'?t|is not)\s+(?:conscious|awake|waking)",
    r"(?:\bnot|n'?t)\s+respond\w*",
    r"\b(?:won'?t|will not|can'?t|cannot)\s+wake",
    r"\b(?:passed|knocked|blacked)\s+out\b",
    r"\bout cold\b",
    r"\bcan'?t\s+stay\s+awake",
    r"\binconsciente\b",
    r"\bno\s+(?:se\s+)?despierta\b",
    r"\bno\s+(?:esta\s+)?despiert[oa]\b",
    r"\bno\s+(?:responde|reacciona)\b",
    r"\bdesmayad[oa]\b",
    r"\bse\s+desmayo\b",
)
BREATHING: dict[Answer, re.Pattern[str]] = {
    Answer.NO: _any(*_NOT_BREATHING),
    Answer.YES: _any(
        rf"(?<!if )(?<!whether )\b(?:is|he'?s|she'?s|hes|shes|they'?re|theyre|are|still|was)"
        rf"\s+(?:still\s+)?{_BREATH}",
        rf"{_BREATH}\s+(?:but|ok|okay|fine|again)\b", r"\bstarted\s+breathing\b",
        r"(?<!se )\bsi respira",
        r"\brespira pero\b",
        r"(?<!no )\besta respirando",
        r"\b(?:todavia|aun|sigue|ya) respira\w*",
    ),
}
CONSCIOUS: dict[Answer, re.Pattern[str]] = {
    Answer.NO: _any(*_NOT_CONSCIOUS),
    Answer.YES: _any(
        r"(?<!not )(?<!n't )(?<!nt )(?<!barely )"
        r"\b(?:awake|conscious|responsive|responding|talking)\b",
        r"\b(?:woke|wakes|waking)\s+up\b", r"\bcame (?:to|around)\b",
        r"(?<!no )(?<!no esta )\b(?:despiert[oa]|desperto|consciente|hablando|responde"
        r"|reacciona)\b",
    ),
}

# In order of precedence: "check on my friend, he's not breathing" is an overdose.
KIND_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (Kind.OVERDOSE, _any(
        r"\bo+v[ae]?r+\s?do[szc]\w*", r"\bover\s?does\b",
        r"\bo\.?d(?:\.|'d|'?ed|'?ing|'in|'?s)?(?!\w)",
        r"\bfent(?:anyl|anil|anilo|y)?\b", r"\bfetty\b", r"\bheroin[ae]?\b",
        r"\bopi(?:oid|ate)s?\b", r"\boxy(?:s|contin|codone)?\b", r"\bxylazine\b", r"\btranq\b",
        r"\bnodd?(?:ing|in|ed)\s+(?:out|off)\b", r"\bblue\s+lips\b",
        r"\blips\s+(?:(?:are|r|look|turning|going|is)\s+)*blue\b",
        r"\b(?:turning|turned|is|he'?s|she'?s|hes|shes|went|going|looks?)\s+blue\b",
        r"\bnarcan\b", r"\bnalox\w*", r"\bsobredosis\b", r"\blabios\s+(?:morados|azules)\b",
        r"\bse\s+puso\s+morad[oa]\b", r"\bbarely\s+" + _BREATH,
        r"\bunresponsive\b", r"\b(?:won'?t|will not|can'?t)\s+wake", r"\bno\s+despierta\b",
        r"\btook too (?:much|many)\b", r"\btoo (?:much|many) (?:pills|drugs|dope)\b",
        r"\b(?:demasiad[oa]s|muchas) pastillas\b", *_NOT_BREATHING,
    )),
    (Kind.MENTAL_HEALTH, _any(
        r"\bsuicid\w*", r"\bkill(?:ing)?\s+(?:my|him|her|them)sel(?:f|ves)\b",
        r"\b(?:wants?|wanna|wanting)\s+(?:to\s+)?die\b", r"\bend (?:my|his|her|their) life\b",
        r"\bhurt(?:ing)?\s+(?:my|him|her|them)sel(?:f|ves)\b", r"\bself[- ]?harm",
        r"\bpanic attack", r"\bhear(?:s|ing)? voices\b", r"\bpsycho(?:sis|tic)\b",
        r"\bbreak\s?down\b", r"\bcrisis\b", r"\bmental health\b", r"\bmanic\b",
        r"\bquier[eo] morir", r"\bmatarse\b", r"\bquitarse la vida\b", r"\bhacerse dano\b",
        r"\bataque de (?:panico|ansiedad)", r"\b(?:escucha|oye) voces\b", r"\bsalud mental\b",
    )),
    (Kind.MEDICAL, _any(
        r"\bbleed\w*", r"\bhurt\b", r"\binjur\w*", r"\bseiz(?:ure|ures|ing)\b", r"\bfell\b",
        r"\bfallen\b", r"\bhit (?:his|her|their|my) head\b", r"\bbroken\b",
        r"\bbroke (?:his|her|my|their)\b", r"\bchest pains?\b", r"\bheart attack\b",
        r"\bcan'?t breathe\b", r"\btrouble breathing\b", r"\bsick\b", r"\bstabbed\b",
        r"\bsangr\w*", r"\bherid[oa]s?\b", r"\bconvulsi\w*", r"\bse cayo\b",
        r"\bdolor de pecho\b", r"\bataque al corazon\b", r"\blastimad[oa]\b",
        r"\benferm[oa]\b", r"\bno puede respirar\b",
    )),
    (Kind.CONFLICT, _any(
        r"\bfight\w*", r"\battack(?:ing|ed)\b", r"\bthreaten\w*", r"\bbrawl\b",
        r"\bbeat(?:ing)?\s+(?:him|her|them|me|someone|somebody|up)\b",
        r"\bpele\w*", r"\bamenaz\w*", r"\bgolpeando\b",
    )),
    (Kind.WELFARE_CHECK, _any(
        r"\bcheck(?:\s+in)?\s+on\b", r"\bhaven'?t\s+(?:seen|heard from)\b",
        r"\bhave not\s+(?:seen|heard from)\b", r"\bworried about\b",
        r"\b(?:welfare|wellness) check\b",
        r"\brevis\w*", r"\bno (?:lo |la |le )?he visto\b", r"\bpreocupad[oa]s?\b",
    )),
)
_SIGNALS = [p.pattern for _, p in KIND_PATTERNS] + [
    p.pattern for d in (BREATHING, CONSCIOUS) for p in d.values()
]

# -- Where: cue phrases, cross streets, addresses. The place keeps its cue word ("at the
# park", "behind the 7-11 on 5th") and runs to the end of the clause.
_CUE = re.compile(
    r"\b(?:in front of|on the corner of|corner of|across (?:the street )?from|next to|by the"
    r"|in the|behind|near|outside(?: of)?|at|under(?:neath)?|detras del?|cerca del?"
    r"|(?:en)?frente (?:al?|del?)|a?fuera del?|al lado del?|esquina de|debajo del?|en)\b"
    r"|\bon(?= \d+(?:st|nd|rd|th)\b)"
)
_SUFFIX = (r"(?:st|street|ave|avenue|av|rd|road|blvd|boulevard|dr|drive|ln|lane|ct|court|pl"
           r"|pkwy|parkway|hwy|highway|ter|terrace|cir|circle|sq|square)")
_STREET = (rf"(?:(?:calle|avenida|avda|av)\.?\s+)?(?:\d{{1,4}}(?:st|nd|rd|th|ra|da|ta|va|na|ma"
           rf"|er|o|a)|[a-z][a-z'.-]*)(?:\s+{_SUFFIX}\b\.?)?")
_CROSS = re.compile(rf"\b(?P<a>{_STREET})\s*(?:&|\band\b|\by\b|/)\s*(?P<b>{_STREET})(?!\w)")
_STREETY = re.compile(rf"\d|\b(?:{_SUFFIX}|calle|avenida|avda)\b")
_ADDRESS = _any(
    rf"\b\d{{1,6}}[a-z]?\s+(?:[nsew]\.?\s+)?(?:[a-z0-9][a-z0-9'.-]*\s+){{0,3}}?{_SUFFIX}\b\.?",
    r"\b(?:calle|avenida|avda|av|carrera|cra|calzada|paseo|camino)\.?\s+"
    r"(?:[a-z][a-z'.-]*\s+){0,3}?#?\s*\d{1,5}\b",
)
# What ends a place: the end of a sentence, a new clause ("he's", "pls", "hay"), or a
# phrase about what is happening.
_BREAK = re.compile(
    r"[!?;\n]|\.(?=\s|$)|\bi(?![\w'-])|\b(?:he|she|they|we|you|it|he's|hes|she's|shes"
    r"|they're|theyre|we're|i'm|im|it's|someone|somebody|there's|theres|please|pls|plz"
    r"|hurry|help|asap|quick|quickly|send|come|need|needs|thanks|thank|ella|ellos|yo|alguien"
    r"|porfa|porfavor|por favor|ayuda|ayudenme|rapido|urgente|necesito|necesitamos|vengan"
    r"|manden|gracias|hay|no|not|is|isn't|isnt|was|wasn't|wasnt|has|hasn't|hasnt|won't|wont"
    r"|can't|cant|doesn't|doesnt|my|mi|su|sus)\b|" + "|".join(f"(?:{s})" for s in _SIGNALS)
)
_POSSESSIVES = frozenset({"my", "mi", "su", "sus"})
_ABBREVIATIONS = frozenset({"st", "ave", "av", "avda", "rd", "dr", "blvd", "apt", "no", "mt",
                            "ft", "n", "s", "e", "w", "ln", "ct", "pl", "hwy", "jr", "sr",
                            "sta", "col", "calz", "pkwy"})
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "el", "la", "los", "las", "un",
                          "una", "este", "esta", "ese", "esa"})
# A cue followed by one of these is not a place: "at least", "look at him", "in the
# morning", "under the influence", "en serio", "en este momento".
_NOT_PLACES = frozenset({
    "all", "once", "least", "him", "her", "me", "them", "us", "it", "you", "night", "noon",
    "midnight", "morning", "afternoon", "evening", "moment", "meantime", "way", "time",
    "first", "last", "past", "end", "influence", "point", "risk", "death", "now", "head",
    "face", "chest", "arm", "arms", "leg", "legs", "neck", "stomach", "eye", "eyes",
    "mouth", "hand", "hands", "serio", "seguida", "peligro", "riesgo", "momento", "camino",
    "cuanto", "vez", "cuenta", "realidad", "verdad", "crisis", "breve",
})
_TIME = re.compile(r"\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m|p\.m|o'?clock|hrs?|hours?|horas?|mins?"
                   r"|minutes?|minutos?|days?|dias?|weeks?|semanas?)\b|\d{1,2}:\d\d")
_TRAILING = re.compile(r"(?:[\s,.;:&/(\-\u2013\u2014]+|\b(?:and|or|but|with|so|because|cause"
                       r"|cuz|y|o|pero|con|porque|que)\s*)$", re.IGNORECASE)


def _clause_end(folded: str, start: int) -> int:
    first = len(folded) - len(folded[start:].lstrip())
    for m in _BREAK.finditer(folded, start):
        found = m.group()
        if found in _POSSESSIVES and m.start() == first:
            continue  # "at my house", "en mi casa"
        if found == ".":
            before = _WORD.findall(folded, max(0, m.start() - 8), m.start())
            if before and before[-1] in _ABBREVIATIONS:
                continue  # "123 Main St. apt 4"
        return m.start()
    return len(folded)


def _trim(place: str) -> str:
    place = place[:MAX_PLACE]
    while True:
        shorter = _TRAILING.sub("", place)
        if shorter == place:
            return place
        place = shorter


def _cue_ok(folded: str, at: int) -> bool:
    words = [w for w in _WORD.findall(folded, at, at + 80) if w not in _DETERMINERS]
    if not words or words[0] in _NOT_PLACES:
        return False
    rest = folded[at:].lstrip()
    return not _TIME.match(rest)


def _place(clean: str, folded: str) -> str | None:
    """The earliest place in the text, as written: a cue phrase up to the end of its
    clause, or cross streets or an address (with whatever follows in the clause)."""
    found: list[tuple[int, str]] = []
    for n, cue in enumerate(_CUE.finditer(folded)):
        if n > 50:  # a wall of "at at at...": give up rather than scan it all
            break
        if not _cue_ok(folded, cue.end()):
            continue
        place = _trim(clean[cue.start():_clause_end(folded, cue.end())].rstrip())
        words = _WORD.findall(folded, cue.end(), cue.start() + len(place))
        if any(w not in _DETERMINERS for w in words):  # more than "at the"
            found.append((cue.start(), place))
            break
    cross = next((m for m in _CROSS.finditer(folded)
                  if _STREETY.search(m.group("a")) or _STREETY.search(m.group("b"))), None)
    for m in (cross, _ADDRESS.search(folded)):
        if m is not None:
            found.append((m.start(), _trim(clean[m.start():_clause_end(folded, m.end())])))
    return min((f for f in found if f[1]), default=(0, None))[1]


_ES_WORDS = _words("""
ayuda ayudame ayudenme sobredosis esta estan mi mis amigo amiga hermano hermana novio novia
esposo esposa hijo hija papa mama tio tia respira despierta por favor porfa hay el la los las
en de del que estoy estamos calle parque aqui donde necesito alguien una y con se lo le hola si
tiene tengo detras cerca frente esquina afuera lado herido herida sangrando sangra pelea quiere
morir gracias muy casa persona senor senora urgente rapido es un al para pero inconsciente
fentanilo tienda iglesia plaza revisar visto preocupado preocupada labios morados convulsion
amenazando peleando cayo salud
""") | SPANISH_KEYWORDS
_EN_WORDS = _words("""
the is my he she they his her not help please pls plz at and in on of friend breathing someone
somebody i im i'm we are isn't isnt it this there what where near behind street need send hurry
yes overdose overdosing od od'd guy man woman girl boy bf gf brother sister mom dad wont won't
cant can't hes he's shes she's by outside with hi hello thanks just from has have was you lady
dude bro passed out up
""")


def _language(code: str | None) -> str | None:
    code = (code or "").strip().lower()
    return "es" if code.startswith("es") else "en" if code.startswith("en") else None


def _detect(clean: str, folded: str) -> str | None:
    """"es" or "en" when the text leans one way, None when it gives no sign ("5", "ok")."""
    if _keyword_word(clean) in SPANISH_KEYWORDS:
        return "es"
    words = _WORD.findall(folded)
    es = sum(w in _ES_WORDS for w in words) + sum(ch in "áéíóúñ¿¡" for ch in clean.lower())
    en = sum(w in _EN_WORDS for w in words)
    return "es" if es > en else "en" if en > es else None


def _answer(patterns: dict[Answer, re.Pattern[str]], folded: str) -> Answer | None:
    # NO first: "not breathing but..." must never read as breathing.
    for answer in (Answer.NO, Answer.YES):
        if patterns[answer].search(folded):
            return answer
    return None


@dataclass(frozen=True, slots=True)
class Understanding:
    language: str  # "en" or "es"
    kind: Kind | None  # None: the text did not say
    place: str | None  # the location phrase as written, cue word kept
    breathing: Answer | None  # None: not mentioned
    conscious: Answer | None


def _understand(clean: str, folded: str, language: str | None) -> Understanding:
    kind = next((k for k, pattern in KIND_PATTERNS if pattern.search(folded)), None)
    return Understanding(
        language=_language(language) or _detect(clean, folded) or "en",
        kind=kind,
        place=_place(clean, folded),
        breathing=_answer(BREATHING, folded),
        conscious=_answer(CONSCIOUS, folded),
    )


def understand(text: str, *, language: str | None = None) -> Understanding:
    """What a text says, as far as plain phrase lists can tell. Never raises."""
    clean = _clean(text)
    return _understand(clean, _fold(clean), language)


# -- 3. Replies ---------------------------------------------------------------------------

_CHOICES_EN = "1 overdose, 2 mental health, 3 hurt or sick, 4 check on someone, 5 conflict, 6 other"
_CHOICES_ES = ("1 sobredosis, 2 salud mental, 3 herida o enfermedad, 4 ver cómo está alguien, "
               "5 conflicto, 6 otra cosa")
_WHERE_EN = "Where are you? A street address, cross streets, or a place people know."
_WHERE_ES = "¿Dónde estás? Una dirección, un cruce de calles o un lugar conocido."

MESSAGES: dict[str, dict[str, str]] = {
    "intro": {"en": "Spotline here. We never send police.",
              "es": "Aquí Spotline. Nunca enviamos a la policía."},
    "got_place": {"en": "Got it: {place}.", "es": "Entendido: {place}."},
    "ask_kind": {"en": f"What is happening? Reply with a number: {_CHOICES_EN}",
                 "es": f"¿Qué está pasando? Responde con un número: {_CHOICES_ES}"},
    "kind_again": {
        "en": f"Sorry, I did not get that. Reply with one number, for example 1 if someone "
              f"took too much: {_CHOICES_EN}",
        "es": f"Perdón, no entendí. Responde con un solo número, por ejemplo 1 si alguien "
              f"consumió demasiado: {_CHOICES_ES}",
    },
    "assume": {"en": "OK, we will send someone to help.",
               "es": "Bien, vamos a enviar a alguien a ayudar."},
    "ask_place": {"en": _WHERE_EN, "es": _WHERE_ES},
    "place_again": {
        "en": 'Sorry, I could not tell where you are. Send a street address, cross streets, '
              'or a place people know, like "5th and Main" or "behind the library on Elm".',
        "es": 'Perdón, no entendí dónde estás. Manda una dirección, un cruce de calles o un '
              'lugar conocido, como "5ta y Main" o "detrás de la biblioteca en Elm".',
    },
    "dispatched": {
        "en": "Sending a responder for {what} at: {place}. We never send police. Reply with a "
              "better location anytime. Reply STOP to stop texts.",
        "es": "Enviamos a una persona de apoyo por {what} en: {place}. Nunca enviamos a la "
              "policía. Responde con una mejor ubicación cuando quieras. Responde PARAR para "
              "no recibir más mensajes.",
    },
    "dispatched_unsure": {
        "en": "Sending a responder for {what}. We could not tell exactly where you are, so "
              "someone may call or text you. Reply with an address, cross streets, or a place "
              "people know. We never send police.",
        "es": "Enviamos a una persona de apoyo por {what}. No supimos bien dónde estás, así "
              "que alguien te puede llamar o escribir. Responde con una dirección, un cruce de "
              "calles o un lugar conocido. Nunca enviamos a la policía.",
    },
    "naloxone": {
        "en": "If you have naloxone (Narcan), give it now. If they are not breathing, give "
              "rescue breaths. Stay with them if you can.",
        "es": "Si tienes naloxona (Narcan), dásela ahora. Si no respira, dale respiración de "
              "rescate. Quédate con la persona si puedes.",
    },
    "noted": {"en": "Thanks, we added that to your request. Text anytime with more details.",
              "es": "Gracias, lo añadimos a tu solicitud. Escribe cuando quieras con más "
                    "detalles."},
    "moved": {"en": "Thanks, we updated the location: {place}. Text anytime with more details.",
              "es": "Gracias, actualizamos la ubicación: {place}. Escribe cuando quieras con "
                    "más detalles."},
    "still_open": {"en": "Your request is still open. Text any details or a better location.",
                   "es": "Tu solicitud sigue abierta. Escribe cualquier detalle o una mejor "
                         "ubicación."},
    # For the shell's keyword handling; {org} is the organization's name.
    "stop": {"en": "{org}: you will get no more texts from us. Reply START to get texts again.",
             "es": "{org}: no te enviaremos más mensajes. Responde INICIO para volver a "
                   "recibirlos."},
    "start": {"en": "{org}: you will get texts from us again. Text what is happening and "
                    "where to ask for help. Reply STOP to stop.",
              "es": "{org}: volverás a recibir nuestros mensajes. Escribe qué pasa y dónde "
                    "para pedir ayuda. Responde PARAR para dejar de recibirlos."},
    "help": {"en": "{org}: text what is happening and where, and we send a trained community "
                   "responder. We never send police. Reply STOP to stop texts.",
             "es": "{org}: escribe qué pasa y dónde, y enviamos a una persona de apoyo de la "
                   "comunidad. Nunca enviamos a la policía. Responde PARAR para dejar de "
                   "recibir mensajes."},
}
WHAT: dict[Kind, dict[str, str]] = {
    Kind.OVERDOSE: {"en": "an overdose", "es": "una sobredosis"},
    Kind.MENTAL_HEALTH: {"en": "a mental health crisis", "es": "una crisis de salud mental"},
    Kind.MEDICAL: {"en": "someone hurt or sick", "es": "una persona herida o enferma"},
    Kind.WELFARE_CHECK: {"en": "a check on someone", "es": "ver cómo está alguien"},
    Kind.CONFLICT: {"en": "a conflict", "es": "un conflicto"},
    Kind.OTHER: {"en": "your request", "es": "tu solicitud"},
}


def _say(lang: str, *keys: str, what: str = "", place: str = "", org: str = "") -> str:
    """One SMS from message parts, cut to fit: only the echoed place is shortened."""
    template = " ".join(MESSAGES[key][lang] for key in keys)
    room = MAX_REPLY - len(template.format(what=what, place="", org=org))
    echo = " ".join(place.split()) or "?"
    if len(echo) > room:
        echo = echo[: max(room - 3, 0)].rstrip() + "..."
    return template.format(what=what, place=echo, org=org)


def keyword_reply(keyword: Keyword, *, language: str = "en", org: str = "Spotline") -> str:
    """The confirmation carriers expect for a compliance keyword."""
    return _say(_language(language) or "en", keyword.value, org=org[:60])


def keyword_language(text: str) -> str:
    """The language to answer a keyword in: Spanish for PARAR, AYUDA..., else English."""
    return "es" if _keyword_word(text) in SPANISH_KEYWORDS else "en"


# -- 4. The conversation ------------------------------------------------------------------


class Step(StrEnum):
    START = "start"
    ASK_KIND = "ask_kind"
    ASK_PLACE = "ask_place"
    DISPATCHED = "dispatched"
    CLOSED = "closed"  # set by the shell when the incident closes; a new text starts over


@dataclass(frozen=True, slots=True)
class ConversationState:
    step: Step = Step.START
    language: str | None = None  # None until a text or the shell says
    kind: Kind | None = None
    place: str | None = None
    breathing: Answer | None = None
    conscious: Answer | None = None
    attempts: int = 0  # unclear answers to the current question


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """Help should be dispatched: what the shell passes to ``incident_open``."""

    kind: Kind
    place: str | None  # None only when the person gave nothing usable: call them back
    breathing: Answer
    conscious: Answer
    language: str


@dataclass(frozen=True, slots=True)
class Turn:
    state: ConversationState
    replies: tuple[str, ...]  # SMS texts to send back, in order
    at: datetime
    action: OpenIncident | None = None
    note: str | None = None  # a detail sent after dispatch, for the shell to attach


# What is known -> what to do next: (kind known, place known) -> step.
NEXT_STEP: dict[tuple[bool, bool], Step] = {
    (True, True): Step.DISPATCHED,
    (True, False): Step.ASK_PLACE,
    (False, True): Step.ASK_KIND,
    (False, False): Step.ASK_KIND,
}

# Where a turn can lead from each step (a test holds converse() to it).
STEPS: dict[Step, frozenset[Step]] = {
    Step.START: frozenset({Step.ASK_KIND, Step.ASK_PLACE, Step.DISPATCHED}),
    Step.ASK_KIND: frozenset({Step.ASK_KIND, Step.ASK_PLACE, Step.DISPATCHED}),
    Step.ASK_PLACE: frozenset({Step.ASK_PLACE, Step.DISPATCHED}),
    Step.DISPATCHED: frozenset({Step.DISPATCHED}),
    Step.CLOSED: frozenset({Step.ASK_KIND, Step.ASK_PLACE, Step.DISPATCHED}),
}

_CHOICES: dict[str, Kind] = {"1": Kind.OVERDOSE, "2": Kind.MENTAL_HEALTH, "3": Kind.MEDICAL,
                             "4": Kind.WELFARE_CHECK, "5": Kind.CONFLICT, "6": Kind.OTHER}
_NUMBER_WORDS = {"one": "1", "uno": "1", "two": "2", "dos": "2", "three": "3", "tres": "3",
                 "four": "4", "cuatro": "4", "five": "5", "cinco": "5", "six": "6", "seis": "6"}
_CHOICE_DIGIT = re.compile(r"\W*(?:#|num(?:ber|ero)?\.?|opt(?:ion)?|opcion)?\s*([1-6])(?!\w)")
_CHOICE_WORDS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (Kind.MENTAL_HEALTH, re.compile(r"\bmental\b")),
    (Kind.MEDICAL, re.compile(r"\b(?:sick|ill|enferm[oa]|herid[oa]|medical|medico)\b")),
    (Kind.WELFARE_CHECK, re.compile(r"\b(?:check|ver como esta)\b")),
    (Kind.CONFLICT, re.compile(r"\bconflict[oa]?\b")),
    (Kind.OTHER, re.compile(r"\b(?:other|otr[oa]|something else)\b")),
)
# Words that are no answer to "where are you?": "idk", "pls hurry", "no sé".
_NO_PLACE_WORDS = _words("""
idk dunno know don't dont not sure what huh why who help please pls plz hurry now yes yeah yea
yep ok okay no nope si por favor porfavor porfa rapido se que hi hello hola thanks thank you
gracias i im i'm he she they is are it we he's she's the a me my mi here aqui where donde lol
asap quick come send someone somebody alguien vengan ven just sorry wait espera un una momento
moment sec second ayuda stop we're were am estamos estoy esta aca hmm hm um umm uh eh ah oh
wut wat k kk omg wtf idc nvm
""")


@dataclass(frozen=True, slots=True)
class _Read:
    clean: str
    folded: str
    heard: Understanding


def _choice(r: _Read) -> Kind | None:
    m = _CHOICE_DIGIT.match(r.folded)
    if m and not _ADDRESS.match(r.folded, m.start(1)):
        return _CHOICES[m.group(1)]
    words = _WORD.findall(r.folded)
    if len(words) == 1 and words[0] in _NUMBER_WORDS:
        return _CHOICES[_NUMBER_WORDS[words[0]]]
    if r.heard.kind is not None:
        return r.heard.kind
    return next((k for k, p in _CHOICE_WORDS if p.search(r.folded)), None)


def _says_something(folded: str) -> bool:
    return any(len(w) > 1 and w not in _NO_PLACE_WORDS for w in _WORD.findall(folded))


def _answer_to_where(r: _Read) -> str | None:
    """The place in a reply to "where are you?". A reply about nothing else is the place
    as a whole ("the library", "Walgreens on 3rd", not just "on 3rd"), minus a lead-in
    like "we're"; one that also says what is happening gives only its place phrase."""
    h = r.heard
    if h.kind is not None or h.breathing is not None or h.conscious is not None:
        return h.place
    if h.place is not None and not _says_something(r.folded[: r.clean.find(h.place)]):
        return h.place
    if not _says_something(r.folded):
        return None
    return _trim(" ".join(r.clean.split())) or None


def _merge(state: ConversationState, h: Understanding, *, kind: Kind | None = None,
           place: str | None = None) -> ConversationState:
    return replace(
        state,
        kind=kind or state.kind,
        place=place or state.place,
        breathing=h.breathing or state.breathing,
        conscious=h.conscious or state.conscious,
    )


def _tips(old: ConversationState, new: ConversationState, lang: str) -> tuple[str, ...]:
    # First aid once, on the turn we learn it is an overdose.
    if new.kind is Kind.OVERDOSE and old.kind is not Kind.OVERDOSE:
        return (_say(lang, "naloxone"),)
    return ()


_LEADING_CUE = re.compile(r"^(?:at|en)\s+(?=\S)", re.IGNORECASE)


def _dispatch(old: ConversationState, new: ConversationState, lang: str, now: datetime,
              *, unsure: bool = False) -> Turn:
    kind = new.kind or Kind.OTHER
    new = replace(new, step=Step.DISPATCHED, kind=kind, attempts=0)
    key = "dispatched_unsure" if unsure or new.place is None else "dispatched"
    # "...for an overdose at: the park", not "at: at the park".
    echo = _LEADING_CUE.sub("", new.place or "")
    reply = _say(lang, key, what=WHAT[kind][lang], place=echo)
    action = OpenIncident(kind=kind, place=new.place, breathing=new.breathing or Answer.UNKNOWN,
                          conscious=new.conscious or Answer.UNKNOWN, language=lang)
    return Turn(new, (reply, *_tips(old, new, lang)), now, action=action)


def _advance(old: ConversationState, new: ConversationState, lang: str, now: datetime,
             *, assumed: bool = False) -> Turn:
    """Ask the next question, or dispatch when kind and place are both known."""
    step = NEXT_STEP[(new.kind is not None, new.place is not None)]
    if step is Step.DISPATCHED:
        return _dispatch(old, new, lang, now)
    new = replace(new, step=step, attempts=0)
    first = ("intro",) if old.step in (Step.START, Step.CLOSED) else ()
    if step is Step.ASK_KIND:
        parts = (*first, *(("got_place",) if new.place else ()), "ask_kind")
    else:
        parts = (*first, *(("assume",) if assumed else ()), "ask_place")
    return Turn(new, (_say(lang, *parts, place=new.place or ""), *_tips(old, new, lang)), now)


def _on_opening(state: ConversationState, r: _Read, lang: str, now: datetime) -> Turn:
    return _advance(state, _merge(state, r.heard, kind=r.heard.kind, place=r.heard.place),
                    lang, now)


def _on_kind(state: ConversationState, r: _Read, lang: str, now: datetime) -> Turn:
    kind = _choice(r)
    new = _merge(state, r.heard, kind=kind, place=r.heard.place)
    if kind is not None:
        return _advance(state, new, lang, now)
    if state.attempts + 1 >= MAX_TRIES:  # help sent on a guess beats a loop
        return _advance(state, replace(new, kind=Kind.OTHER), lang, now, assumed=True)
    new = replace(new, step=Step.ASK_KIND, attempts=state.attempts + 1)
    return Turn(new, (_say(lang, "kind_again"),), now)


def _on_place(state: ConversationState, r: _Read, lang: str, now: datetime) -> Turn:
    new = _merge(state, r.heard, kind=r.heard.kind)
    place = _answer_to_where(r)
    if place is not None:
        return _dispatch(state, replace(new, place=place), lang, now)
    if state.attempts + 1 >= MAX_TRIES:  # a dispatcher can call back; send help now
        raw = _trim(" ".join(r.clean.split())) or None
        return _dispatch(state, replace(new, place=raw or new.place), lang, now, unsure=True)
    new = replace(new, step=Step.ASK_PLACE, attempts=state.attempts + 1)
    return Turn(new, (_say(lang, "place_again"),), now)


def _on_detail(state: ConversationState, r: _Read, lang: str, now: datetime) -> Turn:
    new = _merge(state, r.heard, place=r.heard.place)
    note = r.clean[:MAX_NOTE] or None
    if r.heard.place:
        reply = _say(lang, "moved", place=r.heard.place)
    else:
        reply = _say(lang, "noted" if note else "still_open")
    return Turn(new, (reply,), now, note=note)


_ON: dict[Step, Callable[[ConversationState, _Read, str, datetime], Turn]] = {
    Step.START: _on_opening,
    Step.CLOSED: _on_opening,
    Step.ASK_KIND: _on_kind,
    Step.ASK_PLACE: _on_place,
    Step.DISPATCHED: _on_detail,
}


def converse(state: ConversationState, text: str, *, now: datetime) -> Turn:
    """One inbound text (not a compliance keyword: the shell handles those first) and
    what to answer. Total: any text, from any state, gets at least one reply."""
    clean = _clean(text)
    folded = _fold(clean)
    # Answer in the language of the latest text that shows one, else as before.
    lang = _detect(clean, folded) or _language(state.language) or "en"
    read = _Read(clean, folded, _understand(clean, folded, lang))
    if state.step is Step.CLOSED:
        state = ConversationState(step=Step.CLOSED)  # a new request: forget the old one
    turn = _ON[state.step](state, read, lang, now)
    return replace(turn, state=replace(turn.state, language=lang))


# -- responders answering an offer by text ---------------------------------------------

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


# -- check-ins by text: in ``core.sms.checkin``; these names stay importable from here ---

CHECKIN_OK_WORDS = sms_checkin.CHECKIN_OK_WORDS
CHECKIN_DONE_WORDS = sms_checkin.CHECKIN_DONE_WORDS
SpotRequest = sms_checkin.SpotRequest
parse_spot = sms_checkin.parse_spot
checkin_word = sms_checkin.checkin_word
