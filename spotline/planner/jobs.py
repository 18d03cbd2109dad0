"""Runs of the planner from ``/planner/``: the only code that writes ``PlanJob`` rows.

The worker fires overdose timers every second, so it never waits on a run:

1. ``job_create`` (the page) records a run whose export the upload already wrote into
   a private directory of its own (``directory_new``), queued.
2. The worker's step ``JobStarter`` gives runs whose lease ran out (their child died:
   killed, a reboot) one more start, then fails them; claims at most one queued run with
   a compare-and-set (one running at a time: a partial unique constraint), starts
   ``python -m spotline plan run-job ID`` in a session of its own and returns at once.
3. The child (``cli_job``) takes the run (``job_attach``: its host and pid), renews the
   lease and writes progress while it runs (``job_renew``), and ends it done or failed
   (``job_finish``); the export is deleted then, the outputs hold only counts.
4. ``job_delete`` (the coordinator) and ``jobs_expire`` (housekeeping, after
   ``SPOTLINE_PLANNER_RETENTION_DAYS``) delete the row and its directory together, and
   the housekeeping also deletes directories no row names (a crash between the two).
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext_noop

from spotline.datadir import private_dir
from spotline.planner.models import JobState, PlanJob

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # the child renews it every RENEW_SECONDS
RENEW_SECONDS = 10.0
MAX_ATTEMPTS = 2  # the first start and one more after the child died
# An upload being received has its directory but no row yet: never take it for residue.
ORPHAN_GRACE = timedelta(hours=1)
UPLOAD = "upload.csv"
OUT = "out"
# Names are ours (secrets.token_hex): nothing else in the folder is ever deleted.
_NAME = re.compile(r"^[0-9a-f]{32}$")

# Stored in English, shown translated (the page passes them through gettext).
STOPPED = gettext_noop("The run stopped before it ended (the server restarted or ran "
                       "out of memory). Start it again with a smaller sample.")
TOO_LONG = "The run took longer than {minutes} minutes and was stopped. Start it again " \
           "with a smaller sample."
NOT_STARTED = gettext_noop("The planner could not be started on the server; the log "
                           "says why. Start it again later.")


def too_long() -> str:
    """Why a run was stopped at SPOTLINE_PLANNER_MAX_RUN_MINUTES (the number in it)."""
    return TOO_LONG.format(minutes=settings.SPOTLINE_PLANNER_MAX_RUN_MINUTES)


def max_run() -> timedelta:
    return timedelta(minutes=settings.SPOTLINE_PLANNER_MAX_RUN_MINUTES)


def root() -> Path:
    return private_dir(Path(settings.SPOTLINE_PLANNER_DIR))


def directory_of(job: PlanJob) -> Path:
    return root() / job.directory


def directory_new() -> Path:
    """A new private directory for one upload (0700, a random name)."""
    return private_dir(root() / secrets.token_hex(16))


def remove_directory(path: Path) -> None:
    if path.parent == root() and _NAME.match(path.name):
        shutil.rmtree(path, ignore_errors=True)


def job_create(*, user_id: int, options: Mapping[str, Any], file_name: str,
               file_bytes: int, directory: Path, now: datetime) -> PlanJob:
    """A queued run of the export already written to ``directory``/upload.csv."""
    if directory.parent != root() or not _NAME.match(directory.name):
        raise ValueError("not a directory from directory_new()")
    job = PlanJob.objects.create(
        created_by_id=user_id, options=dict(options), file_name=file_name[:100],
        file_bytes=file_bytes, created_at=now, directory=directory.name)
    log.info("plan job queued job_id=%s bytes=%s", job.pk, file_bytes)
    return job


def job_delete(*, job_id: int, user_id: int) -> bool:
    """Delete the coordinator's run and its files at once (a running child notices it
    lost the run at its next renewal and stops). False: no such run of theirs."""
    with transaction.atomic():
        job = PlanJob.objects.filter(pk=job_id, created_by_id=user_id).first()
        if job is None:
            return False
        job.delete()
    remove_directory(root() / job.directory)
    log.info("plan job deleted job_id=%s", job_id)
    return True


# -- the worker's side ----------------------------------------------------------------------


def jobs_recover(*, now: datetime) -> int:
    """Runs past SPOTLINE_PLANNER_MAX_RUN_MINUTES: failed (their child renews the lease
    however stuck the pipeline is). Runs whose lease ran out: queued again once, then
    failed (never a loop)."""
    done = 0
    for job in PlanJob.objects.filter(state=JobState.RUNNING,
                                      started_at__lt=now - max_run()):
        # Its child notices at its next renewal and ends all its processes.
        if PlanJob.objects.filter(pk=job.pk, state=JobState.RUNNING,
                                  started_at=job.started_at).update(
                state=JobState.FAILED, error=too_long(), finished_at=now,
                lease_until=None, runner=""):
            drop_upload(directory_of(job))
            log.warning("plan job failed: it ran too long job_id=%s", job.pk)
            done += 1
    for job in PlanJob.objects.filter(state=JobState.RUNNING, lease_until__lt=now):
        same = PlanJob.objects.filter(pk=job.pk, state=JobState.RUNNING,
                                      lease_until=job.lease_until)
        if job.attempts >= MAX_ATTEMPTS:
            if same.update(state=JobState.FAILED, error=STOPPED, finished_at=now,
                           lease_until=None, runner=""):
                drop_upload(directory_of(job))
                log.warning("plan job failed: its run stopped %d times job_id=%s",
                            job.attempts, job.pk)
                done += 1
        elif same.update(state=JobState.QUEUED, lease_until=None, runner="", progress=0.0,
                         progress_label=""):
            log.warning("plan job queued again: its run stopped job_id=%s", job.pk)
            done += 1
    return done


def job_claim(*, now: datetime) -> PlanJob | None:
    """The oldest queued run, now running with a fresh lease; None when one is running
    already (here or on another worker) or none waits."""
    if PlanJob.objects.filter(state=JobState.RUNNING).exists():
        return None
    job = PlanJob.objects.filter(state=JobState.QUEUED).order_by("created_at", "pk").first()
    if job is None:
        return None
    try:
        with transaction.atomic():
            claimed = PlanJob.objects.filter(pk=job.pk, state=JobState.QUEUED).update(
                state=JobState.RUNNING, attempts=F("attempts") + 1, started_at=now,
                lease_until=now + LEASE, runner="", progress=0.0, progress_label="",
                error="")
    except IntegrityError:  # another worker started a run first
        return None
    return PlanJob.objects.get(pk=job.pk) if claimed else None


class JobStarter:
    """The worker's step: recover dead runs, claim one, start its child, return.

    ``command`` (plus the run's id) is what starts the child; tests pass their own.
    Children are polled every pass so none is left a zombie.
    """

    def __init__(self, *, command: Sequence[str] | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.command = list(command or [sys.executable, "-m", "spotline", "plan", "run-job"])
        self.env = dict(env) if env is not None else None
        self.children: list[subprocess.Popen[bytes]] = []

    def __call__(self, *, now: datetime) -> int:
        self.children = [c for c in self.children if c.poll() is None]
        done = jobs_recover(now=now)
        job = job_claim(now=now)
        if job is None:
            return done
        try:
            # A session of its own, so a run that lost its row can end all its processes.
            # It does not outlive the worker under systemd (KillMode=control-group, the
            # default): a restart of the worker stops the run too, and jobs_recover
            # starts it once more when its lease runs out.
            child = subprocess.Popen(  # noqa: S603 - our own command, no shell
                [*self.command, str(job.pk)], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, env=self.env, start_new_session=True)
        except OSError as exc:
            log.error("plan job could not start job_id=%s (%s)", job.pk, type(exc).__name__)
            job_finish(job_id=job.pk, runner="", error=NOT_STARTED, now=now)
            return done + 1
        self.children.append(child)
        log.info("plan job started job_id=%s attempt=%s pid=%s", job.pk, job.attempts,
                 child.pid)
        return done + 1


# -- the child's side -----------------------------------------------------------------------


def job_attach(*, job_id: int, runner: str, now: datetime) -> PlanJob | None:
    """The child takes its run (``runner``: host:pid); None when it is not waiting for
    a child (deleted, or another child has it)."""
    taken = PlanJob.objects.filter(pk=job_id, state=JobState.RUNNING, runner="").update(
        runner=runner[:100], lease_until=now + LEASE)
    return PlanJob.objects.get(pk=job_id) if taken else None


def job_renew(*, job_id: int, runner: str, now: datetime,
              progress: tuple[float, str] | None = None) -> bool:
    """Renew the lease (and write progress); False: the run is no longer this child's."""
    fields: dict[str, Any] = {"lease_until": now + LEASE}
    if progress is not None:
        fraction, label = progress
        fields |= {"progress": min(max(float(fraction), 0.0), 1.0),
                   "progress_label": label[:200]}
    return bool(PlanJob.objects.filter(pk=job_id, state=JobState.RUNNING,
                                       runner=runner).update(**fields))


def job_finish(*, job_id: int, runner: str, error: str | None, now: datetime,
               directory: str = "") -> bool:
    """End the run done (``error`` None) or failed, and delete its export. False: the
    run was not this child's any more; when it was deleted, its ``directory`` (which
    the child may have written to since) goes too."""
    fields: dict[str, Any] = {"finished_at": now, "lease_until": None,
                              "state": JobState.FAILED if error else JobState.DONE,
                              "error": (error or "")[:500]}
    if error is None:
        fields |= {"progress": 1.0, "progress_label": ""}
    ended = PlanJob.objects.filter(pk=job_id, state=JobState.RUNNING,
                                   runner=runner).update(**fields)
    job = PlanJob.objects.filter(pk=job_id).first()
    if ended and job is not None:
        drop_upload(directory_of(job))
        log.info("plan job %s job_id=%s", "failed" if error else "done", job_id)
    elif job is None and directory:
        remove_directory(root() / directory)
    return bool(ended)


def drop_upload(directory: Path) -> bool:
    """Delete the export (the calls themselves): True when there was one."""
    try:
        (directory / UPLOAD).unlink()
    except FileNotFoundError:
        return False
    return True


# -- retention ------------------------------------------------------------------------------


def jobs_expire(*, now: datetime) -> int:
    """Housekeeping: runs older than the retention (row and files), exports of ended
    runs still on disk, and directories no row names. Returns what it deleted."""
    cutoff = now - timedelta(days=settings.SPOTLINE_PLANNER_RETENTION_DAYS)
    old = list(PlanJob.objects.filter(created_at__lt=cutoff).values_list("pk", "directory"))
    if old:
        PlanJob.objects.filter(pk__in=[pk for pk, _ in old]).delete()
        for _, name in old:
            remove_directory(root() / name)
        log.info("plan jobs expired count=%d", len(old))
    done = len(old)
    for name in PlanJob.objects.filter(
            state__in=(JobState.DONE, JobState.FAILED)).values_list("directory", flat=True):
        done += drop_upload(root() / name)
    known = set(PlanJob.objects.values_list("directory", flat=True))
    for path in root().iterdir():
        if (_NAME.match(path.name) and path.name not in known
                and path.stat().st_mtime < (now - ORPHAN_GRACE).timestamp()):
            remove_directory(path)
            done += 1
    return done
