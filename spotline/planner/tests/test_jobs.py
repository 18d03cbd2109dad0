"""Planner runs in the worker: claimed one at a time, run in a child process that never
blocks the worker, retried once when the child dies, deleted with their files."""

from __future__ import annotations

import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from spotline.conftest import T0
from spotline.planner import cli_job, jobs
from spotline.planner.models import JobState, PlanJob
from spotline.planner.tests import standin
from spotline.planner.tests.planjobs import OPTIONS, child_env, coordinator, done, queued
from spotline.worker.steps import default_steps

HANG_SECONDS = 240.0  # only a stuck child reaches this; timings belong in bench/
# A child that dies at once, before it takes its run: what a killed runner looks like.
DIES = [sys.executable, "-c", "import sys"]


@pytest.fixture
def planner_dir(settings: Any, tmp_path: Path) -> Path:
    settings.SPOTLINE_PLANNER_DIR = tmp_path / "planner"
    return tmp_path / "planner"


def wait_for(child: Any) -> int:
    return int(child.wait(timeout=HANG_SECONDS))


def until(check: Any) -> None:
    end = time.monotonic() + HANG_SECONDS
    while not check():
        assert time.monotonic() < end, "gave up waiting"
        time.sleep(0.05)


def test_the_worker_lists_the_planner_steps() -> None:
    steps = {s.name: s for s in default_steps()}
    assert isinstance(steps["planner runs"].run, jobs.JobStarter)
    assert steps["planner retention"].run is jobs.jobs_expire


def test_it_claims_one_run_at_a_time_oldest_first(db: Any, planner_dir: Path) -> None:
    user = coordinator()
    first = queued(user, now=T0)
    second = queued(user, now=T0 + timedelta(seconds=1))
    starter = jobs.JobStarter(command=DIES)
    assert starter(now=T0 + timedelta(seconds=2)) == 1
    first.refresh_from_db()
    assert (first.state, first.attempts, first.runner) == (JobState.RUNNING, 1, "")
    assert first.lease_until == T0 + timedelta(seconds=2) + jobs.LEASE
    assert len(starter.children) == 1
    # While the first holds its lease, nothing else starts.
    assert starter(now=T0 + timedelta(seconds=3)) == 0
    assert PlanJob.objects.get(pk=second.pk).state == JobState.QUEUED
    wait_for(starter.children[0])


def test_a_run_whose_child_died_is_started_once_more_then_failed(
        db: Any, planner_dir: Path) -> None:
    job = queued(coordinator(), now=T0)
    upload = jobs.directory_of(job) / jobs.UPLOAD
    starter = jobs.JobStarter(command=DIES)
    assert starter(now=T0) == 1
    wait_for(starter.children[0])  # it never took its run: the lease runs out

    later = T0 + jobs.LEASE + timedelta(seconds=1)
    assert starter(now=later) == 2  # queued again, and started again
    job.refresh_from_db()
    assert (job.state, job.attempts) == (JobState.RUNNING, 2)
    assert upload.exists()
    wait_for(starter.children[-1])

    last = later + jobs.LEASE + timedelta(seconds=1)
    assert starter(now=last) == 1
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error) == (JobState.FAILED, 2, jobs.STOPPED)
    assert job.finished_at == last and job.lease_until is None
    assert not upload.exists()  # the calls go as soon as the run ends
    # Never a loop: nothing more happens to it.
    assert starter(now=last + timedelta(days=1)) == 0
    assert PlanJob.objects.get(pk=job.pk).state == JobState.FAILED


def test_a_child_that_cannot_start_fails_its_run(db: Any, planner_dir: Path) -> None:
    job = queued(coordinator(), now=T0)
    starter = jobs.JobStarter(command=[str(planner_dir / "no-such-program")])
    assert starter(now=T0) == 1
    job.refresh_from_db()
    assert (job.state, job.error) == (JobState.FAILED, jobs.NOT_STARTED)
    assert not (jobs.directory_of(job) / jobs.UPLOAD).exists()


def test_a_child_owns_its_run_alone(db: Any, planner_dir: Path) -> None:
    job = queued(coordinator(), now=T0)
    assert jobs.job_attach(job_id=job.pk, runner="h:1", now=T0) is None  # not claimed
    assert jobs.job_claim(now=T0) is not None
    assert jobs.job_attach(job_id=job.pk, runner="h:1", now=T0) is not None
    assert jobs.job_attach(job_id=job.pk, runner="h:2", now=T0) is None  # taken
    assert jobs.job_renew(job_id=job.pk, runner="h:2", now=T0) is False
    assert jobs.job_renew(job_id=job.pk, runner="h:1", now=T0 + timedelta(seconds=5),
                          progress=(1.7, "x" * 300)) is True
    job.refresh_from_db()
    assert (job.progress, len(job.progress_label)) == (1.0, 200)
    assert job.lease_until == T0 + timedelta(seconds=5) + jobs.LEASE
    assert not jobs.job_finish(job_id=job.pk, runner="h:2", error=None, now=T0)
    assert jobs.job_finish(job_id=job.pk, runner="h:1", error=None, now=T0)
    job.refresh_from_db()
    assert (job.state, job.progress) == (JobState.DONE, 1.0)
    assert not (jobs.directory_of(job) / jobs.UPLOAD).exists()


def test_a_run_deleted_while_it_runs_loses_its_files_when_it_ends(
        db: Any, planner_dir: Path) -> None:
    user = coordinator()
    job = queued(user, now=T0)
    jobs.job_claim(now=T0)
    jobs.job_attach(job_id=job.pk, runner="h:1", now=T0)
    assert jobs.job_delete(job_id=job.pk, user_id=user.pk)
    # The child wrote its outputs meanwhile, recreating the directory.
    (jobs.directory_of(job) / jobs.OUT).mkdir(parents=True)
    assert jobs.job_renew(job_id=job.pk, runner="h:1", now=T0) is False
    assert jobs.job_finish(job_id=job.pk, runner="h:1", error=None, now=T0,
                           directory=job.directory) is False
    assert not jobs.directory_of(job).exists()


def test_a_pipeline_error_fails_the_run_with_its_message(db: Any, planner_dir: Path) -> None:
    job = queued(coordinator(), now=T0)
    jobs.job_claim(now=timezone.now())
    assert cli_job.run_job(job.pk, run=standin.failing) == 0
    job.refresh_from_db()
    assert (job.state, job.error) == (JobState.FAILED, "the export has no column named 'when'")
    assert not (jobs.directory_of(job) / jobs.UPLOAD).exists()
    assert cli_job.run_job(job.pk, run=standin.failing) == cli_job.EXIT_NOT_WAITING


def test_an_unexpected_error_is_named_in_the_log_only(db: Any, planner_dir: Path,
                                                      caplog: Any) -> None:
    job = queued(coordinator(), now=T0)
    jobs.job_claim(now=timezone.now())

    def broken(*args: Any, **kwargs: Any) -> Path:
        raise ValueError("row 12: 1234 N Secret St")

    assert cli_job.run_job(job.pk, run=broken) == 0
    job.refresh_from_db()
    assert (job.state, job.error) == (JobState.FAILED, cli_job.UNEXPECTED)
    assert "ValueError" in caplog.text and "Secret" not in caplog.text


# -- real child processes: `python -m spotline plan run-job ID` --------------------------------


def test_the_worker_runs_the_real_pipeline_in_a_child(transactional_db: Any,
                                                      planner_dir: Path) -> None:
    job = queued(coordinator(), now=timezone.now(), options=OPTIONS)
    starter = jobs.JobStarter(env=child_env(planner_dir))
    assert starter(now=timezone.now()) == 1  # returns at once: the child runs alone
    child = starter.children[0]
    assert wait_for(child) == 0
    job.refresh_from_db()
    assert (job.state, job.progress, job.error) == (JobState.DONE, 1.0, "")
    assert job.runner.endswith(f":{child.pid}")
    out = jobs.directory_of(job) / jobs.OUT
    assert (out / "report.html").read_bytes().startswith(b"<!")
    assert (out / "staffing_curve.csv").exists() and (out / "report.json").exists()
    assert not (jobs.directory_of(job) / jobs.UPLOAD).exists()
    assert starter(now=timezone.now()) == 0 and starter.children == []  # reaped


def test_deleting_a_running_run_stops_its_child(transactional_db: Any,
                                                planner_dir: Path) -> None:
    user = coordinator()
    job = queued(user, now=timezone.now())
    starter = jobs.JobStarter(
        command=[sys.executable, "-m", "spotline", "plan", "run-job",
                 "--pipeline", "spotline.planner.tests.standin:endless"],
        env=child_env(planner_dir))
    assert starter(now=timezone.now()) == 1
    child = starter.children[0]
    assert child.poll() is None  # the step returned; the run goes on without it
    until(lambda: PlanJob.objects.get(pk=job.pk).progress > 0)
    running = PlanJob.objects.get(pk=job.pk)
    assert running.state == JobState.RUNNING and running.progress_label.startswith("step ")
    assert jobs.job_delete(job_id=job.pk, user_id=user.pk)
    # At its next progress report the child finds its run gone and ends its group.
    assert wait_for(child) == -signal.SIGKILL
    assert not jobs.directory_of(job).exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(child.pid, 0)


# -- retention ------------------------------------------------------------------------------


def test_retention_deletes_old_runs_and_stray_files(db: Any, planner_dir: Path,
                                                    settings: Any) -> None:
    settings.SPOTLINE_PLANNER_RETENTION_DAYS = 7
    user = coordinator()
    now = timezone.now()
    old = done(user, now=now - timedelta(days=8), files={"report.html": b"<!doctype html>"})
    ended = done(user, now=now - timedelta(days=1))
    recent = queued(user, now=now - timedelta(days=6))
    # A crash left an ended run's export behind, and a directory without a row.
    (jobs.directory_of(ended) / jobs.UPLOAD).write_bytes(b"calls")
    stray = jobs.directory_new()
    (stray / jobs.UPLOAD).write_bytes(b"calls")
    an_hour_ago = (now - jobs.ORPHAN_GRACE - timedelta(minutes=1)).timestamp()
    os.utime(stray, (an_hour_ago, an_hour_ago))
    arriving = jobs.directory_new()  # an upload still arriving: no row yet, but fresh
    unrelated = planner_dir / "notes"
    unrelated.mkdir()

    assert jobs.jobs_expire(now=now) == 3
    assert set(PlanJob.objects.values_list("pk", flat=True)) == {recent.pk, ended.pk}
    assert not jobs.directory_of(old).exists()
    assert not stray.exists()
    assert not (jobs.directory_of(ended) / jobs.UPLOAD).exists()
    assert (jobs.directory_of(recent) / jobs.UPLOAD).exists()  # not ended: still needed
    assert arriving.exists() and unrelated.exists()
    assert jobs.jobs_expire(now=now) == 0
