"""Everything that destroys personal data when its time is up, in one pass.

The worker runs these as timers and housekeeping; ``spotline purge`` runs them at once
for what is due. After destroying, the residue is cleaned: SQLite's WAL is truncated
(old page images would still hold the destroyed data keys, wrapped), and PostgreSQL's
tables that held keys and sealed values are vacuumed (dead row versions likewise).
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import connection

log = logging.getLogger(__name__)

# Tables whose dead rows may hold wrapped keys or sealed values (PostgreSQL VACUUM).
_VACUUM = ["privacy_datakey", "dispatch_incident", "dispatch_outcome", "dispatch_incidentnote",
           "checkins_checkin", "checkins_savedplan", "intake_smsconversation",
           "intake_inboundsms", "notify_message"]


def purge_due(*, now: datetime) -> dict[str, int]:
    from spotline.api.housekeeping import idempotency_expire
    from spotline.checkins.actions import plans_expire
    from spotline.dispatch.models import Timer, TimerKind
    from spotline.dispatch.worker import fire_timer
    from spotline.intake.sms import inbound_expire

    due = (Timer.objects.filter(kind=TimerKind.PURGE, fired_at__isnull=True, due_at__lte=now)
           .order_by("due_at", "id").values_list("id", flat=True))
    counts = {
        "incidents": sum(fire_timer(timer_id, now=now) for timer_id in list(due)),
        "saved_plans": plans_expire(now=now),
        "sms_rows": inbound_expire(now),
        "idempotency_answers": idempotency_expire(now=now),
    }
    clean_residue()
    log.info("purge done %s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def clean_residue() -> None:
    """Make destroyed rows physically gone, not only logically."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            if not connection.in_atomic_block:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        elif connection.vendor == "postgresql" and not connection.in_atomic_block:
            existing = set(connection.introspection.table_names(cursor))
            for table in _VACUUM:
                if table in existing:
                    cursor.execute(f"VACUUM {connection.ops.quote_name(table)}")


def clean_residue_if_destroyed_since(since: datetime) -> bool:
    """The worker's housekeeping: clean only when some key was destroyed meanwhile."""
    from spotline.privacy.models import DataKey

    if not DataKey.objects.filter(destroyed_at__gte=since).exists():
        return False
    clean_residue()
    return True
