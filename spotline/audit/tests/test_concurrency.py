"""Writers appending at the same moment, each in its own transaction and connection,
leave one unbroken chain. On PostgreSQL the head row's lock orders them; on SQLite the
IMMEDIATE transactions already do (and the test runs there too, without real overlap
inside the database)."""

from __future__ import annotations

import os
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from spotline.audit.actions import record
from spotline.audit.models import AuditEntry, AuditHead
from spotline.audit.verify import verify
from spotline.conftest import T0

S = timedelta(seconds=1)
THREADS = 8
EACH = 25
WAIT_SECONDS = 60

def append_from_threads() -> list[BaseException]:
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=WAIT_SECONDS)
            for i in range(EACH):
                with transaction.atomic():
                    record("incident.view", object_type="incident", object_id=n,
                           now=T0 + i * S, actor="user", actor_user_id=n,
                           fields=["location"])
                    # A second entry in the same transaction, as a state change with
                    # follow-ups writes: both land next to each other in the chain.
                    record("incident.note", object_type="incident", object_id=n,
                           now=T0 + i * S, actor="user", actor_user_id=n)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=WAIT_SECONDS)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return errors


def assert_one_chain() -> None:
    total = THREADS * EACH * 2
    verdict = verify()
    assert verdict.ok, verdict
    assert verdict.count == total
    assert AuditHead.objects.get().last_id == total
    assert list(AuditEntry.objects.order_by("id").values_list("id", flat=True)) == list(
        range(1, total + 1))
    # Each transaction's two entries are adjacent: nobody appended in between.
    pairs = list(AuditEntry.objects.order_by("id").values_list("action", "object_id"))
    for view, note in zip(pairs[::2], pairs[1::2], strict=True):
        assert (view[0], note[0], view[1]) == ("incident.view", "incident.note", note[1])


@pytest.mark.postgres_only
@pytest.mark.skipif(not os.environ.get("DATABASE_URL"),
                    reason="SQLite serializes writers with its database lock: no "
                           "concurrent appends to race")
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_on_postgresql_keep_one_chain() -> None:
    assert connection.vendor == "postgresql"
    assert append_from_threads() == []
    assert_one_chain()


@pytest.mark.django_db(transaction=True)
def test_the_first_appends_of_an_empty_log_race_safely() -> None:
    # No head row yet: every writer tries to create it, one does.
    assert not AuditHead.objects.exists()
    assert append_from_threads() == []
    assert_one_chain()
