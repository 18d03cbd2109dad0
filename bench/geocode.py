"""How fast is ``geocode`` on the demo extract, and what does importing it cost?

1. Imports the demo extract (``spotline/places/data/helsinki.osm.pbf``, central
   Helsinki) with ``places_import(replace=True)``: wall time, and the process's peak
   resident memory (``resource.getrusage``) before and after.
2. Times ``geocode`` over every text of the phrasing table
   (``spotline/places/tests/phrasings.py``), PASSES times after one warm-up pass, and in
   the same run a floor: ``Place.objects.get(pk=...)``, an exact-match lookup by primary
   key, as many times.
3. Checks the answers as the table's test does (``decide``: within 150 m, asked back, or
   confidently wrong): exit 1 when fewer than 90% resolve or any is confidently wrong.

Prints two JSON lines (geocode, places_import). Usage (``make bench`` runs both
databases):
    python bench/geocode.py
    DATABASE_URL=postgres://.../spotline_bench python bench/geocode.py
"""

from __future__ import annotations

import json
import math
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import setup_django

PASSES = int(os.environ.get("BENCH_GEOCODE_PASSES", "5"))


def percentile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[max(0, math.ceil(len(sorted_ms) * q) - 1)]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    db = setup_django()
    from spotline.core.geo import Point, distance_m
    from spotline.places.actions import places_import
    from spotline.places.geocode import decide, geocode
    from spotline.places.models import Landmark, Place
    from spotline.places.osmread import DEMO_EXTRACT
    from spotline.places.tests.phrasings import LANDMARKS, ROWS

    # 1. The import.
    before = peak_mb()
    t = time.perf_counter()
    counts = places_import(path=DEMO_EXTRACT, replace=True)
    import_s = time.perf_counter() - t
    after = peak_mb()
    for name, lat, lon, aliases in LANDMARKS:
        Landmark.objects.update_or_create(name=name, defaults={
            "lat": lat, "lon": lon, "aliases": aliases, "active": True})

    # 2. geocode against the primary-key floor, interleaved so both see the same machine.
    texts = [row[0] for row in ROWS]
    pks = list(Place.objects.values_list("pk", flat=True))
    rng = random.Random(7)  # noqa: S311 - repeatable keys, not a secret
    for text in texts:  # warm-up: connections, caches, the FTS pages
        geocode(text)
    geocode_ms: list[float] = []
    floor_ms: list[float] = []
    for _ in range(PASSES):
        for text in texts:
            t = time.perf_counter()
            geocode(text)
            geocode_ms.append((time.perf_counter() - t) * 1000)
            pk = rng.choice(pks)
            t = time.perf_counter()
            Place.objects.get(pk=pk)
            floor_ms.append((time.perf_counter() - t) * 1000)
    geocode_ms.sort()
    floor_ms.sort()

    # 3. The answers.
    resolved = wrong = 0
    for text, lat, lon, _what in ROWS:
        chosen = decide(geocode(text))
        if chosen is None:
            continue
        if distance_m(chosen.point, Point(lat, lon)) <= 150.0:
            resolved += 1
        else:
            wrong += 1
    print(json.dumps({
        "name": "geocode", "db": db, "n": len(geocode_ms),
        "p50_ms": round(statistics.median(geocode_ms), 3),
        "p99_ms": round(percentile(geocode_ms, 0.99), 3),
        "max_ms": round(geocode_ms[-1], 3),
        "floor_p50_ms": round(statistics.median(floor_ms), 3),
        "floor_p99_ms": round(percentile(floor_ms, 0.99), 3),
        "ratio": round(statistics.median(geocode_ms) / statistics.median(floor_ms), 1),
        "phrasings": len(ROWS), "resolved": resolved, "confident_wrong": wrong,
    }))
    print(json.dumps({
        "name": "places_import", "db": db, "file": DEMO_EXTRACT.name,
        "file_kb": DEMO_EXTRACT.stat().st_size // 1024, "seconds": round(import_s, 2),
        "peak_rss_mb_before": round(before, 1), "peak_rss_mb_after": round(after, 1),
        "addresses": counts.addresses, "places": counts.places, "streets": counts.streets,
    }))
    sys.stdout.flush()
    if wrong or resolved < 0.9 * len(ROWS):
        sys.exit(f"geocode: {resolved}/{len(ROWS)} resolved, {wrong} confidently wrong")


if __name__ == "__main__":
    main()
