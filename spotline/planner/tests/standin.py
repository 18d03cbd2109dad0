"""Stand-ins for ``pipeline.run`` (same signature) that a test's child process runs
(``plan run-job --pipeline spotline.planner.tests.standin:NAME``): one that keeps
reporting progress until its run is taken away, one that fails as a pipeline does."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from spotline.planner.pipeline import JobOptions, PipelineError

HANG_SECONDS = 120.0  # only a stuck test gets here


def endless(calls: Path, options: JobOptions, out: Path, *,
            progress: Callable[[float, str], None], jobs: int = 1) -> Path:
    """Reports progress forever (the lease stops it when its run is deleted)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "started").write_text("1")
    end = time.monotonic() + HANG_SECONDS
    step = 0
    while time.monotonic() < end:
        step += 1
        progress(min(step / 1000, 0.99), f"step {step}")
        time.sleep(0.05)
    raise PipelineError("the stand-in was never stopped")


def failing(calls: Path, options: JobOptions, out: Path, *,
            progress: Callable[[float, str], None], jobs: int = 1) -> Path:
    progress(0.0, "classifying")
    raise PipelineError("the export has no column named 'when'")
