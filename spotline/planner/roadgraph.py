"""Building the road graphs of an OpenStreetMap extract: one directed graph per mode.

1. Read every way with a ``highway`` tag (osmium, node locations on) and decide per mode
   whether it may be used and in which direction (``access``).
2. Add one edge per pair of consecutive nodes, weighted by the seconds it takes at the
   mode's speed on that way (walk and bike at ``geo.DEFAULT_SPEEDS_MPS``, car at the speed
   limit times a congestion factor).
3. Keep the largest strongly connected component of each graph: a point snapped onto an
   island (a car park, a courtyard path, a one-way stub cut off at the extract's edge)
   could reach nothing and nothing could reach it, so every time from or to it would be
   infinite.
4. Number the nodes 0..n-1 and keep their coordinates in arrays, for snapping.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx  # type: ignore[import-untyped]  # no stubs shipped
import numpy as np
import osmium

from spotline.core.geo import DEFAULT_SPEEDS_MPS, EARTH_RADIUS_M, Mode, Point, distance_m
from spotline.places.osmread import apply_extract

# Ways a pedestrian may use unless tagged otherwise. "trail" is not an OSM value but
# appears in some extracts (Helsinki's among them) for what is mapped elsewhere as path.
WALK_HIGHWAYS = frozenset({
    "footway", "path", "pedestrian", "steps", "living_street", "residential", "service",
    "unclassified", "road", "tertiary", "tertiary_link", "secondary", "secondary_link",
    "primary", "primary_link", "trunk", "track", "cycleway", "bridleway", "corridor",
    "platform", "trail", "elevator", "crossing",
})
# Roads a bicycle may use unless tagged otherwise; foot-only ways need bicycle=yes.
BIKE_HIGHWAYS = frozenset({
    "cycleway", "path", "trail", "track", "living_street", "residential", "service",
    "unclassified", "road", "tertiary", "tertiary_link", "secondary", "secondary_link",
    "primary", "primary_link", "trunk", "trunk_link",
})
FOOT_ONLY = frozenset({"footway", "pedestrian", "steps", "corridor", "platform", "bridleway",
                       "elevator", "crossing"})
# Drivable highways and the speed limit assumed when a way has no maxspeed, in km/h.
CAR_DEFAULT_KMH: dict[str, float] = {
    "motorway": 100, "motorway_link": 60, "trunk": 80, "trunk_link": 50, "primary": 50,
    "primary_link": 40, "secondary": 50, "secondary_link": 40, "tertiary": 40,
    "tertiary_link": 30, "unclassified": 40, "road": 30, "residential": 30,
    "living_street": 10, "service": 15,
}
IMPLIED_ONEWAY = frozenset({"motorway", "motorway_link"})
# Traffic, lights, turns and finding the door: a city car averages well under the limit.
# 0.6 turns a 50 km/h street into 30 km/h, geo's door-to-door car speed, so road and
# straight-line ETAs stay comparable. The cap keeps a motorway from promising a time a
# responder in a city cannot keep.
CONGESTION_FACTOR = 0.6
CAR_MAX_MPS = 50 / 3.6
NO = frozenset({"no", "private", "dismount"})
YES = frozenset({"yes", "designated", "permissive", "destination", "official"})
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")
_ZONE_KMH = {"urban": 50.0, "rural": 80.0, "living_street": 10.0, "walk": 7.0,
             "motorway": 100.0, "zone30": 30.0, "zone:30": 30.0}

FORWARD, BACKWARD, BOTH = 1, -1, 0


class RoadsError(Exception):
    """The extract cannot give a road network (said in one line)."""


@dataclass
class ModeGraph:
    """One mode's graph: nodes 0..n-1, edges weighted by seconds ("s") and metres ("m")."""

    graph: nx.DiGraph
    lat: np.ndarray
    lon: np.ndarray
    osm_ids: np.ndarray
    max_speed_mps: float

    def point(self, node: int) -> Point:
        return Point(float(self.lat[node]), float(self.lon[node]))


def parse_maxspeed(value: str | None) -> float | None:
    """A maxspeed tag in km/h: "50", "30 mph", "FI:urban", "walk"; None when unknown."""
    if not value:
        return None
    value = value.split(";")[0].strip().lower()
    match = _NUMBER.match(value)
    if match:
        kmh = float(match.group(1)) * (1.609344 if match.group(2) == "mph" else 1.0)
        return kmh if kmh > 0 else None
    zone = value.split(":", 1)[-1]
    return _ZONE_KMH.get(zone) or _ZONE_KMH.get(value)


def car_speed_mps(tags: Any, highway: str) -> float:
    kmh = parse_maxspeed(tags.get("maxspeed")) or CAR_DEFAULT_KMH[highway]
    return min(CAR_MAX_MPS, kmh / 3.6 * CONGESTION_FACTOR)


def _oneway(tags: Any, highway: str, value: str | None = None) -> int:
    oneway = (value if value is not None else tags.get("oneway") or "").lower()
    if oneway in ("yes", "true", "1"):
        return FORWARD
    if oneway in ("-1", "reverse"):
        return BACKWARD
    if oneway == "no":
        return BOTH
    if highway in IMPLIED_ONEWAY or tags.get("junction") in ("roundabout", "circular"):
        return FORWARD
    return BOTH


def access(tags: Any, mode: Mode) -> int | None:
    """Whether ``mode`` may use the way and which way: FORWARD, BACKWARD, BOTH or None."""
    highway = tags.get("highway") or ""
    general = tags.get("access")
    if mode == Mode.WALK:
        foot = tags.get("foot")
        if foot in NO or (general in NO and foot not in YES):
            return None
        if highway in WALK_HIGHWAYS or foot in YES:
            return BOTH  # a pedestrian may walk a one-way street both ways
        return None
    if mode == Mode.BIKE:
        bicycle = tags.get("bicycle")
        if bicycle in NO or (general in NO and bicycle not in YES):
            return None
        if highway in FOOT_ONLY and bicycle not in YES:
            return None
        if highway not in BIKE_HIGHWAYS and highway not in FOOT_ONLY:
            return None
        if tags.get("oneway:bicycle") == "no" or any(
                (tags.get(key) or "").startswith("opposite")
                for key in ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both")):
            return BOTH
        return _oneway(tags, highway, tags.get("oneway:bicycle"))
    if highway not in CAR_DEFAULT_KMH:
        return None
    motor = tags.get("motor_vehicle") or tags.get("motorcar") or tags.get("vehicle")
    if motor in NO or (general in NO and motor not in YES):
        return None
    if (tags.get("oneway") or "") in ("reversible", "alternating"):
        return None  # its direction changes by the hour: better not to count on it
    return _oneway(tags, highway)


def _directed(a: int, b: int, direction: int) -> tuple[tuple[int, int], ...]:
    if direction == FORWARD:
        return ((a, b),)
    if direction == BACKWARD:
        return ((b, a),)
    return ((a, b), (b, a))


class WayReader(osmium.SimpleHandler):
    """Collects, per mode, the directed edges (from OSM node, to OSM node, seconds, metres)."""

    def __init__(self) -> None:
        super().__init__()
        self.coords: dict[int, tuple[float, float]] = {}
        self.edges: dict[Mode, dict[tuple[int, int], tuple[float, float]]] = {
            mode: {} for mode in Mode}
        self.ways = 0

    def way(self, w: Any) -> None:
        tags = w.tags
        highway = tags.get("highway")
        if not highway or (tags.get("area") == "yes" and highway not in ("pedestrian", "footway")):
            return
        rules = [(mode, access(tags, mode)) for mode in Mode]
        usable = [(mode, direction) for mode, direction in rules if direction is not None]
        if not usable:
            return
        nodes = [(nd.ref, nd.lat, nd.lon) for nd in w.nodes if nd.location.valid()]
        if len(nodes) < 2:
            return
        self.ways += 1
        for ref, lat, lon in nodes:
            self.coords[ref] = (lat, lon)
        # Each segment's length once, shared by every mode that uses the way.
        segments = [(a, b, distance_m(Point(alat, alon), Point(blat, blon)))
                    for (a, alat, alon), (b, blat, blon) in itertools.pairwise(nodes) if a != b]
        for mode, direction in usable:
            speed = car_speed_mps(tags, highway) if mode == Mode.CAR else DEFAULT_SPEEDS_MPS[mode]
            edges = self.edges[mode]
            for a, b, metres in segments:
                seconds = metres / speed
                for pair in _directed(a, b, direction):
                    # Two ways over the same two nodes: the faster counts.
                    if pair not in edges or edges[pair][0] > seconds:
                        edges[pair] = (seconds, metres)


def _largest_component(edges: dict[tuple[int, int], tuple[float, float]],
                       coords: dict[int, tuple[float, float]]) -> ModeGraph | None:
    raw = nx.DiGraph()
    raw.add_edges_from((a, b, {"s": s, "m": m}) for (a, b), (s, m) in edges.items())
    if raw.number_of_nodes() == 0:
        return None
    keep = max(nx.strongly_connected_components(raw), key=len)
    if len(keep) < 2:
        return None
    osm_ids = np.array(sorted(keep), dtype=np.int64)
    index = {int(ref): i for i, ref in enumerate(osm_ids)}
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(osm_ids)))
    fastest = 0.0
    for a, b, data in raw.subgraph(keep).edges(data=True):
        graph.add_edge(index[a], index[b], s=data["s"], m=data["m"])
        if data["s"] > 0:
            fastest = max(fastest, data["m"] / data["s"])
    lat = np.array([coords[int(ref)][0] for ref in osm_ids])
    lon = np.array([coords[int(ref)][1] for ref in osm_ids])
    return ModeGraph(graph, lat, lon, osm_ids, fastest)


def build_graphs(path: Path) -> dict[Mode, ModeGraph]:
    """Every mode's graph from ``path``; RoadsError (one line) when there is none."""
    reader = WayReader()
    apply_extract(reader, path, RoadsError)
    graphs = {}
    for mode in Mode:
        graph = _largest_component(reader.edges[mode], reader.coords)
        if graph is None:
            raise RoadsError(f"{path.name}: no roads in it for mode {mode.value}")
        graphs[mode] = graph
    return graphs


def project(lat: np.ndarray, lon: np.ndarray, lat0: float) -> np.ndarray:
    """Local equirectangular metres around latitude ``lat0``: good to a fraction of a
    percent across a city, which is all snapping to the nearest node needs."""
    x = np.radians(lon) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    y = np.radians(lat) * EARTH_RADIUS_M
    return np.column_stack([x, y])
