"""The conversation: a small table-driven state machine that asks one question at a time
(what, then where) and never dead-ends.

After two unclear answers it assumes rather than asks again: help sent on a guess beats
a loop, and a dispatcher can call back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from spotline.core.candidates import Candidate
from spotline.core.sms.replies import WHAT, say
from spotline.core.sms.text import WORD, clean, fold, language_code, word_set
from spotline.core.sms.understand import (
    ADDRESS,
    Understanding,
    detect_language,
    trim_place,
    understand_cleaned,
)
from spotline.core.triage import Answer, Kind

MAX_NOTE = 1600  # the longest message carriers deliver
MAX_TRIES = 2  # unclear answers to one question before we assume


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
    # When a STOP word got the question "cancel your request?" (``compliance``): a YES
    # soon after cancels; any other text drops the question.
    stop_asked_at: datetime | None = None
    # The places offered in "Which one? 1 ... 2 ... 3 ..." after a place in words that
    # could mean several: a reply "1" picks one. Empty once answered.
    choices: tuple[Candidate, ...] = ()


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
    chosen: Candidate | None = None  # after dispatch: the place picked from the choices
    moved: str | None = None  # after dispatch: a new place in words, for the shell to find


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
_NO_PLACE_WORDS = word_set("""
idk dunno know don't dont not sure what huh why who help please pls plz hurry now yes yeah yea
yep ok okay no nope si por favor porfavor porfa rapido se que hi hello hola thanks thank you
gracias i im i'm he she they is are it we he's she's the a me my mi here aqui where donde lol
asap quick come send someone somebody alguien vengan ven just sorry wait espera un una momento
moment sec second ayuda stop we're were am estamos estoy esta aca hmm hm um umm uh eh ah oh
wut wat k kk omg wtf idc nvm
""")


@dataclass(frozen=True, slots=True)
class _Read:
    cleaned: str
    folded: str
    heard: Understanding


def _choice(r: _Read) -> Kind | None:
    m = _CHOICE_DIGIT.match(r.folded)
    if m and not ADDRESS.match(r.folded, m.start(1)):
        return _CHOICES[m.group(1)]
    words = WORD.findall(r.folded)
    if len(words) == 1 and words[0] in _NUMBER_WORDS:
        return _CHOICES[_NUMBER_WORDS[words[0]]]
    if r.heard.kind is not None:
        return r.heard.kind
    return next((k for k, p in _CHOICE_WORDS if p.search(r.folded)), None)


def _says_something(folded: str) -> bool:
    return any(len(w) > 1 and w not in _NO_PLACE_WORDS for w in WORD.findall(folded))


def _answer_to_where(r: _Read) -> str | None:
    """The place in a reply to "where are you?". A reply about nothing else is the place
    as a whole ("the library", "Walgreens on 3rd", not just "on 3rd"), minus a lead-in
    like "we're"; one that also says what is happening gives only its place phrase."""
    h = r.heard
    if h.kind is not None or h.breathing is not None or h.conscious is not None:
        return h.place
    if h.place is not None and not _says_something(r.folded[: r.cleaned.find(h.place)]):
        return h.place
    if not _says_something(r.folded):
        return None
    return trim_place(" ".join(r.cleaned.split())) or None


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
        return (say(lang, "naloxone"),)
    return ()


_LEADING_CUE = re.compile(r"^(?:at|en)\s+(?=\S)", re.IGNORECASE)


def place_echo(place: str | None) -> str:
    """The place as a reply repeats it: "...for an overdose at: the park", not "at: at
    the park"."""
    return _LEADING_CUE.sub("", place or "")


def _dispatch(old: ConversationState, new: ConversationState, lang: str, now: datetime,
              *, unsure: bool = False) -> Turn:
    kind = new.kind or Kind.OTHER
    new = replace(new, step=Step.DISPATCHED, kind=kind, attempts=0)
    key = "dispatched_unsure" if unsure or new.place is None else "dispatched"
    reply = say(lang, key, what=WHAT[kind][lang], place=place_echo(new.place))
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
    return Turn(new, (say(lang, *parts, place=new.place or ""), *_tips(old, new, lang)), now)


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
    return Turn(new, (say(lang, "kind_again"),), now)


def _on_place(state: ConversationState, r: _Read, lang: str, now: datetime) -> Turn:
    new = _merge(state, r.heard, kind=r.heard.kind)
    place = _answer_to_where(r)
    if place is not None:
        return _dispatch(state, replace(new, place=place), lang, now)
    if state.attempts + 1 >= MAX_TRIES:  # a dispatcher can call back; send help now
        raw = trim_place(" ".join(r.cleaned.split())) or None
        return _dispatch(state, replace(new, place=raw or new.place), lang, now, unsure=True)
    new = replace(new, step=Step.ASK_PLACE, attempts=state.attempts + 1)
    return Turn(new, (say(lang, "place_again"),), now)


# A reply to "Which one? 1 ... 2 ... 3": the number alone ("2", "#2", "number 2", "dos").
_PICK_DIGIT = re.compile(r"\W*(?:#|num(?:ber|ero)?\.?|opt(?:ion)?|opcion)?\s*([1-9])\W*")


def pick(folded: str, choices: tuple[Candidate, ...]) -> Candidate | None:
    """The choice a reply names by its number, or None."""
    m = _PICK_DIGIT.fullmatch(folded)
    words = WORD.findall(folded)
    number = (m.group(1) if m else
              _NUMBER_WORDS.get(words[0]) if len(words) == 1 else None)
    if number is None or not 1 <= int(number) <= len(choices):
        return None
    return choices[int(number) - 1]


def _on_detail(state: ConversationState, r: _Read, lang: str, now: datetime) -> Turn:
    chosen = pick(r.folded, state.choices)
    if chosen is not None:
        # The shell moves the incident there and says so.
        return Turn(replace(state, choices=()), (), now, chosen=chosen)
    new = _merge(state, r.heard, place=r.heard.place)
    note = r.cleaned[:MAX_NOTE] or None
    if r.heard.place:
        # The shell finds the place and answers (moved, or "Which one?" again).
        return Turn(replace(new, choices=()), (say(lang, "moved", place=r.heard.place),),
                    now, note=note, moved=r.heard.place)
    reply = say(lang, "noted" if note else "still_open")
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
    cleaned = clean(text)
    folded = fold(cleaned)
    # Answer in the language of the latest text that shows one, else as before.
    lang = detect_language(cleaned, folded) or language_code(state.language) or "en"
    read = _Read(cleaned, folded, understand_cleaned(cleaned, folded, lang))
    # An answer to "cancel your request?" never reaches here (the shell asks
    # ``compliance.confirms_cancel`` first): this text is something else, so the
    # question is dropped.
    state = replace(state, stop_asked_at=None)
    if state.step is Step.CLOSED:
        state = ConversationState(step=Step.CLOSED)  # a new request: forget the old one
    turn = _ON[state.step](state, read, lang, now)
    return replace(turn, state=replace(turn.state, language=lang))
