"""Travel times on Helsinki's roads: never shorter than the crow flies, one-way streets
respected by car and not on foot, a reach that really bounds, a cache that is used and
survives being corrupted, the straight line outside the extract, and one line for a bad
file."""

from __future__ import annotations

import itertools
import pickle
import random
import statistics
from pathlib import Path
from typing import Any

import osmium
import pytest

from spotline.core.geo import (
    DEFAULT_DETOUR_FACTOR,
    DEFAULT_SPEEDS_MPS,
    Mode,
    Point,
    StraightLineEstimator,
    distance_m,
)
from spotline.planner import roadgraph
from spotline.planner.roads import (
    FORMAT,
    RoadNetworkEstimator,
    RoadsError,
    cache_path,
    file_sha256,
    load_roads,
)
from spotline.planner.tests.shared import calls_dir

HELSINKI = calls_dir().parent / "osm" / "Helsinki.osm.pbf"
# Two trips on the roads far enough apart that snapping does not dominate them.
MIN_TRIP_M = 200.0


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("roads-cache")


@pytest.fixture(scope="module")
def roads(cache: Path) -> RoadNetworkEstimator:
    return load_roads(HELSINKI, cache)


def street_points(roads: RoadNetworkEstimator, n: int, seed: int) -> list[Point]:
    """Points on or beside the walkable streets: a random node moved up to ~20 m."""
    rng = random.Random(seed)
    walk = roads.graphs[Mode.WALK]
    out = []
    for _ in range(n):
        node = rng.randrange(len(walk.lat))
        out.append(Point(float(walk.lat[node]) + rng.uniform(-1.8e-4, 1.8e-4),
                         float(walk.lon[node]) + rng.uniform(-3.6e-4, 3.6e-4)))
    return out


def pairs(roads: RoadNetworkEstimator, n: int, seed: int) -> list[tuple[Point, Point]]:
    points = street_points(roads, 2 * n, seed)
    return [(a, b) for a, b in zip(points[::2], points[1::2], strict=True)
            if distance_m(a, b) >= MIN_TRIP_M]


def test_it_builds_one_connected_graph_per_mode(roads: RoadNetworkEstimator) -> None:
    sizes = roads.sizes()
    assert set(sizes) == {"walk", "bike", "car"}
    # Everyone may walk where a car drives (no motorways in central Helsinki).
    assert sizes["walk"][0] > sizes["bike"][0] > sizes["car"][0] > 1000
    assert roads.graphs[Mode.WALK].max_speed_mps == pytest.approx(DEFAULT_SPEEDS_MPS[Mode.WALK])
    assert roads.graphs[Mode.BIKE].max_speed_mps == pytest.approx(DEFAULT_SPEEDS_MPS[Mode.BIKE])
    assert 0 < roads.graphs[Mode.CAR].max_speed_mps <= roadgraph.CAR_MAX_MPS


def test_it_is_never_shorter_than_the_crow_flies(roads: RoadNetworkEstimator) -> None:
    trips = pairs(roads, 400, seed=18)
    assert len(trips) > 200
    ratios = []
    for a, b in trips:
        straight = distance_m(a, b)
        eta = roads.eta_seconds(a, b, Mode.WALK)
        assert eta >= straight / DEFAULT_SPEEDS_MPS[Mode.WALK] * (1 - 1e-6)
        ratios.append(eta * DEFAULT_SPEEDS_MPS[Mode.WALK] / straight)
    sane = sum(1.0 <= r <= 2.5 for r in ratios)
    assert sane >= 0.9 * len(ratios)
    # The straight-line estimator's detour factor is a fair guess of the typical walk.
    assert 1.1 <= statistics.median(ratios) <= DEFAULT_DETOUR_FACTOR + 0.2


# Median road ETA / straight-line ETA. Walking and cycling share the straight line's
# speeds, so only the detour differs (measured 1.3 against its 1.4). Cars are slower:
# central Helsinki is signed 30 km/h (18 km/h after congestion, against the straight
# line's 30 km/h door to door) and its one-way streets lengthen the drive.
NEAR_STRAIGHT_LINE = {Mode.WALK: (0.75, 1.25), Mode.BIKE: (0.75, 1.3), Mode.CAR: (1.2, 2.5)}


@pytest.mark.parametrize("mode", list(Mode))
def test_it_stays_near_the_straight_line_estimate(roads: RoadNetworkEstimator,
                                                   mode: Mode) -> None:
    straight = StraightLineEstimator()
    ratios = [roads.eta_seconds(a, b, mode) / straight.eta_seconds(a, b, mode)
              for a, b in pairs(roads, 150, seed=7)]
    low, high = NEAR_STRAIGHT_LINE[mode]
    assert low <= statistics.median(ratios) <= high


class OneWays(osmium.SimpleHandler):
    """One-way drivable segments, read from the extract independently of roadgraph."""

    def __init__(self) -> None:
        super().__init__()
        self.segments: list[tuple[dict[str, str], int, int, Point, Point]] = []

    def way(self, w: Any) -> None:
        tags = {t.k: t.v for t in w.tags}
        if tags.get("oneway") != "yes" or tags.get("highway") not in (
                "residential", "tertiary", "secondary", "unclassified"):
            return
        if any(k in tags for k in ("access", "motor_vehicle", "motorcar", "vehicle")):
            return
        nodes = [(nd.ref, Point(nd.lat, nd.lon)) for nd in w.nodes if nd.location.valid()]
        for (a, pa), (b, pb) in itertools.pairwise(nodes):
            self.segments.append((tags, a, b, pa, pb))


def test_it_respects_one_way_streets_by_car_only(roads: RoadNetworkEstimator) -> None:
    handler = OneWays()
    handler.apply_file(str(HELSINKI), locations=True)
    car = {int(ref) for ref in roads.graphs[Mode.CAR].osm_ids}
    segments = [s for s in handler.segments
                if s[1] in car and s[2] in car and distance_m(s[3], s[4]) >= 40]
    assert segments, "central Helsinki has one-way streets"
    tags, _, _, start, end = max(segments, key=lambda s: distance_m(s[3], s[4]))
    forward = roads.eta_seconds(start, end, Mode.CAR)
    backward = roads.eta_seconds(end, start, Mode.CAR)
    assert forward == pytest.approx(
        distance_m(start, end) / roadgraph.car_speed_mps(tags, tags["highway"]), rel=1e-4)
    assert backward > 2 * forward
    assert roads.eta_seconds(start, end, Mode.WALK) == pytest.approx(
        roads.eta_seconds(end, start, Mode.WALK), rel=1e-5)


def test_it_reads_speed_limits() -> None:
    assert roadgraph.parse_maxspeed("50") == 50
    assert roadgraph.parse_maxspeed("30 mph") == pytest.approx(48.28, abs=0.01)
    assert roadgraph.parse_maxspeed("FI:urban") == 50
    assert roadgraph.parse_maxspeed("signals") is None
    assert roadgraph.car_speed_mps({"maxspeed": "50"}, "primary") == pytest.approx(50 / 3.6 * 0.6)
    assert roadgraph.car_speed_mps({}, "residential") == pytest.approx(30 / 3.6 * 0.6)
    assert roadgraph.car_speed_mps({"maxspeed": "120"}, "motorway") == roadgraph.CAR_MAX_MPS


def test_it_follows_the_tags_on_who_goes_which_way() -> None:
    access = roadgraph.access
    oneway = {"highway": "residential", "oneway": "yes"}
    assert access(oneway, Mode.CAR) == roadgraph.FORWARD
    assert access(oneway, Mode.WALK) == roadgraph.BOTH
    assert access({**oneway, "oneway:bicycle": "no"}, Mode.BIKE) == roadgraph.BOTH
    assert access({**oneway, "cycleway": "opposite_lane"}, Mode.BIKE) == roadgraph.BOTH
    assert access({"highway": "primary", "oneway": "-1"}, Mode.CAR) == roadgraph.BACKWARD
    assert access({"highway": "tertiary", "junction": "roundabout"}, Mode.CAR) == \
        roadgraph.FORWARD
    assert access({"highway": "footway"}, Mode.BIKE) is None
    assert access({"highway": "footway", "bicycle": "designated"}, Mode.BIKE) == roadgraph.BOTH
    assert access({"highway": "footway"}, Mode.CAR) is None
    assert access({"highway": "cycleway", "foot": "no"}, Mode.WALK) is None
    assert access({"highway": "motorway"}, Mode.WALK) is None
    assert access({"highway": "motorway"}, Mode.BIKE) is None
    assert access({"highway": "service", "access": "private"}, Mode.CAR) is None


def test_its_reach_bounds_every_trip(roads: RoadNetworkEstimator) -> None:
    far = Point(60.6, 25.6)  # outside the extract: the fallback must be bounded too
    trips = [*pairs(roads, 200, seed=3), (far, street_points(roads, 1, seed=4)[0])]
    for mode in Mode:
        for a, b in trips:
            eta = roads.eta_seconds(a, b, mode)
            # eta <= s implies distance <= reach(s); reach grows with s, so s = eta.
            assert distance_m(a, b) <= roads.reach_m(eta, mode) * (1 + 1e-9)


def test_it_runs_one_search_per_destination(roads: RoadNetworkEstimator) -> None:
    fresh = RoadNetworkEstimator(roads.graphs)
    points = street_points(roads, 301, seed=11)
    etas = [fresh.eta_seconds(p, points[0], Mode.BIKE) for p in points[1:]]
    assert fresh.dijkstras == 1
    assert [fresh.eta_seconds(p, points[0], Mode.BIKE) for p in points[1:]] == etas
    assert [roads.eta_seconds(p, points[0], Mode.BIKE) for p in points[1:]] == etas


def test_it_falls_back_to_the_straight_line_outside_the_extract(
        roads: RoadNetworkEstimator) -> None:
    inside = street_points(roads, 1, seed=5)[0]
    far = Point(60.3, 24.6)  # some 25 km away, beyond the extract's edge
    before = roads.fallbacks
    for mode in Mode:
        assert roads.eta_seconds(inside, far, mode) == pytest.approx(
            StraightLineEstimator().eta_seconds(inside, far, mode))
        assert roads.eta_seconds(far, inside, mode) == pytest.approx(
            StraightLineEstimator().eta_seconds(far, inside, mode))
    assert roads.fallbacks == before + 6
    roads.eta_seconds(inside, street_points(roads, 1, seed=6)[0], Mode.WALK)
    assert roads.fallbacks == before + 6


def test_it_pickles_without_its_cached_times(roads: RoadNetworkEstimator) -> None:
    a, b = street_points(roads, 2, seed=9)
    empty = len(pickle.dumps(RoadNetworkEstimator(roads.graphs)))
    roads.eta_seconds(a, b, Mode.CAR)
    copy = pickle.loads(pickle.dumps(roads))  # noqa: S301 - our own object
    assert len(pickle.dumps(roads)) < empty * 1.01
    assert copy.eta_seconds(a, b, Mode.CAR) == roads.eta_seconds(a, b, Mode.CAR)


def test_a_second_load_reads_the_cache(roads: RoadNetworkEstimator, cache: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parsing(path: Path) -> None:
        raise AssertionError("the extract was parsed again")

    monkeypatch.setattr(roadgraph, "build_graphs", no_parsing)
    again = load_roads(HELSINKI, cache)
    assert again.source == "cache"
    assert again.sizes() == roads.sizes()
    for a, b in pairs(roads, 30, seed=2):
        for mode in Mode:
            assert again.eta_seconds(a, b, mode) == roads.eta_seconds(a, b, mode)


@pytest.mark.parametrize("content", [b"", b"not a pickle at all", b"\x80\x05garbage",
                                     pickle.dumps({"format": FORMAT - 1})])
def test_a_corrupt_or_stale_cache_is_rebuilt(tmp_path: Path, content: bytes) -> None:
    cached = cache_path(tmp_path, file_sha256(HELSINKI))
    cached.write_bytes(content)
    assert load_roads(HELSINKI, tmp_path).source == "osm"
    assert load_roads(HELSINKI, tmp_path).source == "cache"


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


NO_ROADS = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6"><node id="1" lat="60.17" lon="24.94"/><node id="2" lat="60.171" lon="24.94"/>
<node id="3" lat="60.171" lon="24.941"/>
<way id="9"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/><tag k="building" v="yes"/></way>
</osm>"""


@pytest.mark.parametrize(("name", "content", "says"), [
    ("missing.osm.pbf", None, "no such file"),
    ("notes.txt", "a shopping list", "not an OpenStreetMap extract"),
    ("notes.osm.pbf", "a shopping list\n", "cannot be read as OpenStreetMap data"),
    ("empty.osm.pbf", "", "the file is empty"),
    ("houses.osm", NO_ROADS, "no roads in it"),
])
def test_a_bad_file_gets_one_clear_line(tmp_path: Path, name: str, content: str | None,
                                        says: str) -> None:
    path = tmp_path / name if content is None else write(tmp_path / name, content)
    with pytest.raises(RoadsError, match=says) as caught:
        load_roads(path, tmp_path / "cache")
    assert "\n" not in str(caught.value)
