"""Setting or moving an incident's point: a dispatcher's click on the map, a person's
corrected place ("no, the one on Fifth"), a place found from words after the request
was opened.

While nobody holds the incident, the offers out were ranked for the old point: they are
withdrawn and a fresh round is offered from the new one at once, nearest by travel time.
A held incident keeps its responder, who sees the new place live.

An incident that had no point was offered to nobody (``core.policy.plan_round``): its
first round from a place starts here, and its "location unknown" alarm is answered. Its
timers stay as they were armed at opening: the next round expiry (the fresh round arms
its own) and the escalation deadline, counted from when the person asked, not from when
the place became known; they waited that long already.
"""

from __future__ import annotations

from datetime import datetime

from spotline.audit.actions import atomic as audit_atomic
from spotline.core.geo import Point, area_cell
from spotline.core.lifecycle import State
from spotline.core.policy import Actor, OfferStatus, Shortfall
from spotline.dispatch.actions.locks import lock, retry_on_deadlock
from spotline.dispatch.actions.records import event, flag
from spotline.dispatch.actions.rounds import round_start
from spotline.dispatch.models import Incident, LocatedBy, Offer
from spotline.errors import Conflict, Invalid

# The largest radius a place found from words may have and still be dispatched on.
MAX_RADIUS_M = 5_000.0


@retry_on_deadlock
def incident_relocate(
    *, incident_id: int, point: Point, located_by: LocatedBy,
    radius_m: float | None = None, description: str | None = None,
    actor: Actor, user_id: int | None = None, now: datetime,
) -> Incident:
    """Put the incident at ``point``. ``located_by`` says how it was found (``WORDS``:
    approximate, ``radius_m`` around it); ``description`` replaces the words of the
    place when given. Returns the incident, re-offered if it was still looking."""
    # (A Point is valid by construction: finite, within ±90 and ±180.)
    if radius_m is not None and not 0 <= radius_m <= MAX_RADIUS_M:
        raise Invalid(f"radius_m is 0 to {MAX_RADIUS_M:.0f}")
    with audit_atomic():
        incident = lock(incident_id)
        if not incident.is_open:
            raise Conflict("this incident is closed")
        if incident.purged_at is not None:
            raise Conflict("this incident's details were already destroyed")
        was = incident.location_status
        incident.lat, incident.lon = point.lat, point.lon
        incident.accuracy_m = radius_m
        incident.located_by = located_by.value
        incident.area = area_cell(point)
        fields = ["lat", "lon", "accuracy_m", "located_by", "area", "updated_at"]
        if description is not None:
            incident.location_description = description.strip()
            fields.append("location_description")
        incident.updated_at = now
        incident.save(update_fields=fields)
        # Codes only on the timeline: never the place itself.
        event(incident, "relocated", actor=actor, now=now, user_id=user_id,
              was=was, now_status=incident.location_status, located_by=located_by.value)
        if incident.attention == Shortfall.LOCATION_UNKNOWN:
            # Answered: the round below raises whatever alarm is true now.
            flag(incident, "", now=now)
        if incident.state_enum is State.DISPATCHING:
            Offer.objects.filter(incident=incident, status=OfferStatus.PENDING).update(
                status=OfferStatus.WITHDRAWN, answered_at=now)
            made = round_start(incident, now=now)
            event(incident, "widened", actor=Actor.SYSTEM, now=now,
                  round=incident.current_round, offers=made, why="relocated")
    return incident
