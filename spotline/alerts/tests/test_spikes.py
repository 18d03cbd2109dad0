"""Spikes: a burst of overdoses in an area proposes a draft alert with its numbers; a
quiet week, another area's burst, or the same burst seen again does not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from scipy.stats import poisson

from spotline.alerts.actions.spikes import area_tests, spikes_check
from spotline.alerts.models import Alert, AlertStatus, Area, Signal
from spotline.conftest import CENTRE, T0
from spotline.core.geo import area_cell
from spotline.core.spikes import SpikeRule, spike
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident

pytestmark = pytest.mark.django_db

CELL = area_cell(CENTRE)  # in the centre area
RULE = SpikeRule()  # the defaults: 6 h window, 28 days' baseline, >= 3, alpha 0.01
BASELINE_HOURS = RULE.baseline_days * 24


def history(n: int, *, cell: str = CELL, kind: str = Kind.OVERDOSE.value) -> None:
    """``n`` past incidents spread over the baseline period, as the purge leaves them:
    kind, area cell and the hour they opened, nothing else."""
    start = T0 - timedelta(hours=RULE.window_hours) - timedelta(days=RULE.baseline_days)
    Incident.objects.bulk_create([
        Incident(kind=kind, priority="P1", state="closed", area=cell,
                 tracking_digest=f"past{cell}{kind}{i}",
                 opened_at=start + timedelta(hours=BASELINE_HOURS * (i + 0.5) / n),
                 updated_at=T0, closed_at=T0, purged_at=T0)
        for i in range(n)])


def overdoses_now(n: int, *, minutes_apart: int = 40) -> None:
    """``n`` overdoses reported through the one door in the last hours before T0."""
    for i in range(n):
        incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                      now=T0 - timedelta(minutes=minutes_apart * (i + 1)))


def test_the_statistic_is_the_poisson_upper_tail() -> None:
    result = spike(observed=5, baseline_count=90, rule=RULE)
    expected = 90 / BASELINE_HOURS * RULE.window_hours
    assert result.expected == pytest.approx(expected)
    assert result.p_value == pytest.approx(1 - poisson.cdf(4, expected))
    assert result.is_spike
    # Two is never a spike (minimum count), however quiet the area usually is.
    assert not spike(observed=2, baseline_count=0, rule=RULE).is_spike
    # A busy area's usual count is no spike: 5 where 4 are usual.
    assert not spike(observed=5, baseline_count=int(4 / 6 * BASELINE_HOURS), rule=RULE).is_spike


def test_a_spike_proposes_a_draft_with_the_right_numbers(centre_area: Area,
                                                         vuosaari_area: Area) -> None:
    history(90)  # usual: 90 in 28 days, 0.80 in 6 hours
    overdoses_now(5)
    # Other kinds and other places are not this spike.
    incident_open(IncidentRequest(kind=Kind.MENTAL_HEALTH, location=CENTRE),
                  now=T0 - timedelta(minutes=10))
    assert spikes_check(now=T0) == 1
    signal = Signal.objects.get()
    assert signal.area == centre_area
    assert signal.observed == 5
    assert signal.expected == pytest.approx(90 / BASELINE_HOURS * 6)
    assert f"{signal.expected:.1f}" == "0.8"
    assert signal.p_value == pytest.approx(poisson.sf(4, signal.expected))
    draft = Alert.objects.get()
    assert draft.status == AlertStatus.DRAFT and draft.author is None
    assert list(draft.areas.all()) == [centre_area]
    assert draft.signs == ["many_overdoses"]
    assert signal.alert == draft
    # Seen again five minutes later: the same signal, no second draft.
    assert spikes_check(now=T0 + timedelta(minutes=5)) == 0
    assert Signal.objects.count() == 1 and Alert.objects.count() == 1
    # One more overdose: the open signal's numbers grow.
    incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                  now=T0 + timedelta(minutes=6))
    assert spikes_check(now=T0 + timedelta(minutes=10)) == 0
    assert Signal.objects.get().observed == 6
    assert draft.events.filter(kind="spike_grew").exists()


def test_a_quiet_week_proposes_nothing(centre_area: Area) -> None:
    history(90)
    overdoses_now(2)  # two in six hours where 0.8 is usual: p = 0.19
    tests = {area.name: result for area, result in area_tests(now=T0)}
    assert tests["Keskusta"].observed == 2
    assert not tests["Keskusta"].is_spike
    assert spikes_check(now=T0) == 0
    assert not Signal.objects.exists() and not Alert.objects.exists()


def test_backups_are_not_counted_twice(centre_area: Area, make_responder: Any) -> None:
    history(90)
    overdoses_now(2)
    first = Incident.objects.filter(purged_at__isnull=True).first()
    assert first is not None
    # A backup sent to a responder on that overdose is the same overdose.
    incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                  backup_for_id=first.pk), now=T0 - timedelta(minutes=5))
    tests = {area.name: result for area, result in area_tests(now=T0)}
    assert tests["Keskusta"].observed == 2
