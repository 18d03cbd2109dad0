"""``spotline places import``: what an extract stores, safe to run twice, ``--replace``,
every format osmium reads, and one clear line (exit 1) for a file it cannot use."""

from __future__ import annotations

import bz2
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from spotline.places.actions import places_import
from spotline.places.geocode import decide, geocode
from spotline.places.models import Landmark, Place, PlaceName, StreetNode
from spotline.places.tests.conftest import DEMO

ROOT = Path(__file__).resolve().parents[3]
HANG_GUARD = 120  # seconds: only so that a hung process fails the test, never a bound

# Two streets that share node 3, a shop with an address and an address alone.
TINY_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
 <node id="1" lat="60.1000" lon="24.9000"/>
 <node id="2" lat="60.1010" lon="24.9000"/>
 <node id="3" lat="60.1005" lon="24.9000"/>
 <node id="4" lat="60.1005" lon="24.8990"/>
 <node id="5" lat="60.1005" lon="24.9010"/>
 <node id="6" lat="60.1002" lon="24.9003">
  <tag k="shop" v="convenience"/><tag k="name" v="Kulmakauppa"/>
  <tag k="name:sv" v="Hörnbutiken"/><tag k="addr:street" v="Testikatu"/>
  <tag k="addr:housenumber" v="4"/>
 </node>
 <node id="7" lat="60.1008" lon="24.8998">
  <tag k="addr:street" v="Koekatu"/><tag k="addr:housenumber" v="12 B"/>
 </node>
 <way id="10"><nd ref="1"/><nd ref="3"/><nd ref="2"/>
  <tag k="highway" v="residential"/><tag k="name" v="Testikatu"/>
 </way>
 <way id="11"><nd ref="4"/><nd ref="3"/><nd ref="5"/>
  <tag k="highway" v="residential"/><tag k="name" v="Koekatu"/>
  <tag k="name:sv" v="Provgatan"/>
 </way>
</osm>
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.osm"
    path.write_text(TINY_OSM, encoding="utf-8")
    return path


def counts() -> tuple[int, int, int]:
    return Place.objects.count(), PlaceName.objects.count(), StreetNode.objects.count()


@pytest.mark.django_db
def test_it_stores_addresses_places_and_streets(tiny: Path) -> None:
    stored = places_import(path=tiny)
    assert (stored.addresses, stored.places, stored.streets) == (2, 1, 2)
    assert stored.street_nodes == 6
    assert set(Place.objects.values_list("kind", "name")) == {
        ("address", "Testikatu 4"), ("address", "Koekatu 12b"), ("poi", "Kulmakauppa"),
        ("street", "Testikatu"), ("street", "Koekatu")}


@pytest.mark.django_db
def test_what_it_stored_is_found(tiny: Path) -> None:
    places_import(path=tiny)
    corner = decide(geocode("corner of testikatu and provgatan"))
    assert corner is not None and corner.kind == "intersection"
    assert (corner.lat, corner.lon) == (60.1005, 24.9)
    shop = decide(geocode("we're at hörnbutiken, hurry"))
    assert shop is not None and shop.name.startswith("Hörnbutiken")
    door = decide(geocode("Koekatu 12 b"))
    assert door is not None and door.kind == "address"


@pytest.mark.django_db
def test_it_is_safe_to_run_twice(tiny: Path) -> None:
    places_import(path=tiny)
    first = counts()
    places_import(path=tiny)
    assert counts() == first
    assert len(geocode("kulmakauppa")) == 1


@pytest.mark.django_db
def test_replace_empties_the_gazetteer_but_keeps_landmarks(tiny: Path) -> None:
    Place.objects.create(kind="poi", osm_key="n999", name="Gone", lat=1.0, lon=1.0)
    Landmark.objects.create(name="The tracks", lat=60.1, lon=24.9)
    places_import(path=tiny)
    assert Place.objects.filter(name="Gone").exists()
    places_import(path=tiny, replace=True)
    assert not Place.objects.filter(name="Gone").exists()
    assert Landmark.objects.filter(name="The tracks").exists()


@pytest.mark.django_db
def test_it_reads_bz2_and_prints_counts(tmp_path: Path) -> None:
    path = tmp_path / "tiny.osm.bz2"
    path.write_bytes(bz2.compress(TINY_OSM.encode()))
    out = StringIO()
    call_command("places", "import", str(path), stdout=out)
    assert out.getvalue().strip() == (
        "imported tiny.osm.bz2: 2 addresses, 1 places, 2 streets (5 names, 6 street nodes)")


def run_import(tmp_path: Path, path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SPOTLINE_SQLITE_PATH", "DJANGO_SETTINGS_MODULE")}
    env["SPOTLINE_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-m", "spotline", "places", "import", str(path)], cwd=ROOT,
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=HANG_GUARD, check=False)


@pytest.mark.parametrize(("name", "content", "says"), [
    ("empty.osm.pbf", b"", "empty.osm.pbf: the file is empty"),
    ("corrupt.osm.pbf", DEMO.read_bytes()[:5000] + b"\x00" * 64,
     "corrupt.osm.pbf: cannot be read as OpenStreetMap data (RuntimeError)"),
    ("noise.osm", b"this is not xml", "noise.osm: cannot be read as OpenStreetMap data"),
    ("bare.osm", b'<osm version="0.6"><node id="1" lat="1" lon="1"/></osm>',
     "bare.osm: no addresses, named places or streets in it"),
    ("notes.txt", b"hello", "notes.txt: not an OpenStreetMap extract"),
])
def test_a_bad_file_gets_one_line_and_exit_1(tmp_path: Path, name: str, content: bytes,
                                              says: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    done = run_import(tmp_path, path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"CommandError: {says}")
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_missing_file_gets_one_line(tmp_path: Path) -> None:
    done = run_import(tmp_path, tmp_path / "nowhere.osm.pbf")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"CommandError: {tmp_path}/nowhere.osm.pbf: no such file"]
