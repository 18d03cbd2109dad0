"""What the policy simulation and the oracle share: one engine, two dispatchers.

The clock, the roster and its shift changes, a call's life (it opens, waits for a
responder or for the give-up time, is attended, and the responder heads back to their
post), its backup, and the result are the same for both; ``simulate.Simulation`` and
``oracle.Oracle`` say only how a call finds a responder, through the hooks below. So
the policy/oracle ratio measures the dispatch alone, by construction.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Sequence
from typing import Any, Generic, Protocol, TypeVar

import simpy

from spotline.core.geo import Point, TravelTimeEstimator
from spotline.core.plan.model import (
    HOUR,
    Assumptions,
    CallOutcome,
    SimCall,
    SimResult,
    Staffing,
)
from spotline.core.plan.simbase import (
    Crew,
    Progress,
    Roster,
    ShiftChange,
    head_home,
    ordered,
    period_end,
    scene_seconds,
    shift_seconds,
)

Steps = Generator[simpy.Event, Any, None]


class Held(Protocol):
    """A call (or its backup) as the engine sees it, whoever dispatches it."""

    call: SimCall
    on_scene_at: float | None
    done: simpy.Event | None

    def held(self) -> tuple[Crew, Point]: ...


J = TypeVar("J", bound=Held)


class Engine(Generic[J]):
    oracle = False

    def __init__(self, calls: Sequence[SimCall], staffing: Staffing, assumptions: Assumptions,
                 estimator: TravelTimeEstimator,
                 progress: Callable[[int], None] | None = None) -> None:
        self.env = simpy.Environment()
        self.a = assumptions
        self.estimator = estimator
        # Scene times are drawn first, in call order, so both dispatchers see the same
        # ones; the policy then draws its answers from the same generator.
        self.rng = random.Random(assumptions.seed)  # noqa: S311 - a simulation, not secrets
        self.calls = ordered(calls)
        self.scene = scene_seconds(self.calls, assumptions, self.rng)
        self.roster = Roster(staffing)
        self.progress = Progress(len(self.calls), progress)
        self.records: list[J | None] = [None] * len(self.calls)
        self.keys = 0
        self.active = len(self.calls)  # calls and backups not yet finished
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
            outcomes=[self._outcome(r) for r in self.records if r is not None],
            shift_seconds=shift_seconds(self.roster.staffing, end, self.roster.crews),
            busy_seconds={c.responder_id: c.busy_total for c in self.roster.crews},
            oracle=self.oracle)

    # -- the dispatcher's hooks ---------------------------------------------------------

    def _open(self, call: SimCall, *, parent: J | None = None,
              excluded: frozenset[int] = frozenset()) -> J:
        """A call (``parent`` None) or a backup for ``parent``, now looking for someone."""
        raise NotImplementedError

    def _answered(self, job: J) -> simpy.Event:
        """Triggered when someone takes it."""
        raise NotImplementedError

    def _taken(self, job: J) -> bool:
        raise NotImplementedError

    def _drop(self, job: J) -> None:
        """Nobody took it in time: the city's usual response does, with the reason."""
        raise NotImplementedError

    def _freed(self, crew: Crew) -> None:
        """A responder came free, on shift or back at their post."""
        raise NotImplementedError

    def _outcome(self, job: J) -> CallOutcome:
        raise NotImplementedError

    def _left(self, crew: Crew) -> None:
        """A responder's shift ended."""

    def _arrived(self, job: J) -> None:
        """Its responder is on scene."""

    def _resolved(self, job: J) -> None:
        """Its responder is done on scene."""

    # -- a call's life ------------------------------------------------------------------

    def _call(self, index: int, call: SimCall) -> Steps:
        yield self.env.timeout(call.at)
        job = self.records[index] = self._open(call)
        yield self._answered(job) | self.env.timeout(self.a.give_up_seconds[call.priority])
        if not self._taken(job):
            self._drop(job)
        else:
            job.done = self.env.event()
            if call.backup:
                self.active += 1
                self.env.process(self._backup(job, self.scene[index]))
            yield from self._attend(job, self.scene[index])
            job.done.succeed()
        self.progress.finished()
        self._finished()

    def _backup(self, first: J, scene: float) -> Steps:
        done = first.done or self.env.event()
        job = self._open(first.call, parent=first,
                         excluded=frozenset({first.held()[0].responder_id}))
        give_up = self.env.timeout(self.a.give_up_seconds[first.call.priority])
        yield self._answered(job) | give_up | done
        if self._taken(job):
            yield from self._attend(job, scene)
        else:
            self._drop(job)
        self._finished()

    def _attend(self, job: J, scene: float) -> Steps:
        crew, point = job.held()
        travel = self.estimator.eta_seconds(crew.location, point, crew.spec.mode)
        yield self.env.timeout(self.a.turnout_seconds + travel)
        self._arrived(job)
        job.on_scene_at = self.env.now
        yield self.env.timeout(scene)
        self._resolved(job)
        crew.release(point, self.env.now)
        if crew.on_shift:
            self._freed(crew)
        head_home(self.env, crew, self.estimator, self._freed)

    def _shifts(self) -> Steps:
        hour = 0
        while True:
            hour += 1
            yield ShiftChange(self.env, hour * HOUR - self.env.now)
            came, left = self.roster.turn(hour)
            for crew in left:
                self._left(crew)
            for crew in came:
                if crew.free:
                    self._freed(crew)

    def _finished(self) -> None:
        self.active -= 1
        if self.active == 0:
            self.all_done.succeed()
