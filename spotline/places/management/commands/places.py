"""``spotline places import FILE [--replace]`` and ``spotline places search TEXT``.

import: reads an OpenStreetMap extract (.osm.pbf, .osm, .osm.bz2) into the gazetteer,
prints what it stored and exits 0; a bad file exits 1 with one line. search: one line
per candidate, best first; with ``--json`` one object per line with ``name``, ``lat``,
``lon``, ``confidence``, ``kind`` and ``radius_m`` (a fixed contract); nothing printed
when nothing is found.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from spotline.core.geo import Point
from spotline.places.actions import places_import
from spotline.places.geocode import geocode
from spotline.places.osmread import ExtractError


def _point(value: str) -> Point:
    try:
        lat, lon = (float(part) for part in value.split(","))
        return Point(lat, lon)
    except ValueError:
        raise CommandError("--near takes LAT,LON, as in --near 60.17,24.94") from None


class Command(BaseCommand):
    help = "The local gazetteer: 'import' an OpenStreetMap extract, 'search' it."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True,
                                    metavar="{import,search}")
        load = sub.add_parser("import", help="read an extract (.osm.pbf, .osm, .osm.bz2)")
        load.add_argument("file")
        load.add_argument("--replace", action="store_true",
                          help="empty the gazetteer first (landmarks stay)")
        find = sub.add_parser("search", help="what a text may mean, best first")
        find.add_argument("text")
        find.add_argument("--near", metavar="LAT,LON")
        find.add_argument("--json", action="store_true", help="one JSON object per line")
        find.add_argument("--limit", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "import":
            self.load(Path(options["file"]), replace=options["replace"])
        else:
            near = _point(options["near"]) if options["near"] else None
            self.find(options["text"], near=near, as_json=options["json"],
                      limit=options["limit"])

    def load(self, path: Path, *, replace: bool) -> None:
        try:
            counts = places_import(path=path, replace=replace,
                                   progress=lambda line: print(line, file=sys.stderr))
        except ExtractError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"imported {path.name}: {counts.addresses} addresses, {counts.places} places, "
            f"{counts.streets} streets ({counts.names} names, "
            f"{counts.street_nodes} street nodes)")

    def find(self, text: str, *, near: Point | None, as_json: bool, limit: int) -> None:
        for c in geocode(text, near=near, limit=limit):
            if as_json:
                self.stdout.write(json.dumps(
                    {"name": c.name, "lat": round(c.lat, 6), "lon": round(c.lon, 6),
                     "confidence": round(c.confidence, 3), "kind": c.kind,
                     "radius_m": round(c.radius_m), "reason": c.reason},
                    ensure_ascii=False))
            else:
                self.stdout.write(f"{c.confidence:.2f}  {c.kind:<12} {c.name}  "
                                  f"({c.lat:.5f},{c.lon:.5f} ±{c.radius_m:.0f} m)  "
                                  f"{c.reason}")
