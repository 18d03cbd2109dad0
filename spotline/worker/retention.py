"""Retention: everything that destroys personal data when its time is up.

The worker does this as it goes (dispatch's purge timers, and the housekeeping steps
in ``steps``); ``spotline purge`` (``purge_due``) does all of it at once for what is
due. After destroying, the residue is cleaned: SQLite's WAL is truncated (old page
images would still hold the destroyed data keys, wrapped), and PostgreSQL's tables that
held keys and sealed values are vacuumed (dead row versions likewise).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connection

from spotline.alerts.actions.reports import reports_purge
from spotline.alerts.sms import conversations_expire
from spotline.api.housekeeping import idempotency_expire
from spotline.checkins.plans import plans_expire
from spotline.dispatch import timers
from spotline.intake.sms import inbound_expire
from spotline.intake.submissions import submissions_expire
from spotline.privacy.models import DataKey

log = logging.getLogger(__name__)

# Tables whose dead rows may hold wrapped keys or sealed values (PostgreSQL VACUUM).
_VACUUM = ["privacy_datakey", "dispatch_incident", "dispatch_outcome", "dispatch_incidentnote",
           "checkins_checkin", "checkins_savedplan", "intake_smsconversation",
           "intake_inboundsms", "intake_formsubmission", "notify_message", "alerts_report",
           "alerts_subscriber", "alerts_alertconversation"]


def purge_due(*, now: datetime) -> dict[str, int]:
    counts = {
        "incidents": timers.purge_due(now=now),
        "saved_plans": plans_expire(now=now),
        "sms_rows": inbound_expire(now=now),
        "help_form_submissions": submissions_expire(now=now),
        "idempotency_answers": idempotency_expire(now=now),
        "alert_reports": reports_purge(now=now),
        "alert_sms_conversations": conversations_expire(now=now),
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


class ResidueCleaner:
    """The worker's step: clean the residue only when some key was destroyed since it
    last looked (a VACUUM or a WAL truncation per minute would be waste)."""

    def __init__(self) -> None:
        self.since: datetime | None = None

    def __call__(self, *, now: datetime) -> int:
        # The first look covers the last day: keys destroyed before a restart count.
        since, self.since = self.since or now - timedelta(days=1), now
        if not DataKey.objects.filter(destroyed_at__gte=since).exists():
            return 0
        clean_residue()
        return 0  # cleaning is not work that makes more work due
