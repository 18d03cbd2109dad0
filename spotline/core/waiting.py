"""Who a responder coming free is offered, at once (``choose_waiting``).

When a responder resolves an incident, goes on shift or moves, waiting incidents are
not left to their next round's timer: the responder is offered the most urgent one
they can take now, on the same rules a round uses (``core.policy``), so the planner
(issue 18) can replay it on simulated time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from spotline.core.geo import Point, TravelTimeEstimator
from spotline.core.policy import (
    Candidate,
    DispatchPolicy,
    OfferStatus,
    PastOffer,
    Ranked,
    may_offer,
    qualifies,
    rank,
    within_cap,
)
from spotline.core.triage import Priority, Skill


@dataclass(frozen=True, slots=True)
class Waiting:
    """An incident still looking for a responder, as a responder coming free sees it."""

    incident_id: int
    priority: Priority
    opened_at: datetime
    location: Point | None
    radius_m: float | None
    required: frozenset[Skill]
    past: PastOffer | None  # this responder's offer for it, if they had one
    # Responders never to be offered it (a backup: whoever it backs up).
    excluded: frozenset[int] = frozenset()


def choose_waiting(*, responder: Candidate, waiting: Iterable[Waiting],
                   policy: DispatchPolicy, estimator: TravelTimeEstimator,
                   now: datetime) -> tuple[Waiting, Ranked] | None:
    """The incident to offer a responder who just came free, at once: the most urgent
    (P1 first), then the oldest, that they qualify for, ``may_offer`` allows and they
    can reach ``within_cap``. None if there is none, or if they already have an open
    offer for the most urgent one they could take (they are being asked already).

    Only a responder whose location is known: a round offers one who shares none last,
    after everyone it can rank, and jumping them to the front of a queue they may be
    nowhere near would undo that."""
    if not responder.on_shift or responder.busy or responder.location is None:
        return None
    for w in sorted(waiting, key=lambda w: (w.priority, w.opened_at, w.incident_id)):
        if (w.location is None or responder.responder_id in w.excluded
                or not qualifies(responder, w.required)):
            continue
        rules = policy[w.priority]
        ranked = rank(location=w.location, candidates=[responder], estimator=estimator,
                      radius_m=w.radius_m)[0]
        if not within_cap(ranked, rules):
            continue
        if w.past is not None and w.past.status is OfferStatus.PENDING:
            return None
        if may_offer(w.past, rules, now):
            return w, ranked
    return None
