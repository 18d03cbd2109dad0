"""How well a known name explains what a person wrote: rapidfuzz scores, 0 to 1.

A phrase may hold more than the name ("kamppi metro", "r kioski mannerheimintie") and
the name may be misspelt ("mannerhiemintie", "libary"). :func:`explain` slides the name
over the phrase's words and keeps the best-matching window, and says how much of the
phrase that window covers: a name that explains every word is surer than one that
leaves words unexplained.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

# A window must match the name at least this well (rapidfuzz ratio, 0-100) to count.
MIN_RATIO = 78.0

# Words that name a kind of place rather than one place ("the library", "la farmacia").
CATEGORIES: dict[str, tuple[str, ...]] = {
    "amenity=library": ("library", "kirjasto", "biblioteca", "bibliotek"),
    "amenity=pharmacy": ("pharmacy", "apteekki", "farmacia", "apotek", "chemist"),
    "leisure=park": ("park", "puisto", "parque", "parken", "parkki"),
    "amenity=place_of_worship": ("church", "kirkko", "iglesia", "kyrka", "chapel"),
    "railway=station": ("station", "train station", "asema", "estacion", "stationen",
                        "rautatieasema"),
    "shop=kiosk": ("kiosk", "kioski", "quiosco"),
    "shop=supermarket": ("supermarket", "supermercado", "grocery"),
    "shop=convenience": ("convenience store", "corner shop", "tienda"),
    "amenity=pub": ("pub", "bar", "baari"),
    "amenity=bar": ("bar", "pub", "baari"),
    "tourism=hotel": ("hotel", "hotelli"),
    "highway=bus_stop": ("bus stop", "pysakki", "parada", "hallplats"),
    "railway=tram_stop": ("tram stop", "raitiovaunupysakki"),
    "railway=subway_entrance": ("metro", "subway", "metro station", "metroasema"),
    "amenity=doctors": ("clinic", "doctor", "clinica", "laakari", "terveysasema"),
    "amenity=social_facility": ("shelter", "albergue", "drop in"),
    "amenity=school": ("school", "koulu", "escuela", "skola"),
    "tourism=museum": ("museum", "museo", "museet"),
}


# Words that describe rather than name ("the lobby of", "main door", "hotel"): a name
# need not explain them, in the text or in the name ("Amos Anderson taidemuseo").
DESCRIPTIVE = frozenset({
    "lobby", "entrance", "door", "doors", "main", "steps", "stairs", "building", "outside",
    "inside", "front", "back", "store", "shop", "department", "centre", "center", "hall",
    "corner", "house", "area", "place", "taidemuseo", "museo", "hotelli", "apteekki",
    "kirjasto", "ravintola", "baari", "kioski", "puisto",
})


KIND_WORDS = frozenset(" ".join(w for words in CATEGORIES.values() for w in words).split())


@dataclass(frozen=True, slots=True)
class Fit:
    """``score``: how well the best window matches the name (0 to 1); ``coverage``: the
    share of the phrase's letters that window holds; ``exact``: letter for letter;
    ``part``: the phrase named only part of the name ("dubliner" for Dubliner
    Kaivopiha), ``coverage`` then being the share of the name's letters it named."""

    score: float
    coverage: float
    exact: bool
    part: bool = False

    @property
    def confidence(self) -> float:
        """The name as the answer: a perfect score that explains the whole phrase is 1;
        a typo, words left over or half a name lower it."""
        if self.part:
            return self.score * self.score * (0.7 + 0.3 * self.coverage)
        return self.score * self.score * (0.6 + 0.4 * self.coverage * self.coverage)


def _letters(words: list[str]) -> int:
    return sum(len(w) for w in words) + max(0, len(words) - 1)


def _part(words: list[str], name_words: list[str], free: frozenset[str]) -> Fit | None:
    """Every word of the phrase is a word of the name (spelt nearly right), and those
    words say more than a kind of place or a number ("pharmacy" is not University
    Pharmacy, "5" is not Blue House 5)."""
    telling = [w for w in words if w not in free and w not in DESCRIPTIVE
               and not w.isdigit() and w not in KIND_WORDS]
    if sum(len(w) for w in telling) < 4:
        return None
    ratios, used = [], set()
    for word in words:
        best, at = 0.0, -1
        for i, name_word in enumerate(name_words):
            ratio = fuzz.ratio(word, name_word)
            if i not in used and ratio > best:
                best, at = ratio, i
        if at < 0 or best < (100.0 if len(word) < 5 else 88.0):
            return None
        used.add(at)
        ratios.append(best)
    named = [name_words[i] for i in sorted(used)]
    whole = [w for w in name_words if w not in DESCRIPTIVE or w in named]
    score = sum(ratios) / len(ratios) / 100.0
    return Fit(score=score, coverage=_letters(named) / max(1, _letters(whole)),
               exact=score >= 1.0, part=len(named) < len(whole))


def explain(phrase: str, name: str, *, free: frozenset[str] = frozenset()) -> Fit | None:
    """How well ``name`` (normalised) explains ``phrase`` (normalised), or None.

    Words of the phrase in ``free`` or :data:`DESCRIPTIVE` that the name does not
    hold count neither for nor against it ("kiasma museum" is all Kiasma)."""
    name_words = name.split()
    words = [w for w in phrase.split()
             if w in name_words or (w not in free and w not in DESCRIPTIVE)]
    if not words or not name_words:
        return None
    size = len(name_words)
    best: tuple[float, int] = (0.0, 0)
    for width in range(max(1, size - 1), min(len(words), size + 1) + 1):
        for start in range(len(words) - width + 1):
            window = " ".join(words[start:start + width])
            ratio = fuzz.ratio(window, name, score_cutoff=MIN_RATIO)
            if ratio > best[0] or (ratio == best[0] and len(window) < best[1]):
                best = (ratio, len(window))
    # Short names must be spelt right: one letter off in "bar" is another word.
    if best[0] < MIN_RATIO or (len(name) < 5 and best[0] < 100):
        return _part(words, name_words, free) if len(words) < size else None
    return Fit(score=best[0] / 100.0, coverage=min(1.0, best[1] / _letters(words)),
               exact=best[0] >= 100.0)


def categories(phrase: str) -> dict[str, float]:
    """The kinds of place ``phrase`` names by a common word, each with how well (0-1):
    "libary" is a library at 0.92."""
    out: dict[str, float] = {}
    for category, words in CATEGORIES.items():
        for word in words:
            fit = explain(phrase, word)
            if fit and (fit.exact or len(word) >= 6):
                out[category] = max(out.get(category, 0.0), fit.score)
    return out
