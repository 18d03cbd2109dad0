"""One timer engine for every timer table: the same claim, the same poison-row policy.

A handler that raises is rolled back and its row pushed forward with backoff, counted
and named (``last_error``); after ``ALERT_AFTER`` failures it is logged as CRITICAL once
and shows in the console and /readyz. Dispatch timers and check-in deadlines get
exactly the same treatment: the tests below run each case on both tables.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.checkins import deadlines
from spotline.checkins.actions import checkin_start
from spotline.checkins.models import CheckInDeadline
from spotline.conftest import CENTRE, T0, login_staff
from spotline.core.checkin import OnMiss
from spotline.core.triage import Kind
from spotline.dispatch import timers
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Timer
from spotline.timers import engine

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


def boom(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("a bug in a handler")


def dispatch_timer(monkeypatch: pytest.MonkeyPatch) -> tuple[type[Any], int]:
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)
    monkeypatch.setitem(timers.HANDLERS, "round_expiry", boom)
    timer = Timer.objects.get(incident=incident.incident, kind="round_expiry")
    return Timer, timer.pk


def checkin_deadline(monkeypatch: pytest.MonkeyPatch) -> tuple[type[Any], int]:
    started = checkin_start(location=CENTRE, description="", minutes=1,
                            on_miss=OnMiss.RESPONDERS, phone="", language="en", now=T0)
    monkeypatch.setattr(deadlines, "deadline_reached", boom)
    return CheckInDeadline, CheckInDeadline.objects.get(checkin=started.checkin).pk


def fire_all(now: Any) -> int:
    return timers.fire_due(now=now) + deadlines.fire_due(now=now)


@pytest.fixture(params=[dispatch_timer, checkin_deadline], ids=["timer", "checkin"])
def poisoned(request: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[type[Any], int]:
    model, pk = request.param(monkeypatch)
    model.objects.exclude(pk=pk).update(fired_at=T0)  # only the poisoned row is due
    return model, pk


def test_a_failing_row_is_postponed_with_backoff_and_named(poisoned) -> None:
    model, pk = poisoned
    due = model.objects.get(pk=pk).due_at
    assert fire_all(due) == 0
    row = model.objects.get(pk=pk)
    assert (row.fired_at, row.attempts, row.last_error) == (None, 1, "RuntimeError")
    assert row.due_at == due + S
    fire_all(due + S)
    row.refresh_from_db()
    assert (row.attempts, row.due_at) == (2, due + S + 2 * S)


def test_repeated_failure_raises_the_alarm_once(poisoned, caplog) -> None:
    model, pk = poisoned
    with caplog.at_level(logging.CRITICAL, logger="spotline.timers.engine"):
        for _ in range(engine.ALERT_AFTER + 2):
            fire_all(model.objects.get(pk=pk).due_at)
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1 and "keeps failing" in critical[0].getMessage()
    assert engine.failing_count(model) == 1
    # The message names the row, never what it holds.
    assert "a bug in a handler" not in critical[0].getMessage()


def test_the_console_and_readyz_show_failing_timers(poisoned, client: Client) -> None:
    model, pk = poisoned
    for _ in range(engine.ALERT_AFTER):
        fire_all(model.objects.get(pk=pk).due_at)
    login_staff(client, user_create(name="disp", role=Role.DISPATCHER, password=None))
    assert 'id="timers-failing"' in client.get("/console/").content.decode()
    ready = client.get("/readyz").json()
    assert ready["timers"]["status"] == "failing"
    assert sum(ready["timers"]["failing"].values()) == 1


def test_a_fixed_cause_lets_the_row_fire_once(poisoned, monkeypatch) -> None:
    model, pk = poisoned
    due = model.objects.get(pk=pk).due_at
    fire_all(due)
    monkeypatch.undo()  # the handler works again
    assert fire_all(due + 10 * S) == 1
    assert fire_all(due + 20 * S) == 0
    assert model.objects.get(pk=pk).fired_at == due + 10 * S
