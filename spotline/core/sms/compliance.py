"""What a compliance keyword does, given what this phone has open with us; and the
answer to the question a STOP word may get.

Carriers treat STOP, CANCEL, END and QUIT as "stop texting me". But from someone whose
request for help is open they most often mean "call it off", and an opt-out then is the
worst of both: help keeps coming while every update to them is dropped, and they were
never told. So:

1. With nothing open, every STOP word opts out at once, as carriers expect.
2. While a request (or a check-in) is open, STOP, CANCEL, END and QUIT (PARAR, ALTO,
   DETENER, CANCELAR) first ask: "Reply YES to cancel help, or tell us what's
   happening. Reply STOP again to get no more texts." Nothing is cancelled and nothing
   is opted out yet.
3. A YES soon after (``ANSWER_WITHIN``) cancels the request; a second STOP word opts out
   and says that the request is still open; anything else is what the person is telling
   us, and the question is dropped. Words that only ever mean "unsubscribe" (STOPALL,
   UNSUBSCRIBE, OPTOUT, REVOKE, BAJA) opt out at once, and say what is still open.
4. A lone HELP or AYUDA from someone not already talking with us is answered with the
   carrier HELP text and starts a request: a crisis line cannot take "help" as a
   question about the service only.

Every answer says which of these happened. Pure, like the rest of ``core``: the shell
(``intake.sms``) says what is open and makes the writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from spotline.core.lifecycle import TRANSITIONS, Event, State
from spotline.core.sms.converse import ConversationState, Step
from spotline.core.sms.keywords import Keyword, keyword_language, keyword_reply, keyword_word
from spotline.core.sms.replies import say
from spotline.core.sms.text import language_code

# STOP words that, while something is open, may mean "cancel it": we ask first.
ASK_WORDS = frozenset({"stop", "cancel", "end", "quit", "parar", "alto", "detener",
                       "cancelar"})
# A YES to "cancel your request?", as one folded word ("Yes!" and "Sí." are "yes", "si").
YES_WORDS = frozenset({"yes", "y", "yeah", "yep", "yup", "yesplease", "yescancel",
                       "yescancelit", "si", "siporfavor", "sicancela", "sicancelar"})
# HELP words that start a request (INFO only asks about the service).
HELP_STARTS = frozenset({"help", "ayuda"})
# How long the question waits for its YES: a YES much later answers something else.
ANSWER_WITHIN = timedelta(minutes=15)


class Open(StrEnum):
    """What this phone has open with us, as far as a STOP word is concerned."""

    NOTHING = "nothing"
    REQUEST = "request"  # its SMS request's incident is open and can be cancelled
    WITH_RESPONDER = "with_responder"  # open, but a responder is on scene: they close it
    CHECKIN = "checkin"  # a check-in runs (and no SMS request is open)


class Do(StrEnum):
    """What the shell does with a keyword."""

    OPT_OUT = "opt_out"  # record the opt-out; the reply only if it is new
    ASK = "ask"  # remember the question (``asked_at``) and ask it
    START = "start"  # remove the opt-out
    HELP = "help"  # answer who we are
    HELP_START = "help_start"  # answer who we are and start a conversation (``state``)


@dataclass(frozen=True, slots=True)
class Phone:
    """What the shell knows about the phone a keyword came from."""

    incident: State | None = None  # the state of its SMS request's open incident
    checkin_open: bool = False
    talking: bool = False  # its conversation waits for an answer (what? where?)
    asked_at: datetime | None = None  # its conversation's ``stop_asked_at``
    opted_out: bool = False
    language: str | None = None  # its conversation's or check-in's

    @property
    def open(self) -> Open:
        if self.incident is not None:
            if (self.incident, Event.CANCEL) in TRANSITIONS:
                return Open.REQUEST
            return Open.WITH_RESPONDER
        return Open.CHECKIN if self.checkin_open else Open.NOTHING


@dataclass(frozen=True, slots=True)
class KeywordTurn:
    do: Do
    replies: tuple[str, ...]
    language: str
    asked_at: datetime | None = None  # the pending question after this turn, if any
    state: ConversationState | None = None  # HELP_START: the conversation it starts


_ASK = {Open.REQUEST: "ask_cancel", Open.WITH_RESPONDER: "ask_on_scene",
        Open.CHECKIN: "ask_checkin"}
_STOPPED = {Open.REQUEST: "stop_open", Open.WITH_RESPONDER: "stop_on_scene",
            Open.CHECKIN: "stop_checkin"}


def _pending(asked_at: datetime | None, now: datetime) -> bool:
    return asked_at is not None and now - asked_at < ANSWER_WITHIN


def keyword_turn(keyword: Keyword, text: str, phone: Phone, *, now: datetime, org: str,
                 site: str) -> KeywordTurn:
    """What to do with a compliance keyword (the whole of ``text``) from ``phone``, and
    what to answer. ``site`` is the web page the HELP text points to."""
    word = keyword_word(text)
    # The keyword's own language for a Spanish word, else the one we already speak.
    spoken = keyword_language(text)
    language = "es" if spoken == "es" else language_code(phone.language) or "en"
    if keyword is Keyword.START:
        return KeywordTurn(Do.START, (keyword_reply(keyword, language=spoken, org=org),),
                           spoken)
    if keyword is Keyword.HELP:
        about = f"{keyword_reply(keyword, language=spoken, org=org)} {site}/"
        starts = (word in HELP_STARTS and not phone.opted_out and not phone.talking
                  and phone.open in (Open.NOTHING, Open.CHECKIN))
        if not starts:
            return KeywordTurn(Do.HELP, (about,), spoken)
        # The conversation's first question; the HELP text already said who we are.
        state = ConversationState(step=Step.ASK_KIND, language=spoken)
        return KeywordTurn(Do.HELP_START, (about, say(spoken, "ask_kind")), spoken,
                           state=state)
    opened = phone.open
    if phone.opted_out or opened is Open.NOTHING:
        return KeywordTurn(Do.OPT_OUT, (keyword_reply(keyword, language=spoken, org=org),),
                           spoken)
    if word in ASK_WORDS and not _pending(phone.asked_at, now):
        return KeywordTurn(Do.ASK, (say(language, _ASK[opened]),), language, asked_at=now)
    return KeywordTurn(Do.OPT_OUT, (say(language, _STOPPED[opened], org=org[:60]),), language)


def confirms_cancel(state: ConversationState, text: str, *, now: datetime) -> bool:
    """True when ``text`` is a YES to "cancel your request?", asked less than
    ``ANSWER_WITHIN`` ago. The shell cancels only a request that is still open."""
    return _pending(state.stop_asked_at, now) and keyword_word(text) in YES_WORDS


def cancel_reply(language: str | None, *, cancelled: bool) -> str:
    """The answer to that YES: cancelled, or not (a responder is with them by now)."""
    return say(language_code(language) or "en", "cancelled" if cancelled else "not_cancelled")
