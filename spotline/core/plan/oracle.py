"""The oracle: the same calls on the same staffing, with a perfect dispatcher.

Each call goes at once to the nearest free, on-shift, qualified responder by the
estimator's travel time, who accepts instantly (no offers, no declines, no answer
delay, no ``max_eta`` cap; the same turnout). When nobody is free, the call waits in a
queue, most urgent then oldest, and the first qualified responder to come free, back
at their post or on shift takes it; nobody taking it within ``give_up_seconds`` leaves
it unserved, as in the policy simulation. Shifts, trips home after a scene and scene
times are the policy simulation's exactly (``simbase``; scene times from a
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

import random
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import simpy

from spotline.core.geo import Point, TravelTimeEstimator
from spotline.core.plan.model import HOUR, Assumptions, CallOutcome, SimCall, SimResult, Staffing
from spotline.core.plan.simbase import (
    Crew,
    Progress,
    Roster,
    ShiftChange,
    head_home,
    ordered,
    period_end,
    required,
    scene_seconds,
    shift_seconds,
)
from spotline.core.policy import Ranked, Shortfall, qualifies, why_nobody, within_cap

Steps = Generator[simpy.Event, Any, None]


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


class Oracle:
    def __init__(self, calls: Sequence[SimCall], staffing: Staffing, assumptions: Assumptions,
                 estimator: TravelTimeEstimator,
                 progress: Callable[[int], None] | None = None, capped: bool = False) -> None:
        self.env = simpy.Environment()
        self.capped = capped
        self.a = assumptions
        self.estimator = estimator
        self.calls = ordered(calls)
        # Seeded as the policy's, drawn first there too: the same call, the same time.
        rng = random.Random(assumptions.seed)  # noqa: S311 - a simulation, not secrets
        self.scene = scene_seconds(self.calls, assumptions, rng)
        self.roster = Roster(staffing)
        self.staffing = staffing
        self.progress = Progress(len(self.calls), progress)
        self.queue: dict[int, Job] = {}
        self.jobs: list[Job | None] = [None] * len(self.calls)
        self.keys = 0
        self.active = len(self.calls)
        self.all_done = self.env.event()

    def run(self) -> SimResult:
        self.roster.turn(0)
        if self.calls:
            self.env.process(self._shifts())
            for index, call in enumerate(self.calls):
                self.env.process(self._call(index, call))
            self.env.run(until=self.all_done)
        end = period_end(self.calls, self.a, self.env.now)
        return SimResult(
            outcomes=[self._outcome(j) for j in self.jobs if j is not None],
            shift_seconds=shift_seconds(self.staffing, end, self.roster.crews),
            busy_seconds={c.responder_id: c.busy_total for c in self.roster.crews},
            oracle=True)

    def _call(self, index: int, call: SimCall) -> Steps:
        yield self.env.timeout(call.at)
        job = self.jobs[index] = self._open(call)
        yield job.taken | self.env.timeout(self.a.give_up_seconds[call.priority])
        if job.crew is None:
            self._give_up(job)
        else:
            job.done = self.env.event()
            if call.backup:
                self.active += 1
                self.env.process(self._backup(job, self.scene[index]))
            yield from self._attend(job, self.scene[index])
            job.done.succeed()
        self.progress.finished()
        self._finished()

    def _backup(self, first: Job, scene: float) -> Steps:
        done = first.done or self.env.event()
        job = self._open(first.call, excluded=frozenset({first.held()[0].responder_id}))
        yield job.taken | self.env.timeout(self.a.give_up_seconds[first.call.priority]) | done
        if job.crew is None:
            self._give_up(job)
        else:
            yield from self._attend(job, scene)
        self._finished()

    def _open(self, call: SimCall, excluded: frozenset[int] = frozenset()) -> Job:
        self.keys += 1
        job = Job(key=self.keys, call=call, opened=self.env.now, taken=self.env.event(),
                  excluded=excluded)
        nearest = self._nearest(job)
        if nearest is None:
            self.queue[job.key] = job
        else:
            self._assign(job, nearest)
        return job

    def _attend(self, job: Job, scene: float) -> Steps:
        crew, point = job.held()
        travel = self.estimator.eta_seconds(crew.location, point, crew.spec.mode)
        yield self.env.timeout(self.a.turnout_seconds + travel)
        job.on_scene_at = self.env.now
        yield self.env.timeout(scene)
        crew.release(point, self.env.now)
        if crew.on_shift:
            self._take_queued(crew)
        head_home(self.env, crew, self.estimator, self._take_queued)

    def _shifts(self) -> Steps:
        hour = 0
        while True:
            hour += 1
            yield ShiftChange(self.env, hour * HOUR - self.env.now)
            came, _left = self.roster.turn(hour)
            for crew in came:
                if crew.free:
                    self._take_queued(crew)

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

    def _take_queued(self, crew: Crew) -> None:
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

    def _give_up(self, job: Job) -> None:
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

    def _finished(self) -> None:
        self.active -= 1
        if self.active == 0:
            self.all_done.succeed()

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
