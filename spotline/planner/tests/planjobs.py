"""What the page and job tests share: a tiny export, a coordinator, runs in each state,
and the environment a real child process needs to reach the test database."""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import connection

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.planner import jobs
from spotline.planner.models import PlanJob

TYPES = ("WELFARE CITIZEN", "OVERDOSE", "SUBJ WITH MENTAL ILLNESS", "BATTERY",
         "TRAFFIC STOP", "SICK PERSON", "TRBL W/SUBJ")
OPTIONS = {"time": "time", "type": "nature", "desc": None, "lat": "latitude",
           "lon": "longitude", "responders": 2, "target_median_minutes": 5.0,
           "target_served": 0.9, "max_responders": 3, "sample": None, "seed": 1}


def tiny_csv(rows: int = 60) -> bytes:
    """Made-up calls in Milwaukee's shape: a few types, spread over six days."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["time", "nature", "latitude", "longitude"])
    for i in range(rows):
        w.writerow([f"2018-05-{1 + i // 10:02d} {i % 24:02d}:{i * 7 % 60:02d}:00",
                    TYPES[i % len(TYPES)], f"{43.03 + (i * 37 % 50) / 1000:.5f}",
                    f"{-87.95 + (i * 23 % 50) / 1000:.5f}"])
    return out.getvalue().encode()


def coordinator(name: str = "cory") -> Any:
    return user_create(name=name, role=Role.COORDINATOR, password=None)


def queued(user: Any, *, now: datetime, data: bytes | None = None,
           options: dict[str, Any] | None = None) -> PlanJob:
    directory = jobs.directory_new()
    (directory / jobs.UPLOAD).write_bytes(tiny_csv() if data is None else data)
    return jobs.job_create(user_id=user.pk, options=options or OPTIONS,
                           file_name="calls.csv", file_bytes=100, directory=directory,
                           now=now)


def done(user: Any, *, now: datetime, files: dict[str, bytes] | None = None) -> PlanJob:
    """A run that ended well, with ``files`` (name -> bytes) as its outputs."""
    job = queued(user, now=now)
    claimed = jobs.job_claim(now=now)
    assert claimed is not None and claimed.pk == job.pk
    assert jobs.job_attach(job_id=job.pk, runner="test:1", now=now)
    out = jobs.directory_of(job) / jobs.OUT
    out.mkdir()
    for name, content in (files or {}).items():
        (out / name).write_bytes(content)
    assert jobs.job_finish(job_id=job.pk, runner="test:1", error=None, now=now)
    return PlanJob.objects.get(pk=job.pk)


def child_env(planner_dir: Path) -> dict[str, str]:
    """The child's environment: this test's database and planner folder."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SPOTLINE_SQLITE_PATH", "DJANGO_SETTINGS_MODULE")}
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SPOTLINE_SQLITE_PATH"] = str(db["NAME"])
    else:
        env["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:"
                               f"{db['PORT']}/{db['NAME']}")
    env["SPOTLINE_PLANNER_DIR"] = str(planner_dir)
    env["SPOTLINE_PLANNER_JOBS"] = "1"
    return env
