"""Reading an OpenStreetMap extract (.osm.pbf, .osm, .osm.bz2) with osmium into the
gazetteer's rows, in memory: addresses, named places and named streets."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import osmium

from spotline.core.geo import Point, distance_m
from spotline.core.placetext import fold, normalise

# The demo's map: central Helsinki, © OpenStreetMap contributors, ODbL (data/README.md).
DEMO_EXTRACT = Path(__file__).resolve().parent / "data" / "helsinki.osm.pbf"
SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz")
# Which tags make a named thing a place people give as directions.
# Offices and city blocks' names are left out: nobody gives them as directions, and
# their many short names ("Sand", "Rake") would only stand in the way.
POI_KEYS = ("amenity", "shop", "leisure", "tourism", "public_transport", "railway",
            "place", "historic", "healthcare", "man_made", "natural", "building")
SKIP_VALUES = {"city_block", "plot"}
RAILWAY_POIS = {"station", "halt", "tram_stop", "subway_entrance", "platform"}
NAME_VARIANTS = ("name", "name:fi", "name:sv", "name:en", "name:es", "alt_name",
                 "short_name", "official_name", "old_name", "brand", "loc_name")
STREET_SKIP = {"bus_stop", "street_lamp", "traffic_signals", "crossing", "stop",
               "give_way", "platform", "proposed", "construction", "elevator"}
PROGRESS_EVERY = 200_000


class ExtractError(Exception):
    """The file cannot be read as an OpenStreetMap extract (said in one line)."""


@dataclass
class Row:
    kind: str
    osm_key: str
    name: str
    lat: float
    lon: float
    radius_m: float = 25.0
    category: str = ""
    street: str = ""
    housenumber: str = ""
    postcode: str = ""
    names: list[tuple[str, str]] = field(default_factory=list)  # (variant, text)


@dataclass
class Street:
    name: str
    names: dict[str, str] = field(default_factory=dict)  # text -> variant
    nodes: dict[int, tuple[float, float]] = field(default_factory=dict)


def housenumber_of(value: str) -> str:
    """The door part of ``addr:housenumber``: "26, 14. krs." is "26", "2 G" is "2g"."""
    door = fold(value.split(",")[0].split(";")[0].replace("-", "HYPHEN"))
    return door.replace(" ", "").replace("hyphen", "-")


def _category(tags: Any) -> str:
    for key in (*POI_KEYS, "highway"):
        value = tags.get(key)
        if value:
            return f"{key}={value}"[:60]
    return ""


def _is_poi(tags: Any) -> bool:
    if "name" not in tags and "brand" not in tags:
        return False
    if tags.get("highway") == "bus_stop":
        return True
    if "railway" in tags and tags.get("railway") not in RAILWAY_POIS:
        return False
    if tags.get("place") in SKIP_VALUES or ("office" in tags and "amenity" not in tags):
        return False
    return any(key in tags for key in POI_KEYS)


def _names(tags: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key in NAME_VARIANTS:
        for text in (tags.get(key) or "").split(";"):
            text = text.strip()
            if text and normalise(text):
                out.append((key, text[:200]))
    return out


def _centre(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    radius = max(distance_m(Point(lat, lon), Point(*p)) for p in points)
    return lat, lon, max(25.0, radius)


class Reader(osmium.SimpleHandler):
    def __init__(self, progress: Callable[[str], None] | None) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self.streets: dict[str, Street] = {}
        self.progress = progress
        self.seen = 0

    def _tick(self) -> None:
        self.seen += 1
        if self.progress and self.seen % PROGRESS_EVERY == 0:
            self.progress(f"read {self.seen:,} objects, {len(self.rows):,} places so far")

    def _place(self, key: str, tags: Any, points: list[tuple[float, float]]) -> None:
        lat, lon, radius = _centre(points)
        street = (tags.get("addr:street") or "").split(",")[-1].strip()[:200]
        number = housenumber_of(tags.get("addr:housenumber") or "")[:20]
        postcode = (tags.get("addr:postcode") or "")[:12]
        if street and number:
            self.rows.append(Row("address", key, f"{street} {number}", lat, lon,
                                 min(radius, 40.0), street=street, housenumber=number,
                                 postcode=postcode))
        if _is_poi(tags):
            names = _names(tags)
            if names:
                self.rows.append(Row("poi", key, names[0][1], lat, lon, min(radius, 300.0),
                                     _category(tags), street, number, postcode, names))

    def node(self, n: Any) -> None:
        self._tick()
        if n.tags and n.location.valid():
            self._place(f"n{n.id}", n.tags, [(n.location.lat, n.location.lon)])

    def way(self, w: Any) -> None:
        self._tick()
        tags = w.tags
        points = [(nd.lat, nd.lon) for nd in w.nodes if nd.location.valid()]
        if not points:
            return
        highway = tags.get("highway")
        if highway and highway not in STREET_SKIP and "name" in tags:
            street = self.streets.setdefault(tags["name"], Street(tags["name"]))
            for variant, text in _names(tags):
                street.names.setdefault(text, variant)
            for nd in w.nodes:
                if nd.location.valid():
                    street.nodes[nd.ref] = (nd.location.lat, nd.location.lon)
            return
        self._place(f"w{w.id}", tags, points)


def street_rows(streets: dict[str, Street]) -> list[tuple[Row, Street]]:
    """One row per named street: its point is the node nearest the middle of its nodes,
    its radius how far its farthest node lies from there."""
    out = []
    for name, street in streets.items():
        points = list(street.nodes.values())
        mid_lat, mid_lon, _ = _centre(points)
        centre = min(points, key=lambda p: math.hypot(p[0] - mid_lat, p[1] - mid_lon))
        radius = max(distance_m(Point(*centre), Point(*p)) for p in points)
        names = [(variant, text) for text, variant in street.names.items()]
        out.append((Row("street", f"street:{name}"[:220], name, centre[0], centre[1],
                        max(50.0, radius), "highway", names=names), street))
    return out


def apply_extract(handler: osmium.SimpleHandler, path: Path,
                  error: type[Exception]) -> None:
    """Run ``handler`` over the extract at ``path``, with node locations; ``error``
    (one line) when it is not an extract, missing, empty or unreadable. The gazetteer
    and the planner's road graph (``planner.roadgraph``) read extracts this one way."""
    if not path.name.lower().endswith(SUFFIXES):
        raise error(f"{path.name}: not an OpenStreetMap extract "
                    f"(expected {', '.join(SUFFIXES)})")
    if not path.is_file():
        raise error(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise error(f"{path.name}: the file is empty")
    try:
        handler.apply_file(str(path), locations=True)
    except (RuntimeError, ValueError, OSError) as exc:  # osmium's errors for a bad file
        raise error(f"{path.name}: cannot be read as OpenStreetMap data "
                    f"({type(exc).__name__})") from None


def read_extract(path: Path, *, progress: Callable[[str], None] | None = None) -> Reader:
    """Read ``path``; ExtractError (one line) when it is missing, empty or unreadable."""
    reader = Reader(progress)
    apply_extract(reader, path, ExtractError)
    if not reader.rows and not reader.streets:
        raise ExtractError(f"{path.name}: no addresses, named places or streets in it")
    return reader
