"""A responder who comes free is offered the most urgent waiting incident at once.

Without this, waiting incidents were offered only at their next round, so a responder
who finished one call could be taken by a P2 seconds before the P1 that had waited
longer. The actions that free a responder (resolve, could not find them, release, a
cancel or a reassignment while they held it, going on shift, moving) call
``offer_to_freed`` inside their own transaction; it offers one incident, chosen by
``core.waiting.choose_waiting``, in a round of its own.

It never waits for a lock: the caller already holds rows out of the global lock order
(an incident before this responder), so the responder and the chosen incident are
taken with SKIP LOCKED (PostgreSQL; SQLite has one writer). One of them busy
elsewhere just means the waiting incident's own rounds offer it, as before.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings

from spotline.core.geo import Mode
from spotline.core.lifecycle import HELD, State
from spotline.core.policy import Actor, Candidate, PastOffer, may_offer
from spotline.core.triage import Priority, Skill
from spotline.core.waiting import Waiting, choose_waiting
from spotline.dispatch.actions.records import event
from spotline.dispatch.actions.rounds import offer_round
from spotline.dispatch.actions.search import (
    Contact,
    backup_for_responders,
    estimator,
    incident_point,
    incident_radius,
    offer_history,
    policy_for,
)
from spotline.dispatch.models import Incident
from spotline.responders.models import Responder

log = logging.getLogger(__name__)

# The waiting incidents looked at, most urgent and oldest first: more than a night's
# queue ever holds, and a bound on the work one freed responder can cause.
LOOK_AT = 50


# What a choice needs of a waiting incident: its point is unsealed, nothing else is.
FIELDS = ("id", "priority", "opened_at", "lat", "lon", "accuracy_m", "located_by",
          "required_skills", "backup_for", "data_key")


def _mine(responder_id: int, incident_ids: list[int]) -> dict[int, PastOffer]:
    return dict(offer_history(responder_id=responder_id, incident_id__in=incident_ids))


def _waiting(responder_id: int) -> list[Waiting]:
    incidents = list(Incident.objects.filter(state=State.DISPATCHING.value)
                     .exclude(located_by="").only(*FIELDS)
                     .order_by("priority", "opened_at", "pk")[:LOOK_AT])
    mine = _mine(responder_id, [i.pk for i in incidents])
    return [Waiting(incident_id=i.pk, priority=Priority(i.priority), opened_at=i.opened_at,
                    location=incident_point(i), radius_m=incident_radius(i),
                    required=frozenset(Skill(s) for s in i.required_skills),
                    past=mine.get(i.pk), excluded=backup_for_responders(i))
            for i in incidents]


def offer_to_freed(responder_id: int | None, *, now: datetime) -> int | None:
    """Offer the responder, just freed, the waiting incident ``choose_waiting`` picks.

    Returns the incident's id, or None when there was nothing to offer (none waiting,
    none within reach, already asked, off shift, busy, or a row locked elsewhere).
    """
    if responder_id is None:
        return None
    me = (Responder.objects.select_for_update(skip_locked=True)
          .filter(pk=responder_id, on_shift_since__isnull=False).first())
    if me is None:
        return None
    busy = Incident.objects.filter(assigned_responder_id=me.pk,
                                   state__in=[s.value for s in HELD]).exists()
    candidate = Candidate(responder_id=me.pk, location=me.point, mode=Mode(me.mode),
                          skills=me.skill_set, on_shift=True, busy=busy)
    waiting = [] if busy else _waiting(me.pk)
    for _ in range(3):  # a chosen incident locked elsewhere: the next one
        chosen = choose_waiting(responder=candidate, waiting=waiting,
                                policy=settings.SPOTLINE_POLICY, estimator=estimator(),
                                now=now)
        if chosen is None:
            return None
        w, ranked = chosen
        incident = (Incident.objects.select_for_update(skip_locked=True)
                    .filter(pk=w.incident_id, state=State.DISPATCHING.value).first())
        # Read before the lock: a round may have offered it to them since. Judged again
        # on the row as it is now.
        past = _mine(me.pk, [w.incident_id]).get(w.incident_id)
        if incident is None or not may_offer(past, policy_for(incident), now):
            waiting = [x for x in waiting if x.incident_id != w.incident_id]
            continue
        contact = Contact(channels=list(me.channels or []), has_phone=bool(me.phone_sealed))
        offer_round(incident, [ranked], expires_at=now + policy_for(incident).offer_expiry,
                    contacts={me.pk: contact}, now=now)
        event(incident, "offers_made", actor=Actor.SYSTEM, now=now,
              round=incident.current_round, responder_ids=[me.pk], why="responder_free")
        log.info("offered to a freed responder incident=%s responder=%s", incident.pk, me.pk)
        return incident.pk
    return None
