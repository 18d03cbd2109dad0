"""`spotline run` on a port another program holds: one line saying so, a non-zero exit,
and never "Spotline is serving" first. Real processes and a real socket held open by
the test, on 127.0.0.1; each server gets a fresh data directory of its own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HANG_GUARD = 120  # seconds: only so that a hung process fails the test instead of the run


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that this test listens on until it ends."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


def run(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SPOTLINE_SQLITE_PATH", "DJANGO_SETTINGS_MODULE",
                        "PROMETHEUS_MULTIPROC_DIR")}
    env["SPOTLINE_DATA_DIR"] = str(data_dir)
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-m", "spotline", "run", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=HANG_GUARD,
        check=False)


@pytest.mark.parametrize("processes", [[], ["--workers", "2", "--no-worker"]],
                         ids=["one-process", "several-web-processes"])
def test_it_says_the_port_is_taken_in_one_line_and_serves_nothing(
        taken_port: int, tmp_path: Path, processes: list[str]) -> None:
    done = run(["--host", "127.0.0.1", "--port", str(taken_port), *processes], tmp_path)

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        f"spotline: cannot serve on 127.0.0.1:{taken_port}: the port is already in use "
        f"(try --port {taken_port + 1}, or make run PORT={taken_port + 1})"], done.stderr
    assert "serving" not in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    # It stopped before migrating: the database was never created.
    assert not (tmp_path / "spotline.sqlite3").exists()
