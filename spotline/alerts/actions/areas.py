"""Alert areas: defining them, and finding the one a person names in a text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from rapidfuzz import fuzz, process

from spotline.alerts.models import Alert, AlertStatus, Area
from spotline.audit.actions import atomic, record
from spotline.core.alerts import printable
from spotline.core.areas import AreaError, AreaShape, area_check, cell_area
from spotline.errors import Conflict, Invalid, NotFound

MAX_ALIASES = 20


def _name(name: str) -> str:
    name = " ".join(printable(unicodedata.normalize("NFKC", name)).split())
    if not name or not any(ch.isalnum() for ch in name):
        raise Invalid("An area needs a name.")
    if len(name) > 80:
        raise Invalid("An area's name is at most 80 characters.")
    return name


def _aliases(aliases: Iterable[str]) -> list[str]:
    out: list[str] = []
    for alias in aliases:
        alias = " ".join(printable(unicodedata.normalize("NFKC", str(alias))).split())
        if alias and alias.casefold() not in (a.casefold() for a in out):
            out.append(alias[:40])
    if len(out) > MAX_ALIASES:
        raise Invalid(f"An area has at most {MAX_ALIASES} other names or postcodes.")
    return out


def _shape(geometry: Any = None, h3_cell: str = "") -> AreaShape:
    try:
        if h3_cell:
            return cell_area(h3_cell.strip().lower(),
                             max_km2=settings.SPOTLINE_AREA_MAX_KM2)
        return area_check(geometry, max_km2=settings.SPOTLINE_AREA_MAX_KM2)
    except AreaError as exc:
        raise Invalid(str(exc)) from None


def area_create(*, name: str, now: datetime, geometry: Any = None, h3_cell: str = "",
                aliases: Sequence[str] = (), user_id: int | None = None) -> Area:
    """A new area from a GeoJSON Polygon/MultiPolygon, or from an H3 cell index."""
    name = _name(name)
    shape = _shape(geometry, h3_cell)
    with atomic():
        if Area.objects.filter(name__iexact=name).exists():
            raise Conflict(f"There is already an area called {name}.")
        area = Area.objects.create(
            name=name, aliases=_aliases(aliases), geometry=shape.geometry,
            h3_cell=h3_cell.strip().lower(), cells=list(shape.cells), km2=round(shape.km2, 3),
            centre_lat=shape.centre[0], centre_lon=shape.centre[1], created_at=now,
            updated_at=now)
        record("area.created", object_type="area", object_id=area.pk, now=now,
               actor="user" if user_id else "system", actor_user_id=user_id)
    return area


def area_update(*, area_id: int, now: datetime, user_id: int | None, name: str | None = None,
                geometry: Any = None, aliases: Sequence[str] | None = None) -> Area:
    with atomic():
        area = Area.objects.select_for_update().filter(pk=area_id).first()
        if area is None:
            raise NotFound("No such area.")
        if name is not None:
            name = _name(name)
            if Area.objects.filter(name__iexact=name).exclude(pk=area_id).exists():
                raise Conflict(f"There is already an area called {name}.")
            area.name = name
        if aliases is not None:
            area.aliases = _aliases(aliases)
        if geometry is not None:
            shape = _shape(geometry)
            area.geometry, area.cells, area.h3_cell = shape.geometry, list(shape.cells), ""
            area.km2 = round(shape.km2, 3)
            area.centre_lat, area.centre_lon = shape.centre
        area.updated_at = now
        area.save()
        record("area.updated", object_type="area", object_id=area.pk, now=now, actor="user",
               actor_user_id=user_id)
    return area


def area_delete(*, area_id: int, now: datetime, user_id: int | None) -> None:
    """Delete an area no alert names (alerts keep their areas for their CAP record)."""
    with atomic():
        area = Area.objects.filter(pk=area_id).first()
        if area is None:
            raise NotFound("No such area.")
        if Alert.objects.filter(areas=area).exists():
            raise Conflict("Alerts name this area; it can be renamed or redrawn, not deleted.")
        area.delete()
        record("area.deleted", object_type="area", object_id=area_id, now=now, actor="user",
               actor_user_id=user_id)


# -- finding an area by what a person texts ------------------------------------------------

def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def areas_named(text: str, *, limit: int = 3) -> list[Area]:
    """The areas a text names: exact names, aliases and postcodes first, then a close
    spelling (rapidfuzz, 85 or better). Best first; at most ``limit``."""
    wanted = _fold(text)
    if not wanted:
        return []
    areas = list(Area.objects.all())
    choices: dict[str, Area] = {}
    for area in areas:
        for label in [area.name, *area.aliases]:
            choices.setdefault(_fold(label), area)
    if wanted in choices:
        return [choices[wanted]]
    found: list[Area] = []
    for label, _score, _index in process.extract(wanted, list(choices), scorer=fuzz.WRatio,
                                                 score_cutoff=85, limit=limit * 2):
        if choices[label] not in found:
            found.append(choices[label])
    return found[:limit]


def areas_with_cell(cell: str) -> list[Area]:
    """The areas that hold an area cell (``core.geo.area_cell``)."""
    if not cell:
        return []
    return [a for a in Area.objects.all() if cell in set(a.cells)]


def current_alerts(now: datetime) -> Any:
    """Published, not expired, not replaced or cancelled: what the public sees."""
    return (Alert.objects.filter(status=AlertStatus.PUBLISHED, expires__gt=now)
            .filter(Q(replaced_by__isnull=True) | ~Q(replaced_by__status=AlertStatus.PUBLISHED))
            .order_by("-published_at"))
