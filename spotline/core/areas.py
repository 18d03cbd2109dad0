"""Alert areas: polygons an organization draws or imports, or coarse H3 cells.

An area is where an alert applies and what a person subscribes to. It is never a
point, and never so small that it names a building: ``area_check`` refuses a shape
that is not a valid GeoJSON Polygon or MultiPolygon (self-intersecting rings, open
rings, coordinates off the globe), one smaller than ``MIN_KM2`` or larger than the
organization's ``max_km2``, and one with too many corners for a CAP message.

Which incidents and responders are in an area is decided by H3 cells at the
resolution the purge keeps (``core.geo.AREA_RESOLUTION``): the cells whose centres
lie inside the polygon, or, for a polygon smaller than a cell, the cells it touches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import h3
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.validation import explain_validity

from spotline.core.geo import AREA_RESOLUTION

MIN_KM2 = 0.1  # about 300 m by 300 m: smaller names a block, not an area
MAX_VERTICES = 1000
KM_PER_DEGREE = 111.32


class AreaError(ValueError):
    """The shape cannot be an alert area; the message says why, for the person."""


@dataclass(frozen=True)
class AreaShape:
    geometry: dict[str, Any]  # GeoJSON, [lon, lat] order, rings closed
    cells: tuple[str, ...]  # H3 cells at AREA_RESOLUTION
    km2: float
    centre: tuple[float, float]  # (lat, lon), for the map only


def _km2(geom: Polygon | MultiPolygon) -> float:
    """Area on an equirectangular projection around the shape's own latitude: within
    a fraction of a percent for a city-sized shape, which is all this needs."""
    lat0 = math.radians(geom.centroid.y)
    scaled = shapely.transform(
        geom, lambda xy: xy * [KM_PER_DEGREE * math.cos(lat0), KM_PER_DEGREE])
    return float(scaled.area)


def _vertices(geom: Polygon | MultiPolygon) -> int:
    return int(shapely.get_num_coordinates(geom))


def area_check(geometry: Any, *, max_km2: float) -> AreaShape:
    """The shape as an alert area, or ``AreaError`` saying what is wrong with it."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise AreaError("The area must be a GeoJSON Polygon or MultiPolygon.")
    try:
        geom = shape(geometry)
    except Exception:
        raise AreaError("The area's coordinates cannot be read as a GeoJSON polygon.") from None
    if geom.is_empty:
        raise AreaError("The area has no coordinates.")
    if not isinstance(geom, Polygon | MultiPolygon):
        raise AreaError("The area must be a GeoJSON Polygon or MultiPolygon.")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90) or not all(
            math.isfinite(v) for v in geom.bounds):
        raise AreaError("The area's coordinates are off the globe: GeoJSON gives "
                        "[longitude, latitude], longitude first.")
    if maxx - minx > 180:
        raise AreaError("The area crosses the antimeridian; split it in two.")
    if _vertices(geom) > MAX_VERTICES:
        raise AreaError(f"The area has more than {MAX_VERTICES} corners; simplify it.")
    if not geom.is_valid:
        raise AreaError(f"The area's outline is not valid ({explain_validity(geom)}): a "
                        "ring must not cross itself.")
    km2 = _km2(geom)
    # Each part and each hole too: a city plus one building-sized square, or a city with
    # a hole around one house, would point at a door as surely as a tiny area.
    parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    pieces = [*parts, *(Polygon(ring) for part in parts for ring in part.interiors)]
    smallest = min(_km2(piece) for piece in pieces)
    if smallest < MIN_KM2:
        raise AreaError(f"The area (or a part or hole of it) is too small ({smallest:.3f} "
                        f"km²): each must be at least {MIN_KM2} km² so that an alert never "
                        "points at one place.")
    if km2 > max_km2:
        raise AreaError(f"The area is too large ({km2:,.0f} km²; at most {max_km2:,.0f} km²).")
    cells = area_cells(geom)
    centre = geom.representative_point()
    return AreaShape(geometry=_geojson(geom), cells=cells, km2=km2,
                     centre=(centre.y, centre.x))


def _geojson(geom: Polygon | MultiPolygon) -> dict[str, Any]:
    data = mapping(geom)

    def ring(coords: Any) -> list[list[float]]:
        return [[round(x, 6), round(y, 6)] for x, y, *_ in coords]

    if data["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [ring(r) for r in data["coordinates"]]}
    return {"type": "MultiPolygon",
            "coordinates": [[ring(r) for r in poly] for poly in data["coordinates"]]}


def area_cells(geom: Polygon | MultiPolygon) -> tuple[str, ...]:
    geo = mapping(geom)
    cells = set(h3.geo_to_cells(geo, AREA_RESOLUTION))
    if not cells:  # smaller than a cell: the cells it touches
        cells = set(h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(geo), AREA_RESOLUTION,
                                                     contain="overlap"))
    return tuple(sorted(cells))


def cell_area(cell: str, *, max_km2: float) -> AreaShape:
    """An H3 cell as an area (resolution 7 or coarser: a cell finer than the kept
    area cell would be more precise than what the purge keeps), no larger than
    ``max_km2``."""
    if not h3.is_valid_cell(cell):
        raise AreaError("That is not an H3 cell index.")
    resolution = h3.get_resolution(cell)
    if resolution > AREA_RESOLUTION:
        raise AreaError(f"An H3 area must be resolution {AREA_RESOLUTION} or coarser.")
    km2 = float(h3.cell_area(cell, unit="km^2"))
    if km2 > max_km2:  # before listing its cells: resolution 0 has 823,543 of them
        raise AreaError(f"The area is too large ({km2:,.0f} km²; at most {max_km2:,.0f} km²).")
    ring = [[round(lon, 6), round(lat, 6)] for lat, lon in h3.cell_to_boundary(cell)]
    ring.append(ring[0])
    cells = tuple(sorted(h3.cell_to_children(cell, AREA_RESOLUTION)))
    lat, lon = h3.cell_to_latlng(cell)
    return AreaShape(geometry={"type": "Polygon", "coordinates": [ring]}, cells=cells,
                     km2=km2, centre=(lat, lon))


def outer_rings(geometry: dict[str, Any]) -> list[list[tuple[float, float]]]:
    """Each polygon's outer ring as (lat, lon) pairs, CAP's order (CAP has no holes)."""
    polygons = ([geometry["coordinates"]] if geometry["type"] == "Polygon"
                else geometry["coordinates"])
    return [[(float(lat), float(lon)) for lon, lat, *_ in polygon[0]] for polygon in polygons]
