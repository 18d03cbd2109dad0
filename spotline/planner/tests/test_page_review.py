"""A review of ``/planner/`` and its runs by tests: each one fails on a bug found there.

1. A run whose pipeline hangs keeps its lease (the lease thread renews it whatever the
   pipeline does), so it runs for ever and every later run waits behind it.
2. The run's processes take the cores at the worker's own priority: the dispatch
   timers compete with the staffing search for the CPU.
3. Under ASGI (uvicorn, the deployment) Django receives the whole body into a temporary
   file before any middleware or view runs: the 413 "before a byte is read" comes after
   every byte, for anyone, signed in or not.
4. An export without a header row: the run's error quotes the header, which is then
   the first call (its address, its coordinates), kept in the row for the retention.
5. One failed renewal (the database restarting) ends the lease thread for good: the
   lease runs out while the run goes on, and a second child starts on the same run.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import OperationalError
from django.utils import timezone

from spotline.asgi import application  # what uvicorn serves
from spotline.conftest import T0
from spotline.planner import cli_job, jobs, pipeline
from spotline.planner.models import JobState, PlanJob
from spotline.planner.tests.planjobs import child_env, coordinator, queued
from spotline.planner.tests.standin import HANG_SECONDS

RUNNER = "host:1"


@pytest.fixture
def planner_dir(settings: Any, tmp_path: Path) -> Path:
    settings.SPOTLINE_PLANNER_DIR = tmp_path / "planner"
    return tmp_path / "planner"


# -- 1. a run that never ends ---------------------------------------------------------------


def test_a_run_that_hangs_is_ended_and_the_next_run_starts(db: Any,
                                                           planner_dir: Path) -> None:
    user = coordinator()
    stuck = queued(user, now=T0)
    assert jobs.job_claim(now=T0) is not None
    assert jobs.job_attach(job_id=stuck.pk, runner=RUNNER, now=T0)
    waiting = queued(user, now=T0 + timedelta(seconds=1))
    # The pipeline is stuck (a deadlocked pool, a read from a hung mount), but the
    # child's lease thread goes on renewing every RENEW_SECONDS: two days of it.
    now = T0
    while now < T0 + timedelta(days=2):
        now += timedelta(minutes=10)
        assert jobs.job_renew(job_id=stuck.pk, runner=RUNNER, now=now)
    jobs.jobs_recover(now=now)
    assert PlanJob.objects.get(pk=stuck.pk).state == JobState.FAILED
    claimed = jobs.job_claim(now=now)
    assert claimed is not None and claimed.pk == waiting.pk


# -- 2. the run's CPU priority --------------------------------------------------------------


def niceness(calls: Path, options: pipeline.JobOptions, out: Path, *, progress: Any,
             jobs: int = 1) -> Path:
    """A stand-in for pipeline.run recording the priority the run's processes get."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "nice").write_text(str(os.nice(0)))
    return out / "nice"


def test_the_run_yields_the_cpu_to_the_dispatch_timers(transactional_db: Any,
                                                       planner_dir: Path) -> None:
    job = queued(coordinator(), now=timezone.now())
    starter = jobs.JobStarter(
        command=[sys.executable, "-m", "spotline", "plan", "run-job", "--pipeline",
                 "spotline.planner.tests.test_page_review:niceness"],
        env=child_env(planner_dir))
    assert starter(now=timezone.now()) == 1
    assert starter.children[0].wait(timeout=HANG_SECONDS) == 0
    assert PlanJob.objects.get(pk=job.pk).state == JobState.DONE
    run = int((jobs.directory_of(job) / jobs.OUT / "nice").read_text())
    assert run > os.nice(0)  # the worker (this process) goes first


# -- 3. the body under ASGI -----------------------------------------------------------------


def test_an_oversized_upload_is_refused_before_its_body_is_received(
        db: Any, settings: Any, planner_dir: Path) -> None:
    settings.SPOTLINE_PLANNER_MAX_UPLOAD_MB = 1
    chunk = b"x" * (64 * 1024)
    chunks = 128  # 8 MB, and it says so: no session, no CSRF token, nothing but bytes
    received = [0]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if received[0] == chunks:
            await asyncio.sleep(3600)  # the client waits for its answer
        received[0] += 1
        return {"type": "http.request", "body": chunk,
                "more_body": received[0] < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/planner/", "raw_path":
             b"/planner/", "query_string": b"", "root_path": "",
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"),
                         (b"content-type", b"multipart/form-data; boundary=XX"),
                         (b"content-length", str(chunks * len(chunk)).encode())]}

    async def serve() -> None:
        await asyncio.wait_for(application(scope, receive, send), timeout=60)

    asyncio.run(serve())
    assert sent and sent[0]["status"] in (302, 404, 413)
    # Django read all 8 MB into a temporary file before the view said no.
    assert received[0] < chunks


# -- 4. what a failed run keeps -------------------------------------------------------------


def test_a_headerless_export_leaves_no_call_in_the_runs_error(tmp_path: Path) -> None:
    calls = tmp_path / "calls.csv"
    # A common export mistake: no header row, so the first call is taken for one.
    calls.write_text("2018-05-01 00:03:00,OVERDOSE,2400 N 5TH ST,43.06122,-87.91938\n"
                     "2018-05-01 00:09:00,BATTERY,1100 W WELLS ST,43.04011,-87.92555\n")
    options = pipeline.JobOptions(time="time", type="nature", lat="latitude",
                                  lon="longitude")
    with pytest.raises(pipeline.PipelineError) as failed:
        pipeline.run(calls, options, tmp_path / "out")
    # cli_job stores this message in PlanJob.error, shown on the page and status.json
    # and kept with the row for SPOTLINE_PLANNER_RETENTION_DAYS after the export is gone.
    message = str(failed.value)
    assert "2400 N 5TH ST" not in message and "43.06122" not in message


# -- 5. the lease outlives a database hiccup ------------------------------------------------


def test_the_lease_survives_one_failed_renewal(db: Any, planner_dir: Path,
                                               monkeypatch: Any) -> None:
    job = queued(coordinator(), now=T0)
    lease = cli_job.Lease(job, RUNNER)
    calls: list[int] = []

    def renew(**kwargs: Any) -> bool:
        calls.append(1)
        if len(calls) == 1:  # PostgreSQL restarting (an upgrade at 3 a.m.)
            raise OperationalError("server closed the connection unexpectedly")
        lease.stopping.set()  # the second renewal: enough, the run ends here
        return True

    monkeypatch.setattr(jobs, "job_renew", renew)
    monkeypatch.setattr(jobs, "RENEW_SECONDS", 0.0)
    monkeypatch.setattr(cli_job, "connection", SimpleNamespace(close=lambda: None))
    # Run in this thread: an error that ends the loop ends the renewals for good, the
    # lease runs out while the pipeline goes on, and the worker starts a second child
    # on the same run and directory.
    lease.run()
    assert len(calls) == 2
