"""Is an area seeing more overdoses than usual? A Poisson upper-tail test.

For each area the baseline is its own history: the overdoses of the previous
``baseline_days`` (the coarse record that survives the purge: kind, area cell, hour),
as a rate per hour, times the window's length. The window is a spike when

    count >= min_count  and  P(X >= count | X ~ Poisson(expected)) <= alpha

the test syndromic-surveillance systems use for counts (the Poisson model of
Kulldorff's scan statistic, and the upper-tail rule in CDC's EARS for small counts).
``expected`` has a floor so that an area with no history does not turn every pair of
overdoses into a spike: the minimum count decides then. ``scipy.stats.poisson`` gives
the tail; nothing is hand-rolled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scipy.stats import poisson


@dataclass(frozen=True)
class SpikeRule:
    window_hours: int = 6
    baseline_days: int = 28
    min_count: int = 3
    alpha: float = 0.01
    # An area with no history still expects this many in a window (about one overdose
    # a month for a 6-hour window): the floor of ``expected``.
    min_expected: float = 0.05


@dataclass(frozen=True)
class Spike:
    observed: int
    expected: float  # the usual count for a window this long
    p_value: float
    is_spike: bool


def windows(now: datetime, rule: SpikeRule) -> tuple[datetime, datetime, datetime]:
    """(baseline start, window start, window end): the baseline ends where the window
    starts, so the spike does not raise its own baseline."""
    window_start = now - timedelta(hours=rule.window_hours)
    return window_start - timedelta(days=rule.baseline_days), window_start, now


def spike(*, observed: int, baseline_count: int, rule: SpikeRule) -> Spike:
    """The test for one area: ``observed`` overdoses in the window, ``baseline_count``
    in the baseline period before it."""
    per_hour = baseline_count / (rule.baseline_days * 24)
    expected = max(per_hour * rule.window_hours, rule.min_expected)
    # sf(k - 1) = P(X >= k).
    p_value = float(poisson.sf(observed - 1, expected)) if observed > 0 else 1.0
    return Spike(observed=observed, expected=expected, p_value=p_value,
                 is_spike=observed >= rule.min_count and p_value <= rule.alpha)
