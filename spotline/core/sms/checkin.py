"""Check-ins by text ("never use alone"): what a text asks, and what we answer.

Pure, like the rest of ``core`` (no Django, no clock). ``intake.sms`` makes the writes.

What a person can text (case and accents ignored):

- ``SPOT 5 123 Main St apt 4`` / ``CUIDA 5 Calle Mayor 3`` (also CUÍDAME, VIGILA):
  start a check-in; the first "Are you OK?" comes after 5 minutes. SPOT answers in the language the
  phone already uses with us; the Spanish words answer in Spanish.
- ``SPOT SAVE 5 ...`` / ``CUIDA GUARDAR 5 ...``: start, and keep the place for next time.
- ``SPOT`` or ``SPOT 10`` alone: start from the saved place, if this phone saved one.
- ``FORGET`` / ``OLVIDAR``: delete the saved place. The answer is the same whether there
  was one or not: nothing said to a phone tells whether a number is known.
- ``OK`` / ``DONE`` (``BIEN`` / ``LISTO``...) while a check-in runs.
- ``OK`` or ``OK 12`` from a responder whose safety timer runs: extend it.

``docs/sms-examples.md`` lists these, and a test reads that table back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spotline.core.checkin import MAX_MINUTES, MIN_MINUTES
from spotline.core.sms.text import MAX_PLACE, MAX_REPLY, fold

# Start words and the language they answer in (None: the phone's known language).
START_WORDS: dict[str, str | None] = {"spot": None, "cuida": "es", "cuidame": "es",
                                      "vigila": "es"}
SAVE_WORDS: dict[str, str] = {"save": "en", "guardar": "es", "guarda": "es"}
FORGET_WORDS: dict[str, str] = {"forget": "en", "olvidar": "es", "olvida": "es",
                                "olvidame": "es"}
CHECKIN_OK_WORDS = frozenset({"ok", "okay", "im ok", "i'm ok", "i am ok", "fine", "estoy bien",
                              "bien", "si", "sí"})
CHECKIN_DONE_WORDS = frozenset({"done", "im done", "i'm done", "finished", "listo",
                                "termine", "terminé", "ya"})

_SEP = r"[\s:,.!-]"
# On folded text (``text.fold``), so CUÍDAME is cuidame, a phone's curly apostrophe is
# an apostrophe, and the spans match the original.
# Minutes are one or two digits: "SPOT 123 Main St" is a house number, not 123 minutes.
_SPOT = re.compile(
    rf"^\s*(?P<start>{'|'.join(sorted(START_WORDS, key=len, reverse=True))})\b{_SEP}*"
    rf"(?:(?P<save>{'|'.join(SAVE_WORDS)})(?={_SEP}|$){_SEP}*)?"
    r"(?P<minutes>\d{1,2})?\b[\s:,.-]*(?P<place>.*)$",
    re.DOTALL,
)
_SAFETY_OK = re.compile(
    r"^\s*(?:ok|okay|i'?m ok|i am ok|bien|estoy bien)\b[\s.!#:]*(?P<id>\d{1,12})?[\s.!]*$",
)


def _said(text: str) -> list[str]:
    """The words of a short text, folded; none for a long one (it is not a command)."""
    if len(text) > 100:
        return []
    return re.sub(r"[^\w]+", " ", fold(text).replace("'", "")).split()


@dataclass(frozen=True, slots=True)
class SpotRequest:
    minutes: int | None  # None: the saved plan's, or the default
    place: str  # "" when not given: use the saved plan, or ask
    save: bool = False  # keep the place for next time
    language: str | None = None  # "es" for CUIDA...; None: the phone's known language


def parse_spot(text: str) -> SpotRequest | None:
    """'SPOT 5 123 Main St apt 4' -> 5 minutes at '123 Main St apt 4'; None when the
    text does not start a check-in ("SPOT FORGET" deletes a plan: see forget_language)."""
    text = text or ""
    match = _SPOT.match(fold(text))
    if match is None or forget_language(text) is not None:
        return None
    minutes = int(match.group("minutes")) if match.group("minutes") else None
    place = text[match.start("place"):].strip()[:MAX_PLACE].strip()
    if not any(ch.isalnum() for ch in place):
        place = ""  # "SPOT 5 ..." names no place
    save: str | None = match.group("save")
    if (START_WORDS[match.group("start")] == "es" and minutes is None and save is None
            and place):
        # CUIDA and VIGILA are everyday verbs: "Vigila a mi amigo, no respira" is a call
        # for help now, not a check-in. With a place, the Spanish start needs minutes.
        return None
    spanish = "es" in (START_WORDS[match.group("start")], SAVE_WORDS.get(save or ""))
    return SpotRequest(minutes=minutes, place=place, save=save is not None,
                       language="es" if spanish else None)


def forget_language(text: str) -> str | None:
    """'en' or 'es' when the whole text is FORGET / OLVIDAR (after SPOT or CUIDA too)."""
    words = _said(text)
    if len(words) == 2 and words[0] in START_WORDS:
        words = words[1:]
    return FORGET_WORDS.get(words[0]) if len(words) == 1 else None


def save_language(text: str) -> str | None:
    """'en' or 'es' when the whole text is SAVE / GUARDAR: we answer how to save."""
    words = _said(text)
    return SAVE_WORDS.get(words[0]) if len(words) == 1 else None


def checkin_word(text: str) -> str | None:
    """'ok' or 'done' when a whole text says so (case, punctuation and spaces ignored)."""
    # Folded like every other check-in text: a phone keyboard types "I\u2019m OK" with a
    # curly apostrophe, and that must never read as silence (help would be sent).
    words = re.sub(r"[^\w\s']", " ", fold(text or "")).split()
    said = " ".join(words)
    if said in CHECKIN_OK_WORDS:
        return "ok"
    if said in CHECKIN_DONE_WORDS:
        return "done"
    return None


@dataclass(frozen=True, slots=True)
class SafetyOk:
    checkin_id: int | None  # None: "my running timer"


def parse_safety_ok(text: str) -> SafetyOk | None:
    """A responder's 'OK' or 'OK 12' (the safety text says "Reply OK <id>")."""
    if len(text or "") > 100:
        return None
    match = _SAFETY_OK.match(fold(text or ""))
    if match is None:
        return None
    return SafetyOk(checkin_id=int(match.group("id")) if match.group("id") else None)


def clamp_minutes(minutes: int) -> int:
    return min(MAX_MINUTES, max(MIN_MINUTES, minutes))


# -- Replies ------------------------------------------------------------------------------

_NO_POLICE = {"en": "If you don't, we send community responders to you. We never send police.",
              "es": "Si no respondes, te enviamos apoyo comunitario. Nunca enviamos a la "
                    "policía."}
_ASK = {"en": "We will text you in {minutes} min: reply OK.",
        "es": "Te escribiremos en {minutes} min: responde OK."}
_END = {"en": "Reply DONE to end.", "es": "Responde LISTO para terminar."}

CHECKIN_MESSAGES: dict[str, dict[str, str]] = {
    "started": {
        "en": f"Check-in started. {_ASK['en']} {_NO_POLICE['en']} {_END['en']} {{link}}",
        "es": f"Empezamos a cuidarte. {_ASK['es']} {_NO_POLICE['es']} {_END['es']} {{link}}",
    },
    "started_saved": {
        "en": f"Check-in started. Place saved: next time text just SPOT (FORGET deletes it). "
              f"{_ASK['en']} {_NO_POLICE['en']} {_END['en']} {{link}}",
        "es": f"Empezamos a cuidarte. Lugar guardado: la próxima vez escribe solo CUIDA "
              f"(OLVIDAR lo borra). {_ASK['es']} {_NO_POLICE['es']} {_END['es']} {{link}}",
    },
    "started_plan": {
        "en": f"Check-in started at your saved place: {{place}}. {_ASK['en']} "
              f"{_NO_POLICE['en']} {_END['en']} {{link}}",
        "es": f"Empezamos a cuidarte en tu lugar guardado: {{place}}. {_ASK['es']} "
              f"{_NO_POLICE['es']} {_END['es']} {{link}}",
    },
    "usage": {
        "en": "To start a check-in, text SPOT, the minutes, and where you are, e.g. SPOT 5 "
              "123 Main St apt 4, door unlocked. Start with SPOT SAVE to keep the place for "
              "next time.",
        "es": "Para empezar, escribe CUIDA, los minutos y dónde estás, por ejemplo: CUIDA 5 "
              "Calle Mayor 3, puerta abierta. Empieza con CUIDA GUARDAR para guardar el lugar "
              "para la próxima vez.",
    },
    "save_usage": {
        "en": "To keep your place for next time, start your check-in with SPOT SAVE, the "
              "minutes, and where you are, e.g. SPOT SAVE 5 123 Main St apt 4.",
        "es": "Para guardar tu lugar para la próxima vez, empieza con CUIDA GUARDAR, los "
              "minutos y dónde estás, por ejemplo: CUIDA GUARDAR 5 Calle Mayor 3.",
    },
    "ok": {"en": "Thanks. Next check in {minutes} min. Reply DONE to end.",
           "es": "Gracias. Te volvemos a escribir en {minutes} min. Responde LISTO para "
                 "terminar."},
    "done": {"en": "Check-in ended. Where you were has been deleted. Take care.",
             "es": "Terminamos. Borramos dónde estabas. Cuídate."},
    "done_saved": {"en": "Check-in ended. Your saved place is kept for next time: text FORGET "
                         "to delete it. Take care.",
                   "es": "Terminamos. Tu lugar guardado sigue para la próxima vez: escribe "
                         "OLVIDAR para borrarlo. Cuídate."},
    "failed": {"en": "Sorry, something went wrong with your check-in. If you need help now, "
                     "text what is happening and where.",
               "es": "Perdón, algo falló con tu aviso. Si necesitas ayuda ahora, escribe qué "
                     "pasa y dónde."},
    # The same answer whether or not this number had a saved place.
    "forgot": {"en": "Done: this number has no saved place with us now. SPOT SAVE saves one "
                     "again.",
               "es": "Listo: este número ya no tiene un lugar guardado. CUIDA GUARDAR guarda "
                     "uno de nuevo."},
    # Responders, on scene: "Reply OK <id>" to a safety check.
    "safety_ok": {"en": "Thanks, stay safe. Next safety check in {minutes} min, at {time}.",
                  "es": "Gracias, cuídate. Próxima revisión de seguridad en {minutes} min, a "
                        "las {time}."},
    "safety_failed": {"en": "Sorry, we could not extend your safety timer. Tap I'm OK in the "
                            "app.",
                      "es": "Perdón, no pudimos extender tu temporizador de seguridad. Toca "
                            "Estoy bien en la app."},
}


def checkin_say(key: str, language: str, *, minutes: int = 0, place: str = "", link: str = "",
                time: str = "") -> str:
    """One check-in reply, cut to fit one message: only the echoed place is shortened."""
    template = CHECKIN_MESSAGES[key]["es" if language == "es" else "en"]
    fields = {"minutes": minutes, "link": link, "time": time}
    room = MAX_REPLY - len(template.format(place="", **fields))
    echo = " ".join(place.split()) or "?"
    if len(echo) > room:
        echo = echo[: max(room - 3, 0)].rstrip() + "..."
    return template.format(place=echo, **fields)
