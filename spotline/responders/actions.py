"""The one write path for a responder's shift and location."""

from __future__ import annotations

from datetime import datetime

from spotline.audit.actions import atomic as audit_atomic
from spotline.core.geo import Point
from spotline.core.lifecycle import HELD
from spotline.dispatch.actions import retry_on_deadlock
from spotline.errors import Conflict
from spotline.live.publish import responder_changed
from spotline.responders.models import Responder


def holds_open_incident(responder: Responder) -> bool:
    from spotline.dispatch.models import Incident

    return Incident.objects.filter(
        assigned_responder=responder, state__in=[s.value for s in HELD]
    ).exists()


@retry_on_deadlock
def shift_set(
    *, responder: Responder, on_shift: bool, location: Point | None, now: datetime
) -> Responder:
    """Go on or off shift. Off shift forgets the location at once."""
    with audit_atomic():
        r = Responder.objects.select_for_update().get(pk=responder.pk)
        if on_shift:
            if r.on_shift_since is None:
                r.on_shift_since = now
            if location is not None:
                r.lat, r.lon, r.located_at = location.lat, location.lon, now
        else:
            if holds_open_incident(r):
                raise Conflict(
                    "you hold an open incident: finish it, or release it so it can be "
                    "offered to someone else, before going off shift"
                )
            r.on_shift_since = None
            r.lat = r.lon = None
            r.located_at = None
        r.save(update_fields=["on_shift_since", "lat", "lon", "located_at"])
        if not on_shift:
            # After the save: the widening this may cause must already see them off shift.
            from spotline.dispatch.actions import offers_withdraw_for

            offers_withdraw_for(responder=r, now=now)
        responder_changed(r.pk)
    return r


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
