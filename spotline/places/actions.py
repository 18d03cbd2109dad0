"""``places_import``: an OpenStreetMap extract into the gazetteer, in one transaction.

Safe to re-run: a place already imported (same OSM object, or the same street name) is
replaced, not duplicated; ``replace=True`` empties the gazetteer first (a new area).
Landmarks are the organization's own and are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from spotline.core.placetext import normalise, strip_noise
from spotline.places.models import Place, PlaceName, StreetNode
from spotline.places.osmread import Row, read_extract, street_rows
from spotline.places.textsearch import fts_rebuild

BATCH = 2000


@dataclass(frozen=True)
class Counts:
    addresses: int
    places: int
    streets: int
    names: int
    street_nodes: int


def _place(row: Row) -> Place:
    return Place(kind=row.kind, osm_key=row.osm_key, name=row.name[:200],
                 category=row.category, lat=row.lat, lon=row.lon, radius_m=row.radius_m,
                 street=row.street, street_norm=normalise(row.street)[:200],
                 housenumber=row.housenumber, postcode=row.postcode)


def searchable(name: str) -> str:
    """A name as it is searched: normalised, and without the words that a person's text
    loses too ("The National Library of Finland" is "national library finland")."""
    norm = normalise(name)
    return (strip_noise(norm) or norm)[:200]


def places_import(*, path: Path, replace: bool = False,
                  progress: Callable[[str], None] | None = None) -> Counts:
    """Import ``path``; raises ``osmread.ExtractError`` (nothing written) on a bad file."""
    reader = read_extract(path, progress=progress)
    streets = street_rows(reader.streets)
    rows = reader.rows + [row for row, _ in streets]
    say = progress or (lambda _line: None)
    say(f"writing {len(rows):,} places")
    with transaction.atomic():
        if replace:
            Place.objects.all().delete()
        else:
            for kind in ("address", "poi", "street"):
                keys = [r.osm_key for r in rows if r.kind == kind]
                for i in range(0, len(keys), 500):
                    Place.objects.filter(kind=kind, osm_key__in=keys[i:i + 500]).delete()
        places = Place.objects.bulk_create([_place(r) for r in rows], batch_size=BATCH)
        names = [PlaceName(place=place, text=text, norm=searchable(text), variant=variant)
                 for place, row in zip(places, rows, strict=True)
                 for variant, text in row.names]
        PlaceName.objects.bulk_create(names, batch_size=BATCH)
        street_places = places[len(reader.rows):]
        nodes = [StreetNode(street=place, node_id=node_id, lat=lat, lon=lon)
                 for place, (_, street) in zip(street_places, streets, strict=True)
                 for node_id, (lat, lon) in street.nodes.items()]
        StreetNode.objects.bulk_create(nodes, batch_size=BATCH)
        fts_rebuild()
    return Counts(
        addresses=sum(r.kind == "address" for r in rows),
        places=sum(r.kind == "poi" for r in rows),
        streets=len(streets), names=len(names), street_nodes=len(nodes))
