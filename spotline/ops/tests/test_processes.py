"""Real processes: several web processes adding up their counts, and a web process whose
database is unreachable. Each server gets a fresh SQLite data directory (or a
PostgreSQL address nothing listens on) of its own, never the suite's database."""

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
from email.message import Message
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from spotline.conftest import HANG_SECONDS

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = HANG_SECONDS) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - 127.0.0.1
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def clean_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SPOTLINE_SQLITE_PATH",
                        "SPOTLINE_TEST_DB_NAME", "DJANGO_SETTINGS_MODULE",
                        "PROMETHEUS_MULTIPROC_DIR", "SPOTLINE_METRICS_TOKEN")}
    env.update({"SPOTLINE_DATA_DIR": str(tmp / "data"), "SPOTLINE_LOG_FORMAT": "text"})
    return env


class Server:
    def __init__(self, cmd: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and code
                cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self) -> None:
        # A hang guard (a fresh SQLite database is migrated first), never a bound on speed.
        deadline = time.monotonic() + HANG_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited {self.proc.returncode}:\n{self.output()}")
            try:
                if get(self.base + "/healthz", timeout=10.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"server did not answer in {HANG_SECONDS} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=HANG_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only its children
        return self.proc.wait(timeout=HANG_SECONDS)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        s.stop()


def counts(text: str, name: str, **labels: str) -> float:
    return sum(s.value for family in text_string_to_metric_families(text)
               for s in family.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_two_web_processes_add_up_their_request_counts(
        tmp_path: Path, servers: list[Server]) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"")  # a previous run's leftover: wiped
    env = clean_env(tmp_path) | {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    port = free_port()
    server = Server([sys.executable, "-m", "spotline", "run", "--port", str(port),
                     "--workers", "2", "--no-worker"], env, tmp_path / "web.log", port)
    servers.append(server)
    server.wait_ready()
    assert "2 web processes" in server.output()

    # A new connection per request: the kernel hands each to either process. Keep on
    # until both have answered some (each process keeps its counts in a file of its own);
    # the deadline is a hang guard (a second process slow to start on a busy machine).
    sent = 1  # the /healthz that wait_ready saw
    deadline = time.monotonic() + HANG_SECONDS
    while True:
        assert get(server.base + "/healthz")[0] == 200
        sent += 1
        files = {p.name for p in metrics_dir.glob("counter_*.db")}
        if (len(files) >= 2 and sent >= 40) or time.monotonic() > deadline:
            break
    assert "counter_1.db" not in files
    assert len(files) == 2, f"only {files} answered {sent} requests"

    # Each scrape is answered by one process; each must report every process's counts.
    for _ in range(4):
        status, _, body = get(server.base + "/metrics")
        assert status == 200
        text = body.decode()
        assert counts(text, "spotline_http_requests_total", route="healthz",
                      status="2xx") == sent
        assert counts(text, "spotline_http_request_duration_seconds_count",
                      route="healthz") == sent
        assert counts(text, "spotline_database_up") == 1

    assert server.stop() == 0
    # SIGTERM stopped the supervisor and both web processes with it (multiprocessing's
    # resource tracker may take a moment longer; the deadline is a hang guard).
    deadline = time.monotonic() + HANG_SECONDS
    while True:
        leftover = subprocess.run(["pgrep", "-s", str(server.proc.pid)],  # noqa: S603, S607
                                  capture_output=True, text=True, check=False).stdout.split()
        if not leftover or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert leftover == []


def test_several_web_processes_need_separate_timer_workers(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-m", "spotline", "run", "--port", str(free_port()), "--workers", "2"],
        cwd=REPO, env=clean_env(tmp_path), capture_output=True, text=True,
        timeout=HANG_SECONDS, check=False)
    assert done.returncode != 0
    assert "--no-worker" in done.stderr


def test_without_its_database_it_is_alive_but_not_ready(
        tmp_path: Path, servers: list[Server]) -> None:
    """PostgreSQL at an address where nothing listens: /healthz still 200 (restarting
    the process would not help), /readyz 503 with Retry-After, and /metrics still
    answers with ``spotline_database_up 0``."""
    port = free_port()
    env = clean_env(tmp_path) | {
        "DATABASE_URL": f"postgres://spotline:spotline@127.0.0.1:{free_port()}/nowhere"}
    # uvicorn itself: ``spotline run`` would stop at its migrate step.
    server = Server([sys.executable, "-m", "uvicorn", "spotline.asgi:application",
                     "--port", str(port), "--no-access-log", "--lifespan", "off"],
                    env, tmp_path / "web.log", port)
    servers.append(server)
    server.wait_ready()

    started = time.monotonic()
    status, headers, body = get(server.base + "/readyz")
    # It fails fast: the pool gives up after SPOTLINE_DB_POOL_TIMEOUT (0.5 s) where
    # psycopg_pool's default would hold the probe 30 s. The bound tells those two apart
    # and leaves a busy machine 40 times the expected time; it is no speed figure.
    assert time.monotonic() - started < 20.0
    assert status == 503, body
    assert str(headers.get("Retry-After", "")).isdigit()  # case-insensitive look-up
    answer = json.loads(body)
    assert answer["status"] == "unready"
    assert answer["database"] == {"status": "down", "error": "OperationalError"}

    status, _, body = get(server.base + "/metrics")
    assert status == 200
    assert counts(body.decode(), "spotline_database_up") == 0
    assert counts(body.decode(), "spotline_http_requests_total", route="readyz",
                  status="5xx") == 1
    assert get(server.base + "/healthz")[0] == 200
