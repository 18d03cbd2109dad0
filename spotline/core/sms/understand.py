"""Understanding a text: what kind of help, where, and whether the person is breathing
and conscious, read from free English or Spanish text with plain phrase lists.

It is simple on purpose, so a dispatcher can predict it: ``docs/sms-examples.md`` shows
what it makes of real-looking texts, and the same table is a test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spotline.core.sms.keywords import SPANISH_KEYWORDS, keyword_word
from spotline.core.sms.text import (
    MAX_PLACE,
    WORD,
    any_of,
    clean,
    fold,
    language_code,
    word_set,
)
from spotline.core.triage import Answer, Kind

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
    Answer.NO: any_of(*_NOT_BREATHING),
    Answer.YES: any_of(
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
    Answer.NO: any_of(*_NOT_CONSCIOUS),
    Answer.YES: any_of(
        r"(?<!not )(?<!n't )(?<!nt )(?<!barely )"
        r"\b(?:awake|conscious|responsive|responding|talking)\b",
        r"\b(?:woke|wakes|waking)\s+up\b", r"\bcame (?:to|around)\b",
        r"(?<!no )(?<!no esta )\b(?:despiert[oa]|desperto|consciente|hablando|responde"
        r"|reacciona)\b",
    ),
}

# In order of precedence: "check on my friend, he's not breathing" is an overdose.
KIND_PATTERNS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (Kind.OVERDOSE, any_of(
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
    (Kind.MENTAL_HEALTH, any_of(
        r"\bsuicid\w*", r"\bkill(?:ing)?\s+(?:my|him|her|them)sel(?:f|ves)\b",
        r"\b(?:wants?|wanna|wanting)\s+(?:to\s+)?die\b", r"\bend (?:my|his|her|their) life\b",
        r"\bhurt(?:ing)?\s+(?:my|him|her|them)sel(?:f|ves)\b", r"\bself[- ]?harm",
        r"\bpanic attack", r"\bhear(?:s|ing)? voices\b", r"\bpsycho(?:sis|tic)\b",
        r"\bbreak\s?down\b", r"\bcrisis\b", r"\bmental health\b", r"\bmanic\b",
        r"\bquier[eo] morir", r"\bmatarse\b", r"\bquitarse la vida\b", r"\bhacerse dano\b",
        r"\bataque de (?:panico|ansiedad)", r"\b(?:escucha|oye) voces\b", r"\bsalud mental\b",
    )),
    (Kind.MEDICAL, any_of(
        r"\bbleed\w*", r"\bhurt\b", r"\binjur\w*", r"\bseiz(?:ure|ures|ing)\b", r"\bfell\b",
        r"\bfallen\b", r"\bhit (?:his|her|their|my) head\b", r"\bbroken\b",
        r"\bbroke (?:his|her|my|their)\b", r"\bchest pains?\b", r"\bheart attack\b",
        r"\bcan'?t breathe\b", r"\btrouble breathing\b", r"\bsick\b", r"\bstabbed\b",
        r"\bsangr\w*", r"\bherid[oa]s?\b", r"\bconvulsi\w*", r"\bse cayo\b",
        r"\bdolor de pecho\b", r"\bataque al corazon\b", r"\blastimad[oa]\b",
        r"\benferm[oa]\b", r"\bno puede respirar\b",
    )),
    (Kind.CONFLICT, any_of(
        r"\bfight\w*", r"\battack(?:ing|ed)\b", r"\bthreaten\w*", r"\bbrawl\b",
        r"\bbeat(?:ing)?\s+(?:him|her|them|me|someone|somebody|up)\b",
        r"\bpele\w*", r"\bamenaz\w*", r"\bgolpeando\b",
    )),
    (Kind.WELFARE_CHECK, any_of(
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
# A house number and street, or a Spanish street and number. ``converse`` uses it too:
# "5 Main St" answers where, it is not choice 5.
ADDRESS = any_of(
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
            before = WORD.findall(folded, max(0, m.start() - 8), m.start())
            if before and before[-1] in _ABBREVIATIONS:
                continue  # "123 Main St. apt 4"
        return m.start()
    return len(folded)


def trim_place(place: str) -> str:
    """A place cut to ``MAX_PLACE``, without the punctuation or joining word ("and",
    "pero") it ends on."""
    place = place[:MAX_PLACE]
    while True:
        shorter = _TRAILING.sub("", place)
        if shorter == place:
            return place
        place = shorter


def _cue_ok(folded: str, at: int) -> bool:
    words = [w for w in WORD.findall(folded, at, at + 80) if w not in _DETERMINERS]
    if not words or words[0] in _NOT_PLACES:
        return False
    rest = folded[at:].lstrip()
    return not _TIME.match(rest)


def _place(cleaned: str, folded: str) -> str | None:
    """The earliest place in the text, as written: a cue phrase up to the end of its
    clause, or cross streets or an address (with whatever follows in the clause)."""
    found: list[tuple[int, str]] = []
    for n, cue in enumerate(_CUE.finditer(folded)):
        if n > 50:  # a wall of "at at at...": give up rather than scan it all
            break
        if not _cue_ok(folded, cue.end()):
            continue
        place = trim_place(cleaned[cue.start():_clause_end(folded, cue.end())].rstrip())
        words = WORD.findall(folded, cue.end(), cue.start() + len(place))
        if any(w not in _DETERMINERS for w in words):  # more than "at the"
            found.append((cue.start(), place))
            break
    cross = next((m for m in _CROSS.finditer(folded)
                  if _STREETY.search(m.group("a")) or _STREETY.search(m.group("b"))), None)
    for m in (cross, ADDRESS.search(folded)):
        if m is not None:
            found.append(
                (m.start(), trim_place(cleaned[m.start():_clause_end(folded, m.end())])))
    return min((f for f in found if f[1]), default=(0, None))[1]


_ES_WORDS = word_set("""
ayuda ayudame ayudenme sobredosis esta estan mi mis amigo amiga hermano hermana novio novia
esposo esposa hijo hija papa mama tio tia respira despierta por favor porfa hay el la los las
en de del que estoy estamos calle parque aqui donde necesito alguien una y con se lo le hola si
tiene tengo detras cerca frente esquina afuera lado herido herida sangrando sangra pelea quiere
morir gracias muy casa persona senor senora urgente rapido es un al para pero inconsciente
fentanilo tienda iglesia plaza revisar visto preocupado preocupada labios morados convulsion
amenazando peleando cayo salud
""") | SPANISH_KEYWORDS
_EN_WORDS = word_set("""
the is my he she they his her not help please pls plz at and in on of friend breathing someone
somebody i im i'm we are isn't isnt it this there what where near behind street need send hurry
yes overdose overdosing od od'd guy man woman girl boy bf gf brother sister mom dad wont won't
cant can't hes he's shes she's by outside with hi hello thanks just from has have was you lady
dude bro passed out up
""")


def detect_language(cleaned: str, folded: str) -> str | None:
    """"es" or "en" when the text leans one way, None when it gives no sign ("5", "ok")."""
    if keyword_word(cleaned) in SPANISH_KEYWORDS:
        return "es"
    words = WORD.findall(folded)
    es = sum(w in _ES_WORDS for w in words) + sum(ch in "áéíóúñ¿¡" for ch in cleaned.lower())
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


def understand_cleaned(cleaned: str, folded: str, language: str | None) -> Understanding:
    """``understand`` for a text already cleaned and folded (``converse`` has both)."""
    kind = next((k for k, pattern in KIND_PATTERNS if pattern.search(folded)), None)
    return Understanding(
        language=language_code(language) or detect_language(cleaned, folded) or "en",
        kind=kind,
        place=_place(cleaned, folded),
        breathing=_answer(BREATHING, folded),
        conscious=_answer(CONSCIOUS, folded),
    )


def understand(text: str, *, language: str | None = None) -> Understanding:
    """What a text says, as far as plain phrase lists can tell. Never raises."""
    cleaned = clean(text)
    return understand_cleaned(cleaned, fold(cleaned), language)
