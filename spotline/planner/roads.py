"""Travel times on the real road network of an OpenStreetMap extract, for the simulation.

``load_roads(osm, cache_dir)`` gives a ``RoadNetworkEstimator``: the same
``eta_seconds(origin, destination, mode)`` seam as ``geo.StraightLineEstimator`` (which
stays the fallback and the comparison), plus ``reach_m`` so ``core.nearest`` stays exact.

1. Snap both points to the nearest node of the mode's graph (``roadgraph``), a k-d tree
   on locally projected metres. The way from a point to its node is covered in a straight
   line at the mode's default speed.
2. The simulation asks many origins (responders) about one destination (a call): one
   Dijkstra from the destination on the reversed graph gives them all, and the last few
   hundred destinations are kept.
3. A point farther than ``snap_limit_m`` from every node (outside the extract), or an
   origin the Dijkstra did not reach within its cutoff, gets the straight-line estimate,
   and ``fallbacks`` counts them so a report can say how many.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import networkx as nx  # type: ignore[import-untyped]  # no stubs shipped
import numpy as np
from scipy.spatial import cKDTree

from spotline.core.geo import (
    DEFAULT_SPEEDS_MPS,
    Mode,
    Point,
    StraightLineEstimator,
    distance_m,
)
from spotline.planner import roadgraph
from spotline.planner.roadgraph import ModeGraph, RoadsError, project

__all__ = ["FORMAT", "RoadNetworkEstimator", "RoadsError", "load_roads"]

# Bump when ModeGraph or the way rules change: older cache files are then rebuilt.
FORMAT = 1
SNAP_LIMIT_M = 1000.0
# Nobody is sent to a call two hours away; beyond that the straight line answers.
CUTOFF_S = 7200.0
CACHE_SIZE = 512


class RoadNetworkEstimator:
    """``geo.TravelTimeEstimator`` and ``geo.ReachBounded`` on one extract's roads."""

    def __init__(self, graphs: dict[Mode, ModeGraph], *, snap_limit_m: float = SNAP_LIMIT_M,
                 cutoff_s: float = CUTOFF_S, cache_size: int = CACHE_SIZE,
                 fallback: StraightLineEstimator | None = None) -> None:
        self.graphs = graphs
        self.snap_limit_m = snap_limit_m
        self.cutoff_s = cutoff_s
        self.cache_size = cache_size
        self.fallback = fallback or StraightLineEstimator()
        self.fallbacks = 0
        self.dijkstras = 0
        self.source = "graphs"  # "osm" when just built, "cache" when read from a pickle
        self._setup()

    def _setup(self) -> None:
        self._lat0 = float(np.mean(self.graphs[Mode.WALK].lat))
        self._trees = {mode: cKDTree(project(g.lat, g.lon, self._lat0))
                       for mode, g in self.graphs.items()}
        self._times: OrderedDict[tuple[Mode, int], np.ndarray] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        # Worker processes get the graphs, not the cached times nor the trees: both are
        # rebuilt on arrival, and the times would multiply the size of what is sent.
        state = self.__dict__.copy()
        for name in ("_times", "_trees", "_lat0"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._setup()

    def snap(self, point: Point, mode: Mode) -> tuple[int, float] | None:
        """The nearest node of ``mode``'s graph and its distance in metres; None when
        it is farther than the snap limit (the point is off the extract's roads)."""
        xy = project(np.array([point.lat]), np.array([point.lon]), self._lat0)[0]
        _, node = self._trees[mode].query(xy)
        node = int(node)
        metres = distance_m(point, self.graphs[mode].point(node))
        return (node, metres) if metres <= self.snap_limit_m else None

    def times_to(self, node: int, mode: Mode) -> np.ndarray:
        """Seconds from every node of ``mode``'s graph to ``node`` (inf beyond the cutoff)."""
        key = (mode, node)
        times = self._times.get(key)
        if times is not None:
            self._times.move_to_end(key)
            return times
        graph = self.graphs[mode].graph
        found = nx.single_source_dijkstra_path_length(
            graph.reverse(copy=False), node, cutoff=self.cutoff_s, weight="s")
        self.dijkstras += 1
        # float32: a few hundred destinations of a big city's graph stay in memory.
        times = np.full(graph.number_of_nodes(), np.inf, dtype=np.float32)
        times[np.fromiter(found.keys(), dtype=np.int64, count=len(found))] = np.fromiter(
            found.values(), dtype=np.float64, count=len(found))
        self._times[key] = times
        if len(self._times) > self.cache_size:
            self._times.popitem(last=False)
        return times

    def eta_seconds(self, origin: Point, destination: Point, mode: Mode) -> float:
        to = self.snap(destination, mode)
        start = self.snap(origin, mode) if to is not None else None
        if to is None or start is None:
            return self._fall_back(origin, destination, mode)
        on_road = float(self.times_to(to[0], mode)[start[0]])
        if not np.isfinite(on_road):
            return self._fall_back(origin, destination, mode)
        pace = DEFAULT_SPEEDS_MPS[mode]
        eta = (start[1] + to[1]) / pace + on_road
        if distance_m(origin, destination) < start[1] + to[1]:
            # Two points closer to each other than to the road (both in one park, one
            # courtyard): going out to the road and back would overstate the time.
            eta = min(eta, self.fallback.eta_seconds(origin, destination, mode))
        return eta

    def _fall_back(self, origin: Point, destination: Point, mode: Mode) -> float:
        self.fallbacks += 1
        return self.fallback.eta_seconds(origin, destination, mode)

    def reach_m(self, seconds: float, mode: Mode) -> float:
        # Every part of a trip is at most as fast as the fastest edge or the off-road
        # pace, and a road is never shorter than the straight line between its ends; a
        # fallback answer is bounded by the fallback's own reach.
        fastest = max(self.graphs[mode].max_speed_mps, DEFAULT_SPEEDS_MPS[mode])
        return max(seconds * fastest, self.fallback.reach_m(seconds, mode))

    def sizes(self) -> dict[str, tuple[int, int]]:
        """Nodes and edges per mode, for reports."""
        return {mode.value: (g.graph.number_of_nodes(), g.graph.number_of_edges())
                for mode, g in self.graphs.items()}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_path(cache_dir: Path, sha256: str) -> Path:
    return cache_dir / f"roads-{sha256[:32]}-v{FORMAT}.pickle"


def _read_cache(path: Path, sha256: str) -> dict[Mode, ModeGraph] | None:
    """The graphs pickled for this very file and format, or None for anything else."""
    try:
        with path.open("rb") as f:
            payload = pickle.load(f)  # noqa: S301 - our own cache file, in our own folder
    except Exception:  # a truncated or foreign file is rebuilt, never fatal
        return None
    if not (isinstance(payload, dict) and payload.get("format") == FORMAT
            and payload.get("sha256") == sha256):
        return None
    graphs = payload.get("graphs")
    if not (isinstance(graphs, dict) and set(graphs) == set(Mode)
            and all(isinstance(g, ModeGraph) for g in graphs.values())):
        return None
    return graphs


def _write_cache(path: Path, sha256: str, graphs: dict[Mode, ModeGraph]) -> None:
    # Written aside and renamed, so a crash or a parallel load never leaves half a file.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".roads-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump({"format": FORMAT, "sha256": sha256, "graphs": graphs}, f,
                        protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        return  # a read-only cache folder costs a rebuild next time, nothing more


def load_roads(osm: Path, cache_dir: Path | None = None, **options: Any) -> RoadNetworkEstimator:
    """The estimator for ``osm``, from ``cache_dir`` when it holds this file's graphs.

    RoadsError (one line) when the file is missing, unreadable or has no roads.
    ``options`` go to ``RoadNetworkEstimator`` (snap_limit_m, cutoff_s, cache_size).
    """
    if not osm.is_file():
        raise RoadsError(f"{osm}: no such file")
    sha256 = file_sha256(osm) if cache_dir is not None else ""
    if cache_dir is not None:
        graphs = _read_cache(cache_path(cache_dir, sha256), sha256)
        if graphs is not None:
            estimator = RoadNetworkEstimator(graphs, **options)
            estimator.source = "cache"
            return estimator
    graphs = roadgraph.build_graphs(osm)
    if cache_dir is not None:
        _write_cache(cache_path(cache_dir, sha256), sha256, graphs)
    estimator = RoadNetworkEstimator(graphs, **options)
    estimator.source = "osm"
    return estimator
