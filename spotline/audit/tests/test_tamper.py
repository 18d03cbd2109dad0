"""Someone with the database password edits or deletes audit rows with SQL:
``spotline audit verify`` fails and names the first broken entry."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from spotline.audit.actions import HEAD_REBUILT, record
from spotline.audit.models import AuditEntry, entry_hash
from spotline.audit.tests.helpers import sql
from spotline.audit.verify import (
    ADDED,
    ALTERED,
    HEAD_DIFFERS,
    REMOVED,
    REMOVED_AT_END,
    REWRITTEN,
    WAS_REBUILT,
    verify,
)
from spotline.conftest import T0

S = timedelta(seconds=1)
REPO = Path(__file__).resolve().parents[3]


def five() -> None:
    for n in range(1, 6):
        record("incident.view", object_type="incident", object_id=n, now=T0 + n * S,
               actor="user", actor_user_id=1, fields=["location"])


def broken_at() -> tuple[int | None, str]:
    verdict = verify()
    return verdict.broken_id, verdict.reason


def command_fails_at(entry_id: int, reason: str) -> None:
    with pytest.raises(CommandError) as failed:
        call_command("audit", "verify")
    assert failed.value.returncode == 1
    assert str(failed.value).startswith(f"audit log BROKEN at entry {entry_id}: {reason}")


@pytest.mark.django_db
def test_editing_a_rows_action_is_found_at_that_row() -> None:
    five()
    sql("UPDATE audit_auditentry SET action = %s WHERE id = %s", "incident.cancel", 3)
    assert broken_at() == (3, ALTERED)
    command_fails_at(3, "hash mismatch (row altered)")


@pytest.mark.django_db
def test_editing_who_or_when_is_found_too() -> None:
    five()
    sql("UPDATE audit_auditentry SET actor_user_id = %s WHERE id = %s", 2, 2)
    assert broken_at() == (2, ALTERED)


@pytest.mark.django_db
def test_deleting_a_middle_row_is_found_at_the_entry_after_the_gap() -> None:
    five()
    sql("DELETE FROM audit_auditentry WHERE id = %s", 3)
    assert broken_at() == (4, REMOVED)
    command_fails_at(4, "chain broken before it (a row was removed)")


@pytest.mark.django_db
def test_deleting_the_first_row_is_found_at_the_second() -> None:
    five()
    sql("DELETE FROM audit_auditentry WHERE id = %s", 1)
    assert broken_at() == (2, REMOVED)


@pytest.mark.django_db
def test_deleting_the_last_row_is_found_by_the_head() -> None:
    five()
    sql("DELETE FROM audit_auditentry WHERE id = %s", 5)
    assert broken_at() == (5, REMOVED_AT_END)
    command_fails_at(5, "head does not match the last entry (rows removed at the end)")


@pytest.mark.django_db
def test_deleting_every_row_is_found_by_the_head() -> None:
    five()
    sql("DELETE FROM audit_auditentry")
    assert broken_at() == (1, REMOVED_AT_END)


@pytest.mark.django_db
def test_rewriting_a_row_with_a_fresh_hash_is_found_at_the_next_one() -> None:
    five()
    row = AuditEntry.objects.get(pk=3)
    forged = entry_hash(row.prev_hash, id=3, at=row.at, actor=row.actor,
                        actor_user_id=row.actor_user_id, action="incident.cancel",
                        object_type=row.object_type, object_id=row.object_id, fields=row.fields)
    sql("UPDATE audit_auditentry SET action = %s, hash = %s WHERE id = %s",
        "incident.cancel", forged, 3)
    assert broken_at() == (4, REWRITTEN)


@pytest.mark.django_db
def test_rewriting_the_last_row_with_a_fresh_hash_is_found_by_the_head() -> None:
    five()
    row = AuditEntry.objects.get(pk=5)
    forged = entry_hash(row.prev_hash, id=5, at=row.at, actor=row.actor,
                        actor_user_id=row.actor_user_id, action="incident.cancel",
                        object_type=row.object_type, object_id=row.object_id, fields=row.fields)
    sql("UPDATE audit_auditentry SET action = %s, hash = %s WHERE id = %s",
        "incident.cancel", forged, 5)
    assert broken_at() == (5, HEAD_DIFFERS)


@pytest.mark.django_db
def test_a_row_added_beyond_the_head_is_found() -> None:
    five()
    last = AuditEntry.objects.get(pk=5)
    at = T0 + 10 * S
    forged = entry_hash(last.hash, id=6, at=at, actor="system", actor_user_id=None,
                        action="incident.view", object_type="incident", object_id=1, fields=[])
    AuditEntry(id=6, at=at, actor="system", action="incident.view", object_type="incident",
               object_id=1, fields=[], prev_hash=last.hash, hash=forged).save()
    assert broken_at() == (6, ADDED)


@pytest.mark.django_db
def test_a_deleted_head_is_rebuilt_but_leaves_a_mark_that_fails_verify() -> None:
    five()
    sql("DELETE FROM audit_auditentry WHERE id = %s", 5)
    sql("DELETE FROM audit_audithead")
    # Help is still dispatched: appending goes on from the last entry left...
    entry = record("incident.view", object_type="incident", object_id=1, now=T0 + 9 * S)
    assert AuditEntry.objects.get(pk=5).action == HEAD_REBUILT
    assert entry.id == 6
    # ...but the log says that its end cannot be trusted.
    assert broken_at() == (5, WAS_REBUILT)


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_1_and_names_the_entry() -> None:
    five()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SPOTLINE_SQLITE_PATH", "DJANGO_SETTINGS_MODULE")}
    db = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
            f"@{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}")
    else:
        env["SPOTLINE_SQLITE_PATH"] = str(db["NAME"])

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "spotline", "audit", "verify"], cwd=REPO, env=env,
            capture_output=True, text=True, timeout=60, check=False)

    ok = run()
    assert (ok.returncode, ok.stdout.splitlines()[0]) == (0, "audit log OK: 5 entries")
    sql("UPDATE audit_auditentry SET object_id = %s WHERE id = %s", 42, 2)
    broken = run()
    assert broken.returncode == 1
    assert "audit log BROKEN at entry 2: hash mismatch (row altered)" in broken.stderr


@pytest.mark.django_db
def test_a_head_kept_off_the_server_catches_a_consistent_rewrite(
        capsys: pytest.CaptureFixture[str]) -> None:
    five()
    call_command("audit", "verify")
    kept = capsys.readouterr().out.splitlines()[1].removeprefix("head: ")
    assert kept == f"5:{AuditEntry.objects.get(pk=5).hash}"
    # An insider rewrites entry 2 and every entry after it, head included: consistent.
    sql("DELETE FROM audit_audithead")
    prev = AuditEntry.objects.get(pk=1).hash
    for row in AuditEntry.objects.filter(id__gte=2).order_by("id"):
        action = "incident.cancel" if row.id == 2 else row.action
        digest = entry_hash(prev, id=row.id, at=row.at, actor=row.actor,
                            actor_user_id=row.actor_user_id, action=action,
                            object_type=row.object_type, object_id=row.object_id,
                            fields=row.fields)
        sql("UPDATE audit_auditentry SET action = %s, prev_hash = %s, hash = %s "
            "WHERE id = %s", action, prev, digest, row.id)
        prev = digest
    sql("INSERT INTO audit_audithead (id, last_id, last_hash) VALUES (1, 5, %s)", prev)
    assert verify().ok  # the chain alone cannot tell
    with pytest.raises(CommandError) as failed:
        call_command("audit", "verify", "--known", kept)
    assert str(failed.value).startswith("audit log BROKEN at entry 5: does not match the "
                                        "head written down earlier")
    with pytest.raises(CommandError):
        call_command("audit", "verify", "--known", "nonsense")
