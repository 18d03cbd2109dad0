from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from spotline.dispatch.worker import Worker


class Command(BaseCommand):
    help = "Fire due timers (offer expiry, escalation deadlines, purges) until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true",
                            help="run one pass over the due timers and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        # One thread in a loop: keep the connection between passes (web processes do
        # not, see DATABASES in settings.py). CONN_HEALTH_CHECKS replaces it if it died.
        conn = connections["default"]
        if (conn.vendor == "postgresql" and not conn.settings_dict["CONN_MAX_AGE"]
                and not conn.settings_dict["OPTIONS"].get("pool")):
            conn.settings_dict["CONN_MAX_AGE"] = 60
        worker = Worker(poll_seconds=settings.SPOTLINE_WORKER_POLL_SECONDS)
        if options["once"]:
            fired = worker.step()
            self.stdout.write(f"fired {fired} timer(s)")
            return
        worker.install_signal_handlers()
        worker.run()
