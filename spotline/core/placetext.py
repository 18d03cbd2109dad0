"""How people write a place, read into parts a gazetteer can look up.

Pure text work, no database: folding (case, accents, punctuation), abbreviations and
ordinals ("St" is "street", "Fifth" and "5th" are "5"), Finnish and Swedish street
words ("Aleksanterin katu", "Mannerheimintiellä"), the noise around a place ("we're at
..., hurry") and the shapes of a place: an intersection ("5th and Main", "corner of ...",
"esquina de ... y ..."), a place relative to another ("behind the 7-11 on 5th") and a
house number ("Mannerheimintie 5", "5 Main St").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_CHARS = 300  # a place is a few words; the rest of a long text is not read

ABBREVIATIONS = {
    "st": "street", "str": "street", "ave": "avenue", "rd": "road",
    "blvd": "boulevard", "ln": "lane", "sq": "square", "pl": "place", "hwy": "highway",
    "stn": "station", "ctr": "centre", "center": "centre",
    "pk": "park", "lib": "library", "cll": "calle", "avda": "avenida",
    "7 11": "7 eleven", "seven eleven": "7 eleven",
}

ORDINALS = {
    "first": "1", "second": "2", "third": "3", "fourth": "4", "fifth": "5", "sixth": "6",
    "seventh": "7", "eighth": "8", "ninth": "9", "tenth": "10", "eleventh": "11",
    "twelfth": "12", "primera": "1", "segunda": "2", "tercera": "3", "cuarta": "4",
    "quinta": "5", "sexta": "6", "septima": "7", "octava": "8", "novena": "9",
    "decima": "10", "primero": "1", "segundo": "2", "tercero": "3", "cuarto": "4",
    "quinto": "5",
}

# English street-type words said after a Finnish or Swedish name that already is one:
# "Mannerheimintie street", "Aleksanterinkatu st".
STREET_WORDS = {"street", "road", "avenue", "boulevard", "lane", "calle", "avenida"}
NORDIC_SUFFIXES = ("katu", "tie", "kuja", "polku", "ranta", "tori", "puistikko", "aukio",
                   "gatan", "vagen", "granden", "torget", "kajen", "bulevardi")
# Finnish case endings on street words: "-kadulla" (on the street), "-tiellä", "-kadun"
# (of the street: "kadun kulma"), "-tiellä"; read back to the name's own form.
INFLECTIONS = (("kadulla", "katu"), ("kadun", "katu"), ("kadulle", "katu"),
               ("tiella", "tie"), ("tien", "tie"), ("tielle", "tie"), ("kujalla", "kuja"),
               ("torilla", "tori"), ("aukiolla", "aukio"), ("puistossa", "puisto"))

# Words around a place that name no place. Kept short on purpose: a word here can never
# match, so only words that no street, shop or park of an extract is called.
NOISE = frozenset({
    "we", "were", "re", "are", "is", "am", "im", "i", "my", "our", "me", "us", "you", "he",
    "she", "they", "them", "someone", "somebody", "friend", "buddy", "guy", "girl", "man",
    "woman", "person", "people", "here", "there", "at", "in", "on", "the", "a", "an",
    "near", "nearby", "hurry", "please", "pls", "quick", "quickly", "asap", "fast", "now",
    "help", "emergency", "need", "needs", "send", "come", "someone's", "isnt", "isn't",
    "not", "breathing", "overdose", "overdosing", "od", "down", "passed", "out",
    "collapsed", "unconscious", "sick", "hurt", "bleeding", "right", "just", "think",
    "maybe", "pretty", "sure", "located", "estamos", "estoy", "esta", "en", "el", "la",
    "los", "las", "un", "una", "mi", "amigo", "amiga", "ayuda", "rapido", "por", "favor",
    "urgente", "aqui", "cerca", "ven", "vengan", "necesitamos", "alguien", "no", "respira",
    "olemme", "ollaan", "olen", "apua", "nopeasti", "kaveri", "tule", "tulkaa", "taalla",
    "lahella", "hata", "vi", "ar", "jag", "min", "kompis", "hjalp", "snabbt", "har", "nara",
    "and", "of", "to", "from", "y", "&", "och", "ja", "by", "behind", "corner", "esquina",
    "de", "del", "al", "lado", "kulma", "kulmassa", "hornet", "av", "outside", "front",
    "next", "across", "opposite", "beside", "around", "detras", "frente", "enfrente",
    "takana", "vieressa", "edessa", "bakom", "vid", "utanfor", "mitt", "emot",
})

INTERSECTION = [
    re.compile(r"^(?:.*\b)?(?:corner of|esquina de|esquina|hornet av|hornet)\s+(?P<a>.+?)"
               r"\s+(?:and|y|e|och|ja|&|with)\s+(?P<b>.+)$"),
    re.compile(r"^(?P<a>.+?)\s+(?:ja|och)\s+(?P<b>.+?)\s+(?:kulma|kulmassa|hornet)\b.*$"),
    re.compile(r"^(?P<a>.+?)\s*(?:\band\b|&|/|\by\b|\bja\b|\boch\b)\s*"
               r"(?P<b>.+)$"),
]
RELATIVE = re.compile(
    r"^(?:.*?\b)?(?:behind|next to|near|by|outside|in front of|across from|opposite|"
    r"beside|around|detras de|detras del|al lado de|al lado del|cerca de|cerca del|"
    r"frente a|enfrente de|takana|vieressa|edessa|lahella|bakom|vid|utanfor|mitt emot)\s+"
    r"(?P<target>.+?)\s+(?:on|at|by|near|off|en|de|del|sobre|junto a|pa|vid|"
    r"near the|by the|next to|next to the)\s+(?P<anchor>.+)$")
RELATIVE_BARE = re.compile(
    r"^(?P<target>.+?)\s+(?:on|at|by|near|off|en|sobre|pa)\s+(?P<anchor>.+)$")
HOUSE_AFTER = re.compile(r"^(?P<street>\D+?)\s+(?P<number>\d{1,4}\s?[a-z]?)\b")
HOUSE_BEFORE = re.compile(r"^(?P<number>\d{1,4}[a-z]?)\s+(?P<street>\D{4,})$")


def fold(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, one space between words."""
    text = unicodedata.normalize("NFKD", text[:MAX_CHARS])
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " & ").replace("/", " / ").replace("'", "").replace("\u2019", "")
    text = re.sub(r"[^\w&/]+", " ", text)
    return re.sub(r"\s+", " ", text.replace("_", " ")).strip()


def _word(word: str) -> str:
    word = ORDINALS.get(word, word)
    if re.fullmatch(r"\d+(st|nd|rd|th|a|o|ª|º)", word):
        return re.sub(r"\D", "", word)
    for ending, base in INFLECTIONS:
        if len(word) > len(ending) + 3 and word.endswith(ending):
            return word[: -len(ending)] + base
    return ABBREVIATIONS.get(word, word)


def normalise(text: str) -> str:
    """The searchable form of a name or a phrase: folded, abbreviations spelled out,
    ordinals as numbers, split Finnish street words joined ("mannerheimin tie")."""
    folded = fold(text)
    for phrase in ("7 11", "seven eleven"):
        folded = re.sub(rf"\b{phrase}\b", ABBREVIATIONS[phrase], folded)
    words = [_word(w) for w in folded.split()]
    out: list[str] = []
    for word in words:
        if out and word in ("katu", "tie", "kuja", "gatan", "vagen", "tori", "torget"):
            out[-1] += word  # "aleksanterin katu" is Aleksanterinkatu
        elif out and word in STREET_WORDS and out[-1].endswith(NORDIC_SUFFIXES):
            continue  # "Mannerheimintie street": the street word is already there
        else:
            out.append(word)
    return " ".join(out)


# Words that give a phrase its shape ("X on Y", "X and Y"): kept while reading it.
SHAPE_WORDS = {"on", "at", "by", "near", "off", "en", "sobre", "pa", "and", "y", "ja",
               "och", "&"}


def strip_noise(phrase: str, *, keep: frozenset[str] | set[str] = frozenset()) -> str:
    """A normalised phrase without the words around a place ("we're at", "hurry")."""
    words = [w for w in phrase.split() if w not in NOISE or w in keep]
    while words and words[0] in keep:
        words.pop(0)
    while words and words[-1] in keep:
        words.pop()
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class Query:
    """What a text asks for. ``words`` is the whole place phrase, noise removed;
    ``streets`` the two streets of an intersection; ``target`` and ``anchor`` a place
    near another ("the 7-11" near "5th"); ``street`` and ``number`` a house address."""

    words: str
    streets: tuple[str, str] | None = None
    target: str | None = None
    anchor: str | None = None
    street: str | None = None
    number: str | None = None
    raw: str = field(default="", repr=False)


def parse(text: str) -> Query:
    """Read ``text`` into a :class:`Query`; an empty ``words`` means no place in it."""
    raw = normalise(text)
    words = strip_noise(raw)
    if not words:
        return Query(words="", raw=raw)
    shaped = strip_noise(raw, keep=SHAPE_WORDS)
    relative = RELATIVE.match(raw) or RELATIVE_BARE.match(shaped)
    target = anchor = None
    if relative:
        target = strip_noise(relative["target"])
        anchor = strip_noise(relative["anchor"])
        if not target or not anchor:
            target = anchor = None
    streets = None
    for pattern in INTERSECTION:
        m = pattern.match(shaped if pattern is INTERSECTION[2] else raw)
        if m:
            a, b = strip_noise(m["a"]), strip_noise(m["b"])
            if a and b and a != b:
                streets = (a, b)
            break
    street = number = None
    m = HOUSE_AFTER.search(words) or HOUSE_BEFORE.match(words)
    if m:
        street, number = m["street"].strip(), m["number"].replace(" ", "")
    return Query(words=words, streets=streets, target=target, anchor=anchor,
                 street=street, number=number, raw=raw)
