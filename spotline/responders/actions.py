"""The one write path for a responder's own settings: location and channels.

Going on and off shift is ``dispatch.actions.shifts.shift_set``: leaving shift gives
back offers, which is dispatch's business.
"""

from __future__ import annotations

from datetime import datetime

from spotline.core.geo import Point
from spotline.errors import Conflict
from spotline.live.publish import responder_changed
from spotline.responders.models import Responder


def location_update(*, responder: Responder, location: Point, now: datetime) -> Responder:
    """Overwrite the last known location (no history is kept). Only while on shift."""
    updated = Responder.objects.filter(pk=responder.pk, on_shift_since__isnull=False).update(
        lat=location.lat, lon=location.lon, located_at=now
    )
    if updated != 1:
        raise Conflict("your location is shared only while you are on shift: go on shift first")
    responder_changed(responder.pk)
    responder.refresh_from_db()
    return responder


def channels_set(*, responder: Responder, channels: list[str]) -> Responder:
    """The responder's own fallback order for offers (push, sms, voice, email)."""
    Responder.objects.filter(pk=responder.pk).update(channels=channels)
    responder.refresh_from_db()
    responder_changed(responder.pk)
    return responder
