"""A responder answers an offer: accept (the first wins) or decline; offers given back.

One incident at a time: a responder who takes an incident, or leaves shift, gives back
their other pending offers, and each incident left with nothing pending widens at once,
so no request sits waiting on an offer its responder can no longer take.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError

from spotline.audit.actions import atomic as audit_atomic
from spotline.core.lifecycle import HELD, Event, State
from spotline.core.policy import Actor, OfferStatus, should_widen
from spotline.dispatch.actions.locks import (
    lock,
    lock_many,
    lock_responder,
    pending_offer_incidents,
    retry_on_deadlock,
)
from spotline.dispatch.actions.moves import move
from spotline.dispatch.actions.records import event
from spotline.dispatch.actions.rounds import widen
from spotline.dispatch.actions.search import offers_open
from spotline.dispatch.models import Incident, Offer
from spotline.errors import Conflict, IncidentTaken, NotFound
from spotline.responders.models import Responder

log = logging.getLogger(__name__)


def holds_open_incident(responder: Responder) -> bool:
    return Incident.objects.filter(
        assigned_responder=responder, state__in=[s.value for s in HELD]
    ).exists()


def offers_give_back(responder: Responder, *, now: datetime, why: str,
                     keep: int | None = None, replace: bool = False) -> None:
    """The responder's pending offers (but ``keep``'s) go back. Call with every
    incident concerned already locked, in order (``locks.lock_many``).

    An incident left with no pending offer widens at once; with ``replace`` (the
    responder left shift) every incident that lost an offer does, even with others
    still pending, so the round goes on at full strength. Each widens once.
    """
    for incident_id in sorted(pending_offer_incidents(responder.pk) - {keep}):
        incident = lock(incident_id)  # already held: this only re-reads the row
        Offer.objects.filter(incident=incident, responder=responder,
                             status=OfferStatus.PENDING).update(
            status=OfferStatus.WITHDRAWN, answered_at=now)
        event(incident, "offer_withdrawn", actor=Actor.SYSTEM, now=now,
              responder_id=responder.pk, why=why)
        pending = offers_open(incident)
        if should_widen(incident.state_enum) and (replace or not pending):
            widen(incident, now=now, why=why)


def _offer_incident_id(offer_id: int, responder: Responder) -> int:
    incident_id = (
        Offer.objects.filter(pk=offer_id, responder=responder)
        .values_list("incident_id", flat=True)
        .first()
    )
    if incident_id is None:
        raise NotFound("no such offer")
    return incident_id


@retry_on_deadlock
def offer_accept(*, offer_id: int, responder: Responder, now: datetime) -> Offer:
    """First accept wins; the other offers are withdrawn. Safe to repeat while the
    incident is held: once it closes, a repeat is refused, because whoever accepts is
    answered with the exact place, and that is theirs only until closing.

    An offer that merely expired can still be accepted while nobody else holds the
    incident: a responder who answers ten seconds late is still the fastest help.
    """
    incident_id = _offer_incident_id(offer_id, responder)
    try:
        with audit_atomic():
            # Lock order: the responder, then every incident this touches, by id.
            me = lock_responder(responder.pk)
            incident = lock_many(pending_offer_incidents(me.pk) | {incident_id})[incident_id]
            offer = Offer.objects.select_for_update().get(pk=offer_id)
            if offer.status == OfferStatus.ACCEPTED:
                if incident.state_enum not in HELD:
                    raise Conflict("this incident is closed")
                return offer
            if offer.status == OfferStatus.DECLINED:
                raise Conflict("you declined this offer")
            if incident.state != State.DISPATCHING:
                raise IncidentTaken("this incident is already taken or closed")
            if me.on_shift_since is None:
                raise Conflict("go on shift before accepting an offer")
            if holds_open_incident(me):
                raise Conflict("you already hold an open incident: finish or release it first")
            offer.status = OfferStatus.ACCEPTED
            offer.answered_at = now
            offer.save(update_fields=["status", "answered_at"])
            incident.assigned_responder = responder
            incident.save(update_fields=["assigned_responder"])
            move(incident, Event.ACCEPT, now=now, actor=Actor.RESPONDER,
                 user_id=responder.user_id, responder_id=responder.pk, offer_id=offer.pk)
            # One incident at a time: this responder's other pending offers go back.
            offers_give_back(me, now=now, why="responder_busy", keep=incident_id)
    except IntegrityError:
        # The partial unique indexes ("one accepted offer per incident", "one held
        # incident per responder") are the backstop.
        raise IncidentTaken("this incident is already taken") from None
    log.info("offer accepted offer=%s incident=%s", offer.pk, incident.pk)
    return offer


def offer_decline(*, offer_id: int, responder: Responder, now: datetime) -> Offer:
    """Decline; if that leaves no pending offer, widen at once rather than wait."""
    incident_id = _offer_incident_id(offer_id, responder)
    with audit_atomic():
        incident = lock(incident_id)
        offer = Offer.objects.select_for_update().get(pk=offer_id)
        if offer.status == OfferStatus.ACCEPTED:
            raise Conflict("you accepted this offer: release the incident instead")
        if offer.status != OfferStatus.PENDING:
            # Already declined, expired or withdrawn: what became of it feeds the
            # reports, so a late tap changes nothing.
            return offer
        offer.status = OfferStatus.DECLINED
        offer.answered_at = now
        offer.save(update_fields=["status", "answered_at"])
        event(incident, "offer_declined", actor=Actor.RESPONDER, now=now,
              user_id=responder.user_id, responder_id=responder.pk, offer_id=offer.pk)
        pending = offers_open(incident)
        if should_widen(incident.state_enum) and not pending:
            widen(incident, now=now, why="all_declined")
    return offer
