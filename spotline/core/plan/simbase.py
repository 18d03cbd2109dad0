"""What the policy simulation and the oracle share: the clock, the roster on shift and
its hourly changes, the trip home after a scene, the time each call keeps its
responders on scene, and the progress count.

Both replay the same calls on the same staffing, so what they share is here once:
the oracle is a fair bound only if its shifts and scene times are the policy's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import simpy
from simpy.events import URGENT

from spotline.core.geo import Point, TravelTimeEstimator
from spotline.core.plan.model import HOUR, Assumptions, SimCall, SimResponder, Staffing
from spotline.core.policy import Candidate
from spotline.core.triage import REQUIRED_SKILLS, Skill

# The policy takes datetimes; simulated seconds count from this fixed instant. Any
# instant would do: nothing in the policy reads the calendar, only differences.
EPOCH = datetime(2018, 1, 1, tzinfo=UTC)


def moment(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def seconds(at: datetime) -> float:
    return (at - EPOCH).total_seconds()


def ordered(calls: Sequence[SimCall]) -> list[SimCall]:
    """The calls in the order they come (ties by id), the order every draw follows."""
    return sorted(calls, key=lambda c: (c.at, c.call_id))


def scene_seconds(calls: Sequence[SimCall], assumptions: Assumptions,
                  rng: random.Random) -> list[float]:
    """Seconds on scene for each call of ``calls`` (in order), drawn before anything
    else so that the policy and the oracle, seeded alike, keep a call equally long.

    One documented choice: the kind's median (``scene_minutes``) times a lognormal
    factor with median 1 and sigma ``scene_spread`` (0.5 by default: a quarter of the
    calls take under 0.71 of the median, a quarter over 1.4). Time on scene is skewed
    to the right (a few calls take hours); an exponential would put the most likely
    time at zero, which no visit is.
    """
    spread = assumptions.scene_spread
    return [assumptions.scene_minutes[c.kind] * 60.0 * rng.lognormvariate(0.0, spread)
            for c in calls]


def required(call: SimCall) -> frozenset[Skill]:
    return REQUIRED_SKILLS[call.kind]


@dataclass(eq=False)
class Crew:
    """One responder as the simulation moves them: where, on shift, holding what."""

    index: int
    spec: SimResponder
    location: Point
    on_shift: bool = False
    holding: object | None = None  # the request they hold (accept to free)
    busy_since: float = 0.0
    busy_total: float = 0.0
    # Holding a call past the end of their shift: overtime, counted as shift too so
    # that busy time never exceeds it (utilization <= 1).
    overtime_since: float | None = None
    overtime_total: float = 0.0
    # Bumped by every take, release and arrival: a trip home scheduled before one of
    # them is stale when it arrives (they took a call on the way, or came on shift).
    trip: int = 0
    # Rounds read every responder; a frozen Candidate is built only after a change.
    cached: Candidate | None = None

    @property
    def responder_id(self) -> int:
        return self.spec.responder_id

    @property
    def free(self) -> bool:
        return self.holding is None

    def candidate(self) -> Candidate:
        if self.cached is None:
            self.cached = Candidate(
                responder_id=self.spec.responder_id, location=self.location,
                mode=self.spec.mode, skills=self.spec.skills, on_shift=self.on_shift,
                busy=self.holding is not None)
        return self.cached

    def take(self, request: object, now: float) -> None:
        self.holding = request
        self.busy_since = now
        self.trip += 1
        self.cached = None

    def release(self, at: Point, now: float) -> None:
        self.busy_total += now - self.busy_since
        self.end_overtime(now)
        self.holding = None
        self.location = at
        self.trip += 1
        self.cached = None

    def end_overtime(self, now: float) -> None:
        if self.overtime_since is not None:
            self.overtime_total += now - self.overtime_since
            self.overtime_since = None

    def at_home(self) -> None:
        self.location = self.spec.home
        self.trip += 1
        self.cached = None


class Roster:
    """Who is on shift, hour by hour (``Staffing.on_shift``)."""

    def __init__(self, staffing: Staffing) -> None:
        self.staffing = staffing
        self.crews = [Crew(index=i, spec=r, location=r.home)
                      for i, r in enumerate(staffing.responders)]
        self.by_id = {c.responder_id: c for c in self.crews}

    def turn(self, hour: int) -> tuple[list[Crew], list[Crew]]:
        """Set the shifts of simulated hour ``hour``; who came on, who went off.

        Someone coming on shift free starts at home; one still holding a call from
        their last shift stays where that call is. Someone going off while holding a
        call finishes it (they are off shift, so nobody offers them anything), on
        overtime until they are free or back on shift."""
        how, now = self.staffing.start_how + hour, hour * HOUR
        came: list[Crew] = []
        left: list[Crew] = []
        for crew in self.crews:
            crew.cached = None
            on = self.staffing.on_shift(crew.index, how)
            if on and not crew.on_shift:
                crew.on_shift = True
                crew.end_overtime(now)
                if crew.free:
                    crew.at_home()
                came.append(crew)
            elif crew.on_shift and not on:
                crew.on_shift = False
                if not crew.free:
                    crew.overtime_since = now
                left.append(crew)
        return came, left


class ShiftChange(simpy.Timeout):
    """A timeout that comes before every ordinary event of the same instant.

    A call at exactly hh:00:00 must see hh's roster. A plain timeout for the change,
    scheduled an hour earlier, would come after the call's (scheduled at the start),
    as simpy orders ties by when they were scheduled; ``URGENT`` goes first."""

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        # simpy.Timeout.__init__ inlined, as simpy does it, with URGENT for NORMAL.
        self.env = env
        self.callbacks = []
        self._value = None
        self._delay = delay
        self._ok = True
        env.schedule(self, URGENT, delay)


def head_home(env: simpy.Environment, crew: Crew, estimator: TravelTimeEstimator,
              arrived: Callable[[Crew], None]) -> None:
    """A free responder goes back to their post after a scene: home after the
    estimator's travel time, then ``arrived(crew)`` if on shift (as production offers
    a waiting call to a responder who moved). Taking a call on the way, or coming on
    shift (at home already), cancels the trip."""
    if not crew.free or crew.location == crew.spec.home:
        return
    trip = crew.trip
    delay = estimator.eta_seconds(crew.location, crew.spec.home, crew.spec.mode)

    def arrive(_event: simpy.Event) -> None:
        if crew.trip != trip or not crew.free:
            return
        crew.at_home()
        if crew.on_shift:
            arrived(crew)
    env.timeout(max(0.0, delay)).callbacks.append(arrive)


def shift_seconds(staffing: Staffing, end: float,
                  crews: Sequence[Crew] = ()) -> dict[int, float]:
    """Seconds each responder is on shift from 0 to ``end``: their scheduled hours,
    plus the overtime of ``crews`` (finishing a call after a shift ends is busy time,
    so it counts as shift time too)."""
    totals = {r.responder_id: 0.0 for r in staffing.responders}
    for crew in crews:
        totals[crew.responder_id] += crew.overtime_total
    for hour in range(math.ceil(end / HOUR)):
        length = min(HOUR, end - hour * HOUR)
        for i in range(staffing.per_hour[(staffing.start_how + hour) % len(staffing.per_hour)]):
            totals[staffing.responders[i].responder_id] += length
    return totals


def period_end(calls: Sequence[SimCall], assumptions: Assumptions, done_at: float) -> float:
    """The simulated period: until the last call's give-up could pass, or until the
    last call was done, whichever is later."""
    if not calls:
        return 0.0
    last = max(c.at for c in calls) + max(assumptions.give_up_seconds.values(), default=0.0)
    return max(last, done_at)


class Progress:
    """Calls ``report(n)`` with the calls finished so far, about 100 times in all."""

    def __init__(self, total: int, report: Callable[[int], None] | None) -> None:
        self.total = total
        self.report = report
        self.done = 0
        self.step = max(1, math.ceil(total / 100))

    def finished(self) -> None:
        self.done += 1
        if self.report is not None and (self.done % self.step == 0 or self.done == self.total):
            self.report(self.done)
