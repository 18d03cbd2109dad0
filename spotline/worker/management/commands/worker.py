from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connections

from spotline.worker.loop import Worker


class Command(BaseCommand):
    help = ("Run the background work until stopped: fire due timers (offer expiry, "
            "escalation deadlines, check-ins, safety checks, purges), send the outbox, "
            "delete what retention says is no longer needed.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true",
                            help="run one pass of every step and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        # One thread in a loop: keep the connection between passes (web processes do
        # not, see DATABASES in settings.py). CONN_HEALTH_CHECKS replaces it if it died.
        conn = connections["default"]
        if (conn.vendor == "postgresql" and not conn.settings_dict["CONN_MAX_AGE"]
                and not conn.settings_dict["OPTIONS"].get("pool")):
            conn.settings_dict["CONN_MAX_AGE"] = 60
        worker = Worker(poll_seconds=settings.SPOTLINE_WORKER_POLL_SECONDS)
        if options["once"]:
            worker.step()
            done = worker.last_pass
            fired = done.get("dispatch timers", 0) + done.get("check-in deadlines", 0)
            self.stdout.write(f"fired {fired} timer(s)")
            self.stdout.write("; ".join(f"{name}: {n}" for name, n in done.items()))
            for name, record in worker.records.items():
                if record.failures:
                    self.stderr.write(f"step {name!r} failed ({record.last_error})")
            return
        worker.install_signal_handlers()
        worker.run()
