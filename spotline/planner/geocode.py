"""Points for calls that come with an address or a beat instead of coordinates.

Each distinct address is looked up once in the organization's gazetteer, the one the
live system uses (``places.finding.candidates``: the local OSM extract and landmarks,
near the organization's centre), and only a confident answer is used
(``core.candidates.decide``): a call placed at a doubtful guess would move the
simulation's response times more than a call left without a point. Nothing is logged
or printed of an address or a point, only counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypedDict

import polars as pl
from django.db import DatabaseError

from spotline.core.candidates import Candidate, decide
from spotline.places.finding import candidates
from spotline.places.models import Landmark, Place

#: ``geocoder(text)``: ranked candidates, best first (``places.finding.candidates``).
Geocoder = Callable[[str], Sequence[Candidate]]


class GeocodeCounts(TypedDict):
    gazetteer: bool  # False: nothing loaded, nothing looked up
    addresses: int  # distinct non-blank values
    geocoded: int  # of them, a confident answer
    ambiguous: int  # candidates, none sure enough
    not_found: int  # no candidate at all
    calls: int  # rows given
    calls_placed: int  # rows whose address was geocoded
    calls_without_address: int  # rows with a blank or missing value


def gazetteer_loaded() -> bool:
    """True when there is something to search: imported places or active landmarks. A
    database not set up yet has none."""
    try:
        return Place.objects.exists() or Landmark.objects.filter(active=True).exists()
    except DatabaseError:
        return False


def points_for(frame: pl.DataFrame, column: str, *, geocoder: Geocoder | None = None,
               progress: Callable[[int, int], None] | None = None
               ) -> tuple[pl.Series, pl.Series, GeocodeCounts]:
    """Latitude and longitude for each row of ``frame[column]`` (null where the address
    is blank, not found or ambiguous), in the frame's order, and the counts.

    ``progress(done, total)`` is told every 500 distinct addresses.
    """
    text = frame[column].cast(pl.String).str.strip_chars().replace("", None)
    distinct = text.drop_nulls().unique(maintain_order=True).to_list()
    counts = GeocodeCounts(gazetteer=True, addresses=len(distinct), geocoded=0,
                           ambiguous=0, not_found=0, calls=frame.height, calls_placed=0,
                           calls_without_address=text.null_count())
    nothing = pl.Series([None] * frame.height, dtype=pl.Float64)
    if geocoder is None and not gazetteer_loaded():
        counts["gazetteer"] = False
        return nothing.alias("lat"), nothing.alias("lon"), counts
    find = geocoder or candidates
    keys: list[str] = []
    lats: list[float] = []
    lons: list[float] = []
    for done, value in enumerate(distinct, 1):
        found = list(find(value))
        best = decide(found)
        if best is not None:
            keys.append(value)
            lats.append(best.lat)
            lons.append(best.lon)
        elif found:
            counts["ambiguous"] += 1
        else:
            counts["not_found"] += 1
        if progress and done % 500 == 0:
            progress(done, len(distinct))
    counts["geocoded"] = len(keys)
    if not keys:
        return nothing.alias("lat"), nothing.alias("lon"), counts
    lat = text.replace_strict(keys, lats, default=None, return_dtype=pl.Float64)
    lon = text.replace_strict(keys, lons, default=None, return_dtype=pl.Float64)
    counts["calls_placed"] = frame.height - lat.null_count()
    return lat.alias("lat"), lon.alias("lon"), counts
