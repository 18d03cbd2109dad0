"""The requests of the policy simulation, as production keeps them: an incident being
dispatched (or the backup request of one) and its offers, one row per responder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import simpy

from spotline.core.geo import Point
from spotline.core.lifecycle import Event, State, transition
from spotline.core.plan.model import SimCall
from spotline.core.plan.simbase import Crew, moment
from spotline.core.policy import OfferStatus, PastOffer, PriorityPolicy, Shortfall


@dataclass(eq=False)
class Offer:
    """One responder's offer for one request, as production keeps one row for it."""

    status: OfferStatus
    round: int
    eta: float | None
    asks: int = 1
    answered_at: float | None = None
    ask: int = 0  # which ask an answer belongs to: a reopened offer ignores old answers


@dataclass(eq=False)
class Request:
    """A call being dispatched, or the backup request of one."""

    key: int  # the incident id: the order of opening
    call: SimCall
    opened: float
    policy: PriorityPolicy
    accepted: simpy.Event
    parent: Request | None = None
    excluded: frozenset[int] = frozenset()
    state: State = State.NEW
    round: int = 0
    rounds: int = 0  # rounds that offered someone
    offers_made: int = 0
    offers: dict[int, Offer] = field(default_factory=dict)
    shortfall: Shortfall | None = None
    ems: bool = False
    holder: Crew | None = None
    accepted_at: float | None = None
    on_scene_at: float | None = None
    unserved: Shortfall | None = None
    done: simpy.Event | None = None  # the primary's responder is free again

    def past(self, responder_id: int) -> PastOffer | None:
        o = self.offers.get(responder_id)
        if o is None:
            return None
        return PastOffer(responder_id=responder_id, status=o.status, asks=o.asks,
                         answered_at=None if o.answered_at is None else moment(o.answered_at))

    def held(self) -> tuple[Crew, Point]:
        """Who holds it and where it is (only a located request is ever offered)."""
        if self.holder is None or self.call.point is None:
            raise RuntimeError("a request nobody holds, or with no place, was attended")
        return self.holder, self.call.point

    def pending(self) -> bool:
        return any(o.status is OfferStatus.PENDING for o in self.offers.values())

    def withdraw(self, now: float) -> None:
        for offer in self.offers.values():
            if offer.status is OfferStatus.PENDING:
                offer.status, offer.answered_at = OfferStatus.WITHDRAWN, now

    def move(self, event: Event, now: float) -> None:
        self.state = transition(self.state, event, now=moment(now)).new
