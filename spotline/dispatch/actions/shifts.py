"""Going on and off shift: the responder's availability, which dispatch acts on.

Here rather than in ``responders`` because leaving shift gives back pending offers
(and widens the incidents they were for), which is dispatch's business.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from spotline.audit.actions import atomic as audit_atomic
from spotline.audit.actions import record
from spotline.core.geo import Point
from spotline.core.policy import OfferStatus
from spotline.dispatch.actions.freed import offer_to_freed
from spotline.dispatch.actions.locks import lock_many, pending_offer_incidents, retry_on_deadlock
from spotline.dispatch.actions.offers import holds_open_incident, offers_give_back
from spotline.dispatch.actions.search import roster_forget
from spotline.dispatch.models import Offer
from spotline.errors import Conflict
from spotline.live.publish import responder_changed
from spotline.responders.actions import location_update
from spotline.responders.models import Responder


class OffersOpen(Conflict):
    """Going off shift would withdraw offers the responder was not warned about."""

    code = "offers_open"

    def __init__(self, offer_ids: Collection[int]) -> None:
        self.offer_ids = sorted(offer_ids)
        if len(self.offer_ids) == 1:
            text = ("You have an open offer: going off shift withdraws it, and its "
                    "incident is offered to other responders at once.")
        else:
            text = (f"You have {len(self.offer_ids)} open offers: going off shift "
                    "withdraws them, and their incidents are offered to other "
                    "responders at once.")
        super().__init__(text)


@retry_on_deadlock
def shift_set(
    *, responder: Responder, on_shift: bool, location: Point | None, now: datetime,
    withdraw: Collection[int] | None = None,
) -> Responder:
    """Go on or off shift. Off shift forgets the location at once, and gives back the
    responder's pending offers: each incident that loses one widens at once, rather
    than wait out its round for an answer that cannot come.

    ``withdraw``: the pending offers the responder was warned about and agreed to give
    back; any other pending offer (or any at all, with an empty collection) raises
    ``OffersOpen`` and changes nothing. None (the API) gives back whatever is pending.
    """
    with audit_atomic():
        r = Responder.objects.select_for_update().get(pk=responder.pk)
        was_on = r.on_shift_since is not None
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
            if withdraw is not None:
                # Read under the responder's lock: an offer made after the warning
                # waits for its own confirmation.
                pending = set(Offer.objects.filter(responder=r, status=OfferStatus.PENDING)
                              .values_list("pk", flat=True))
                if not pending <= set(withdraw):
                    raise OffersOpen(pending)
            r.on_shift_since = None
            r.lat = r.lon = None
            r.located_at = None
        r.save(update_fields=["on_shift_since", "lat", "lon", "located_at"])
        roster_forget()  # the search's cached count of who is on shift
        if on_shift != was_on:
            record(f"responder.shift_{'on' if on_shift else 'off'}", object_type="responder",
                   object_id=r.pk, now=now, actor="responder", actor_user_id=r.user_id)
        if not on_shift:
            # After the save: the widening this causes must already see them off
            # shift. The responder is locked; now the incidents, in order.
            lock_many(pending_offer_incidents(r.pk))
            offers_give_back(r, now=now, why="responder_left", replace=True)
        elif not pending_offer_incidents(r.pk):
            # On shift (or moved): the most urgent waiting incident now, not at its
            # next round.
            offer_to_freed(r.pk, now=now)
        responder_changed(r.pk)
    return r


def responder_locate(*, responder: Responder, location: Point, now: datetime) -> Responder:
    """A new location from the responder's app (``responders.actions.location_update``);
    one who has moved within reach of a waiting incident, with no offer open, is
    offered it at once."""
    with audit_atomic():
        r = location_update(responder=responder, location=location, now=now)
        if not pending_offer_incidents(r.pk):
            offer_to_freed(r.pk, now=now)
    return r
