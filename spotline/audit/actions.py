"""Appending to the audit log: ``record()``, the one write path.

``record()`` runs inside the caller's transaction, so an entry commits or rolls back
with the change it describes. Appends are serialized by the single head row:

1. lock the head (``SELECT ... FOR UPDATE``; on SQLite the IMMEDIATE transaction
   already holds the database write lock);
2. insert the entry with id ``head.last_id + 1`` and ``prev_hash = head.last_hash``;
3. move the head to it.

The head lock is held until the caller commits, so it is the last lock of the global
lock order: take no row lock after recording, or a transaction waiting for the head
while holding that row deadlocks with this one (PostgreSQL detects it and fails one).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

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


def _append(head: AuditHead, action: str, *, object_type: str, object_id: int | None,
            now: datetime, actor: str, actor_user_id: int | None,
            fields: list[str]) -> AuditEntry:
    entry = AuditEntry(id=head.last_id + 1, at=now, actor=actor, actor_user_id=actor_user_id,
                       action=action, object_type=object_type, object_id=object_id,
                       fields=fields, prev_hash=head.last_hash)
    entry.hash = entry.compute_hash()
    entry.save()
    AuditHead.objects.filter(pk=HEAD_ID).update(last_id=entry.id, last_hash=entry.hash)
    head.last_id, head.last_hash = entry.id, entry.hash
    return entry


def record(
    action: str,
    *,
    object_type: str,
    object_id: int | None,
    now: datetime,
    actor: str = "system",
    actor_user_id: int | None = None,
    fields: Iterable[str] = (),
) -> AuditEntry:
    """Append one entry: ``action`` on ``object_type``/``object_id`` by ``actor`` at ``now``.

    ``fields`` names the sensitive fields a person was shown ("location",
    "callback_phone"), never their values. Call it inside the transaction of the
    change it describes; a read (a GET) wraps it in ``transaction.atomic()``.
    """
    if now.tzinfo is None:
        raise ValueError("audit time must be timezone-aware")
    names = list(fields)
    _check(action, _ACTION, 64, "action")
    _check(object_type, _CODE, 32, "object type")
    _check(actor, _CODE, 16, "actor")
    for name in names:
        _check(name, _CODE, 32, "field name")
    # No savepoint: inside a caller's transaction a failure here fails the whole change.
    with transaction.atomic(savepoint=False):
        head = _locked_head(now)
        return _append(head, action, object_type=object_type, object_id=object_id, now=now,
                       actor=actor, actor_user_id=actor_user_id, fields=names)
