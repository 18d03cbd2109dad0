from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn
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
        if not 1 <= options["port"] <= 65535:
            raise CommandError("--port is between 1 and 65535")
        if workers > 1 and not options["no_worker"]:
            # Each web process is a copy of one configuration: the timer worker cannot
            # live in just one of them, and N copies of it would be N workers nobody
            # chose. Say so rather than silently leave timers unfired.
            raise CommandError(
                "--workers N serves web processes only: add --no-worker and run "
                "'spotline worker' processes beside them (timers fire nowhere else)")
        # The address first, before migrating or saying anything: a port another
        # process holds (often an earlier `make run` still running) is one clear line
        # and an exit, not "serving on ..." followed by uvicorn's error.
        sock = self.claim(options["host"], options["port"])
        if workers > 1:
            self.serve_many(options["host"], options["port"], workers, sock)
        else:
            self.serve_one(options, sock)

    def claim(self, host: str, port: int) -> socket.socket:
        """Bind and listen on host:port as uvicorn would, or stop with one line."""
        try:
            return _listening_socket(host, port)
        except OSError as exc:
            self.stderr.write(f"spotline: cannot serve on {_address(host, port)}: "
                              f"{_why(exc, port)}")
            sys.exit(1)

    def prepare(self) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)

    def announce(self, host: str, port: int, processes: str = "") -> None:
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        self.stdout.write(f"Spotline is serving on http://{_address(host, port)}/ "
                          f"(database: {engine}{processes})")
        self.stdout.flush()

    def serve_one(self, options: dict[str, Any], sock: socket.socket) -> None:
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
        asyncio.run(self.serve(host, port, sock, worker))

    async def serve(self, host: str, port: int, sock: socket.socket,
                    worker: Worker | None) -> None:
        server = uvicorn.Server(uvicorn.Config(**_uvicorn_options(host, port)))
        task = asyncio.create_task(self.work(worker)) if worker is not None else None
        try:
            await server.serve(sockets=[sock])  # the socket claimed above
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

    def serve_many(self, host: str, port: int, workers: int, sock: socket.socket) -> None:
        """``workers`` uvicorn processes sharing one socket, under uvicorn's supervisor:
        it restarts a process that dies and stops them all on SIGTERM/SIGINT."""
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
        # uvicorn's supervisor binds the socket its processes share itself (it takes
        # none through its public API), so the one claimed above is let go only now,
        # after migrating, and uvicorn binds the same address at once. (Another program
        # taking the port in that instant would still get uvicorn's own error.)
        sock.close()
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


def _listening_socket(host: str, port: int) -> socket.socket:
    """The socket uvicorn would bind (its rule for the address family, SO_REUSEADDR so
    that connections of a previous run in TIME_WAIT do not block a restart), listening,
    so that no other program can take the address once we hold it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # uvicorn's default backlog
    except OSError:
        sock.close()
        raise
    return sock


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _why(exc: OSError, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        other = port + 1 if port < 65535 else port - 1
        return (f"the port is already in use (try --port {other}, or "
                f"make run PORT={other})")
    if exc.errno == errno.EACCES and port < 1024:
        return "permission denied (ports below 1024 need privileges; use 1024 or above)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "this machine has no such address"
    reason = exc.strerror or str(exc)  # e.g. "Name or service not known"
    return reason[:1].lower() + reason[1:]


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
