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


@dataclass(frozen=True, slots=True)
class Fit:
    """``score``: how well the best window matches the name (0 to 1); ``coverage``: the
    share of the phrase's letters that window holds; ``exact``: letter for letter."""

    score: float
    coverage: float
    exact: bool

    @property
    def confidence(self) -> float:
        """The name as the answer: a perfect score that explains the whole phrase is 1;
        a typo or words left over lower it."""
        return self.score * self.score * (0.6 + 0.4 * self.coverage)


def explain(phrase: str, name: str) -> Fit | None:
    """How well ``name`` (normalised) explains ``phrase`` (normalised), or None."""
    words, name_words = phrase.split(), name.split()
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
    if best[0] < MIN_RATIO:
        return None
    # Short names must be spelt right: one letter off in "bar" is another word.
    if len(name) < 5 and best[0] < 100:
        return None
    return Fit(score=best[0] / 100.0, coverage=min(1.0, best[1] / len(phrase)),
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
