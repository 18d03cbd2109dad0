from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

from spotline.dispatch.worker import Worker

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Migrate, then serve Spotline (web, live updates and worker in one process)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true",
                            help="do not run the timer worker in this process "
                                 "(when separate 'spotline worker' processes run)")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        host, port = options["host"], options["port"]
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(f"Spotline is serving on http://{host}:{port}/ (database: {engine})")
        self.stdout.flush()
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

        # No access log: request lines carry tracking and check-in tokens. log_config=None
        # leaves logging as settings.LOGGING set it (JSON, redacted) instead of uvicorn's.
        # Client addresses come from X-Forwarded-For only from our trusted proxies.
        proxies = settings.SPOTLINE_TRUSTED_PROXIES
        config = uvicorn.Config("spotline.asgi:application", host=host, port=port,
                                log_level="warning", lifespan="off", access_log=False,
                                log_config=None, proxy_headers=bool(proxies),
                                forwarded_allow_ips=proxies or None)
        server = uvicorn.Server(config)
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
        step = sync_to_async(worker.step, thread_sensitive=False, executor=executor)
        log.info("worker started")
        while not worker.stopping.is_set():
            try:
                fired = await step()
            except Exception as exc:
                log.error("worker pass failed (%s); retrying", type(exc).__name__)
                fired = 0
            if not fired:
                await asyncio.sleep(worker.poll_seconds)
        executor.submit(connections.close_all).result()
        executor.shutdown()
        log.info("worker stopped")
