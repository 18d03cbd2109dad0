"""Going on and off shift: the responder's availability, which dispatch acts on.

Here rather than in ``responders`` because leaving shift gives back pending offers
(and widens the incidents they were for), which is dispatch's business.
"""

from __future__ import annotations

from datetime import datetime

from spotline.audit.actions import atomic as audit_atomic
from spotline.core.geo import Point
from spotline.dispatch.actions.locks import lock_many, pending_offer_incidents, retry_on_deadlock
from spotline.dispatch.actions.offers import holds_open_incident, offers_give_back
from spotline.dispatch.actions.search import roster_forget
from spotline.errors import Conflict
from spotline.live.publish import responder_changed
from spotline.responders.models import Responder


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
        roster_forget()  # the search's cached count of who is on shift
        if not on_shift:
            # After the save: the widening this may cause must already see them off
            # shift. The responder is locked; now the incidents, in order.
            lock_many(pending_offer_incidents(r.pk))
            offers_give_back(r, now=now, why="responder_left")
        responder_changed(r.pk)
    return r
