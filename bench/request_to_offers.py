"""Request-to-offers latency at a sustained rate with 10,000 on-shift responders, against
a floor measured in the same run; and live-push latency during that load.

The servers are the production shape: separate ``spotline run --no-worker`` web
processes (two on PostgreSQL, where Redis carries live pushes between them; one on
SQLite, whose in-memory channel layer reaches only its own clients) plus ``spotline
worker`` processes, all with ``bench.settings`` (production settings plus the floor
endpoint). Load comes from ``bench/load.py`` in its own process: phase 1 posts to the
floor endpoint (one committed insert of a row as big as a real incident row), phase 2
posts real public help requests, same rate, same bodies. A dispatcher's console
WebSocket — on PostgreSQL connected to a different web process than the one that took
the request — times each push from the server's commit ("at") to its arrival.

Afterwards every acknowledged request is checked in the database: the incident exists,
has offers, and each offer's message is in the outbox. Exit 1 if any is missing or any
request failed. Prints one JSON object per line (request_to_offers, live_push).

    python bench/request_to_offers.py                  # SQLite in a temporary data dir
    DATABASE_URL=postgres://.../spotline_r2o_bench REDIS_URL=redis://127.0.0.1:6390/4 \\
        python bench/request_to_offers.py

Knobs (environment): BENCH_RESPONDERS (10000), BENCH_RATE (50 per second),
BENCH_DURATION (30 s measured), BENCH_WARMUP (5 s), BENCH_WEB_PROCS, BENCH_WORKERS (1),
BENCH_PORT (first port, 8720).
"""

from __future__ import annotations

import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RESPONDERS = int(os.environ.get("BENCH_RESPONDERS", "10000"))
RATE = float(os.environ.get("BENCH_RATE", "50"))
DURATION = float(os.environ.get("BENCH_DURATION", "30"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "5"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
PORT = int(os.environ.get("BENCH_PORT", "8720"))
BIN = Path(sys.executable).parent


def say(text: str) -> None:
    print(f"[request_to_offers] {text}", file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    return {"p50_ms": round(statistics.median(values), 1), "p99_ms": round(pct(values, 0.99), 1),
            "max_ms": round(max(values), 1)}


class Servers:
    """The web and worker processes; always stopped, even when the benchmark fails."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def _start(self, name: str, args: list[str]) -> None:
        log = (self.logdir / f"{name}.log").open("wb")
        proc = subprocess.Popen([str(BIN / "spotline"), *args], env=self.env, cwd=REPO,  # noqa: S603
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))

    def web(self, port: int) -> str:
        self._start(f"web{port}", ["run", "--no-worker", "--host", "127.0.0.1",
                                   "--port", str(port)])
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.procs[-1][1].poll() is not None:
                raise RuntimeError(f"web process on port {port} exited; see {self.logdir}")
            try:
                urllib.request.urlopen(base + "/bench/floor", timeout=2)  # noqa: S310
            except urllib.error.HTTPError as exc:
                if exc.code == 405:  # up, and it is a benchmark server
                    return base
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"web process on port {port} did not start; see {self.logdir}")

    def worker(self, n: int) -> None:
        self._start(f"worker{n}", ["worker"])

    def stop(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for name, proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                say(f"{name} ignored SIGTERM; killing it")
                proc.kill()
                proc.wait()

    def cpu_seconds(self, prefix: str) -> float:
        """CPU time (user + system) the processes named ``prefix``* have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for name, proc in self.procs:
            if name.startswith(prefix) and proc.poll() is None:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def errors_logged(self) -> int:
        count = 0
        for path in self.logdir.glob("*.log"):
            count += sum(1 for line in path.read_text(errors="replace").splitlines()
                         if '"level": "error"' in line.lower() or "Traceback" in line)
        return count


def run_load(job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(REPO / "bench" / "load.py")],  # noqa: S603
                          input=json.dumps(job).encode(), capture_output=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace")[-3000:])
        raise RuntimeError("the load process failed")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> int:
    data_dir = tempfile.mkdtemp(prefix="spotline-r2o-")
    os.environ["SPOTLINE_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("SPOTLINE_LOG_LEVEL", "WARNING")
    for group in ("HELP", "CHECKIN", "ANSWER", "TRACK", "SMS", "LOGIN"):
        os.environ[f"SPOTLINE_RATE_{group}"] = "0"
        os.environ[f"SPOTLINE_RATE_{group}_GLOBAL"] = "0"
    # Nothing leaves the machine: the console provider, which logs ids only.
    os.environ["SPOTLINE_SMS_PROVIDER"] = "console"
    for name in ("EMAIL_HOST", "SPOTLINE_VAPID_PUBLIC_KEY", "SPOTLINE_VAPID_PRIVATE_KEY"):
        os.environ.pop(name, None)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from bench.common import call_points, incident_bodies, seed_responders

    db = connection.vendor
    name = str(connection.settings_dict["NAME"])
    if db == "postgresql" and not name.endswith("bench"):
        say(f"refusing to benchmark database {name!r}: use one whose name ends in 'bench'")
        return 2
    if db == "postgresql" and not settings.REDIS_URL:
        say("PostgreSQL runs need REDIS_URL (live pushes between web processes)")
        return 2
    web_procs = int(os.environ.get("BENCH_WEB_PROCS", "2" if db == "postgresql" else "1"))

    call_command("migrate", interactive=False, verbosity=0)
    if db == "postgresql":
        # A database kept between runs starts empty (its name says it is a bench one).
        call_command("flush", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        if db == "postgresql":
            cursor.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, "
                           "payload text NOT NULL, created_at timestamptz NOT NULL)")
        else:
            cursor.execute("CREATE TABLE bench_floor (id integer PRIMARY KEY AUTOINCREMENT, "
                           "payload text NOT NULL, created_at text NOT NULL)")

    points = call_points()
    started = time.monotonic()
    seed_responders(RESPONDERS, now=timezone.now(), points=points)
    say(f"seeded {RESPONDERS} on-shift responders in {time.monotonic() - started:.1f} s ({db})")
    bodies = incident_bodies(2000, points)
    row_bytes = measure_incident_row(json.loads(bodies[0]))
    cookie = dispatcher_session()
    connection.close()

    env = {**os.environ, "PYTHONPATH": str(REPO), "BENCH_FLOOR_ROW_BYTES": str(row_bytes)}
    logdir = Path(data_dir) / "logs"
    logdir.mkdir()
    servers = Servers(env, logdir)

    def stop_on_signal(signum: int, frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        targets = [servers.web(PORT + i) for i in range(web_procs)]
        for n in range(WORKERS):
            servers.worker(n)
        say(f"{web_procs} web + {WORKERS} worker processes up; floor row {row_bytes} bytes")
        common = {"targets": targets, "bodies": bodies, "rate": RATE, "warmup": WARMUP,
                  "duration": DURATION}
        cpu0 = servers.cpu_seconds("web"), servers.cpu_seconds("worker")
        floor = run_load({**common, "path": "/bench/floor"})
        cpu1 = servers.cpu_seconds("web"), servers.cpu_seconds("worker")
        say("floor phase done")
        ws_target = len(targets) - 1
        ws_base = targets[ws_target]
        real = run_load({**common, "path": "/api/v1/incidents", "idempotency": True,
                         "ws": {"url": ws_base.replace("http://", "ws://") + "/ws/console/",
                                "cookie": cookie, "origin": ws_base}})
        cpu2 = servers.cpu_seconds("web"), servers.cpu_seconds("worker")
        say("incident phase done")
    finally:
        servers.stop()
    logged_errors = servers.errors_logged()

    failures: list[str] = []
    failures += [f"load: {p}" for p in floor.get("problems", []) + real.get("problems", [])]
    if "results" not in real or "results" not in floor:
        for failure in failures:
            say(failure)
        return 1

    def ok(r: dict[str, Any]) -> bool:
        return isinstance(r["status"], int) and 200 <= r["status"] < 300

    f_measured = [r for r in floor["results"] if r["measured"]]
    r_measured = [r for r in real["results"] if r["measured"]]
    floor_ms = [r["ms"] for r in f_measured if ok(r)]
    real_ms = [r["ms"] for r in r_measured if ok(r)]
    f_errors = [r["status"] for r in floor["results"] if not ok(r)]
    r_errors = [r["status"] for r in real["results"] if not ok(r)]
    # Overload is a result, not a failure: a 503 with Retry-After (or a client timeout)
    # says "try again" and wrote nothing the client was told about; it is reported in
    # "errors". Any other answer (a 500, a 4xx to a valid request) fails the benchmark.
    wrong = [e for e in f_errors + r_errors if isinstance(e, int) and e != 503]
    if wrong:
        failures.append(f"unexpected answers: {sorted(set(map(str, wrong)))} ({len(wrong)})")
    if f_errors or r_errors:
        say(f"non-2xx answers (overload): floor {sorted(set(map(str, f_errors)))} "
            f"({len(f_errors)}), incidents {sorted(set(map(str, r_errors)))} "
            f"({len(r_errors)})")

    # Every acknowledged request: in the database, with offers and their messages.
    from spotline.dispatch.models import Incident, Offer
    from spotline.notify.models import Message

    acked = [r["id"] for r in real["results"] if ok(r)]
    stored = Incident.objects.filter(pk__in=acked).count()
    offers = dict(Offer.objects.filter(incident_id__in=acked).values("incident_id")
                  .annotate(n=Count("id")).values_list("incident_id", "n"))
    messages = dict(Message.objects.filter(incident_id__in=acked, purpose="offer")
                    .values("incident_id").annotate(n=Count("id"))
                    .values_list("incident_id", "n"))
    no_offers = [i for i in acked if not offers.get(i)]
    unqueued = [i for i in acked if messages.get(i, 0) < offers.get(i, 0)]
    if stored != len(set(acked)):
        failures.append(f"{len(set(acked)) - stored} acknowledged incidents are missing")
    if no_offers:
        failures.append(f"{len(no_offers)} acknowledged incidents have no offers")
    if unqueued:
        failures.append(f"{len(unqueued)} incidents have offers without queued messages")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_floor")
        floor_rows = cursor.fetchone()[0]
    if floor_rows != sum(1 for r in floor["results"] if ok(r)):
        failures.append(f"floor rows {floor_rows} != acknowledged floor requests")

    f, r = summary(floor_ms), summary(real_ms)
    print(json.dumps({
        "name": "request_to_offers", "db": db, "rps": RATE, "responders": RESPONDERS,
        "web_processes": web_procs, "workers": WORKERS, "duration_s": DURATION,
        "n": len(real_ms), "errors": len(r_errors), "floor_errors": len(f_errors),
        **r, "floor_p50_ms": f["p50_ms"], "floor_p99_ms": f["p99_ms"],
        "floor_n": len(floor_ms), "floor_row_bytes": row_bytes,
        "ratio": round(r["p50_ms"] / f["p50_ms"], 2),
        "ratio_p99": round(r["p99_ms"] / f["p99_ms"], 2),
        "server_errors_logged": logged_errors,
        # Noise-robust: CPU the web processes spent per request sent (workers: per
        # incident), whatever the neighbours on the machine were doing.
        "web_cpu_ms_per_request": round((cpu2[0] - cpu1[0]) * 1000 / len(real["results"]), 1),
        "floor_web_cpu_ms_per_request": round((cpu1[0] - cpu0[0]) * 1000
                                              / len(floor["results"]), 1),
        "worker_cpu_ms_per_incident": round((cpu2[1] - cpu1[1]) * 1000 / len(real["results"]), 1),
    }), flush=True)

    # Pushes: only for requests measured, and on PostgreSQL only those a different web
    # process took than the one the client is connected to (the push crossed Redis).
    measured_ids = {r["id"] for r in r_measured
                    if ok(r) and (len(targets) == 1 or r["target"] != ws_target)}
    push_ms = [ms for incident_id, ms in real.get("pushes", []) if incident_id in measured_ids]
    # Pushes are hints (pages poll without them), so a missing one is counted, not
    # failed: under overload the in-memory layer drops messages to a full channel.
    unpushed = measured_ids - {incident_id for incident_id, _ in real.get("pushes", [])}
    print(json.dumps({
        "name": "live_push", "db": db, "n": len(push_ms), **summary(push_ms),
        "incidents": len(measured_ids), "missing": len(unpushed),
        "via": "redis, another web process" if len(targets) > 1 else "in-memory, same process",
    }), flush=True)
    for failure in failures:
        say(f"FAILED: {failure}")
    return 1 if failures else 0


def measure_incident_row(body: dict[str, Any]) -> int:
    """Bytes of one real dispatch_incident row as stored, sealed fields included."""
    from django.db import connection
    from django.utils import timezone

    from spotline.core.geo import Point
    from spotline.core.triage import Answer, Kind
    from spotline.dispatch.actions.opening import IncidentRequest, incident_open
    from spotline.dispatch.models import Source

    loc = body["location"]
    opened = incident_open(IncidentRequest(kind=Kind(body["kind"]),
                 location=Point(loc["lat"], loc["lon"]), accuracy_m=loc["accuracy_m"],
                 description=loc["description"], details=body["details"],
                 breathing=Answer(body["breathing"]),
                 conscious=Answer(body["conscious"]), danger=Answer(body["danger"]),
                 callback_phone=body["callback_phone"], language=body["language"],
                 source=Source.API), now=timezone.now())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_column_size(t.*) FROM dispatch_incident t WHERE id = %s",
                           [opened.incident.pk])
            return int(cursor.fetchone()[0])
        cursor.execute("SELECT * FROM dispatch_incident WHERE id = %s", [opened.incident.pk])
        row = cursor.fetchone()
    # SQLite: the stored bytes of each value (text as UTF-8, numbers as 8 bytes).
    return sum(8 if isinstance(v, int | float) else len(str(v).encode())
               for v in row if v is not None)


def dispatcher_session() -> str:
    """A dispatcher signed in with a verified second factor: the session cookie."""
    import django_otp
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from spotline.accounts.actions import user_create
    from spotline.accounts.models import Role

    user = user_create(name="bench-dispatcher", role=Role.DISPATCHER, password=None)
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[django_otp.DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.save()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


if __name__ == "__main__":
    sys.exit(main())
