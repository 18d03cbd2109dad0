from __future__ import annotations

from typing import Any

from django.db import connection

from spotline.audit.models import AuditEntry, AuditHead

# Tests write the table names literally (SQL built from strings is what ruff flags).
assert AuditEntry._meta.db_table == "audit_auditentry"
assert AuditHead._meta.db_table == "audit_audithead"


def sql(statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Raw SQL, as someone with the database password would alter the log."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("id").values_list("action", flat=True))
