"""The planner's simulation: a city's calls replayed through the production policy.

A discrete-event simulation on ``simpy`` (time in seconds from the start of the period;
``simbase.EPOCH`` turns it into the datetimes the policy takes). Each call is a process;
offers' answers, round expiries and deadlines are timed events, never polling. Every
decision is the production one, called here, never copied: ``core.policy.plan_round``
(who is offered, widening, back-off, ``max_eta``), ``core.waiting.choose_waiting`` (a
responder coming free, back at their post or on shift is offered the most urgent
waiting call at once),
``ems_at_once`` and ``on_deadline`` (an ambulance proposed), ``core.lifecycle`` (the
states) and ``core.unserved.unserved_reason`` (why nobody came). What the shell does
around them follows ``dispatch.actions``: the first accept wins and gives back the
responder's other offers; a round whose offers are all declined widens at once; a
round's timer widens when it runs out, even after a round that offered nobody;
someone going off shift gives back their offers and each incident concerned widens.
Shift changes come before anything else at the same instant (``simbase.ShiftChange``):
a call at exactly 10:00 sees the 10:00 roster.

The model and its limits (docs/planner.md says more):

1. A responder answers an offer with ``accept_probability`` after a uniform delay
   within ``answer_seconds``, else declines (``decline_share`` of the rest) or lets it
   lapse. All draws come from one ``random.Random(seed)`` in event order, scene times
   first (``simbase.scene_seconds``), so the same inputs give the same result.
2. Accepted: turnout, then the estimator's travel time from where they are (home, or
   on the way back from a scene: see 3), then the scene time.
3. After the scene they are free at once, at the scene's point, and head back to
   their post (``home``): they are there after the estimator's travel time, and are
   then offered a waiting call as production does for a responder who moved. On the
   way back they may be offered calls, ranked from the scene's point (an
   approximation: production ranks them from their last reported position, somewhere
   on the way); taking one cancels the trip. Holding a call past the end of a shift
   is overtime, counted as shift time as well as busy.
4. Nobody accepts within ``give_up_seconds``: the city's usual response takes the call,
   unserved with the last round's reason. People do not cancel, dispatchers never
   assign by hand or widen, nobody is released or fails to find the person, and a
   free responder moves only back to their post: the policy alone decides.
5. A backup call sends a second responder, chosen like any request but never the
   first; they stay on scene as long, counted from their own arrival. The call's
   outcome is the first responder's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import simpy

from spotline.core.geo import TravelTimeEstimator
from spotline.core.lifecycle import Event, State
from spotline.core.plan.model import Assumptions, CallOutcome, SimCall, SimResult, Staffing
from spotline.core.plan.simbase import Crew, moment, required
from spotline.core.plan.simengine import Engine
from spotline.core.plan.simrequest import Offer, Request
from spotline.core.policy import (
    COOLING,
    Actor,
    OfferStatus,
    Ranked,
    ems_at_once,
    on_deadline,
    plan_round,
    should_widen,
)
from spotline.core.unserved import unserved_reason
from spotline.core.waiting import Waiting, choose_waiting

# ``dispatch.actions.freed`` looks at this many waiting incidents, most urgent and
# oldest first, when a responder comes free; the simulation does the same.
LOOK_AT = 50


class Simulation(Engine[Request]):
    """The production policy's dispatch in the shared engine (``simengine``)."""

    def __init__(self, calls: Sequence[SimCall], staffing: Staffing, assumptions: Assumptions,
                 estimator: TravelTimeEstimator,
                 progress: Callable[[int], None] | None = None) -> None:
        super().__init__(calls, staffing, assumptions, estimator, progress)
        self.waiting: dict[int, Request] = {}  # dispatching, in order of opening

    def _open(self, call: SimCall, *, parent: Request | None = None,
              excluded: frozenset[int] = frozenset()) -> Request:
        self.keys += 1
        req = Request(key=self.keys, call=call, opened=self.env.now,
                      policy=self.a.policy[call.priority], accepted=self.env.event(),
                      parent=parent, excluded=excluded)
        req.move(Event.DISPATCH, self.env.now)
        self.waiting[req.key] = req
        self._round(req)
        if parent is None:  # a backup has no deadline of its own
            self._after(req.policy.deadline.total_seconds(), partial(self._deadline, req))
        return req

    def _answered(self, req: Request) -> simpy.Event:
        return req.accepted

    def _taken(self, req: Request) -> bool:
        return req.state is not State.DISPATCHING

    def _arrived(self, req: Request) -> None:
        req.move(Event.ON_SCENE, self.env.now)

    def _resolved(self, req: Request) -> None:
        req.move(Event.RESOLVE, self.env.now)

    def _left(self, crew: Crew) -> None:
        self._give_back(crew, keep=None, replace=True)

    def _round(self, req: Request) -> None:
        """``rounds.round_start``: the next K, the round's timer, an ambulance at once?"""
        now = self.env.now
        plan = plan_round(
            location=req.call.point, required=required(req.call),
            candidates=[c.candidate() for c in self.roster.crews],
            past_offers=[p for p in (req.past(r) for r in req.offers) if p is not None],
            policy=req.policy, estimator=self.estimator, now=moment(now),
            excluded=req.excluded)
        req.round += 1
        for ranked in plan.offers:
            self._offer(req, ranked)
        if plan.offers:
            req.rounds += 1
        req.shortfall = plan.shortfall
        self._after((plan.expires_at - moment(now)).total_seconds(),
                    partial(self._expire, req, req.round))
        if req.parent is None and not req.ems:
            etas = [o.eta for o in req.offers.values() if o.status is OfferStatus.PENDING]
            decision = ems_at_once(kind=req.call.kind, state=req.state, policy=req.policy,
                                   located=req.call.point is not None, offered_etas=etas)
            req.ems = decision.propose_ems

    def _offer(self, req: Request, ranked: Ranked) -> None:
        """``rounds.offer_round`` for one responder, and what they will answer."""
        rid = ranked.responder_id
        offer = req.offers.get(rid)
        if offer is None:
            offer = req.offers[rid] = Offer(OfferStatus.PENDING, req.round, ranked.eta_seconds)
        else:
            if offer.status in COOLING:
                offer.asks += 1
            offer.status, offer.answered_at = OfferStatus.PENDING, None
            offer.round, offer.eta = req.round, ranked.eta_seconds
            offer.ask += 1
        root = req.parent or req
        root.offers_made += 1
        draw = self.rng.random()
        low, high = self.a.answer_seconds
        delay = self.rng.uniform(low, high)
        accept = self.a.accept_probability
        if draw < accept:
            self._after(delay, partial(self._accept, req, rid, offer.ask))
        elif draw < accept + (1.0 - accept) * self.a.decline_share:
            self._after(delay, partial(self._decline, req, rid, offer.ask))
        # Otherwise the offer lapses: the round's timer expires it.

    def _accept(self, req: Request, rid: int, ask: int) -> None:
        """``offer_accept``: first accept wins; a responder no longer free or on shift
        cannot take it (the compare-and-set fails) and the offer is withdrawn."""
        offer, crew, now = req.offers[rid], self.roster.by_id[rid], self.env.now
        if offer.ask != ask:
            return
        # Production lets a lapsed offer be accepted while nobody holds the incident.
        if (req.state is State.DISPATCHING and crew.on_shift and crew.free
                and offer.status in (OfferStatus.PENDING, OfferStatus.EXPIRED)):
            offer.status, offer.answered_at = OfferStatus.ACCEPTED, now
            req.move(Event.ACCEPT, now)
            del self.waiting[req.key]
            req.withdraw(now)
            crew.take(req, now)
            req.holder, req.accepted_at = crew, now
            self._give_back(crew, keep=req, replace=False)
            req.accepted.succeed()
        elif offer.status is OfferStatus.PENDING:
            offer.status, offer.answered_at = OfferStatus.WITHDRAWN, now
            if should_widen(req.state) and not req.pending():
                self._round(req)

    def _decline(self, req: Request, rid: int, ask: int) -> None:
        """``offer_decline``: with nothing left pending, widen at once."""
        offer = req.offers[rid]
        if offer.ask != ask or offer.status is not OfferStatus.PENDING:
            return
        offer.status, offer.answered_at = OfferStatus.DECLINED, self.env.now
        if should_widen(req.state) and not req.pending():
            self._round(req)

    def _expire(self, req: Request, round_no: int) -> None:
        """``timed.round_expire``: the newest round's timer widens; an older one's only
        if it leaves nobody being asked."""
        expired = 0
        for offer in req.offers.values():
            if offer.round == round_no and offer.status is OfferStatus.PENDING:
                offer.status, offer.answered_at = OfferStatus.EXPIRED, self.env.now
                expired += 1
        if not should_widen(req.state):
            return
        if round_no == req.round or (expired and not req.pending()):
            self._round(req)

    def _deadline(self, req: Request) -> None:
        if on_deadline(state=req.state, policy=req.policy).propose_ems:
            req.ems = True

    def _give_back(self, crew: Crew, *, keep: Request | None, replace: bool) -> None:
        """``offers_give_back``: the responder's pending offers (but ``keep``'s) go
        back; an incident left with none pending widens (with ``replace``: each one)."""
        now, rid = self.env.now, crew.responder_id
        for req in list(self.waiting.values()):
            offer = req.offers.get(rid)
            if req is keep or offer is None or offer.status is not OfferStatus.PENDING:
                continue
            offer.status, offer.answered_at = OfferStatus.WITHDRAWN, now
            if should_widen(req.state) and (replace or not req.pending()):
                self._round(req)

    def _freed(self, crew: Crew) -> None:
        """``freed.offer_to_freed``: the waiting call ``choose_waiting`` picks, in a
        round of its own."""
        rid, now = crew.responder_id, self.env.now
        located = [r for r in self.waiting.values() if r.call.point is not None]
        located.sort(key=lambda r: (r.call.priority, r.opened, r.key))
        waiting = [Waiting(incident_id=r.key, priority=r.call.priority,
                           opened_at=moment(r.opened), location=r.call.point, radius_m=None,
                           required=required(r.call), past=r.past(rid), excluded=r.excluded)
                   for r in located[:LOOK_AT]]
        chosen = choose_waiting(responder=crew.candidate(), waiting=waiting,
                                policy=self.a.policy, estimator=self.estimator, now=moment(now))
        if chosen is None:
            return
        req = self.waiting[chosen[0].incident_id]
        req.round += 1
        self._offer(req, chosen[1])
        req.rounds += 1
        req.shortfall = None
        self._after(req.policy.offer_expiry.total_seconds(), partial(self._expire, req, req.round))

    def _drop(self, req: Request) -> None:
        """Nobody accepted in time: closed by the system, with the last round's cause."""
        now = self.env.now
        req.move(Event.CANCEL, now)
        del self.waiting[req.key]
        req.withdraw(now)
        req.unserved = unserved_reason(final_state=req.state, reached_scene=False, held=False,
                                       round_shortfall=req.shortfall, closed_by=Actor.SYSTEM)

    def _after(self, delay: float, action: Callable[[], None]) -> None:
        self.env.timeout(max(0.0, delay)).callbacks.append(lambda _event: action())

    def _outcome(self, req: Request) -> CallOutcome:
        call = req.call
        return CallOutcome(
            call_id=call.call_id, how=call.how, area=call.area, kind=call.kind,
            priority=call.priority,
            responder_id=req.holder.responder_id if req.holder is not None else None,
            accepted_after=None if req.accepted_at is None else req.accepted_at - call.at,
            on_scene_after=None if req.on_scene_at is None else req.on_scene_at - call.at,
            unserved=req.unserved, rounds=req.rounds, offers=req.offers_made,
            ems_proposed=req.ems)


def simulate(calls: Sequence[SimCall], staffing: Staffing, assumptions: Assumptions,
             estimator: TravelTimeEstimator, *,
             progress: Callable[[int], None] | None = None) -> SimResult:
    """Replay ``calls`` through the production policy on ``staffing`` (see the module's
    docstring). ``progress(n)``: n calls finished so far, about 100 times in all."""
    return Simulation(calls, staffing, assumptions, estimator, progress).run()
