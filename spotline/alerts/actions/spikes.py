"""The worker's look for spikes: more overdoses in an area than its history explains.

Counts come from the coarse incident record that survives the purge (kind, area cell,
opened hour), so the baseline is there long after every place and word is destroyed.
A spike opens a ``Signal`` and proposes a draft alert (author: nobody; a person must
read and save it, and publish it). While a signal is open, a bigger count updates its
numbers rather than opening another; after a person dismissed one, only a count larger
than the one they dismissed opens a new signal.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings

from spotline.alerts.actions.review import AlertFields, alert_draft, event
from spotline.alerts.models import Area, Signal, SignalStatus
from spotline.audit.actions import atomic, record
from spotline.core.alerts import Severity, Sign, Substance
from spotline.core.spikes import Spike, SpikeRule, spike, windows
from spotline.core.triage import Kind
from spotline.dispatch.models import Incident

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 300.0
DRAFT_HOURS = 24  # a proposed alert's expiry; the coordinator changes it


def rule() -> SpikeRule:
    return SpikeRule(window_hours=settings.SPOTLINE_SPIKE_WINDOW_HOURS,
                     baseline_days=settings.SPOTLINE_SPIKE_BASELINE_DAYS,
                     min_count=settings.SPOTLINE_SPIKE_MIN_COUNT,
                     alpha=settings.SPOTLINE_SPIKE_ALPHA)


def area_tests(*, now: datetime, spike_rule: SpikeRule | None = None) -> list[tuple[Area, Spike]]:
    """Every area's test at ``now`` (reads only)."""
    spike_rule = spike_rule or rule()
    start, window_start, end = windows(now, spike_rule)
    recent: Counter[str] = Counter()
    before: Counter[str] = Counter()
    # Overdoses only, and not a responder's backup (the same overdose twice).
    for cell, opened_at in (Incident.objects.filter(
            kind=Kind.OVERDOSE.value, backup_for__isnull=True, opened_at__gte=start,
            opened_at__lt=end).exclude(area="").values_list("area", "opened_at")):
        (recent if opened_at >= window_start else before)[cell] += 1
    tests = []
    for area in Area.objects.all():
        cells = set(area.cells)
        observed = sum(n for c, n in recent.items() if c in cells)
        baseline = sum(n for c, n in before.items() if c in cells)
        tests.append((area, spike(observed=observed, baseline_count=baseline, rule=spike_rule)))
    return tests


def spikes_check(*, now: datetime) -> int:
    """Open (or update) a signal for each area with a spike. Returns signals opened."""
    spike_rule = rule()
    opened = 0
    for area, result in area_tests(now=now, spike_rule=spike_rule):
        if not result.is_spike:
            continue
        with atomic():
            # The area's row is the lock: two workers cannot both find no signal and
            # each propose a draft.
            Area.objects.select_for_update().filter(pk=area.pk).first()
            recent = (Signal.objects
                      .filter(area=area, updated_at__gte=now - timedelta(
                          hours=spike_rule.window_hours))
                      .order_by("-pk").first())
            if recent is not None and recent.status == SignalStatus.DISMISSED:
                # A person said no to these numbers; more overdoses than they saw is
                # news, and opens a new signal. The same or fewer is not.
                if result.observed > recent.observed:
                    recent = None
                else:
                    Signal.objects.filter(pk=recent.pk).update(updated_at=now)
                    continue
            if recent is not None:
                if result.observed > recent.observed:
                    Signal.objects.filter(pk=recent.pk).update(
                        observed=result.observed, expected=result.expected,
                        p_value=result.p_value, updated_at=now)
                    if recent.alert is not None:
                        event(recent.alert, "spike_grew", now=now, user_id=None,
                              observed=result.observed)
                else:
                    Signal.objects.filter(pk=recent.pk).update(updated_at=now)
                continue
            signal = Signal.objects.create(
                area=area, window_hours=spike_rule.window_hours, observed=result.observed,
                expected=result.expected, p_value=result.p_value, detected_at=now,
                updated_at=now)
            draft = alert_draft(fields=AlertFields(
                substance=Substance.UNKNOWN, severity=Severity.SEVERE,
                expires=now + timedelta(hours=DRAFT_HOURS), area_ids=[area.pk],
                signs=[Sign.MANY_OVERDOSES]), user_id=None, now=now)
            Signal.objects.filter(pk=signal.pk).update(alert=draft)
            record("alerts.spike", object_type="signal", object_id=signal.pk, now=now)
            opened += 1
            log.info("spike signal=%s area=%s observed=%d expected=%.2f", signal.pk, area.pk,
                     result.observed, result.expected)
    return opened


def signal_dismiss(*, signal_id: int, user_id: int, now: datetime) -> None:
    with atomic():
        done = Signal.objects.filter(pk=signal_id, status=SignalStatus.OPEN).update(
            status=SignalStatus.DISMISSED, updated_at=now)
        if done:
            record("alerts.signal_dismissed", object_type="signal", object_id=signal_id,
                   now=now, actor="user", actor_user_id=user_id)
