"""The oracle: the same calls on the same staffing, with a perfect dispatcher.

Each call goes at once to the nearest free, on-shift, qualified responder by the
estimator's travel time, who accepts instantly (no offers, no declines, no answer
delay, no ``max_eta`` cap; the same turnout). When nobody is free, the call waits in a
queue, most urgent then oldest, and the first qualified responder to come free, back
at their post or on shift takes it; nobody taking it within ``give_up_seconds`` leaves
it unserved, as in the policy simulation. Shifts, trips home after a scene and scene
times are the policy simulation's exactly (one engine, ``simengine``; scene times from a
``random.Random`` seeded alike, drawn in the same order), so the difference is the
dispatch alone.

It is a greedy bound, not a global optimum, and not a bound at all under load: it
never keeps a responder back for a call about to come, and serving every call it can
keeps someone busy when the next one comes. Measured (tests/test_plan_simulate.py):
within reach and with people to spare it was worse than the policy in 2 of 200
seeds (one where it had to queue a call, one 1.2% slower at the median); with 1-5
responders for 20-80 calls it served fewer in 35 of 200 and was slower in 41.
Uncapped, it also sends someone far away whom the policy's ``max_eta`` would not
(with 8 responders for 6,000 calls a month it served fewer, slower); ``capped``
applies the same cap, so that the difference is the offers and answers alone. The
policy/oracle ratio says what those cost against a dispatcher who knows everything
now, not one who knew the future.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import simpy

from spotline.core.geo import Point, TravelTimeEstimator
from spotline.core.plan.model import Assumptions, CallOutcome, SimCall, SimResult, Staffing
from spotline.core.plan.simbase import Crew, required
from spotline.core.plan.simengine import Engine
from spotline.core.policy import Ranked, Shortfall, qualifies, why_nobody, within_cap


@dataclass(eq=False)
class Job:
    """A call (or a backup for one) waiting for, or held by, a responder."""

    key: int
    call: SimCall
    opened: float
    taken: simpy.Event
    excluded: frozenset[int] = frozenset()
    crew: Crew | None = None
    accepted_at: float | None = None
    on_scene_at: float | None = None
    unserved: Shortfall | None = None
    done: simpy.Event | None = None

    def held(self) -> tuple[Crew, Point]:
        if self.crew is None or self.call.point is None:
            raise RuntimeError("a call nobody holds, or with no place, was attended")
        return self.crew, self.call.point


class Oracle(Engine[Job]):
    """The perfect dispatcher in the shared engine (``simengine``)."""

    oracle = True

    def __init__(self, calls: Sequence[SimCall], staffing: Staffing, assumptions: Assumptions,
                 estimator: TravelTimeEstimator,
                 progress: Callable[[int], None] | None = None, capped: bool = False) -> None:
        super().__init__(calls, staffing, assumptions, estimator, progress)
        self.capped = capped
        self.queue: dict[int, Job] = {}

    def _open(self, call: SimCall, *, parent: Job | None = None,
              excluded: frozenset[int] = frozenset()) -> Job:
        self.keys += 1
        job = Job(key=self.keys, call=call, opened=self.env.now, taken=self.env.event(),
                  excluded=excluded)
        nearest = self._nearest(job)
        if nearest is None:
            self.queue[job.key] = job
        else:
            self._assign(job, nearest)
        return job

    def _answered(self, job: Job) -> simpy.Event:
        return job.taken

    def _taken(self, job: Job) -> bool:
        return job.crew is not None

    def _can_take(self, crew: Crew, job: Job) -> bool:
        point = job.call.point
        if not (crew.on_shift and crew.free and point is not None
                and crew.responder_id not in job.excluded
                and qualifies(crew.candidate(), required(job.call))):
            return False
        if not self.capped:
            return True
        eta = self.estimator.eta_seconds(crew.location, point, crew.spec.mode)
        return within_cap(Ranked(crew.responder_id, eta, None), self.a.policy[job.call.priority])

    def _nearest(self, job: Job) -> Crew | None:
        point = job.call.point
        if point is None:
            return None
        able = [c for c in self.roster.crews if self._can_take(c, job)]
        return min(able, default=None, key=lambda c: (
            self.estimator.eta_seconds(c.location, point, c.spec.mode), c.responder_id))

    def _freed(self, crew: Crew) -> None:
        """The first responder to come free takes the most urgent, oldest call they can."""
        for job in sorted(self.queue.values(),
                          key=lambda j: (j.call.priority, j.opened, j.key)):
            if self._can_take(crew, job):
                del self.queue[job.key]
                self._assign(job, crew)
                return

    def _assign(self, job: Job, crew: Crew) -> None:
        crew.take(job, self.env.now)
        job.crew, job.accepted_at = crew, self.env.now
        job.taken.succeed()

    def _drop(self, job: Job) -> None:
        """Unserved, for the same reasons a round would give (``why_nobody``)."""
        del self.queue[job.key]
        if job.call.point is None:
            job.unserved = Shortfall.LOCATION_UNKNOWN
            return
        on_shift = [c for c in self.roster.crews
                    if c.on_shift and c.responder_id not in job.excluded]
        qualified = [c for c in on_shift if qualifies(c.candidate(), required(job.call))]
        job.unserved = why_nobody(on_shift=bool(on_shift), qualified=bool(qualified),
                                  free=any(c.free for c in qualified), fates=[])

    def _outcome(self, job: Job) -> CallOutcome:
        call = job.call
        return CallOutcome(
            call_id=call.call_id, how=call.how, area=call.area, kind=call.kind,
            priority=call.priority,
            responder_id=job.crew.responder_id if job.crew is not None else None,
            accepted_after=None if job.accepted_at is None else job.accepted_at - call.at,
            on_scene_after=None if job.on_scene_at is None else job.on_scene_at - call.at,
            unserved=job.unserved)


def simulate_oracle(calls: Sequence[SimCall], staffing: Staffing, assumptions: Assumptions,
                    estimator: TravelTimeEstimator, *,
                    progress: Callable[[int], None] | None = None,
                    capped: bool = False) -> SimResult:
    """The same calls through the oracle (see the module's docstring); ``oracle=True``.

    ``capped``: never send anyone beyond the priority's ``max_eta`` either (the policy's
    reach rule, ``core.policy.within_cap``), so that the oracle differs from the policy
    by the offers and answers alone. Uncapped, it is the issue's oracle."""
    return Oracle(calls, staffing, assumptions, estimator, progress, capped).run()
