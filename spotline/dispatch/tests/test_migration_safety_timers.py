"""Upgrading moves running safety timers from check-ins to dispatch, losing none.

Before this release a responder's safety timer was a ``CheckIn`` with purpose "safety"
and its deadlines were ``CheckInDeadline`` rows. ``dispatch`` 0010 copies each into a
``SafetyTimer`` (same id: a responder may answer "OK <id>" to a text already sent) and
its pending deadline into a dispatch ``Timer``; ``checkins`` 0005 then drops the old
columns. A timer that was due during the upgrade still fires once afterwards.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from spotline.conftest import T0

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("dispatch", "0008_sealed_fields"), ("checkins", "0004_deadline_retries"),
          ("intake", "0003_sms_takeover"), ("notify", "0003_push_subscriptions")]
MIN = timedelta(minutes=1)


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.fixture
def back_to_now():
    """Whatever happens, leave the database migrated to the latest for the next test."""
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_running_safety_timers_survive_the_upgrade(back_to_now) -> None:
    old = migrate(BEFORE).loader.project_state(BEFORE).apps
    User = old.get_model("auth", "User")
    Responder = old.get_model("responders", "Responder")
    Incident = old.get_model("dispatch", "Incident")
    CheckIn = old.get_model("checkins", "CheckIn")
    CheckInDeadline = old.get_model("checkins", "CheckInDeadline")
    ana = Responder.objects.create(user=User.objects.create(username="ana"), alias="Ana")
    incident = Incident.objects.create(kind="overdose", priority="P1", state="on_scene",
                                       tracking_digest="x", opened_at=T0, updated_at=T0)
    running = CheckIn.objects.create(
        token_digest="safety-1", purpose="safety", responder=ana, watch_incident=incident,
        state="asked", generation=3, minutes=15, on_miss="responders",
        next_at=T0 + 16 * MIN, created_at=T0, updated_at=T0)
    CheckInDeadline.objects.create(checkin=running, generation=2, event="due",
                                   due_at=T0 + 15 * MIN, fired_at=T0 + 15 * MIN)
    CheckInDeadline.objects.create(checkin=running, generation=3, event="grace",
                                   due_at=T0 + 16 * MIN)
    ended = CheckIn.objects.create(
        token_digest="safety-2", purpose="safety", responder=ana, watch_incident=incident,
        state="ended", generation=5, minutes=15, on_miss="responders",
        created_at=T0 - 60 * MIN, updated_at=T0, ended_at=T0)
    person = CheckIn.objects.create(
        token_digest="person-1", purpose="person", state="active", minutes=5,
        on_miss="responders", created_at=T0, updated_at=T0)

    new = migrate(MigrationExecutor(connection).loader.graph.leaf_nodes()).loader \
        .project_state().apps
    SafetyTimer = new.get_model("dispatch", "SafetyTimer")
    Timer = new.get_model("dispatch", "Timer")
    NewCheckIn = new.get_model("checkins", "CheckIn")

    copied = SafetyTimer.objects.get(pk=running.pk)
    assert (copied.responder_id, copied.incident_id, copied.state, copied.generation,
            copied.next_at) == (ana.pk, incident.pk, "asked", 3, T0 + 16 * MIN)
    assert SafetyTimer.objects.get(pk=ended.pk).state == "ended"
    # Only the pending deadline of the current generation; nothing already fired.
    [due] = Timer.objects.filter(kind="safety")
    assert (due.safety_id, due.round, due.due_at, due.fired_at) == (
        running.pk, 3, T0 + 16 * MIN, None)
    # The person's check-in stays a check-in; the safety ones are gone from there.
    assert list(NewCheckIn.objects.values_list("pk", flat=True)) == [person.pk]
    # New safety timers do not collide with the copied ids.
    fresh = SafetyTimer.objects.create(responder_id=ana.pk, incident_id=incident.pk,
                                       state="ended", minutes=15, created_at=T0,
                                       updated_at=T0)
    assert fresh.pk > max(running.pk, ended.pk)
