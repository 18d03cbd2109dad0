"""Fault tests: under load, kill and restart processes, restart PostgreSQL, stop Redis;
then check that nothing acknowledged was lost and nothing was done twice.

``python -m faults.run`` (``make faults``, via scripts/faults.sh). One JSON line per
scenario on stdout, with the counts it checked and ``"ok"``; progress on stderr; exit
status 1 on any violation. Everything it starts is stopped on the way out, failure or
not: Spotline's processes, its own ``redis-server``, and its own PostgreSQL cluster.

It never touches the shared services (PostgreSQL on 5432, Redis on 6390): it runs its
own cluster ``<version>/spotline_faults`` on port 5499 (Debian's pg_createcluster,
created once and reused) and its own Redis on 6499, and the Twilio API is a local stub
that records every request, so "sent twice" is counted where it would matter: at the
provider.

The system under test: 2 web processes (``spotline run --no-worker``), 2 ``spotline
worker`` processes, responders on shift whose channel is SMS. Scenarios:

a. kill -9 one web process and both workers mid-load, keep them down ~10 s, restart.
b. restart PostgreSQL mid-load: 503s with Retry-After, fast; recovery without restarts.
c. stop Redis mid-load: dispatch goes on; WebSockets are refused or dropped, polling
   answers; Redis back, WebSockets connect again.
"""

# ruff: noqa: S603, S607, S310 - a harness: it runs our own tools, on 127.0.0.1 only
from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg

# The sync WebSocket client without a with-block (these sockets outlive the call that
# opens them) is deprecated in websockets 17, not wrong.
warnings.filterwarnings("ignore", message=r"connect\(\) must be used as a context manager",
                        category=DeprecationWarning)

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PG_PORT = 5499
PG_CLUSTER = "spotline_faults"
PG_DB = "spotline_faults"
REDIS_PORT = 6499
WEB_PORTS = [8741, 8742]
DATABASE_URL = f"postgres://spotline:spotline@127.0.0.1:{PG_PORT}/{PG_DB}"
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
TWILIO_SID = "AC" + "f" * 32
TWILIO_TOKEN = "faults-token"  # noqa: S105 - the local stub's, nothing real

RESPONDERS = int(os.environ.get("FAULTS_RESPONDERS", "300"))
RATE = float(os.environ.get("FAULTS_RATE", "3"))  # help requests per second
TIMER_LATENESS_LIMIT_S = 5.0
RECOVERY_LIMIT_S = 10.0
FAST_503_LIMIT_MS = 1000.0


def say(msg: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))], 1)


# -- what we start, and stop whatever happens ------------------------------------------


class Processes:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.cleanups: list[Callable[[], None]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name] = proc
        return proc

    def kill9(self, name: str) -> None:
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self, name: str, timeout: float = 10) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            try:
                self.stop(name, timeout=5)
            except Exception as exc:  # keep stopping the others
                say(f"could not stop {name}: {type(exc).__name__}")
        while self.cleanups:
            try:
                self.cleanups.pop()()
            except Exception as exc:
                say(f"cleanup failed: {type(exc).__name__}")


# -- PostgreSQL: our own cluster -----------------------------------------------------------


def pg_version() -> str:
    return sorted(os.listdir("/usr/lib/postgresql"), key=int)[-1]


def psql_admin(sql: str) -> str:
    out = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-p", str(PG_PORT),
                          "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True, cwd="/")
    return out.stdout


def pg_ctl(action: str, *extra: str) -> None:
    subprocess.run(["pg_ctlcluster", pg_version(), PG_CLUSTER, action, *extra], check=True,
                   cwd="/", stdout=subprocess.DEVNULL)


def pg_online() -> bool:
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == PG_CLUSTER:
            return parts[3] == "online"
    return False


def pg_wait() -> None:
    for _ in range(60):
        try:
            psql_admin("select 1")
            return
        except subprocess.CalledProcessError:
            time.sleep(0.5)


def pg_prepare(procs: Processes) -> None:
    version = pg_version()
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    if not any(line.split()[1:2] == [PG_CLUSTER] for line in out.stdout.splitlines()):
        say(f"creating PostgreSQL cluster {version}/{PG_CLUSTER} on port {PG_PORT}")
        subprocess.run(["pg_createcluster", version, PG_CLUSTER, "--port", str(PG_PORT),
                        "--start-conf", "manual"], check=True, cwd="/",
                       stdout=subprocess.DEVNULL)
    if not pg_online():
        pg_ctl("start")
    procs.cleanups.append(lambda: pg_ctl("stop", "-m", "fast") if pg_online() else None)
    pg_wait()
    # Commit timestamps: the soak measures when a timer really fired from the commit of
    # the row that fired it, not from the worker's own clock (a paused worker's clock
    # is stale when it resumes). Needs a restart, once per cluster.
    if psql_admin("SHOW track_commit_timestamp").strip() != "on":
        psql_admin("ALTER SYSTEM SET track_commit_timestamp = on")
        pg_ctl("restart", "-m", "fast")
        pg_wait()
    psql_admin("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='spotline') "
               "THEN CREATE ROLE spotline LOGIN CREATEDB PASSWORD 'spotline'; END IF; END $$;")
    # A fresh database each run: the checks count rows.
    psql_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    psql_admin(f"CREATE DATABASE {PG_DB} OWNER spotline")


def db() -> psycopg.Connection[Any]:
    return psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=3)


def scalar(conn: psycopg.Connection[Any], sql: str, params: Any = None) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None  # noqa: S101 - a count always has a row
    return row[0]


# -- Redis: our own child process -----------------------------------------------------------


def redis_start(procs: Processes) -> None:
    procs.start("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(REDIS_PORT),
                          "--save", "", "--appendonly", "no"], dict(os.environ))
    for _ in range(50):
        if subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"],
                          capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("redis-server did not start")


# -- Spotline -------------------------------------------------------------------------------


def spotline_env(workdir: Path, stub_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SPOTLINE_", "TWILIO_", "DATABASE_URL", "REDIS_URL"))}
    env.update({
        "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
        # One data directory for all processes: they share the generated keys.
        "SPOTLINE_DATA_DIR": str(workdir / "data"),
        "SPOTLINE_SITE_URL": f"http://127.0.0.1:{WEB_PORTS[0]}",
        "SPOTLINE_SMS_PROVIDER": "twilio", "TWILIO_API_BASE": stub_url,
        "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+15550100000",
        "SPOTLINE_WORKER_POLL_SECONDS": "0.2",
        "SPOTLINE_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "spotline.settings",
    })
    for group in ("HELP", "CHECKIN", "ANSWER", "TRACK", "SMS", "LOGIN"):
        env[f"SPOTLINE_RATE_{group}"] = "0"
        env[f"SPOTLINE_RATE_{group}_GLOBAL"] = "0"
    # Short rounds, so that offer-expiry and deadline timers fall due during every
    # outage, and incidents do not pile up rounds for minutes.
    # Two offers a round (enough for two responders to race), and no offer calls: the
    # outbox of this shared 2-core machine is the bottleneck, not what is tested here.
    for p in ("P1", "P2", "P3"):
        env[f"SPOTLINE_{p}_OFFER_EXPIRY_SECONDS"] = "15"
        env[f"SPOTLINE_{p}_DEADLINE_SECONDS"] = "30"
        env[f"SPOTLINE_{p}_OFFERS"] = "2"
    env["SPOTLINE_OFFER_CALL_AFTER_SECONDS"] = "3600"
    return env


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 5,
             ) -> tuple[int, dict[str, str], bytes, float]:
    t0 = time.monotonic()
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return (r.status, {k.lower(): v for k, v in r.headers.items()}, r.read(),
                    (time.monotonic() - t0) * 1000)
    except urllib.error.HTTPError as e:
        return (e.code, {k.lower(): v for k, v in e.headers.items()}, e.read(),
                (time.monotonic() - t0) * 1000)
    except OSError:
        return 0, {}, b"", (time.monotonic() - t0) * 1000


class System:
    def __init__(self, procs: Processes, env: dict[str, str]) -> None:
        self.procs = procs
        self.env = env

    def manage(self, *args: str) -> None:
        subprocess.run([str(BIN / "spotline"), *args], env=self.env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)

    def start_web(self, i: int) -> None:
        self.procs.start(f"web{i}", [str(BIN / "spotline"), "run", "--no-worker",
                                     "--port", str(WEB_PORTS[i])], self.env)

    def start_worker(self, i: int) -> None:
        # INFO for workers: "worker started" marks when a restarted worker is ready.
        self.procs.start(f"worker{i}", [str(BIN / "spotline"), "worker"],
                         {**self.env, "SPOTLINE_LOG_LEVEL": "INFO"})

    def worker_ready(self, since: float, timeout: float = 60) -> float | None:
        """When the first worker started after ``since`` was ready (its loop began)."""
        from datetime import datetime

        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            times = []
            for i in range(2):
                path = self.procs.workdir / f"worker{i}.log"
                for line in path.read_text(errors="replace").splitlines():
                    if '"worker started"' in line:
                        at = datetime.fromisoformat(json.loads(line)["time"].replace(
                            "Z", "+00:00")).timestamp()
                        if at >= since:
                            times.append(at)
            if times:
                return min(times)
            time.sleep(0.2)
        return None

    def wait_web(self, i: int, timeout: float = 60) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            status, *_ = http_get(f"http://127.0.0.1:{WEB_PORTS[i]}/", timeout=2)
            if status == 200:
                return time.monotonic() - t0
            proc = self.procs.procs.get(f"web{i}")
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"web{i} exited with {proc.returncode} (see its log)")
            time.sleep(0.1)
        raise RuntimeError(f"web{i} did not answer within {timeout} s")

    def pids(self) -> dict[str, int]:
        return {n: p.pid for n, p in self.procs.procs.items()
                if n.startswith(("web", "worker")) and p.poll() is None}


# -- load ---------------------------------------------------------------------------------


class LoadRun:
    def __init__(self, procs: Processes, env: dict[str, str], workdir: Path, name: str,
                 tokens: Path) -> None:
        self.out = workdir / f"load-{name}.jsonl"
        config = {"ports": WEB_PORTS, "rate": RATE, "give_up_s": 30, "accept_every": 2,
                  "close_after_s": 12, "tokens": str(tokens), "out": str(self.out),
                  "database_url": DATABASE_URL, "centre": [60.1699, 24.9384],
                  "seed": hash(name) & 0xFFFF}
        cfg = workdir / f"load-{name}.json"
        cfg.write_text(json.dumps(config))
        self.procs = procs
        self.name = f"load-{name}"
        procs.start(self.name, [str(BIN / "python"), "-m", "faults.load", str(cfg)], env)
        self.events: list[dict[str, Any]] = []

    def finish(self) -> list[dict[str, Any]]:
        # The load stops sending, lets requests in flight finish (retries included).
        self.procs.stop(self.name, timeout=60)
        self.events = [json.loads(line) for line in self.out.read_text().splitlines()]
        return self.events


# -- checks ---------------------------------------------------------------------------------


def check_no_loss_no_duplicates(events: list[dict[str, Any]], stub: Any) -> dict[str, Any]:
    acks = [e for e in events if e["ev"] == "ack"]
    acked_ids = [a["id"] for a in acks]
    races = [e for e in events if e["ev"] == "accept"]
    with db() as conn:
        existing = {r[0] for r in conn.execute(
            "SELECT id FROM dispatch_incident WHERE id = ANY(%s)", (acked_ids,))}
        with_offers = {r[0] for r in conn.execute(
            "SELECT DISTINCT incident_id FROM dispatch_offer WHERE incident_id = ANY(%s)",
            (acked_ids,))}
        incidents_total = scalar(conn, "SELECT count(*) FROM dispatch_incident")
        keyed_total = scalar(conn,
            "SELECT count(*) FROM api_idempotentrequest WHERE scope='incident_create'")
        two_accepted = scalar(conn,
            "SELECT count(*) FROM (SELECT incident_id FROM dispatch_offer "
            "WHERE status = 'accepted' GROUP BY incident_id HAVING count(*) > 1) x")
        accepted_events = scalar(conn,
            "SELECT count(*) FROM (SELECT incident_id FROM dispatch_incidentevent "
            "WHERE type = 'accept' GROUP BY incident_id HAVING count(*) > 1) x")
        dup_offers = scalar(conn,
            "SELECT count(*) FROM (SELECT 1 FROM dispatch_offer "
            "GROUP BY incident_id, responder_id HAVING count(*) > 1) x")
        offers_total = scalar(conn, "SELECT count(*) FROM dispatch_offer")
        # Our side: a message recorded as sent by two attempts would be a double send.
        sent_twice = scalar(conn,
            "SELECT count(*) FROM (SELECT message_id FROM notify_delivery "
            "WHERE status IN ('sent', 'delivered') GROUP BY message_id "
            "HAVING count(*) > 1) x")
        unsent = scalar(conn,
            "SELECT count(*) FROM notify_message WHERE sent_at IS NULL AND failed_at IS NULL "
            "AND cancelled_at IS NULL AND next_attempt_at <= now()")
    # At the provider. A message key is "offer:<offer id>:<round>" (+ ":<channel>"):
    # one delivery per key. The same text to the same phone again is legitimate when an
    # offer withdrawn meanwhile (its responder took another incident) is reopened in a
    # later round, so it is counted, not judged.
    requests = [r for r in stub.requests if r.status == 201]
    by_token = Counter(r.token for r in requests)
    deliveries = stub.deliveries
    per_message: dict[str, set[str]] = {}
    for r in requests:
        parts = (r.token or "").split(":")
        if parts[0] in ("offer", "offer-call") and len(parts) >= 4:
            per_message.setdefault(":".join(parts[:3]), set()).add(r.token or "")
    content = Counter((d.get("To"), d.get("Body") or d.get("Twiml")) for d in deliveries)
    result = {
        "acknowledged": len(acks),
        "gave_up": sum(e["ev"] == "gave_up" for e in events),
        "lost": len(set(acked_ids) - existing),
        "acked_without_offers": len(set(acked_ids) - with_offers),
        "duplicate_incidents": incidents_total - keyed_total,
        "acked_twice": len(acked_ids) - len(set(acked_ids)),
        "races": len(races),
        "races_won_twice": sum(r["statuses"].count(200) > 1 for r in races),
        "races_won": sum(200 in r["statuses"] for r in races),
        "incidents_two_accepted": two_accepted,
        "incidents_two_accept_events": accepted_events,
        "offers": offers_total,
        "duplicate_offers": dup_offers,
        "provider_deliveries": len(deliveries),
        "provider_resends_same_key": sum(n - 1 for n in by_token.values() if n > 1),
        "offer_messages_sent_on_two_channels": sum(len(t) > 1 for t in per_message.values()),
        "same_text_same_phone_again": sum(n > 1 for n in content.values()),
        "messages_with_two_sent_deliveries": sent_twice,
        "outbox_due_unsent": unsent,
    }
    result["ok_no_loss"] = (result["lost"] == 0 and result["acked_without_offers"] == 0
                            and result["acknowledged"] > 0)
    result["ok_no_duplicates"] = (
        result["duplicate_incidents"] == 0 and result["acked_twice"] == 0
        and result["races_won_twice"] == 0 and result["incidents_two_accepted"] == 0
        and result["incidents_two_accept_events"] == 0 and result["duplicate_offers"] == 0
        and result["offer_messages_sent_on_two_channels"] == 0
        and result["messages_with_two_sent_deliveries"] == 0)
    return result


def check_timers(since: float, until: float, back: float) -> dict[str, Any]:
    """Timers that fell due while nothing could fire them (between ``since`` and
    ``until``) fired within TIMER_LATENESS_LIMIT_S of ``back``."""
    with db() as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM due_at), extract(epoch FROM fired_at) "
            "FROM dispatch_timer WHERE due_at >= to_timestamp(%s) "
            "AND due_at < to_timestamp(%s)", (since, until)).fetchall()
    unfired = sum(f is None for _, f in rows)
    # Fired before ``back`` (a worker reconnected before pg_ctl returned): 0 s late.
    lateness = [max(0.0, float(f) - max(float(d), back)) for d, f in rows if f is not None]
    worst = max(lateness) if lateness else None
    return {"timers_due_in_outage": len(rows), "timers_unfired": unfired,
            "timer_lateness_after_restart_p50_s": round(statistics.median(lateness), 2)
            if lateness else None,
            "timer_lateness_after_restart_max_s": round(worst, 2) if worst is not None else None,
            "ok_timers": bool(rows) and unfired == 0 and worst is not None
            and worst <= TIMER_LATENESS_LIMIT_S}


def drain(timeout: float = 45) -> None:
    """Let the workers send what is due and fire what fell due before counting."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with db() as conn:
                due = scalar(conn,
                    "SELECT (SELECT count(*) FROM notify_message WHERE sent_at IS NULL "
                    "AND failed_at IS NULL AND cancelled_at IS NULL "
                    "AND next_attempt_at <= now()) + (SELECT count(*) FROM dispatch_timer "
                    "WHERE fired_at IS NULL AND due_at <= now())")
            if due == 0:
                return
        except psycopg.Error:
            pass
        time.sleep(0.5)


def latencies(events: list[dict[str, Any]], since: float, until: float,
              ok: Callable[[dict[str, Any]], bool]) -> list[float]:
    return [e["ms"] for e in events
            if e["ev"] == "resp" and since <= e["t"] < until and ok(e)]


# -- scenarios -------------------------------------------------------------------------------


def scenario_kill(sys_: System, ctx: dict[str, Any]) -> dict[str, Any]:
    load = LoadRun(sys_.procs, sys_.env, ctx["workdir"], "kill", ctx["tokens"])
    time.sleep(10)
    kill_t = time.time()
    say("kill -9: web0, worker0, worker1")
    for name in ("web0", "worker0", "worker1"):
        sys_.procs.kill9(name)
    time.sleep(10)
    restart_t = time.time()
    say("restarting web0, worker0, worker1")
    sys_.start_worker(0)
    sys_.start_worker(1)
    sys_.start_web(0)
    web_back_s = sys_.wait_web(0)
    time.sleep(10)
    events = load.finish()
    drain()
    result = {"scenario": "kill_web_and_workers", "down_s": round(restart_t - kill_t, 1),
              "web_restart_to_serving_s": round(web_back_s, 1)}
    ready_t = sys_.worker_ready(restart_t) or restart_t
    result["worker_boot_s"] = round(ready_t - restart_t, 2)
    result.update(check_no_loss_no_duplicates(events, ctx["stub"]))
    # Timers that fell due while no worker ran, measured from the restart (process
    # start) and, judged, from the moment a restarted worker was ready: on a shared
    # 2-core machine the interpreter and Django alone take seconds to start.
    from_spawn = check_timers(kill_t, restart_t, restart_t)
    result["timer_lateness_after_spawn_max_s"] = from_spawn[
        "timer_lateness_after_restart_max_s"]
    result.update(check_timers(kill_t, restart_t, ready_t))
    errors = [e for e in events if e["ev"] == "resp" and e["t"] >= kill_t
              and e["status"] not in (201, 200)]
    result["failed_attempts_retried"] = len(errors)
    result["ok"] = result["ok_no_loss"] and result["ok_no_duplicates"] and result["ok_timers"]
    return result


def scenario_postgres(sys_: System, ctx: dict[str, Any]) -> dict[str, Any]:
    pids_before = sys_.pids()
    load = LoadRun(sys_.procs, sys_.env, ctx["workdir"], "postgres", ctx["tokens"])
    time.sleep(10)
    # A page (not the API) during the outage: the status page of a request made before.
    watched = open_watched("faults-watch-pg")
    page_probe: list[tuple[int, bool, bool, float]] = []
    down_t = time.time()
    say("stopping PostgreSQL")
    pg_ctl("stop", "-m", "fast")
    stopped_t = time.time()
    while time.time() - stopped_t < 5:
        status, headers, body, ms = http_get(watched["status_url"])
        text = body.decode(errors="replace")
        page_probe.append((status, "retry-after" in headers,
                           "naloxone" in text and "naloxona" in text, ms))
        time.sleep(0.5)
    say("starting PostgreSQL")
    start_t = time.time()
    pg_ctl("start")
    up_t = time.time()
    time.sleep(15)
    events = load.finish()
    drain()
    pids_after = sys_.pids()
    resp = [e for e in events if e["ev"] == "resp"]
    # Down: from the stop until the start began (while it starts, and just after,
    # requests meet a database that answers again, and are reported apart).
    in_outage = [e for e in resp if stopped_t <= e["t"] < start_t]
    answered_503 = [e for e in in_outage if e["status"] == 503]
    restarting_503 = [e for e in resp if e["status"] == 503 and start_t <= e["t"] < up_t + 30]
    # Recovered: the first request sent after PostgreSQL was back that succeeded.
    first_ok_after = min((e["t"] + e["ms"] / 1000 for e in resp
                          if e["status"] == 201 and e["t"] >= up_t), default=None)
    after = [e for e in resp if up_t <= e["t"] < up_t + 10]
    pages_503 = [p for p in page_probe if p[0] == 503]
    result: dict[str, Any] = {
        "scenario": "restart_postgres", "down_s": round(up_t - down_t, 1),
        "start_took_s": round(up_t - start_t, 1),
        "requests_while_down": len(in_outage),
        "answered_503": len(answered_503),
        "answered_503_with_retry_after": sum(bool(e.get("retry_after")) for e in answered_503),
        "answered_other_while_down": Counter(str(e["status"]) for e in in_outage
                                             if e["status"] != 503),
        "p50_ms_503": pct([e["ms"] for e in answered_503], 50),
        "p99_ms_503": pct([e["ms"] for e in answered_503], 99),
        "max_ms_503": pct([e["ms"] for e in answered_503], 100),
        "answered_503_after_start": len(restarting_503),
        "p50_ms_503_after_start": pct([e["ms"] for e in restarting_503], 50),
        "p99_ms_503_after_start": pct([e["ms"] for e in restarting_503], 99),
        "timeouts_10s_after_start": sum(e["status"] == 0 and e["t"] >= start_t for e in resp),
        "pages_probed_while_down": len(page_probe),
        "pages_503_retry_after_first_aid": sum(p[1] and p[2] for p in pages_503),
        "p99_ms_page_503": pct([p[3] for p in pages_503], 99),
        "recovered_s_after_start": round(first_ok_after - up_t, 2)
        if first_ok_after is not None else None,
        "after_start_10s_ok": sum(e["status"] == 201 for e in after),
        "after_start_10s_failed": sum(e["status"] != 201 for e in after),
        "processes_restarted": sorted(n for n in pids_before
                                      if pids_after.get(n) != pids_before[n]),
    }
    result.update(check_no_loss_no_duplicates(events, ctx["stub"]))
    result.update(check_timers(stopped_t, up_t, up_t))
    result["ok_fail_fast"] = (
        len(answered_503) > 0 and result["answered_503_with_retry_after"] == len(answered_503)
        and (result["p99_ms_503"] or 0) <= FAST_503_LIMIT_MS
        and len(pages_503) > 0 and result["pages_503_retry_after_first_aid"] == len(pages_503))
    result["ok_recovered"] = (result["recovered_s_after_start"] is not None
                              and result["recovered_s_after_start"] <= RECOVERY_LIMIT_S
                              and not result["processes_restarted"])
    result["ok"] = all(result[k] for k in ("ok_no_loss", "ok_no_duplicates", "ok_timers",
                                           "ok_fail_fast", "ok_recovered"))
    return result


def open_watched(key: str) -> dict[str, Any]:
    """An incident of the harness's own to watch, opened through the API."""
    body = json.dumps({"kind": "overdose", "location": {"lat": 60.17, "lon": 24.94},
                       "details": "fault test watcher"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{WEB_PORTS[1]}/api/v1/incidents",
                                 data=body, headers={"Content-Type": "application/json",
                                                     "Idempotency-Key": key})
    for _ in range(20):
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return dict(json.loads(r.read()))
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("could not open an incident to watch")


def ws_connect(token: str, timeout: float = 3) -> tuple[Any, str]:
    """Open a tracking socket: (socket, "hello") or (None, why it failed)."""
    from websockets.exceptions import InvalidStatus, WebSocketException
    from websockets.sync.client import connect
    from websockets.typing import Origin

    port = WEB_PORTS[1]
    try:
        ws = connect(f"ws://127.0.0.1:{port}/ws/track/{token}/",
                     origin=Origin(f"http://127.0.0.1:{port}"), open_timeout=timeout)
    except InvalidStatus as exc:
        return None, f"refused {exc.response.status_code}"
    except (WebSocketException, OSError, TimeoutError) as exc:
        return None, type(exc).__name__
    try:
        hello = json.loads(ws.recv(timeout=timeout))
    except Exception as exc:
        ws.close()
        return None, f"closed before hello ({type(exc).__name__})"
    return ws, str(hello.get("type"))


def ws_dropped_within(ws: Any, seconds: float) -> bool:
    from websockets.exceptions import ConnectionClosed

    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            ws.recv(timeout=seconds - (time.monotonic() - t0))
        except ConnectionClosed:
            return True
        except TimeoutError:
            return False
    return False


def scenario_redis(sys_: System, ctx: dict[str, Any]) -> dict[str, Any]:
    load = LoadRun(sys_.procs, sys_.env, ctx["workdir"], "redis", ctx["tokens"])
    time.sleep(8)
    watched = open_watched("faults-watch-redis")
    ws_before, hello_before = ws_connect(watched["tracking_token"])
    before_t = time.time()
    say("stopping Redis")
    sys_.procs.stop("redis")
    stop_t = time.time()
    dropped = ws_dropped_within(ws_before, 5) if ws_before is not None else False
    ws_during, why_during = ws_connect(watched["tracking_token"])
    if ws_during is not None:
        ws_during.close()
    status_page, *_ = http_get(watched["status_url"], headers={"X-Live": "1"})
    track_api, *_ = http_get(watched["track_url"])
    time.sleep(max(0.0, stop_t + 10 - time.time()))
    say("starting Redis")
    up_t = time.time()
    redis_start(sys_.procs)
    reconnected_s = None
    for _ in range(40):
        ws_after, _ = ws_connect(watched["tracking_token"])
        if ws_after is not None:
            reconnected_s = round(time.time() - up_t, 2)
            ws_after.close()
            break
        time.sleep(0.25)
    if ws_before is not None:
        ws_before.close()
    time.sleep(8)
    events = load.finish()
    drain()
    ok201 = lambda e: e["status"] == 201  # noqa: E731
    normal = latencies(events, before_t - 8, before_t, ok201)
    down = latencies(events, stop_t, up_t, ok201)
    result: dict[str, Any] = {
        "scenario": "stop_redis", "down_s": round(up_t - stop_t, 1),
        "ws_before": hello_before,
        "ws_dropped_when_redis_stopped": dropped,
        "ws_while_down": why_during if ws_during is None else "connected",
        "poll_status_page_while_down": status_page, "poll_track_api_while_down": track_api,
        "ws_reconnected_s_after_start": reconnected_s,
        "posts_ok_while_down": len(down),
        "posts_failed_while_down": len(latencies(events, stop_t, up_t,
                                                 lambda e: e["status"] != 201)),
        "p50_ms_before": pct(normal, 50), "p99_ms_before": pct(normal, 99),
        "p50_ms_redis_down": pct(down, 50), "p99_ms_redis_down": pct(down, 99),
    }
    result.update(check_no_loss_no_duplicates(events, ctx["stub"]))
    result["ok_live_fallback"] = (
        hello_before == "hello" and (dropped or ws_during is None)
        and ws_during is None and status_page == 200 and track_api == 200
        and reconnected_s is not None)
    # "Does not explode": the slow tail stays within a second or three times the tail
    # before (this machine is shared, so timings are noisy). Failed attempts are
    # counted; the load sends them again with the same key.
    p99_before, p99_down = result["p99_ms_before"] or 0, result["p99_ms_redis_down"] or 0
    result["ok_latency"] = (result["posts_ok_while_down"] > 0
                            and p99_down <= max(1000.0, 3 * p99_before))
    result["ok"] = all(result[k] for k in ("ok_no_loss", "ok_no_duplicates",
                                           "ok_live_fallback", "ok_latency"))
    return result


SCENARIOS: dict[str, Callable[[System, dict[str, Any]], dict[str, Any]]] = {
    "kill": scenario_kill, "postgres": scenario_postgres, "redis": scenario_redis,
}


def _port_in_use(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def system(extra_env: dict[str, str] | None = None,
           ) -> Iterator[tuple[System, dict[str, Any]]]:
    from spotline.notify.tests.twilio_stub import TwilioStub

    workdir = Path(tempfile.mkdtemp(prefix="spotline-faults-"))
    procs = Processes(workdir)
    atexit.register(procs.stop_all)

    def on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    stub = TwilioStub(TWILIO_SID, TWILIO_TOKEN).start()
    procs.cleanups.append(stub.stop)
    try:
        say(f"work directory {workdir}")
        busy = [p for p in (*WEB_PORTS, REDIS_PORT) if _port_in_use(p)]
        if busy:
            # Most likely a run that was killed outright: its processes are still up.
            raise RuntimeError(f"ports {busy} are in use; stop what listens there first")
        pg_prepare(procs)
        redis_start(procs)
        env = {**spotline_env(workdir, stub.url), **(extra_env or {})}
        sys_ = System(procs, env)
        say("migrating")
        sys_.manage("migrate", "--verbosity", "0")
        sys_.manage("collectstatic", "--noinput", "--verbosity", "0")
        say(f"seeding {RESPONDERS} responders on shift")
        tokens = workdir / "tokens.json"
        subprocess.run([str(BIN / "python"), "-m", "faults.seed", str(RESPONDERS),
                        str(tokens)], env=env, cwd=ROOT, check=True)
        for i in range(2):
            sys_.start_web(i)
            sys_.start_worker(i)
        for i in range(2):
            sys_.wait_web(i)
        yield sys_, {"workdir": workdir, "tokens": tokens, "stub": stub}
    finally:
        say("stopping everything this run started")
        procs.stop_all()
        say(f"logs kept in {workdir}")


def main() -> int:
    chosen = sys.argv[1:] or list(SCENARIOS)
    unknown = [c for c in chosen if c not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s) {unknown}; known: {list(SCENARIOS)}", file=sys.stderr)
        return 2
    failed = False
    t0 = time.monotonic()
    try:
        with system() as (sys_, ctx):
            for name in chosen:
                say(f"scenario {name}")
                try:
                    result = SCENARIOS[name](sys_, ctx)
                except Exception as exc:
                    result = {"scenario": name, "ok": False,
                              "error": f"{type(exc).__name__}: {exc}"}
                failed |= not result["ok"]
                print(json.dumps(result, default=dict), flush=True)
                # A scenario that failed half-way may have left a process down.
                for i in range(2):
                    if f"web{i}" not in sys_.procs.procs:
                        sys_.start_web(i)
                    if f"worker{i}" not in sys_.procs.procs:
                        sys_.start_worker(i)
                if "redis" not in sys_.procs.procs:
                    redis_start(sys_.procs)
                if not pg_online():
                    pg_ctl("start")
    except KeyboardInterrupt:
        say("interrupted")
        return 1
    say(f"done in {time.monotonic() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
