"""``audit.atomic()``: entries are appended when the block ends, after every row lock.

Recording as an action goes (event, then withdraw offers, then arm a timer) held the
head row while locking more rows; two such transactions deadlocked on PostgreSQL under
load (the fault tests saw hundreds). These tests pin down the batch's behaviour and
reproduce that interleaving with real connections.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction

from spotline.audit import actions as audit
from spotline.audit.models import AuditEntry
from spotline.audit.verify import verify
from spotline.conftest import HANG_SECONDS, T0
from spotline.responders.models import Responder

S = timedelta(seconds=1)


def view(n: int) -> AuditEntry | None:
    return audit.record("incident.view", object_type="incident", object_id=n, now=T0)


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def wait_until_queued(pid: int) -> None:
    """Until the PostgreSQL backend ``pid`` waits for a lock (pg_locks is read live, not
    from a snapshot). The deadline is a hang guard."""
    deadline = time.monotonic() + HANG_SECONDS
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)",
                           [pid])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for a lock")


@pytest.mark.django_db
def test_it_appends_a_blocks_entries_when_the_block_ends_in_order() -> None:
    with audit.atomic():
        assert view(1) is None
        with audit.atomic():  # a nested block joins the outer one
            assert view(2) is None
        assert not AuditEntry.objects.exists()
        view(3)
    assert list(AuditEntry.objects.order_by("id").values_list("object_id", flat=True)) == [
        1, 2, 3]
    assert verify().ok


@pytest.mark.django_db
def test_it_drops_the_entries_of_a_block_that_fails() -> None:
    with pytest.raises(RuntimeError), audit.atomic():
        view(1)
        raise RuntimeError("the change failed")
    assert not AuditEntry.objects.exists()
    # The connection is not left batching: the next record outside a block is written.
    entry = view(2)
    assert entry is not None and entry.object_id == 2


@pytest.mark.django_db
def test_outside_a_block_it_still_appends_at_once() -> None:
    with transaction.atomic():
        entry = view(5)
        assert entry is not None
        assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.postgres_only
@pytest.mark.skipif(not os.environ.get("DATABASE_URL"),
                    reason="SQLite serializes whole write transactions: no row locks to "
                           "interleave")
@pytest.mark.django_db(transaction=True)
def test_record_then_lock_does_not_deadlock_with_lock_then_record(make_responder: Any) -> None:
    # A: records, then locks the row. B: locks the row, then records. Appending as they
    # went, A held the head waiting for the row and B held the row waiting for the head.
    row = make_responder("sam")  # going on shift is audited too: not part of the race
    before = set(AuditEntry.objects.values_list("pk", flat=True))
    b_has_row = threading.Event()
    a_recorded = threading.Event()
    a_pid: list[int] = []
    errors: list[BaseException] = []

    def a() -> None:
        try:
            assert b_has_row.wait(HANG_SECONDS)
            with audit.atomic():
                view(1)
                a_pid.append(backend_pid())
                a_recorded.set()
                Responder.objects.select_for_update().get(pk=row.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def b() -> None:
        try:
            with audit.atomic():
                Responder.objects.select_for_update().get(pk=row.pk)
                b_has_row.set()
                assert a_recorded.wait(HANG_SECONDS)
                view(2)
                # Commit only once A queues on the row (and, before the batch, held the
                # head): seen in pg_locks, where a fixed sleep would only hope so.
                wait_until_queued(a_pid[0])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_SECONDS)
    assert not any(t.is_alive() for t in threads)  # a hang guard
    assert errors == []
    assert sorted(AuditEntry.objects.exclude(pk__in=before)
                  .values_list("object_id", flat=True)) == [1, 2]
    assert verify().ok
