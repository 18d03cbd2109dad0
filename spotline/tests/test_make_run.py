"""What `make run` starts: the demo, then `spotline run` on HOST:PORT (127.0.0.1:8000
unless given on make's command line), with log lines for people.

The real Makefile, with its virtual environment swapped for a stand-in whose
`spotline` only prints the log format it was given and its arguments."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD = 120  # seconds: only so that a hung make fails the test instead of the run

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="needs GNU make")


def make_run(tmp_path: Path, *args: str, **env: str) -> list[str]:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    spotline = venv / "bin" / "spotline"
    spotline.write_text('#!/bin/sh\necho "log=${SPOTLINE_LOG_FORMAT:-unset} $*"\n')
    spotline.chmod(0o755)
    (venv / ".installed").touch()  # newer than pyproject.toml: nothing to install
    base = {k: v for k, v in os.environ.items()
            if k not in ("SPOTLINE_LOG_FORMAT", "HOST", "PORT", "MAKEFLAGS", "MFLAGS")}
    done = subprocess.run(  # noqa: S603 - make, on our own Makefile
        [str(MAKE), "--no-print-directory", "-s", "-C", str(ROOT), "run", f"VENV={venv}", *args],
        env=base | env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=HANG_GUARD, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_it_seeds_the_demo_then_serves_on_127_0_0_1_8000_with_text_logs(tmp_path: Path
                                                                         ) -> None:
    assert make_run(tmp_path) == [
        "log=text demo --if-empty",
        "log=text run --host 127.0.0.1 --port 8000",
    ]


def test_it_takes_port_and_host_from_makes_command_line(tmp_path: Path) -> None:
    assert make_run(tmp_path, "PORT=8080", "HOST=0.0.0.0")[-1] == \
        "log=text run --host 0.0.0.0 --port 8080"


def test_host_and_port_in_the_environment_are_not_taken(tmp_path: Path) -> None:
    # tcsh puts the machine's name in HOST; platforms their own port in PORT.
    assert make_run(tmp_path, HOST="build-box", PORT="5000")[-1] == \
        "log=text run --host 127.0.0.1 --port 8000"


def test_a_log_format_in_the_environment_wins(tmp_path: Path) -> None:
    assert make_run(tmp_path, SPOTLINE_LOG_FORMAT="json") == [
        "log=json demo --if-empty",
        "log=json run --host 127.0.0.1 --port 8000",
    ]
