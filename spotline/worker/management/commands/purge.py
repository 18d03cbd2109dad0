from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from spotline.worker.retention import purge_due


class Command(BaseCommand):
    help = ("Destroy now whatever personal data is due for destruction (incidents past "
            "SPOTLINE_RETENTION_HOURS, unused saved plans, old SMS rows, the words of "
            "alert reports), then clean the residue (SQLite WAL, PostgreSQL dead rows). "
            "The worker does this by itself; this runs it at once.")

    def handle(self, *args: Any, **options: Any) -> None:
        counts = purge_due(now=timezone.now())
        self.stdout.write(json.dumps({"purged": counts}))
