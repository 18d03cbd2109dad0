"""Alert areas in the console (coordinators): list, create (GeoJSON pasted or a file, a
shape drawn on the map, or an H3 cell), rename and other names, delete.

Each form makes one action call (``alerts.actions.areas``); a shape the action refuses
(invalid, self-intersecting, too small, too large) is said on the form, typed as it
was, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from spotline.alerts.actions.areas import area_create, area_delete, area_update
from spotline.alerts.models import Area
from spotline.console.access import coordinator_required
from spotline.console.alert_forms import AreaEditForm, AreaForm
from spotline.console.alert_words import reply
from spotline.errors import ActionError


def map_settings() -> dict[str, str]:
    """What the console's maps need: the tile server and where to start."""
    return {"tiles": settings.SPOTLINE_TILE_URL,
            "attribution": settings.SPOTLINE_TILE_ATTRIBUTION,
            "centre": settings.SPOTLINE_MAP_CENTRE}


def shapes(areas: list[Area]) -> list[dict[str, Any]]:
    """The areas' outlines for the map (a page's JSON data, read by areas.js)."""
    return [{"name": a.name, "geometry": a.geometry} for a in areas]


def _page(request: HttpRequest, form: AreaForm, status: int = 200) -> HttpResponse:
    areas = list(Area.objects.all())
    return render(request, "console/areas.html", {
        "areas": areas, "form": form, "map": map_settings(), "shapes": shapes(areas),
        "max_km2": settings.SPOTLINE_AREA_MAX_KM2, "coordinator": True,
    }, status=status)


@coordinator_required
def areas(request: HttpRequest) -> HttpResponse:
    """GET: the areas and the form for a new one. POST: create it."""
    if request.method != "POST":
        return _page(request, AreaForm())
    form = AreaForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, status=400)
    data = form.cleaned_data
    try:
        area = area_create(name=data["name"], geometry=data["geometry"],
                           h3_cell=data["h3_cell"], aliases=data["alias_list"],
                           now=timezone.now(), user_id=request.user.pk)
    except ActionError as exc:
        form.add_error(None, reply(exc))
        return _page(request, form, status=exc.status)
    messages.success(request, _("Area %(name)s added.") % {"name": area.name})
    return redirect("console:areas")


def _area(area_id: int) -> Area:
    area = Area.objects.filter(pk=area_id).first()
    if area is None:
        raise Http404("no such area")
    return area


@coordinator_required
def area_edit(request: HttpRequest, area_id: int) -> HttpResponse:
    area = _area(area_id)
    initial: dict[str, Any] = {"name": area.name, "aliases": ", ".join(area.aliases)}
    form = AreaEditForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                area_update(area_id=area.pk, name=data["name"], aliases=data["alias_list"],
                            geometry=data["geometry"], now=timezone.now(),
                            user_id=request.user.pk)
            except ActionError as exc:
                form.add_error(None, reply(exc))
                status = exc.status
            else:
                messages.success(request, _("Area %(name)s saved.") % {"name": data["name"]})
                return redirect("console:areas")
    return render(request, "console/area_edit.html", {
        "area": area, "form": form, "map": map_settings(), "shapes": shapes([area]),
        "coordinator": True,
    }, status=status)


@require_POST
@coordinator_required
def area_remove(request: HttpRequest, area_id: int) -> HttpResponse:
    area = _area(area_id)
    try:
        area_delete(area_id=area.pk, now=timezone.now(), user_id=request.user.pk)
    except ActionError as exc:
        messages.error(request, reply(exc))
    else:
        messages.success(request, _("Area %(name)s deleted.") % {"name": area.name})
    return redirect("console:areas")
