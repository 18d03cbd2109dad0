"""What the policy simulation and the oracle share: the clock, the roster on shift,
the time each call keeps its responders on scene, and the progress count.

Both replay the same calls on the same staffing, so what they share is here once:
the oracle is a fair bound only if its shifts and scene times are the policy's.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from spotline.core.geo import Point
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
        self.cached = None

    def release(self, at: Point, now: float) -> None:
        self.busy_total += now - self.busy_since
        self.holding = None
        self.location = at
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
        call finishes it (they are off shift, so nobody offers them anything)."""
        how = self.staffing.start_how + hour
        came: list[Crew] = []
        left: list[Crew] = []
        for crew in self.crews:
            crew.cached = None
            on = self.staffing.on_shift(crew.index, how)
            if on and not crew.on_shift:
                crew.on_shift = True
                if crew.free:
                    crew.location = crew.spec.home
                came.append(crew)
            elif crew.on_shift and not on:
                crew.on_shift = False
                left.append(crew)
        return came, left


def shift_seconds(staffing: Staffing, end: float) -> dict[int, float]:
    """Seconds each responder is on shift from 0 to ``end`` (their scheduled hours;
    finishing a call after a shift ends counts as busy, not on shift)."""
    totals = {r.responder_id: 0.0 for r in staffing.responders}
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
