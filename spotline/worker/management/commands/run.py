from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from spotline.worker.loop import Worker

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = ("Migrate, then serve Spotline (web, live updates and worker in one process; "
            "or --workers N web processes, with --no-worker).")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true",
                            help="do not run the timer worker in this process "
                                 "(when separate 'spotline worker' processes run)")
        parser.add_argument("--workers", type=int, default=1,
                            help="web processes (uvicorn's supervisor restarts any that "
                                 "dies); more than 1 needs --no-worker")

    def handle(self, *args: Any, **options: Any) -> None:
        workers = options["workers"]
        if workers < 1:
            raise CommandError("--workers is at least 1")
        if workers > 1 and not options["no_worker"]:
            # Each web process is a copy of one configuration: the timer worker cannot
            # live in just one of them, and N copies of it would be N workers nobody
            # chose. Say so rather than silently leave timers unfired.
            raise CommandError(
                "--workers N serves web processes only: add --no-worker and run "
                "'spotline worker' processes beside them (timers fire nowhere else)")
        if workers > 1:
            self.serve_many(options["host"], options["port"], workers)
        else:
            self.serve_one(options)

    def prepare(self) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)

    def announce(self, host: str, port: int, processes: str = "") -> None:
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(f"Spotline is serving on http://{host}:{port}/ "
                          f"(database: {engine}{processes})")
        self.stdout.flush()

    def serve_one(self, options: dict[str, Any]) -> None:
        self.prepare()
        host, port = options["host"], options["port"]
        _fresh_metrics_dir()
        self.announce(host, port)
        worker = None if options["no_worker"] else Worker(
            poll_seconds=settings.SPOTLINE_WORKER_POLL_SECONDS)
        if worker is not None:
            # uvicorn handles SIGTERM/SIGINT itself, then restores the handlers it found
            # and raises the signal again: with these in place that second delivery
            # stops the worker between passes instead of killing the process mid-loop.
            def stop(signum: int, frame: object) -> None:
                worker.stopping.set()

            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        asyncio.run(self.serve(host, port, worker))

    async def serve(self, host: str, port: int, worker: Worker | None) -> None:
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(**_uvicorn_options(host, port)))
        task = asyncio.create_task(self.work(worker)) if worker is not None else None
        try:
            await server.serve()
        finally:
            if worker is not None and task is not None:
                worker.stopping.set()
                await task

    async def work(self, worker: Worker) -> None:
        """The worker's passes, on one thread of their own, driven from the event loop.

        Running them from the server's loop (rather than a bare thread) lets the live
        pushes a timer causes reach this process's WebSocket clients through the
        in-memory channel layer.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spotline-worker")
        step = sync_to_async(worker.step_guarded, thread_sensitive=False, executor=executor)
        log.info("worker started")
        while not worker.stopping.is_set():
            # The same backoff through a database outage as `spotline worker`.
            wait = await step()
            if wait:
                await asyncio.sleep(wait)
        executor.submit(connections.close_all).result()
        executor.shutdown()
        log.info("worker stopped")

    def serve_many(self, host: str, port: int, workers: int) -> None:
        """``workers`` uvicorn processes sharing one socket, under uvicorn's supervisor:
        it restarts a process that dies and stops them all on SIGTERM/SIGINT."""
        import uvicorn

        self.prepare()
        made = ""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Without it each process would count only its own requests, and /metrics
            # would answer with whichever process took the scrape.
            made = tempfile.mkdtemp(prefix="spotline-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
        _fresh_metrics_dir()
        self.announce(host, port, f", {workers} web processes, no timer worker")
        # Closed before the processes start: they open their own connections.
        connections.close_all()
        try:
            uvicorn.run(workers=workers, **_uvicorn_options(host, port))
        finally:
            if made:
                shutil.rmtree(made, ignore_errors=True)


def _uvicorn_options(host: str, port: int) -> dict[str, Any]:
    # No access log: request lines carry tracking and check-in tokens. log_config=None
    # leaves logging as settings.LOGGING set it (JSON, redacted) instead of uvicorn's.
    # Client addresses come from X-Forwarded-For only from our trusted proxies.
    proxies = settings.SPOTLINE_TRUSTED_PROXIES
    return {"app": "spotline.asgi:application", "host": host, "port": port,
            "log_level": "warning", "lifespan": "off", "access_log": False,
            "log_config": None, "proxy_headers": bool(proxies),
            "forwarded_allow_ips": proxies or None}


def _fresh_metrics_dir() -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR of a previous run's files (prometheus_client asks
    for it: counts left by dead processes of another run would be added in)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))
