"""The organization's own Nominatim server: a second source behind ``geocode``.

Only with ``SPOTLINE_GEOCODER=nominatim``, and only when the local gazetteer has no
answer to act on. It asks ``SPOTLINE_NOMINATIM_URL/search`` (format jsonv2) for the
words that name the place (the words about the person are dropped first:
``core.placetext.parse``), within a box around ``near`` or the map centre, and reads
each result into a :class:`Candidate` that never outranks a local exact match.

A slow or broken server costs at most ``SPOTLINE_NOMINATIM_TIMEOUT_SECONDS`` and gives
no candidates; the failure is logged by its status or kind only: never the text, the
URL that carries it, or an exception message that might quote either. The request
goes straight to the configured server: no proxy from the environment, no redirects,
since either could carry a crisis text to a machine the organization does not run.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from spotline.core.candidates import Candidate
from spotline.core.geo import Point, distance_m
from spotline.places.centre import organization_centre

logger = logging.getLogger(__name__)

LIMIT = 5
MAX_BYTES = 512 * 1024  # five jsonv2 results are a few kilobytes
# Half the side of the box results are kept to: 0.2 degrees of latitude, 22 km each way
# from the centre, which holds a city and its suburbs: the organization's area.
VIEWBOX_DEG = 0.2
# What a result may be worth. A house or a named place Nominatim found stays below a
# local exact match (1.0) and near the bar for acting (0.8): enough to act on when it is
# the only place found, never enough to win over a local answer that fits as well.
CAP = 0.9
HOUSE = 0.8  # place_rank 28-30: a house, a building, a shop, a stop
STREET = 0.6  # place_rank 26-27: a whole street is asked back ("where on it?"), as locally
AREA = 0.4  # below 26: a neighbourhood or a suburb, a choice at most
IMPORTANCE_WEIGHT = 0.1
ORDER_STEP = 0.01  # Nominatim's own order breaks ties between its results
MIN_RADIUS_M, MAX_RADIUS_M = 10.0, 5000.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is then an HTTPError: a failure, not a second destination


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def search_url(words: str, *, near: Point, language: str | None) -> str:
    """The request for ``words``: at most five results, inside the box around ``near``."""
    # As many kilometres east-west as north-south (degrees of longitude shrink north).
    wide = VIEWBOX_DEG / max(0.1, math.cos(math.radians(near.lat)))
    params = {
        "format": "jsonv2", "q": words, "limit": str(LIMIT), "addressdetails": "0",
        # left,top,right,bottom; bounded: nothing outside the organization's area.
        "viewbox": ",".join(f"{v:.5f}" for v in (
            near.lon - wide, near.lat + VIEWBOX_DEG, near.lon + wide, near.lat - VIEWBOX_DEG)),
        "bounded": "1",
    }
    if language:
        params["accept-language"] = language
    return f"{settings.SPOTLINE_NOMINATIM_URL}/search?{urlencode(params)}"


def search(words: str, *, near: Point | None = None,
           language: str | None = None) -> list[Candidate]:
    """Candidates for ``words`` from the organization's Nominatim; [] on any failure."""
    url = search_url(words, near=near or organization_centre(), language=language)
    request = urllib.request.Request(url, headers={  # noqa: S310 - http(s) only: settings
        "Accept": "application/json", "User-Agent": "Spotline geocoder"})
    try:
        with _OPENER.open(request, timeout=settings.SPOTLINE_NOMINATIM_TIMEOUT_SECONDS) as answer:
            body = answer.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        logger.warning("nominatim failed status=%s", exc.code)
        return []
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, refusals
        reason = getattr(exc, "reason", exc)
        kind = "timeout" if isinstance(reason, TimeoutError) else type(reason).__name__
        logger.warning("nominatim failed error=%s", kind)
        return []
    if len(body) > MAX_BYTES:
        logger.warning("nominatim failed error=too_large")
        return []
    try:
        results = json.loads(body)
    except ValueError:
        logger.warning("nominatim failed error=bad_json")
        return []
    if not isinstance(results, list):
        logger.warning("nominatim failed error=not_a_list")
        return []
    found = []
    for i, result in enumerate(results[:LIMIT]):
        candidate = read_result(result, order=i)
        if candidate is not None:
            found.append(candidate)
    return found


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def kind_of(result: dict[str, Any], rank: int) -> str:
    """Our kind for a result: a house number is an address, a road a street, the rest a
    named place (an area included: its low confidence and wide radius say enough)."""
    category, kind = str(result.get("category", "")), str(result.get("type", ""))
    if ((category, kind) == ("place", "house") or result.get("addresstype") == "house"
            or (category == "building" and not result.get("name"))):
        return "address"
    if category == "highway" and rank in (26, 27):
        return "street"
    return "poi"


def confidence_of(result: dict[str, Any], rank: int, order: int) -> float:
    base = HOUSE if rank >= 28 else STREET if rank >= 26 else AREA
    importance = _number(result.get("importance")) or 0.0
    score = base + IMPORTANCE_WEIGHT * max(0.0, min(1.0, importance)) - ORDER_STEP * order
    return max(0.0, min(CAP if base == HOUSE else base, score))


def radius_of(result: dict[str, Any], rank: int) -> float:
    """Half the diagonal of ``boundingbox`` ([south, north, west, east], as strings); a
    result without one reaches as far as its rank says (a door, a street, an area)."""
    box = result.get("boundingbox")
    corners = [_number(v) for v in box] if isinstance(box, list) and len(box) == 4 else []
    south, north, west, east = corners or (None, None, None, None)
    if south is None or north is None or west is None or east is None:
        return 25.0 if rank >= 28 else 300.0 if rank >= 26 else 1000.0
    half = distance_m(Point(south, west), Point(north, east)) / 2
    return max(MIN_RADIUS_M, min(MAX_RADIUS_M, half))


def read_result(result: Any, *, order: int = 0) -> Candidate | None:
    """One jsonv2 result as a Candidate, or None when it has no usable point."""
    if not isinstance(result, dict):
        return None
    lat, lon = _number(result.get("lat")), _number(result.get("lon"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    rank = int(_number(result.get("place_rank")) or 0)
    display = str(result.get("display_name") or result.get("name") or "").strip()
    if not display:
        return None
    # "Alepa, 12, Mannerheimintie, Kamppi, Helsinki, ..., Suomi": the first parts say
    # where; the city, region and country after them say nothing to a responder here.
    label = ", ".join(part.strip() for part in display.split(",")[:3])[:120]
    category, kind = result.get("category", ""), result.get("type", "")
    return Candidate(
        name=label, lat=lat, lon=lon, confidence=confidence_of(result, rank, order),
        kind=kind_of(result, rank), radius_m=radius_of(result, rank),
        reason=f"the organization's Nominatim ({category}={kind})"[:80])
