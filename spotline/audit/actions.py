"""Appending to the audit log: ``record()``, the one write path.

``record()`` runs inside the caller's transaction, so an entry commits or rolls back
with the change it describes. Appends are serialized by the single head row:

1. lock the head (``SELECT ... FOR UPDATE``; on SQLite the IMMEDIATE transaction
   already holds the database write lock);
2. insert the entry with id ``head.last_id + 1`` and ``prev_hash = head.last_hash``;
3. move the head to it.

The head lock is held until the caller commits, so it must be the last lock of the
global lock order: a transaction that holds the head and then locks a row deadlocks with
one that holds that row and waits for the head (PostgreSQL fails one of them). Actions
write an event, then withdraw offers or arm timers, so recording as they go broke that
rule everywhere. Write paths therefore open their transaction with ``atomic()``: inside
it ``record()`` only remembers the entry, and all of them are appended together when the
block ends, after every row lock and just before the commit. The head is then held for
the commit alone, which also shortens the one point where all writers queue.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from spotline import sql
from spotline.audit.models import GENESIS, HEAD_ID, AuditEntry, AuditHead

log = logging.getLogger(__name__)

# Codes, never values: lower-case words, so a phone number, a name with capitals or a
# sentence cannot be passed in by mistake.
_CODE = re.compile(r"[a-z][a-z0-9_]*")
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
HEAD_REBUILT = "audit.head_rebuilt"


def _check(value: str, pattern: re.Pattern[str], max_length: int, what: str) -> None:
    if len(value) > max_length or not pattern.fullmatch(value):
        raise ValueError(f"audit {what} must be a short lower-case code, got {value!r}")


def _locked_head(now: datetime) -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=HEAD_ID).first()
    if head is not None:
        return head
    # First append ever (or a flushed test database). Two first appends on PostgreSQL:
    # the second INSERT waits for the first to commit, then does nothing.
    AuditHead.objects.bulk_create([AuditHead(pk=HEAD_ID, last_id=0, last_hash=GENESIS)],
                                  ignore_conflicts=True)
    head = AuditHead.objects.select_for_update().get(pk=HEAD_ID)
    last = AuditEntry.objects.order_by("-id").values_list("id", "hash").first()
    if head.last_id == 0 and last is not None:
        # Entries without a head: someone deleted the head row. Help must still be
        # dispatched, so carry on from the last entry, but say so in the chain itself:
        # verify fails at this entry (rows removed at the end before it go unseen).
        log.error("audit head row was missing; rebuilt from entry %s", last[0])
        head.last_id, head.last_hash = last
        AuditHead.objects.filter(pk=HEAD_ID).update(last_id=last[0], last_hash=last[1])
        _append(head, HEAD_REBUILT, object_type="audit", object_id=last[0], now=now,
                actor="system", actor_user_id=None, fields=[])
    return head


def _append_all(head: AuditHead, pending: list[_Pending]) -> list[AuditEntry]:
    # Chained in Python, written with one INSERT and one head update: a new incident
    # appends three entries, and every statement here runs while the head is locked.
    entries = []
    last_id, last_hash = head.last_id, head.last_hash
    for p in pending:
        entry = AuditEntry(id=last_id + 1, at=p.now, actor=p.actor,
                           actor_user_id=p.actor_user_id, action=p.action,
                           object_type=p.object_type, object_id=p.object_id,
                           fields=p.fields, prev_hash=last_hash)
        entry.hash = entry.compute_hash()
        entries.append(entry)
        last_id, last_hash = entry.id, entry.hash
    sql.insert(entries)
    AuditHead.objects.filter(pk=HEAD_ID).update(last_id=last_id, last_hash=last_hash)
    head.last_id, head.last_hash = last_id, last_hash
    return entries


def _append(head: AuditHead, action: str, *, object_type: str, object_id: int | None,
            now: datetime, actor: str, actor_user_id: int | None,
            fields: list[str]) -> AuditEntry:
    return _append_all(head, [_Pending(action, object_type, object_id, now, actor,
                                       actor_user_id, fields)])[0]


@dataclass(frozen=True, slots=True)
class _Pending:
    action: str
    object_type: str
    object_id: int | None
    now: datetime
    actor: str
    actor_user_id: int | None
    fields: list[str]


# The open batch of this database connection (connections are per thread), or None.
_BATCH = "spotline_audit_batch"


@contextmanager
def atomic(*, savepoint: bool = True) -> Iterator[None]:
    """``transaction.atomic()`` whose audit entries are appended last, before the commit.

    Nested ``atomic()`` blocks join the outermost one. If the block raises, its entries
    are dropped with the rolled-back change they describe. ``savepoint=False``, as in
    ``transaction.atomic``: nested, a failure dooms the whole transaction, and two
    statements are saved (the hot path's choice, where nobody recovers from one).
    """
    with transaction.atomic(savepoint=savepoint):
        conn: Any = transaction.get_connection()
        if getattr(conn, _BATCH, None) is not None:
            yield
            return
        setattr(conn, _BATCH, [])
        try:
            yield
            pending: list[_Pending] = getattr(conn, _BATCH)
            setattr(conn, _BATCH, None)
            if pending:
                _append_all(_locked_head(pending[0].now), pending)
        finally:
            setattr(conn, _BATCH, None)


def record(
    action: str,
    *,
    object_type: str,
    object_id: int | None,
    now: datetime,
    actor: str = "system",
    actor_user_id: int | None = None,
    fields: Iterable[str] = (),
) -> AuditEntry | None:
    """Append one entry: ``action`` on ``object_type``/``object_id`` by ``actor`` at ``now``.

    ``fields`` names the sensitive fields a person was shown ("location",
    "callback_phone"), never their values. Call it inside the transaction of the
    change it describes; a read (a GET) wraps it in ``transaction.atomic()``. Inside
    an ``atomic()`` block the entry is appended when the block ends (and None is
    returned); otherwise at once, and the entry is returned.
    """
    if now.tzinfo is None:
        raise ValueError("audit time must be timezone-aware")
    names = list(fields)
    _check(action, _ACTION, 64, "action")
    _check(object_type, _CODE, 32, "object type")
    _check(actor, _CODE, 16, "actor")
    for name in names:
        _check(name, _CODE, 32, "field name")
    batch = getattr(transaction.get_connection(), _BATCH, None)
    if batch is not None:
        batch.append(_Pending(action, object_type, object_id, now, actor, actor_user_id,
                              names))
        return None
    # No savepoint: inside a caller's transaction a failure here fails the whole change.
    with transaction.atomic(savepoint=False):
        head = _locked_head(now)
        return _append(head, action, object_type=object_type, object_id=object_id, now=now,
                       actor=actor, actor_user_id=actor_user_id, fields=names)
