"""The local gazetteer's answer to a text: landmarks, named places, addresses,
intersections and places near another place, each a Candidate with a confidence.

1. ``core.placetext.parse`` reads the text's shapes (an intersection, "X on Y", a
   house number) and drops the words around the place.
2. The database's text search shortlists names like each phrase (textsearch.py).
3. rapidfuzz scores each shortlisted name against its phrase (``core.placematch``).
4. Each shape that finds its parts makes candidates; a street alone is never a place to
   send someone (it is asked back: "where on it?").
"""

from __future__ import annotations

from collections.abc import Iterable

from spotline.core.candidates import Candidate
from spotline.core.geo import Point, distance_m
from spotline.core.placematch import CATEGORIES, Fit, categories, explain
from spotline.core.placetext import Query, normalise, strip_noise
from spotline.places.models import Landmark, Place, PlaceName, StreetNode
from spotline.places.textsearch import shortlist

NEAR_M = 200.0  # "behind the kiosk on X": the kiosk within this of X
CROSS_M = 40.0  # two streets drawn apart still cross when their nodes come this close
LONG_STREET_M = 150.0  # a street longer than this is asked back ("where on it?")
STREET_CAP = 0.6
LANDMARK_BONUS = 0.05  # the organization's own names rank first
SAME_NAME_M = 400.0  # stops, platforms and the square they are named after: one place
KIND_ONLY = 0.7  # "the library": a kind of place alone is a question, never an answer
NOT_ON_IT = 0.8  # "the kiosk on X": a kiosk near X but with another street's address
NUMBER_LEFT = 0.8  # "Aleksanterinkatu 52": a stop named Aleksanterinkatu leaves the 52

# The words for each kind of place, one by one: "kiasma museum" is all Kiasma.
KIND_WORDS = {kind: frozenset(" ".join(words).split()) for kind, words in CATEGORIES.items()}
KIND_NAMES = frozenset(word for words in CATEGORIES.values() for word in words)

Match = tuple[PlaceName, Fit]


def language_of(variant: str) -> str:
    """The language of a name variant: "sv" for ``name:sv``; "" for ``name``, ``brand``
    and the rest, which OpenStreetMap does not say."""
    key, _, lang = variant.partition(":")
    return lang if key == "name" and lang.isalpha() else ""


def _names(phrases: Iterable[str], language: str | None) -> list[PlaceName]:
    wanted = " | ".join(sorted(p for p in set(phrases) if p))
    ids = shortlist(wanted) if wanted else []
    names = list(PlaceName.objects.filter(id__in=set(ids)).select_related("place"))
    # The asker's language first, by id after that: every later sort is stable, so of
    # two names that fit equally well the one in their language is the one kept.
    names.sort(key=lambda n: (not language or language_of(n.variant) != language, n.id))
    return names


def _matches(phrase: str, names: list[PlaceName], kind: str) -> list[Match]:
    out = []
    for name in names:
        if name.place.kind == kind:
            free = KIND_WORDS.get(name.place.category, frozenset())
            fit = explain(phrase, name.norm, free=free)
            if fit:
                out.append((name, fit))
    out.sort(key=lambda m: -m[1].confidence)
    return out


def _best_per_place(matches: list[Match]) -> list[Match]:
    seen: set[int] = set()
    out = []
    for name, fit in matches:
        if name.place_id not in seen:
            seen.add(name.place_id)
            out.append((name, fit))
    return out


def _label(place: Place, text: str) -> str:
    if place.kind == "poi" and place.street:
        return f"{text}, {place.street} {place.housenumber}".strip()
    return text


def _candidate(place: Place, text: str, confidence: float, kind: str, reason: str,
               *, point: tuple[float, float] | None = None,
               radius: float | None = None, variant: str = "") -> Candidate:
    lat, lon = point or (place.lat, place.lon)
    return Candidate(name=_label(place, text), lat=lat, lon=lon,
                     confidence=max(0.0, min(1.0, confidence)), kind=kind,
                     radius_m=radius if radius is not None else place.radius_m,
                     reason=reason, language=language_of(variant))


def _why(fit: Fit, what: str) -> str:
    return f"{what}, exact" if fit.exact else f"{what}, close spelling"


def landmarks(query: Query) -> list[Candidate]:
    out = []
    for landmark in Landmark.objects.filter(active=True):
        fits = [explain(query.words, strip_noise(normalise(n)) or normalise(n)) for n in
                [landmark.name, *landmark.alias_list()]]
        best = max((f for f in fits if f), key=lambda f: f.confidence, default=None)
        if best:
            out.append(Candidate(
                name=landmark.name, lat=landmark.lat, lon=landmark.lon,
                confidence=min(1.0, best.confidence + LANDMARK_BONUS), kind="landmark",
                radius_m=50.0, reason=_why(best, "your organization's landmark")))
    return out


def _one_per_name(matches: list[Match]) -> list[Match]:
    """Places of one name close together are one place (a square, its stops and its
    platforms): the first of them stands for all, a short street before the rest."""
    ordered = sorted(matches, key=lambda m: (-m[1].confidence, m[0].place.kind != "street"))
    kept: list[Match] = []
    for name, fit in ordered:
        here = Point(name.place.lat, name.place.lon)
        if not any(k.norm == name.norm and distance_m(here, Point(k.place.lat, k.place.lon))
                   <= SAME_NAME_M for k, _ in kept):
            kept.append((name, fit))
    return kept


def named(query: Query, names: list[PlaceName]) -> list[Candidate]:
    out = []
    streets = _best_per_place(_matches(query.words, names, "street"))
    short = [m for m in streets if m[0].place.radius_m <= LONG_STREET_M]
    pois = _best_per_place(_matches(query.words, names, "poi"))
    if any(not fit.part for _, fit in streets + pois):
        # Half a name only counts when no whole name fits: "mannerheimintie" is the
        # street, not the Mannerheimintie city bike station.
        pois = [m for m in pois if not m[1].part]
    for name, fit in _one_per_name(short + pois):
        if name.place.kind == "poi":
            left = query.number and query.number not in name.norm.split()
            # A place called by a kind's word ("Kioski") is no more than the kind.
            generic = name.norm in KIND_NAMES
            factor = (NUMBER_LEFT if left else 1.0) * (KIND_ONLY if generic else 1.0)
            out.append(_candidate(name.place, name.text, fit.confidence * factor, "poi",
                                  _why(fit, "place name"), variant=name.variant))
    kinds = categories(query.words)
    if kinds and (not pois or pois[0][1].confidence < KIND_ONLY):
        for place, text, score in _targets(query.words, [], names_too=False):
            out.append(_candidate(place, text, score * KIND_ONLY, "poi",
                                  "a kind of place: which one?"))
    for name, fit in streets:
        place = name.place
        cap = 1.0 if place.radius_m <= LONG_STREET_M else STREET_CAP
        out.append(_candidate(place, name.text, fit.confidence * cap, "street",
                              _why(fit, "street name, where on it?"), variant=name.variant))
    return out


def _street_norms(street: Place) -> list[str]:
    return sorted({normalise(street.name), *(n.norm for n in street.names.all())})


def _number_key(number: str) -> tuple[int, str]:
    digits = "".join(ch for ch in number.split("-")[0] if ch.isdigit())
    return (int(digits) if digits else 0, number)


def address(query: Query, names: list[PlaceName]) -> list[Candidate]:
    if not (query.street and query.number):
        return []
    out = []
    for name, fit in _best_per_place(_matches(query.street, names, "street"))[:3]:
        street = name.place
        doors = list(Place.objects.filter(kind="address",
                                          street_norm__in=_street_norms(street)))
        wanted = query.number.lower()
        exact = [d for d in doors if d.housenumber == wanted
                 or (d.housenumber.split("-")[0] == wanted)]
        if not exact:
            # The bare number of "5 B", or the range "6-10" that holds 8.
            n = _number_key(wanted)[0]
            exact = [d for d in doors if _number_key(d.housenumber)[0] == n
                     or _in_range(d.housenumber, n)]
        for door in exact[:2]:
            out.append(_candidate(door, f"{name.text} {door.housenumber}",
                                  fit.confidence, "address", _why(fit, "street and number"),
                                  variant=name.variant))
        if not exact and doors:
            n = _number_key(wanted)[0]
            door = min(doors, key=lambda d: abs(_number_key(d.housenumber)[0] - n))
            out.append(_candidate(door, f"{name.text} {door.housenumber}",
                                  min(0.6, fit.confidence), "address",
                                  "no such number: the nearest one on the street",
                                  radius=100.0))
    return out


def _in_range(number: str, n: int) -> bool:
    low, _, high = number.partition("-")
    return bool(high) and low.isdigit() and high.isdigit() and int(low) <= n <= int(high)


def _nodes(street: Place) -> dict[int, tuple[float, float]]:
    return {node.node_id: (node.lat, node.lon) for node in StreetNode.objects.filter(
        street=street)}


def crossing(a: Place, b: Place) -> tuple[float, float] | None:
    """Where streets ``a`` and ``b`` cross: a node they share, or their closest nodes
    when no farther than CROSS_M apart."""
    nodes_a, nodes_b = _nodes(a), _nodes(b)
    shared = nodes_a.keys() & nodes_b.keys()
    if shared:
        return nodes_a[min(shared)]
    best: tuple[float, tuple[float, float]] | None = None
    for pa in nodes_a.values():
        for pb in nodes_b.values():
            d = distance_m(Point(*pa), Point(*pb))
            if best is None or d < best[0]:
                best = (d, ((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2))
    return best[1] if best and best[0] <= CROSS_M else None


def intersection(query: Query, names: list[PlaceName]) -> list[Candidate]:
    if not query.streets:
        return []
    first, second = (_best_per_place(_matches(part, names, "street"))[:2]
                     for part in query.streets)
    out = []
    for name_a, fit_a in first:
        for name_b, fit_b in second:
            if name_a.place_id == name_b.place_id:
                continue
            point = crossing(name_a.place, name_b.place)
            if point:
                out.append(_candidate(
                    name_a.place, f"{name_a.text} & {name_b.text}",
                    min(fit_a.confidence, fit_b.confidence), "intersection",
                    "where the two streets cross", point=point, radius=30.0))
    return out


def _targets(phrase: str, names: list[PlaceName], *, names_too: bool = True
             ) -> list[tuple[Place, str, float]]:
    """Places a target phrase may mean: by name, or by a word for their kind."""
    out = [(n.place, n.text, f.confidence)
           for n, f in _best_per_place(_matches(phrase, names, "poi"))] if names_too else []
    kinds = categories(phrase)
    if kinds:
        for place in Place.objects.filter(kind="poi", category__in=list(kinds)):
            out.append((place, place.name, kinds[place.category]))
    return out


def relative(query: Query, names: list[PlaceName]) -> list[Candidate]:
    if not (query.target and query.anchor):
        return []
    # (words, score, points, the street's searchable names when the anchor is a street)
    anchors: list[tuple[str, float, list[tuple[float, float]], list[str]]] = []
    for name, fit in _best_per_place(_matches(query.anchor, names, "street"))[:2]:
        anchors.append((name.text, fit.confidence, list(_nodes(name.place).values()),
                        _street_norms(name.place)))
    for place, text, score in _targets(query.anchor, names)[:6]:
        anchors.append((text, score, [(place.lat, place.lon)], []))
    out = []
    for place, text, score in _targets(query.target, names):
        here = Point(place.lat, place.lon)
        for anchor, anchor_score, points, street_norms in anchors:
            if any(distance_m(here, Point(*p)) <= NEAR_M for p in points):
                on_it = not street_norms or place.street_norm in street_norms
                confidence = min(score, anchor_score) * (1.0 if on_it else NOT_ON_IT)
                out.append(_candidate(place, text, confidence, "relative", f"near {anchor}",
                                      radius=max(50.0, place.radius_m)))
                break
    return out


def search(query: Query, *, language: str | None = None) -> list[Candidate]:
    """Every candidate the gazetteer has for ``query``, unranked. Of a place's names
    that fit equally well, the one in ``language`` ("fi", "sv", "en", "es") names it."""
    phrases = {query.words, query.street or "", query.target or "", query.anchor or "",
               *(query.streets or ())}
    names = _names(phrases, language)
    return [*landmarks(query), *named(query, names), *address(query, names),
            *intersection(query, names), *relative(query, names)]
