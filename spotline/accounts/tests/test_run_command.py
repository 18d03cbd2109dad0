"""`spotline run` as a real process: a fresh data dir, real HTTP, a clean SIGTERM stop.

No test database here: the server under test migrates its own SQLite file in a
temporary data directory, exactly as the README's run command does.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spotline.conftest import HANG_SECONDS

ROOT = Path(__file__).resolve().parents[3]
# Hang guards, never bounds on speed: starting migrates a fresh SQLite file, and a busy
# machine can take far longer over that (and over stopping) than an idle one.
START_TIMEOUT = HANG_SECONDS
STOP_TIMEOUT = HANG_SECONDS


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SPOTLINE_SQLITE_PATH", "SPOTLINE_TEST_DB_NAME")}
    env["SPOTLINE_DATA_DIR"] = str(data_dir)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def request(url: str, *, body: Any = None, timeout: float = HANG_SECONDS) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",  # noqa: S310
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - 127.0.0.1 only
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self._log = self.log.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "spotline", "run", "--host", "127.0.0.1",
             "--port", str(self.port)],
            cwd=ROOT, env=env_for(data_dir), stdout=self._log, stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        self._log.flush()
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"spotline run exited with {self.proc.returncode}:\n{self.output()}")
            try:
                status, _ = request(self.base + "/", timeout=10)
                if status == 200:
                    return
                last = status
            except OSError as exc:
                last = exc
            time.sleep(0.2)
        pytest.fail(f"spotline run not answering after {START_TIMEOUT}s ({last!r}):\n"
                    f"{self.output()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
        self._log.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def server(data_dir: Path) -> Iterator[Server]:
    s = Server(data_dir)
    try:
        yield s
    finally:
        s.close()


def test_it_serves_over_real_http_and_stops_on_sigterm(server: Server, data_dir: Path) -> None:
    server.wait_ready()
    assert (data_dir / "spotline.sqlite3").exists()

    status, body = request(server.base + "/")
    assert status == 200
    assert b'method="post"' in body

    status, body = request(server.base + "/api/v1/incidents", body={
        "kind": "overdose", "location": {"lat": 60.1699, "lon": 24.9384},
        "breathing": "no"})
    assert status == 201, body
    created = json.loads(body)
    assert created["status"] == "dispatching"
    status, _ = request(f"{server.base}/t/{created['tracking_token']}/")
    assert status == 200

    status, body = request(server.base + "/api/openapi.json")
    assert status == 200
    assert "/api/v1/incidents" in json.loads(body)["paths"]

    status, body = request(server.base + "/api/v1/incidents", body={"kind": "overdose"})
    assert 400 <= status < 500, body

    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"spotline run still running {STOP_TIMEOUT}s after SIGTERM:\n"
                    f"{server.output()}")
    assert code == 0, server.output()
    assert "worker stopped" in server.output()
    assert "Traceback" not in server.output()


def run_demo(data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "spotline", "demo", "--if-empty"],
        cwd=ROOT, env=env_for(data_dir), capture_output=True, text=True,
        timeout=HANG_SECONDS, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_it_seeds_demo_logins_into_the_servers_data_dir(server: Server,
                                                        data_dir: Path) -> None:
    server.wait_ready()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=STOP_TIMEOUT)
    first = run_demo(data_dir)
    assert "Demo logins" in first
    assert "Seeded" in first
    again = run_demo(data_dir)
    assert "Demo logins" in again
    assert "Seeded" not in again


def test_it_seeds_demo_logins_into_an_empty_data_dir(data_dir: Path) -> None:
    # demo migrates by itself, so it also works before the first `spotline run`.
    assert "Demo logins" in run_demo(data_dir)
    assert (data_dir / "spotline.sqlite3").exists()
