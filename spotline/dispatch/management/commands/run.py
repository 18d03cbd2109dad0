from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

from spotline.dispatch.worker import Worker

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Migrate, then serve Spotline (web and worker in one process)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true",
                            help="do not run the timer worker in this process "
                                 "(when separate 'spotline worker' processes run)")

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        call_command("migrate", interactive=False, verbosity=0)
        worker: Worker | None = None
        thread: threading.Thread | None = None
        if not options["no_worker"]:
            worker = Worker(poll_seconds=settings.SPOTLINE_WORKER_POLL_SECONDS)

            def run_worker() -> None:
                try:
                    worker.run()
                finally:
                    connections.close_all()

            thread = threading.Thread(target=run_worker, name="spotline-worker", daemon=True)
            thread.start()

            # uvicorn handles SIGTERM/SIGINT itself, then restores the handlers it found
            # and raises the signal again. With these in place that second delivery
            # stops the worker between passes instead of killing the process mid-loop.
            def stop(signum: int, frame: object) -> None:
                worker.stopping.set()

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        host, port = options["host"], options["port"]
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(f"Spotline is serving on http://{host}:{port}/ (database: {engine})")
        self.stdout.flush()
        try:
            uvicorn.run("spotline.asgi:application", host=host, port=port,
                        log_level="warning", lifespan="off", access_log=False)
        finally:
            if worker is not None and thread is not None:
                worker.stopping.set()
                thread.join(timeout=5)
