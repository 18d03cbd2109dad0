"""The audit log: who changed or looked at what, and when. Append-only, hash-chained.

Each entry holds codes and ids only — an action code, an object type and id, the
names of the fields a person looked at — never a value: no phone numbers, names,
places or message text, so the log itself can never become the record it guards.

Append-only in code: saving an existing entry, deleting one, or a queryset
``update()``/``delete()`` raises ``AuditImmutable``. The database user can still alter
or delete rows with SQL; that is what the chain detects. Each entry's ``hash`` is
SHA-256 over the previous entry's hash and a canonical JSON of its own content, and the
single ``AuditHead`` row holds the last id and hash, so ``spotline audit verify`` finds
an altered row, a removed row, and rows removed at the end.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.db import models

GENESIS = "0" * 64  # the prev_hash of the first entry
HEAD_ID = 1


class AuditImmutable(Exception):
    """An audit entry cannot be changed or deleted."""


def entry_hash(prev_hash: str, *, id: int, at: datetime, actor: str,
               actor_user_id: int | None, action: str, object_type: str,
               object_id: int | None, fields: list[str]) -> str:
    """SHA-256 hex over the previous hash and the entry's own canonical JSON."""
    content = json.dumps(
        {"id": id, "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
         "actor": actor, "actor_user_id": actor_user_id, "action": action,
         "object_type": object_type, "object_id": object_id, "fields": list(fields)},
        sort_keys=True, separators=(",", ":"), ensure_ascii=True,
    )
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutable("audit entries are never changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit entries are never deleted")


class AuditEntry(models.Model):
    # Not an autoincrement: record() assigns head.last_id + 1 under the head's lock,
    # so ids have no gaps and a missing one is a removed row.
    id = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=16)  # user, system, person, policy, responder, ...
    # No foreign key: deleting a user never rewrites (or cascades into) history.
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)  # incident.dispatch, incident.view, ...
    object_type = models.CharField(max_length=32)
    object_id = models.BigIntegerField(null=True, blank=True)
    fields = models.JSONField(default=list)  # names of the fields viewed, never values
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditQuerySet.as_manager()

    class Meta:
        # "Who looked at incident 42?"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"audit {self.pk} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutable("audit entries are never changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("audit entries are never deleted")

    def compute_hash(self) -> str:
        return entry_hash(self.prev_hash, id=self.id, at=self.at, actor=self.actor,
                          actor_user_id=self.actor_user_id, action=self.action,
                          object_type=self.object_type, object_id=self.object_id,
                          fields=self.fields)


class AuditHead(models.Model):
    """The one row that says where the chain ends; locked by every append."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=HEAD_ID)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=HEAD_ID),
                                              name="audit_one_head")]

    def __str__(self) -> str:
        return f"audit head {self.last_id}"
