"""Finding a place from words, for dispatchers: the console's search box as you type,
and scripts. Mounted at /api/v1/places.

The text is searched on this machine only (``places.geocode``) and never logged: it
names a place where someone may be in trouble. Dispatchers, coordinators and admins
only; anyone else is told there is nothing here (404), as elsewhere in the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from spotline.api import schemas as s
from spotline.api.auth import AUTH, require_dispatcher
from spotline.places.centre import organization_centre
from spotline.places.geocode import MAX_LIMIT, geocode

router = Router(auth=AUTH, tags=["dispatcher"])

# Longer than any address or direction a person gives; an SMS is 1,600 at most, and the
# search box is for the place, not the whole message.
MAX_QUERY = 500


class PlaceOut(Schema):
    """One place the words may mean (the fixed contract of issue 14: these names stay;
    fields may be added, never renamed)."""

    name: str
    lat: float
    lon: float
    confidence: float = Field(ge=0, le=1)
    kind: str
    radius_m: float
    reason: str  # why it matched, in a few words: for the dispatcher


class SearchIn(Schema):
    q: Annotated[str, Field(max_length=MAX_QUERY)] = ""
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 5


@router.get("/search", response={200: list[PlaceOut], 401: s.ErrorOut, 403: s.ErrorOut,
                                 404: s.ErrorOut, 422: s.ErrorOut},
            summary="What a place in words may mean, best first",
            description="The local gazetteer (the organization's OpenStreetMap extract "
            "and its own landmarks), searched on this server: the text is never sent "
            "elsewhere nor logged. At most `limit` places, best first; an empty list when "
            "nothing matches or `q` is empty. `q` longer than 500 characters: 422.",
            operation_id="spotline_api_places_search")
def places_search(request: HttpRequest, params: Query[SearchIn]) -> Any:
    require_dispatcher(request)
    found = geocode(params.q, near=organization_centre(), limit=params.limit)
    return [{"name": c.name, "lat": c.lat, "lon": c.lon, "confidence": c.confidence,
             "kind": c.kind, "radius_m": c.radius_m, "reason": c.reason} for c in found]
