"""The public monthly figures: differential privacy, then small-cell suppression (issue 17).

A month is released through six mechanisms from the OpenDP library, each a pure
ε-differentially private measurement whose unit is one incident added or removed:

    by_kind, served, unserved_by_reason   discrete Laplace on a vector of counts
    reversed_overdoses, ems_requested     discrete Laplace on one count
    on_scene_median                       OpenDP's private quantile (exponential mechanism)

By basic composition the month costs the sum of the six shares, which is the published
``Budget.epsilon``. Everything after the mechanisms (clamping, rounding, suppression,
totals, shares, the median's gate) reads only their noisy outputs, so it is
post-processing and costs nothing more. No noise is drawn here by hand: the library's
samplers resist the floating-point attacks that a hand-written Laplace is open to.

Pure: no Django, no clock. ``reporting`` builds the ``MonthTruth``; ``transparency``
renders the ``MonthRelease``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import opendp.prelude as dp

# The mechanisms used here sit behind OpenDP's "contrib" flag (reviewed by the OpenDP
# team, not yet formally vetted). Turned on once, when the module is imported.
dp.enable_features("contrib")

SERVED = ("community", "crisis_team", "none")
RELEASES = (
    "by_kind", "served", "unserved_by_reason", "reversed_overdoses", "ems_requested",
    "on_scene_median",
)
# The median's candidates: 0 to 2 hours every 30 s. Fixed in advance, never taken from
# the data (candidates drawn from the data would leak them); a longer wait scores as 2 h.
ON_SCENE_CANDIDATES: tuple[int, ...] = tuple(range(0, 7201, 30))

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class MonthTruth:
    """The true figures of one month, from the reporting store (each incident counted
    once per partition)."""

    by_kind: Mapping[str, int]  # incidents by kind (a partition of the month's incidents)
    served: Mapping[str, int]  # who reached the scene: "community", "crisis_team", "none"
    unserved_by_reason: Mapping[str, int]  # among unserved incidents, by reason (a partition)
    reversed_overdoses: int  # overdoses where naloxone was given and the person responded
    ems_requested: int  # incidents where an ambulance was requested
    # Time from opening to the first responder on scene, one per incident that had one.
    on_scene_seconds: Sequence[int]


@dataclass(frozen=True)
class Budget:
    epsilon: float  # the whole month's budget (pure ε-DP, unit = one incident added or removed)
    min_cell: int = 11  # public suppression threshold
    rounding: int = 5  # published counts are rounded to the nearest multiple of this

    def __post_init__(self) -> None:
        if not (math.isfinite(self.epsilon) and self.epsilon > 0):
            raise ValueError(f"epsilon must be positive and finite, not {self.epsilon!r}")
        if self.min_cell < 1 or self.rounding < 1:
            raise ValueError("min_cell and rounding must be at least 1")


@dataclass(frozen=True)
class Mechanism:
    measurement: dp.Measurement
    scale: float
    epsilon: float  # this release's share of the month's budget
    description: str


@dataclass(frozen=True)
class Figure:
    value: int | float | None  # None = suppressed ("<11") or not enough data
    shown: str  # what the page prints: "1,240", "<11", "—"
    definition: str  # plain English definition
    noise: str  # e.g. "discrete Laplace, scale 6.0 (ε = 0.167)"


@dataclass(frozen=True)
class MonthRelease:
    month: str  # "2026-11"
    epsilon: float
    figures: dict[str, Figure]
    split: Mapping[str, float]  # budget_split(): the ε each mechanism spent
    min_cell: int
    rounding: int

    def as_json(self) -> dict[str, Any]:
        """Plain JSON: the figures in a fixed order, and everything needed to read them."""
        return {
            "month": self.month,
            "epsilon": self.epsilon,
            "budget_split": dict(self.split),
            "unit_of_privacy": "one incident added or removed",
            "min_cell": self.min_cell,
            "rounding": self.rounding,
            "about": _about(self.epsilon, self.min_cell, self.rounding),
            "figures": {
                key: {"value": f.value, "shown": f.shown, "definition": f.definition,
                      "noise": f.noise}
                for key, f in self.figures.items()
            },
        }


Noise = Callable[[str, Any], Any]  # (mechanism name, true value) -> released value


def budget_split(budget: Budget) -> dict[str, float]:
    """The ε each release spends; an equal split whose sum never exceeds the budget."""
    share = budget.epsilon / len(RELEASES)
    # eps/6 can round up by an ulp, and six of those could overspend by a hair.
    while math.fsum([share] * len(RELEASES)) > budget.epsilon:
        share = math.nextafter(share, 0.0)
    return dict.fromkeys(RELEASES, share)


def measurements(budget: Budget, *, kinds: Sequence[str],
                 reasons: Sequence[str]) -> dict[str, Mechanism]:
    """The six OpenDP measurements of a month, each calibrated to its share of ε."""
    _check_names(kinds, reasons)
    split = budget_split(budget)
    ints = dp.atom_domain(T=int)

    # Each incident sits in exactly one bin of a partition, so one incident more or less
    # moves the vector by L1 distance 1: one noise scale covers the whole vector.
    def vector(scale: float) -> dp.Measurement:
        return dp.m.make_laplace(dp.vector_domain(ints), dp.l1_distance(T=int), scale=scale)

    def scalar(scale: float) -> dp.Measurement:
        return dp.m.make_laplace(ints, dp.absolute_distance(T=int), scale=scale)

    # An incident adds at most one time on scene: symmetric distance 1.
    def median(scale: float) -> dp.Measurement:
        return dp.m.make_private_quantile(
            dp.vector_domain(ints), dp.symmetric_distance(), dp.max_divergence(),
            candidates=list(ON_SCENE_CANDIDATES), alpha=0.5, scale=scale)

    laplace, quantile = "discrete Laplace", "exponential mechanism (OpenDP private quantile)"
    what = {
        "by_kind": (vector, laplace, f"the {len(kinds)} counts of incidents by kind"),
        "served": (vector, laplace, "the 3 counts of incidents by who reached the scene"),
        "unserved_by_reason": (vector, laplace, f"the {len(reasons)} counts of unserved by reason"),
        "reversed_overdoses": (scalar, laplace, "the count of overdoses reversed with naloxone"),
        "ems_requested": (scalar, laplace, "the count of incidents where EMS was requested"),
        "on_scene_median": (median, quantile, "the median time to the first responder on scene"),
    }
    out = {}
    for name, (make, label, subject) in what.items():
        meas, scale = _calibrated(make, split[name])
        out[name] = Mechanism(
            measurement=meas, scale=scale, epsilon=split[name],
            description=f"{label} on {subject}, {_scale_text(scale, split[name])}")
    return out


def mechanism_inputs(truth: MonthTruth, *, kinds: Sequence[str],
                     reasons: Sequence[str]) -> dict[str, Any]:
    """What each mechanism is given: the only place the true figures are read."""
    _check_truth(truth, kinds, reasons)
    return {
        "by_kind": [truth.by_kind.get(k, 0) for k in kinds],
        "served": [truth.served.get(s, 0) for s in SERVED],
        "unserved_by_reason": [truth.unserved_by_reason.get(r, 0) for r in reasons],
        "reversed_overdoses": truth.reversed_overdoses,
        "ems_requested": truth.ems_requested,
        "on_scene_median": list(truth.on_scene_seconds),
    }


def release(truth: MonthTruth, *, month: str, budget: Budget, kinds: Sequence[str],
            reasons: Sequence[str], noise: Noise | None = None) -> MonthRelease:
    """One month's public figures. ``noise`` defaults to the OpenDP measurements; tests
    pass a deterministic one to check the post-processing exactly."""
    if not _MONTH.fullmatch(month):
        raise ValueError(f"month must look like 2026-11, not {month!r}")
    mechs = measurements(budget, kinds=kinds, reasons=reasons)
    inputs = mechanism_inputs(truth, kinds=kinds, reasons=reasons)
    draw = noise or (lambda name, value: mechs[name].measurement(value))
    text = {name: _scale_text(m.scale, m.epsilon) for name, m in mechs.items()}

    # 1. Draw. From here on only the noisy values are read.
    by_kind = _ints(draw("by_kind", inputs["by_kind"]), len(kinds))
    served = dict(zip(SERVED, _ints(draw("served", inputs["served"]), len(SERVED)), strict=True))
    unserved = _ints(draw("unserved_by_reason", inputs["unserved_by_reason"]), len(reasons))
    reversed_ = int(draw("reversed_overdoses", inputs["reversed_overdoses"]))
    ems = int(draw("ems_requested", inputs["ems_requested"]))

    figures: dict[str, Figure] = {}

    def count(key: str, noisy: int, definition: str, noise_text: str) -> None:
        value = _post(noisy, budget)
        shown = f"<{budget.min_cell}" if value is None else f"{value:,}"
        figures[key] = Figure(value, shown, definition, noise_text)

    # 2. Counts. The total is the sum of the noisy counts by kind (unclamped, so the
    # negative draws of empty kinds do not bias it up): post-processing, no extra ε.
    count("total", sum(by_kind), "Incidents opened this month.",
          f"sum of the noisy counts by kind (discrete Laplace, {text['by_kind']}); no extra ε")
    for kind, noisy in zip(kinds, by_kind, strict=True):
        count(f"by_kind.{kind}", noisy, f"Incidents of kind “{_words(kind)}” opened this month.",
              f"discrete Laplace, {text['by_kind']}, shared by the counts by kind")
    served_defs = {
        "community": "Incidents where a community responder was the first to reach the scene.",
        "crisis_team": "Incidents where a crisis team was the first to reach the scene.",
        "none": "Incidents where nobody from Spotline reached the scene.",
    }
    for who in SERVED:
        count(f"served.{who}", served[who], served_defs[who],
              f"discrete Laplace, {text['served']}, shared by the counts by who reached the scene")

    # 3. Shares, from the clamped noisy served counts (a negative count in a share is
    # nonsense). Withheld when the noisy whole is below min_cell: a percentage of a
    # handful is mostly noise.
    reached = max(served["community"], 0) + max(served["crisis_team"], 0)
    whole = reached + max(served["none"], 0)
    share_noise = (f"computed from the noisy counts by who reached the scene (discrete Laplace, "
                   f"{text['served']}); no extra ε")
    for key, part, definition in (
        ("community_share", reached,
         "Percentage of incidents where a community responder or crisis team reached the scene."),
        ("unserved_share", max(served["none"], 0),
         "Percentage of incidents where nobody from Spotline reached the scene."),
    ):
        pct = None if whole < budget.min_cell else math.floor(100 * part / whole + 0.5)
        figures[key] = Figure(pct, "—" if pct is None else f"{pct}%", definition, share_noise)

    for reason, noisy in zip(reasons, unserved, strict=True):
        count(f"unserved_by_reason.{reason}", noisy,
              f"Unserved incidents whose reason was “{_words(reason)}”.",
              f"discrete Laplace, {text['unserved_by_reason']}, shared by the counts by reason")

    # 4. The median, gated on the NOISY number of incidents someone reached. Gating on
    # the true len(on_scene_seconds) would leak: whether the median is printed would
    # then flip with certainty when one incident takes the count from 10 to 11, an
    # unbounded privacy loss that no noise on the median itself could repair.
    median_text = (f"exponential mechanism (OpenDP private quantile) over 0 to 120 min in 30 s "
                   f"steps, {text['on_scene_median']}")
    minutes: float | None = None
    if reached >= budget.min_cell:
        seconds = float(draw("on_scene_median", inputs["on_scene_median"]))
        minutes = math.floor(seconds / 30 + 0.5) / 2  # to the nearest half minute
    figures["on_scene_median_minutes"] = Figure(
        minutes, "—" if minutes is None else f"{minutes:.1f} min",
        "Median minutes from an incident's opening to the first responder on scene.",
        median_text)

    count("reversed_overdoses", reversed_,
          "Overdoses where naloxone was given and the person responded.",
          f"discrete Laplace, {text['reversed_overdoses']}")
    count("ems_requested", ems, "Incidents where an ambulance was requested.",
          f"discrete Laplace, {text['ems_requested']}")

    return MonthRelease(month=month, epsilon=budget.epsilon, figures=figures,
                        split=budget_split(budget), min_cell=budget.min_cell,
                        rounding=budget.rounding)


# --- helpers ----------------------------------------------------------------------------


def _calibrated(make: Callable[[float], dp.Measurement],
                share: float) -> tuple[dp.Measurement, float]:
    """The measurement at the smallest scale whose own privacy map says <= share.

    Start from the textbook relation (ε = 1/scale for sensitivity 1, for both the
    Laplace and the median's exponential mechanism) and let the library's map have the
    last word: it rounds conservatively, so 1/share can come out an ulp over share."""
    scale = 1.0 / share
    for _ in range(64):
        meas = make(scale)
        loss = float(meas.map(1))  # type: ignore[no-untyped-call]  # opendp leaves map untyped
        if loss <= share:
            return meas, scale
        scale = max(math.nextafter(scale, math.inf), scale * loss / share)
    raise RuntimeError(f"no scale found for ε = {share}")


def _post(noisy: int, budget: Budget) -> int | None:
    """Clamp, round to the nearest ``rounding`` (halves up), suppress below ``min_cell``.

    Suppressed when either the noisy count or its rounded value is below min_cell, so
    the page never prints a number under its own "<11"."""
    clamped = max(noisy, 0)
    rounded = (clamped + budget.rounding // 2) // budget.rounding * budget.rounding
    if clamped < budget.min_cell or rounded < budget.min_cell:
        return None
    return rounded


def _ints(values: Any, n: int) -> list[int]:
    out = [int(v) for v in values]
    if len(out) != n:
        raise ValueError(f"expected {n} noisy counts, got {len(out)}")
    return out


def _scale_text(scale: float, epsilon: float) -> str:
    # "6.0", not "6.000000000000001": the calibration nudges scales by an ulp or two.
    return f"scale {_short(scale)} (ε = {epsilon:.3f})"


def _short(x: float) -> str:
    s = f"{x:.2f}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def _words(name: str) -> str:
    return name.replace("_", " ")


def _about(epsilon: float, min_cell: int, rounding: int) -> str:
    return (
        f"Every figure here is rounded to the nearest {rounding} and has a little random "
        f"noise added, so that nobody can tell from this page whether any one person's "
        f"call is counted in it. Counts under {min_cell} are shown as “<{min_cell}”. "
        f"The noise follows differential privacy with a budget of ε = {epsilon:g} per "
        f"month, computed with the OpenDP library; each figure says how much noise it has."
    )


def _check_names(kinds: Sequence[str], reasons: Sequence[str]) -> None:
    for label, names in (("kinds", kinds), ("reasons", reasons)):
        if len(set(names)) != len(names) or any(not n or "." in n for n in names):
            raise ValueError(f"{label} must be distinct, non-empty and free of dots: {names!r}")


def _check_truth(truth: MonthTruth, kinds: Sequence[str], reasons: Sequence[str]) -> None:
    """Refuse a truth that is not the partitions the sensitivity argument assumes. A
    raise publishes nothing, so checking true values here leaks nothing."""
    _check_names(kinds, reasons)
    for label, counts, known in (("by_kind", truth.by_kind, kinds),
                                 ("served", truth.served, SERVED),
                                 ("unserved_by_reason", truth.unserved_by_reason, reasons)):
        if unknown := set(counts) - set(known):
            raise ValueError(f"{label} has keys outside the published list: {sorted(unknown)}")
        if any(v < 0 for v in counts.values()):
            raise ValueError(f"{label} has a negative count")
    if min(truth.reversed_overdoses, truth.ems_requested, *truth.on_scene_seconds, 0) < 0:
        raise ValueError("counts and times must not be negative")
    if sum(truth.by_kind.values()) != sum(truth.served.values()):
        raise ValueError("by_kind and served must partition the same incidents")
    if sum(truth.unserved_by_reason.values()) != truth.served.get("none", 0):
        raise ValueError("unserved_by_reason must partition the served['none'] incidents")
    if len(truth.on_scene_seconds) > truth.served.get("community", 0) + truth.served.get(
            "crisis_team", 0):
        raise ValueError("more times on scene than incidents someone reached")
