"""Responders answering by text: an offer ("YES 42", "NO"), or their safety check
("OK", "OK 12"), through the same actions as the app. Replies to responders are in
English, like the texts they answer."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone

from spotline.core.checkin import OPEN_STATES
from spotline.core.policy import OfferStatus
from spotline.core.sms.checkin import checkin_say, parse_safety_ok
from spotline.core.sms.responder import ResponderReply
from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.actions.safety_timers import safety_current, safety_ok
from spotline.dispatch.models import Offer
from spotline.errors import ActionError, NotFound
from spotline.responders.models import Responder

log = logging.getLogger(__name__)


def offer_answer_by_text(responder: Responder, reply: ResponderReply, *, sid: str, now: datetime
                  ) -> str:
    """Accept or decline by text, through the same actions as the app."""
    pending = list(Offer.objects.filter(responder=responder, status=OfferStatus.PENDING)
                   .order_by("id").values_list("id", flat=True))
    if reply.offer_id is not None:
        offer_id = reply.offer_id
    elif len(pending) == 1:
        offer_id = pending[0]
    elif not pending:
        return "You have no open offer right now."
    else:
        return "You have several offers: reply YES and the number, e.g. YES " + \
            f"{pending[0]}. Open offers: {', '.join(str(p) for p in pending)}."
    log.info("sms responder answer sid=%s offer=%s accept=%s", sid, offer_id, reply.accept)
    try:
        if not reply.accept:
            offer_decline(offer_id=offer_id, responder=responder, now=now)
            return f"Declined offer {offer_id}. Thank you."
        offer = offer_accept(offer_id=offer_id, responder=responder, now=now)
    except ActionError as exc:
        return f"Offer {offer_id}: {exc.message}."
    incident = offer.incident
    incident.refresh_from_db()
    where = incident.location_description
    if incident.lat is not None and incident.lon is not None:
        where = (f"{where} https://www.openstreetmap.org/directions?to="
                 f"{incident.lat:.6f}%2C{incident.lon:.6f}").strip()
    return (f"Accepted: {incident.priority} {incident.kind.replace('_', ' ')}. "
            f"Go now: {where or 'see the app'}. Reply to the dispatcher through the app.")


def safety_ok_by_text(*, responder: Responder | None, body: str, sid: str,
                      now: datetime) -> str | None:
    """A responder's "OK" or "OK <id>" extends their running safety timer. None when
    the sender is no responder, no timer runs, or the number is not that timer's (it
    may answer an offer): the text then goes on as before."""
    said = parse_safety_ok(body)
    if said is None or responder is None:
        return None
    current = safety_current(responder)
    if current is None or current.state not in OPEN_STATES:
        return None
    if said.checkin_id is not None and said.checkin_id != current.pk:
        return None
    try:
        timer = safety_ok(responder=responder, minutes=None, now=now)
    except NotFound:
        return None  # it ended meanwhile
    except ActionError as exc:
        log.info("sms safety ok failed sid=%s (%s)", sid, type(exc).__name__)
        return checkin_say("safety_failed", "en")
    log.info("sms safety ok sid=%s timer=%s", sid, timer.pk)
    at = timezone.localtime(timer.next_at).strftime("%H:%M") if timer.next_at else "?"
    return checkin_say("safety_ok", "en", minutes=timer.minutes, time=at)
