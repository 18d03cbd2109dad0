"""Recompute the audit chain and name the first broken entry.

Entries are streamed in id order (one SELECT, read in chunks) and each is checked:

1. its hash recomputes from its own columns — else the row was altered;
2. its prev_hash is the hash of the entry before — else a row before it was removed
   (its id leaves a gap) or the one before it was rewritten, hash and all.

Then the head is read. Appends that committed while the stream ran moved the head past
the last entry streamed; those entries are read and checked too, so a busy log verifies
without stopping writers. After that the head must name the last entry: if it is
further on, rows were removed at the end; if entries lie beyond it, they were added
outside Spotline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from spotline.audit.actions import HEAD_REBUILT
from spotline.audit.models import GENESIS, HEAD_ID, AuditEntry, AuditHead, entry_hash

CHUNK = 5000
_COLUMNS = ("id", "at", "actor", "actor_user_id", "action", "object_type", "object_id",
            "fields", "prev_hash", "hash")

ALTERED = "hash mismatch (row altered)"
REMOVED = "chain broken before it (a row was removed)"
REWRITTEN = "chain broken before it (the entry before it was rewritten)"
REMOVED_AT_END = "head does not match the last entry (rows removed at the end)"
HEAD_DIFFERS = "head does not match the last entry (the last entry or the head was rewritten)"
ADDED = "entry beyond the head (a row was added outside Spotline)"
HEAD_MISSING = "the head row is missing (rows at the end may have been removed)"
WAS_REBUILT = "the head row was missing when this entry was written (rows at the end " \
              "may have been removed before it)"


@dataclass(frozen=True)
class Verdict:
    count: int  # entries verified intact
    head_id: int
    head_hash: str
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


class _Broken(Exception):
    def __init__(self, entry_id: int, reason: str) -> None:
        self.entry_id, self.reason = entry_id, reason


def _rows(after: int, upto: int | None = None) -> Iterator[tuple[Any, ...]]:
    qs = AuditEntry.objects.filter(id__gt=after).order_by("id")
    if upto is not None:
        qs = qs.filter(id__lte=upto)
    return qs.values_list(*_COLUMNS).iterator(chunk_size=CHUNK)


class _Chain:
    def __init__(self) -> None:
        self.count = 0
        self.last_id = 0
        self.last_hash = GENESIS

    def check(self, rows: Iterator[tuple[Any, ...]]) -> None:
        for (id, at, actor, actor_user_id, action, object_type, object_id, fields,
             prev_hash, stored) in rows:
            computed = entry_hash(prev_hash, id=id, at=at, actor=actor,
                                  actor_user_id=actor_user_id, action=action,
                                  object_type=object_type, object_id=object_id, fields=fields)
            if computed != stored:
                raise _Broken(id, ALTERED)
            if prev_hash != self.last_hash:
                raise _Broken(id, REMOVED if id != self.last_id + 1 else REWRITTEN)
            if action == HEAD_REBUILT:
                raise _Broken(id, WAS_REBUILT)
            self.count += 1
            self.last_id, self.last_hash = id, stored


def verify() -> Verdict:
    chain = _Chain()
    head: AuditHead | None = None
    try:
        chain.check(_rows(0))
        head = AuditHead.objects.filter(pk=HEAD_ID).first()
        if head is None:
            if chain.count:
                raise _Broken(chain.last_id, HEAD_MISSING)
            return Verdict(count=0, head_id=0, head_hash=GENESIS)
        if chain.last_id > head.last_id:
            raise _Broken(head.last_id + 1, ADDED)
        if chain.last_id < head.last_id:
            # Appended while we streamed: check those as well.
            chain.check(_rows(chain.last_id, upto=head.last_id))
        if chain.last_id < head.last_id:
            raise _Broken(chain.last_id + 1, REMOVED_AT_END)
        if chain.last_hash != head.last_hash:
            raise _Broken(chain.last_id, HEAD_DIFFERS)
    except _Broken as broken:
        return Verdict(count=chain.count, head_id=head.last_id if head else 0,
                       head_hash=head.last_hash if head else "", broken_id=broken.entry_id,
                       reason=broken.reason)
    return Verdict(count=chain.count, head_id=head.last_id, head_hash=head.last_hash)
