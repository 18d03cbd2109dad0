"""What the planner's simulation takes and gives: calls, a staffing plan, the
assumptions, and what happened to each call.

Plain data, no clock and no files: ``spotline.planner`` reads a city's export into
``SimCall`` rows and a staffing plan into ``Staffing``; ``core.plan.simulate`` replays
them through the production policy (``core.policy``, ``core.waiting``) and
``core.plan.metrics`` turns the outcomes into the figures of the report. Times are
seconds from the start of the simulated period (a float), so the same calls can be
replayed under many plans without a calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from spotline.core.geo import Mode, Point
from spotline.core.policy import DEFAULT_POLICY, DispatchPolicy, Shortfall
from spotline.core.triage import Kind, Priority, Skill

WEEK_HOURS = 168
HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class SimCall:
    """One eligible call, as the simulation sees it."""

    call_id: int
    at: float  # seconds from the start of the simulated period
    how: int  # local hour of the week of ``at``, 0 = Monday 00:00-00:59
    point: Point | None  # None: the export gave no place (nobody is offered it)
    kind: Kind
    priority: Priority
    area: str = ""  # a coarse area for the by-area figures (H3 resolution 7), or ""
    # A ``community_with_backup`` call: once someone accepts, a second responder is
    # sent as their backup (never the first one: ``plan_round(excluded=...)``).
    backup: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.how < WEEK_HOURS:
            raise ValueError(f"hour of the week {self.how} is not within 0-167")
        if self.at < 0:
            raise ValueError("a call cannot come before the simulated period starts")


@dataclass(frozen=True, slots=True)
class SimResponder:
    responder_id: int
    home: Point  # their post: where they wait when free, and go back to after a scene
    mode: Mode
    skills: frozenset[Skill]


@dataclass(frozen=True)
class Staffing:
    """Who is on shift when.

    ``per_hour[h]`` responders are on shift in hour of the week ``h``: the first
    ``per_hour[h]`` of ``responders``, in order. Someone whose shift ends while they
    hold a call finishes it, on overtime. ``start_how``: the hour of the week at simulated time 0.
    """

    per_hour: tuple[int, ...]
    responders: tuple[SimResponder, ...]
    start_how: int = 0

    def __post_init__(self) -> None:
        if len(self.per_hour) != WEEK_HOURS:
            raise ValueError(f"a staffing plan has {WEEK_HOURS} hours, not {len(self.per_hour)}")
        if any(n < 0 for n in self.per_hour):
            raise ValueError("responders on shift cannot be negative")
        if max(self.per_hour, default=0) > len(self.responders):
            raise ValueError("the plan puts more people on shift than it has responders")
        if not 0 <= self.start_how < WEEK_HOURS:
            raise ValueError("start_how must be an hour of the week, 0-167")

    @property
    def responder_hours(self) -> int:
        """Responder-hours in one week: what the plan costs."""
        return sum(self.per_hour)

    def on_shift(self, index: int, how: int) -> bool:
        return index < self.per_hour[how % WEEK_HOURS]


#: Median minutes on scene by kind, before the responder is free again. docs/planner.md
#: cites where each comes from; a city passes its own.
DEFAULT_SCENE_MINUTES: Mapping[Kind, float] = {
    Kind.OVERDOSE: 30.0,
    Kind.MENTAL_HEALTH: 45.0,
    Kind.WELFARE_CHECK: 25.0,
    Kind.MEDICAL: 30.0,
    Kind.CONFLICT: 40.0,
    Kind.OTHER: 30.0,
}

#: How long a call waits for a community responder to accept before the city's usual
#: response takes it (it counts as unserved, with the last round's reason).
DEFAULT_GIVE_UP_SECONDS: Mapping[Priority, float] = {
    Priority.P1: 10 * 60.0,
    Priority.P2: 20 * 60.0,
    Priority.P3: 45 * 60.0,
}


@dataclass(frozen=True)
class Assumptions:
    """What the simulation cannot know from the calls; each default is cited in
    docs/planner.md."""

    accept_probability: float = 0.8  # an offer is accepted (else declined or let lapse)
    decline_share: float = 0.5  # of the offers not accepted, the share declined outright
    answer_seconds: tuple[float, float] = (10.0, 40.0)  # an answer comes uniformly within
    turnout_seconds: float = 60.0  # from accepting to moving (NFPA 1710: 60 s for EMS)
    scene_minutes: Mapping[Kind, float] = field(
        default_factory=lambda: dict(DEFAULT_SCENE_MINUTES))
    give_up_seconds: Mapping[Priority, float] = field(
        default_factory=lambda: dict(DEFAULT_GIVE_UP_SECONDS))
    policy: DispatchPolicy = DEFAULT_POLICY
    seed: int = 1
    # Time on scene is the kind's median times a lognormal factor with this sigma
    # (``core.plan.simbase.scene_seconds``); 0 makes it exactly the median.
    scene_spread: float = 0.5

    def __post_init__(self) -> None:
        for name in ("accept_probability", "decline_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0 and 1")
        low, high = self.answer_seconds
        if not 0.0 <= low <= high:
            raise ValueError("answer_seconds must be (low, high) with 0 <= low <= high")
        if self.turnout_seconds < 0:
            raise ValueError("turnout_seconds cannot be negative")
        if self.scene_spread < 0:
            raise ValueError("scene_spread cannot be negative")


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What happened to one call in the simulation."""

    call_id: int
    how: int
    area: str
    kind: Kind
    priority: Priority
    responder_id: int | None  # who reached the scene; None: unserved
    accepted_after: float | None  # seconds from the call to the accepting answer
    on_scene_after: float | None  # seconds from the call to a responder on scene
    unserved: Shortfall | None  # why nobody came (None: served)
    rounds: int = 0  # rounds of offers made (0 for the oracle)
    offers: int = 0  # offers sent in all
    ems_proposed: bool = False  # an ambulance was proposed (``ems_at_once``/deadline)


@dataclass
class SimResult:
    outcomes: list[CallOutcome]
    # Per responder: seconds on shift (with overtime: holding a call after the shift
    # ended) and seconds holding a call (accept to free), so busy <= shift.
    shift_seconds: dict[int, float]
    busy_seconds: dict[int, float]
    oracle: bool = False
