"""The organization's centre: where its maps start, and where a search in words
prefers the nearer of two equal names when nothing nearer is known."""

from __future__ import annotations

from django.conf import settings

from spotline.core.geo import Point


def organization_centre() -> Point:
    """``SPOTLINE_MAP_CENTRE`` as a point (its form is checked at start-up)."""
    lat, lon = (float(v) for v in settings.SPOTLINE_MAP_CENTRE.split(","))
    return Point(lat, lon)
