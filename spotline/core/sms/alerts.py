"""Drug alerts by text, the pure part: ALERTS (subscribe to an area), ALERTS STOP, and
REPORT (an anonymous report of a bad supply), in English and Spanish.

What a person can text (case, accents and punctuation ignored; the whole message):

- ``ALERTS`` / ``ALERTAS``: asks which area (a name the organization defined, a
  postcode, or ALL / TODO). ``ALERTS Keskusta`` or ``ALERTS 00100`` subscribes at once.
- ``ALERTS STOP`` / ``ALERTAS PARAR`` (or ``STOP ALERTS``...): no more alerts, at once.
  The compliance STOP does the same (``intake.keyword_texts``).
- ``REPORT`` / ``REPORTE``: what it looked like, what happened, roughly where (an area
  or a postcode, never an address; SKIP / OMITIR), then the report is filed without the
  phone.

Two rules keep a person in an emergency from being held here:

1. Every question ends with "If someone needs help now, text HELP" (HELP is a
   compliance keyword, read before anything else, and it ends this conversation).
2. An answer to "which area?" that is not an area (long, or about an overdose, a fight,
   someone hurt...) ends the conversation at once and goes on to the help conversation;
   so does a second answer that names no area. ``Do.NOT_ALERTS`` says so.

The shell (``alerts.sms``) reads the conversation, looks areas up (``find``,
``examples``), carries out the ``Turn`` and keeps the conversation for at most
``CONVERSATION_KEEP`` of silence. Pure: no Django, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum

from spotline.core.alerts import MAX_REPORT_TEXT, disclosures, meaningful
from spotline.core.sms.keywords import keyword_word
from spotline.core.sms.text import MAX_REPLY, clean, fold
from spotline.core.sms.understand import ADDRESS, understand
from spotline.core.triage import Answer

CONVERSATION_KEEP = timedelta(minutes=30)
MAX_TRIES = 2  # answers naming no area before giving up
MAX_AREA_TEXT = 60  # an area's name or a postcode; anything longer is about something else

# First (or last) words, folded, and the language they answer in.
ALERT_WORDS: dict[str, str] = {"alerts": "en", "alert": "en", "alertas": "es", "alerta": "es"}
REPORT_WORDS: dict[str, str] = {"report": "en", "reporte": "es", "reportar": "es"}
# After ALERTS: stop them. None: the language of the alert word.
STOP_WORDS: dict[str, str | None] = {
    **dict.fromkeys(["stop", "off", "end", "quit", "cancel", "unsubscribe", "no"], None),
    **dict.fromkeys(["parar", "para", "alto", "baja", "detener", "cancelar", "basta"], "es"),
}
ALL_WORDS = frozenset({"all", "allareas", "everywhere", "todo", "todas", "todos",
                       "todoelmapa", "todaslaszonas", "todaslasareas", "todoslados"})
SKIP_WORDS = frozenset({"skip", "pass", "none", "no", "idk", "dontknow", "idontknow",
                        "omitir", "omite", "saltar", "nose", "ninguno", "ninguna"})


class Topic(StrEnum):
    SUBSCRIBE = "subscribe"
    REPORT = "report"


class Step(StrEnum):
    AREA = "area"  # subscribing: which area?
    LOOKED_LIKE = "looked_like"  # reporting: what did it look like?
    WHAT_HAPPENED = "what_happened"
    WHERE = "where"  # roughly where: an area, never an address


class Do(StrEnum):
    NOT_ALERTS = "not_alerts"  # end any alert conversation; the help one answers
    ASK = "ask"  # keep ``talk``, send ``reply``
    SUBSCRIBE = "subscribe"  # subscribe to ``area`` (or ``all_areas``); the talk ends
    UNSUBSCRIBE = "unsubscribe"  # delete the subscriber; the talk ends
    REPORT = "report"  # file ``talk``'s answers with ``area``; the talk ends


@dataclass(frozen=True, slots=True)
class AreaChoice:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Talk:
    """An alert conversation between texts (the shell seals the answers)."""

    topic: Topic
    step: Step
    language: str = "en"
    tries: int = 0  # unusable answers at this step
    looked_like: str = ""
    what_happened: str = ""


@dataclass(frozen=True, slots=True)
class Turn:
    do: Do
    reply: str = ""  # empty only for NOT_ALERTS
    talk: Talk | None = None  # ASK: what to keep; SUBSCRIBE: its language; REPORT: answers
    area: AreaChoice | None = None
    all_areas: bool = False


# The shell's lookups: the areas a text names (best first), and a few names to offer.
Find = Callable[[str], Sequence[AreaChoice]]
Examples = Callable[[], Sequence[str]]

_NOW_EN = " If someone needs help now, text HELP."
_NOW_ES = " Si alguien necesita ayuda ahora, escribe AYUDA."
_AREA_EN = "Reply with an area name{choices}, a postcode, or ALL for every area."
_AREA_ES = "Responde con el nombre de una zona{choices}, un código postal o TODO para todas."
_WHERE_EN = "an area name{choices} or a postcode, never an address. Or SKIP."
_WHERE_ES = "el nombre de una zona{choices} o un código postal, nunca una dirección. O OMITIR."

TEXTS: dict[str, dict[str, str]] = {
    "ask_area": {"en": "Drug alerts by text: which area? " + _AREA_EN + _NOW_EN,
                 "es": "Alertas de drogas por mensaje: ¿qué zona? " + _AREA_ES + _NOW_ES},
    "area_again": {"en": "We don't know that area. " + _AREA_EN + _NOW_EN,
                   "es": "No conocemos esa zona. " + _AREA_ES + _NOW_ES},
    "subscribed": {
        "en": "You will get drug alerts for {area}. Text ALERTS STOP to stop them, or STOP "
              "for no texts from us at all.",
        "es": "Recibirás alertas de drogas para {area}. Escribe ALERTAS PARAR para dejar de "
              "recibirlas, o PARAR para no recibir ningún mensaje nuestro.",
    },
    "subscribed_all": {
        "en": "You will get drug alerts for all areas. Text ALERTS STOP to stop them, or "
              "STOP for no texts from us at all.",
        "es": "Recibirás alertas de drogas de todas las zonas. Escribe ALERTAS PARAR para "
              "dejar de recibirlas, o PARAR para no recibir ningún mensaje nuestro.",
    },
    # The same whether the number was subscribed or not: a reply never tells.
    "unsubscribed": {
        "en": "You will get no more drug alerts from us. Text ALERTS to sign up again.",
        "es": "No recibirás más alertas de drogas. Escribe ALERTAS para volver a recibirlas.",
    },
    "ask_looked_like": {
        "en": "Anonymous drug report (your number is not kept with it). What did it look "
              "like: colour, stamp, what it was sold as? Or SKIP." + _NOW_EN,
        "es": "Reporte anónimo de drogas (tu número no se guarda con él). ¿Cómo era: color, "
              "sello, qué te dijeron que era? O OMITIR." + _NOW_ES,
    },
    "ask_what_happened": {
        "en": "What happened? For example: several naloxone doses needed, heavy sedation, "
              "wounds." + _NOW_EN,
        "es": "¿Qué pasó? Por ejemplo: hicieron falta varias dosis de naloxona, sedación "
              "fuerte, heridas." + _NOW_ES,
    },
    "ask_where": {"en": "Roughly where? Reply with " + _WHERE_EN + _NOW_EN,
                  "es": "¿Más o menos dónde? Responde con " + _WHERE_ES + _NOW_ES},
    "where_address": {
        "en": "Please don't send an address or an exact place. Reply with " + _WHERE_EN
              + _NOW_EN,
        "es": "Por favor no mandes una dirección ni un lugar exacto. Responde con "
              + _WHERE_ES + _NOW_ES,
    },
    "where_again": {"en": "We don't know that area. Reply with " + _WHERE_EN + _NOW_EN,
                    "es": "No conocemos esa zona. Responde con " + _WHERE_ES + _NOW_ES},
    "reported": {
        "en": "Thank you: your report is in, without your number. Staff read every report "
              "before an alert goes out." + _NOW_EN,
        "es": "Gracias: recibimos tu reporte, sin tu número. El equipo lee cada reporte "
              "antes de enviar una alerta." + _NOW_ES,
    },
    "report_failed": {
        "en": "Sorry, we could not take this report. Text REPORT to start again." + _NOW_EN,
        "es": "Perdón, no pudimos recibir este reporte. Escribe REPORTE para empezar de "
              "nuevo." + _NOW_ES,
    },
    "in_words": {"en": "Please say it in words (letters or numbers)." + _NOW_EN,
                 "es": "Por favor dilo con palabras (letras o números)." + _NOW_ES},
    "need_something": {
        "en": "Please tell us what happened, in a few words." + _NOW_EN,
        "es": "Por favor cuéntanos qué pasó, en pocas palabras." + _NOW_ES,
    },
    "too_long": {
        "en": "That is too long ({n} characters): please send at most {max}." + _NOW_EN,
        "es": "Es demasiado largo ({n} caracteres): manda como máximo {max}." + _NOW_ES,
    },
}
_LIKE = {"en": " like {names}", "es": " como {names}"}
_OR = {"en": " or ", "es": " o "}


def alert_say(key: str, language: str, *, area: str = "", choices: Sequence[str] = (),
              n: int = 0) -> str:
    """One reply, at most ``MAX_REPLY`` characters: only the area's name or the list of
    names offered is shortened (whole names are dropped from the end)."""
    lang = "es" if language == "es" else "en"
    template = TEXTS[key][lang]
    fixed = template.format(area="", choices="", n=n, max=MAX_REPORT_TEXT)
    room = MAX_REPLY - len(fixed)
    names = [" ".join(c.split()) for c in choices if c.strip()]
    listed = ""
    while names:
        joined = (", ".join(names[:-1]) + _OR[lang] + names[-1]) if len(names) > 1 else names[0]
        listed = _LIKE[lang].format(names=joined)
        if len(listed) <= room:
            break
        names, listed = names[:-1], ""
    echo = " ".join(area.split()) or "?"
    if len(echo) > room:
        echo = echo[: max(room - 3, 1)].rstrip() + "..."
    return template.format(area=echo, choices=listed, n=n, max=MAX_REPORT_TEXT)


# -- reading a text ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """A text that starts something about alerts."""

    topic: Topic
    language: str
    stop: bool = False  # ALERTS STOP
    area_text: str = ""  # ALERTS <area>: what followed the word


def _words(text: str) -> list[str]:
    return [w for w in (keyword_word(part) for part in text.split()) if w]


def read_command(text: str) -> Command | None:
    """ALERTS, ALERTS <area>, ALERTS STOP, STOP ALERTS, REPORT (and the Spanish words);
    None for anything else. The keyword must start the text (REPORT: be all of it)."""
    if len(text) > 100:
        return None
    words = _words(text)
    if not words:
        return None
    if len(words) == 1 and words[0] in REPORT_WORDS:
        return Command(Topic.REPORT, REPORT_WORDS[words[0]])
    if len(words) == 2 and words[0] in STOP_WORDS and words[1] in ALERT_WORDS:
        return Command(Topic.SUBSCRIBE, STOP_WORDS[words[0]] or ALERT_WORDS[words[1]],
                       stop=True)
    if words[0] not in ALERT_WORDS:
        return None
    language = ALERT_WORDS[words[0]]
    if len(words) == 2 and words[1] in STOP_WORDS:
        return Command(Topic.SUBSCRIBE, STOP_WORDS[words[1]] or language, stop=True)
    rest = clean(text).split(None, 1)
    area_text = rest[1] if len(rest) > 1 and _words(rest[1]) else ""
    return Command(Topic.SUBSCRIBE, language, area_text=area_text)


# Words of someone asking for help now, not describing what happened: a report is read
# hours later, so a text with any of these leaves the report for the help conversation.
# Erring this way costs a reporter one question ("Is someone in danger?"); the other way
# could cost a life.
_NOW = re.compile(
    r"\b(?:help|hurry|asap|911|112|emergency|now|quick|quickly|please come|send someone"
    r"|come (?:quick|fast|now)|isn'?t breathing|is not breathing|not breathing|can'?t breathe"
    r"|turning blue|is blue|won'?t wake|can'?t wake|cant wake|is unconscious|dying"
    r"|ayuda|ayudenme|auxilio|socorro|urgente|rapido|ya mismo|ahora|ven|vengan|manden"
    r"|no respira|no puede respirar|no despierta|se esta muriendo|se muere|emergencia)\b")


def happening_now(text: str) -> bool:
    """Someone asking for help now: urgent words, "not breathing", or what is happening
    together with an exact place."""
    folded = fold(text)
    reading = understand(text)
    return (_NOW.search(folded) is not None or reading.breathing is Answer.NO
            or (reading.kind is not None and _exact_place(text)))


def _about_something_else(text: str) -> bool:
    """Too long to be an area's name, or telling us something is happening."""
    return (len(text) > MAX_AREA_TEXT or understand(text).kind is not None
            or happening_now(text))


def _exact_place(text: str) -> bool:
    """A street address, coordinates or a phone number: more than "roughly where"."""
    found = set(disclosures(text)) & {"address", "coordinates", "phone"}
    return bool(found) or ADDRESS.search(fold(text)) is not None


# -- the conversation ---------------------------------------------------------------------


def alert_turn(talk: Talk | None, text: str, *, find: Find, examples: Examples) -> Turn:
    """What to do with one text, given this phone's alert conversation (None: none, or
    it expired). Never raises for any text; ``Do.NOT_ALERTS`` when it is not about alerts."""
    cleaned = clean(text)
    command = read_command(cleaned)
    if command is not None:
        return _command(command, find=find, examples=examples)
    if talk is None:
        return Turn(Do.NOT_ALERTS)
    if talk.topic is Topic.SUBSCRIBE:
        return _area_answer(talk, cleaned, find=find, examples=examples)
    if talk.step is Step.WHERE:
        return _where_answer(talk, cleaned, find=find, examples=examples)
    return _report_answer(talk, cleaned, examples=examples)


def _command(command: Command, *, find: Find, examples: Examples) -> Turn:
    lang = command.language
    if command.topic is Topic.REPORT:
        return Turn(Do.ASK, alert_say("ask_looked_like", lang),
                    Talk(Topic.REPORT, Step.LOOKED_LIKE, lang))
    if command.stop:
        return Turn(Do.UNSUBSCRIBE, alert_say("unsubscribed", lang))
    start = Talk(Topic.SUBSCRIBE, Step.AREA, lang)
    if not command.area_text:
        return Turn(Do.ASK, alert_say("ask_area", lang, choices=examples()), start)
    # "ALERTS Keskusta" at once; "alert: someone is overdosing at the park" passes on.
    return _area_answer(start, command.area_text, find=find, examples=examples)


def _area_answer(talk: Talk, text: str, *, find: Find, examples: Examples) -> Turn:
    if _about_something_else(text):
        return Turn(Do.NOT_ALERTS)
    lang = talk.language
    if keyword_word(text) in ALL_WORDS:
        return Turn(Do.SUBSCRIBE, alert_say("subscribed_all", lang), talk, all_areas=True)
    found = list(find(text)) if meaningful(text) else []
    if found:
        return Turn(Do.SUBSCRIBE, alert_say("subscribed", lang, area=found[0].name), talk,
                    area=found[0])
    if talk.tries + 1 >= MAX_TRIES:
        return Turn(Do.NOT_ALERTS)  # a second miss: whatever it is, the help conversation reads it
    return Turn(Do.ASK, alert_say("area_again", lang, choices=examples()),
                replace(talk, tries=talk.tries + 1))


def _report_answer(talk: Talk, text: str, *, examples: Examples) -> Turn:
    if happening_now(text):
        return Turn(Do.NOT_ALERTS)  # a call for help, not a report: the help conversation
    lang = talk.language
    skip = keyword_word(text) in SKIP_WORDS
    if not skip:
        length = len(unicodedata.normalize("NFKC", text))  # as ``report_receive`` counts
        if length > MAX_REPORT_TEXT:
            return Turn(Do.ASK, alert_say("too_long", lang, n=length), talk)
        if not meaningful(text):
            return Turn(Do.ASK, alert_say("in_words", lang), talk)
    if talk.step is Step.LOOKED_LIKE:
        return Turn(Do.ASK, alert_say("ask_what_happened", lang),
                    replace(talk, step=Step.WHAT_HAPPENED, tries=0,
                            looked_like="" if skip else text))
    if skip and not talk.looked_like:
        return Turn(Do.ASK, alert_say("need_something", lang), talk)
    return Turn(Do.ASK, alert_say("ask_where", lang, choices=examples()),
                replace(talk, step=Step.WHERE, tries=0, what_happened="" if skip else text))


def _where_answer(talk: Talk, text: str, *, find: Find, examples: Examples) -> Turn:
    if happening_now(text):
        return Turn(Do.NOT_ALERTS)  # never "don't send an address" to someone in danger
    lang = talk.language
    filed = Turn(Do.REPORT, alert_say("reported", lang), talk)
    if keyword_word(text) in SKIP_WORDS | ALL_WORDS:
        return filed
    if _exact_place(text):
        key = "where_address"
    else:
        found = list(find(text)) if meaningful(text) and len(text) <= MAX_AREA_TEXT else []
        if found:
            return replace(filed, area=found[0])
        key = "where_again"
    if talk.tries + 1 >= MAX_TRIES:
        return filed  # the report without an area; what they wrote is not kept
    return Turn(Do.ASK, alert_say(key, lang, choices=examples()),
                replace(talk, tries=talk.tries + 1))
