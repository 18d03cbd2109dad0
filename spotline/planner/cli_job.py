"""``spotline plan run-job ID``: one run of ``/planner/``, in a process of its own.

The worker starts this (``jobs.JobStarter``) and never waits for it. It:

1. takes the run as its own (``jobs.job_attach``: host and pid), or exits 3 when the run
   is not waiting for a child (deleted, or another child has it);
2. renews the lease every ``jobs.RENEW_SECONDS`` from a thread while the pipeline runs,
   and writes the pipeline's progress at most once a second;
3. ends the run done, or failed with the pipeline's message (any other error: its class
   name in the log, a plain sentence on the page); the export is deleted either way.

A run that is deleted (or lost to another child after a stall) while it goes on ends
this process and the staffing search's processes with it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.translation import gettext_noop

from spotline.planner import jobs, pipeline
from spotline.planner.models import PlanJob

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 1.0
EXIT_NOT_WAITING = 3
UNEXPECTED = gettext_noop("The planner stopped on an error it did not expect; the "
                          "server's log names it. Check the columns and start it again.")

Pipeline = Callable[..., Path]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("run-job", help="run one of /planner/'s runs (the worker starts "
                                       "this; it is not meant to be typed)")
    p.add_argument("job_id", type=int, metavar="ID")
    # Tests give a stand-in with pipeline.run's signature ("module:function").
    p.add_argument("--pipeline", help=argparse.SUPPRESS)


def handle(options: dict[str, Any], stdout: Any, stderr: Any) -> None:
    run = _pipeline(options.get("pipeline"))
    _yield_to_dispatch()
    code = run_job(options["job_id"], run=run)
    if code:
        raise CommandError(f"plan job {options['job_id']} is not waiting for a runner",
                           returncode=code)


def _pipeline(name: str | None) -> Pipeline:
    if not name:
        return pipeline.run
    module, _, function = name.partition(":")
    found: Pipeline = getattr(importlib.import_module(module), function)
    return found


def _yield_to_dispatch() -> None:
    """The run's processes (the staffing search's pool inherits this) give way to the
    worker's dispatch timers for the CPU, and to everything else for memory."""
    os.nice(10)
    with contextlib.suppress(OSError):  # not Linux, or not allowed: the nice value holds
        Path("/proc/self/oom_score_adj").write_text("1000")


def _cores() -> int:
    wanted = int(settings.SPOTLINE_PLANNER_JOBS)
    return wanted or max(1, (os.cpu_count() or 2) - 1)


def _end_everything() -> NoReturn:
    """Stop this run now, with the staffing search's processes when they share our
    session (the worker starts us as a session leader)."""
    if os.getpgid(0) == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(EXIT_NOT_WAITING)


class Lease(threading.Thread):
    """Renews the lease while the run goes on; losing it, or running past
    SPOTLINE_PLANNER_MAX_RUN_MINUTES, ends the process."""

    def __init__(self, job: PlanJob, runner: str) -> None:
        super().__init__(name=f"plan-job-{job.pk}-lease", daemon=True)
        self.job, self.runner = job, runner
        self.deadline = time.monotonic() + jobs.max_run().total_seconds()
        self.stopping = threading.Event()
        self.lock = threading.Lock()  # one renewal at a time, this thread's or progress's

    def renew(self, progress: tuple[float, str] | None = None) -> None:
        with self.lock:
            if self.stopping.is_set():
                return
            if not jobs.job_renew(job_id=self.job.pk, runner=self.runner,
                                  now=timezone.now(), progress=progress):
                log.warning("plan job lost its run; stopping job_id=%s", self.job.pk)
                if not PlanJob.objects.filter(pk=self.job.pk).exists():
                    jobs.remove_directory(jobs.directory_of(self.job))
                _end_everything()

    def run(self) -> None:
        try:
            while not self.stopping.wait(jobs.RENEW_SECONDS):
                if time.monotonic() > self.deadline:
                    self.give_up()
                try:
                    self.renew()
                except DatabaseError as exc:
                    # The database restarting: the lease lasts several renewals, so try
                    # again on a new connection next time; only losing the run ends it.
                    log.warning("plan job could not renew its lease job_id=%s (%s)",
                                self.job.pk, type(exc).__name__)
                    connection.close()
        finally:
            connection.close()  # this thread's own

    def give_up(self) -> None:
        """A stuck pipeline: fail the run and end every process of it."""
        with self.lock:
            if self.stopping.is_set():
                return
            log.warning("plan job ran too long; stopping job_id=%s", self.job.pk)
            try:
                jobs.job_finish(job_id=self.job.pk, runner=self.runner,
                                error=jobs.too_long(), now=timezone.now(),
                                directory=self.job.directory)
            except DatabaseError as exc:  # the worker's jobs_recover fails it instead
                log.warning("plan job could not be failed job_id=%s (%s)", self.job.pk,
                            type(exc).__name__)
            _end_everything()


class Progress:
    """The pipeline's progress callback: written at most once a second."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.last = float("-inf")

    def __call__(self, fraction: float, what: str) -> None:
        moment = time.monotonic()
        if moment - self.last < PROGRESS_EVERY_SECONDS:
            return
        self.last = moment
        try:
            self.lease.renew((fraction, what))
        except DatabaseError as exc:
            # The database restarting: a progress line is not worth the run; the next
            # one (or the lease thread's renewal) writes again.
            log.warning("plan job could not write its progress (%s)", type(exc).__name__)
            connection.close()


def run_job(job_id: int, *, run: Pipeline) -> int:
    """Run the run ``job_id``; 0 when it ended (done or failed), else EXIT_NOT_WAITING."""
    runner = f"{socket.gethostname()}:{os.getpid()}"
    job = jobs.job_attach(job_id=job_id, runner=runner, now=timezone.now())
    if job is None:
        return EXIT_NOT_WAITING
    directory = jobs.directory_of(job)
    lease = Lease(job, runner)
    lease.start()
    error: str | None = None
    try:
        options = pipeline.JobOptions(**job.options)
        run(directory / jobs.UPLOAD, options, directory / jobs.OUT,
            progress=Progress(lease), jobs=_cores())
    except pipeline.PipelineError as exc:
        error = str(exc) or UNEXPECTED
    except Exception as exc:
        # Only the class name: a message could quote a row of the calls.
        log.error("plan job failed job_id=%s (%s)", job_id, type(exc).__name__)
        error = UNEXPECTED
    finally:
        with lease.lock:
            lease.stopping.set()
    lease.join()
    jobs.job_finish(job_id=job_id, runner=runner, error=error, now=timezone.now(),
                    directory=job.directory)
    return 0
