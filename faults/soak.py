"""The soak: the production profile under steady load and a fault every 30 seconds.

``python -m faults.soak`` (``make soak``, via scripts/soak.sh). The system under test is
``make faults``'s (faults.run: its own PostgreSQL cluster on 5499 and Redis on 6499, two
web processes, two workers, the Twilio stub), with a retention of 0 hours so the purge
runs all along. ``faults.soakload`` sends ``SOAK_REQUESTS`` requests; meanwhile, every
``SOAK_FAULT_EVERY`` seconds, a fault drawn at random (seeded by ``SOAK_SEED``; each
kind once in every five, in a shuffled order):

- ``kill_web``: kill -9 of one web process; this script restarts it at once (the
  supervisor's part) and the fault ends when it serves again;
- ``kill_worker``: kill -9 of one worker, restarted at once; ends when its loop runs;
- ``restart_postgres``: a fast stop, 3 s down, a start;
- ``stop_redis``: Redis stopped for 10 s;
- ``pause_worker``: SIGSTOP of one worker for the outbox lease plus 5 s, then SIGCONT.

Then it stops sending, lets the workers finish what is due, and checks everything
(faults.soakcheck). Output: one JSON line per fault, then one summary line with
``"ok"``; progress on stderr; exit 1 on any violation. Everything it started is
stopped on the way out.
"""

# ruff: noqa: S311 - the fault drawn, not a secret
from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from faults import soakcheck
from faults.run import (
    BIN,
    DATABASE_URL,
    TWILIO_SID,
    TWILIO_TOKEN,
    WEB_PORTS,
    System,
    pg_ctl,
    pg_online,
    redis_start,
    say,
    system,
)
from faults.seed import LANDMARKS

REQUESTS = int(os.environ.get("SOAK_REQUESTS", "10000"))
RATE = float(os.environ.get("SOAK_RATE", "1.5"))  # starts a second; each brings ~2 requests
FAULT_EVERY = float(os.environ.get("SOAK_FAULT_EVERY", "30"))
SEED = int(os.environ.get("SOAK_SEED", "1"))
LEASE_S = 15  # SPOTLINE_OUTBOX_LEASE_SECONDS, its default, set below
FAULTS = ("kill_web", "kill_worker", "restart_postgres", "stop_redis", "pause_worker")


def line(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, default=dict), flush=True)


class Injector:
    def __init__(self, sys_: System, seed: int) -> None:
        self.sys = sys_
        self.rng = random.Random(seed)
        self.windows: list[dict[str, Any]] = []
        self.deck: list[str] = []

    def draw(self) -> str:
        """Random, dealt like cards: every kind once per five faults, in a shuffled
        order, so that even CI's short run meets each kind."""
        if not self.deck:
            self.deck = list(FAULTS)
            self.rng.shuffle(self.deck)
        return self.deck.pop()

    def inject(self) -> dict[str, Any]:
        kind = self.draw()
        i = self.rng.randrange(2)
        start = time.time()
        getattr(self, kind)(i)
        back = time.time()
        window: dict[str, Any] = {"fault": kind, "n": len(self.windows) + 1, "process": i,
                                  "start": start, "back": back,
                                  "down_s": round(back - start, 2)}
        self.windows.append(window)
        return window

    def kill_web(self, i: int) -> None:
        self.sys.procs.kill9(f"web{i}")
        self.sys.start_web(i)
        self.sys.wait_web(i, timeout=90)

    def kill_worker(self, i: int) -> None:
        self.sys.procs.kill9(f"worker{i}")
        restarted = time.time()
        self.sys.start_worker(i)
        if self.sys.worker_ready(restarted, timeout=90) is None:
            raise RuntimeError(f"worker{i} did not start again")

    def restart_postgres(self, i: int) -> None:
        pg_ctl("stop", "-m", "fast")
        time.sleep(3)
        pg_ctl("start")

    def stop_redis(self, i: int) -> None:
        self.sys.procs.stop("redis")
        time.sleep(10)
        redis_start(self.sys.procs)

    def pause_worker(self, i: int) -> None:
        pid = self.sys.procs.procs[f"worker{i}"].pid
        os.killpg(pid, signal.SIGSTOP)
        try:
            time.sleep(LEASE_S + 5)
        finally:
            os.killpg(pid, signal.SIGCONT)

    def heal(self) -> None:
        """After a failed fault: whatever is down comes back."""
        for i in range(2):
            if f"web{i}" not in self.sys.procs.procs:
                self.sys.start_web(i)
            if f"worker{i}" not in self.sys.procs.procs:
                self.sys.start_worker(i)
            with contextlib.suppress(ProcessLookupError, KeyError):
                os.killpg(self.sys.procs.procs[f"worker{i}"].pid, signal.SIGCONT)
        if "redis" not in self.sys.procs.procs:
            redis_start(self.sys.procs)
        if not pg_online():
            pg_ctl("start")


def start_load(sys_: System, ctx: dict[str, Any]) -> tuple[subprocess.Popen[bytes], Path]:
    workdir: Path = ctx["workdir"]
    out = workdir / "soak-load.jsonl"
    config = {"ports": WEB_PORTS, "rate": RATE, "requests": REQUESTS, "give_up_s": 60,
              "close_after_s": 20, "tokens": str(ctx["tokens"]), "out": str(out),
              "database_url": DATABASE_URL, "centre": [60.1699, 24.9384], "seed": SEED,
              "landmarks": list(LANDMARKS), "site_url": f"http://127.0.0.1:{WEB_PORTS[0]}",
              "twilio_sid": TWILIO_SID, "twilio_token": TWILIO_TOKEN}
    cfg = workdir / "soak-load.json"
    cfg.write_text(json.dumps(config))
    proc = sys_.procs.start("soak-load", [str(BIN / "python"), "-m", "faults.soakload",
                                          str(cfg)], sys_.env)
    return proc, out


def soak() -> int:
    # 0 hours: every closed incident is purged at once, so the purge runs under faults.
    extra = {"SPOTLINE_RETENTION_HOURS": "0", "SPOTLINE_CHECKIN_GRACE_SECONDS": "10",
             "SPOTLINE_OUTBOX_LEASE_SECONDS": str(LEASE_S)}
    t0 = time.time()
    with system(extra) as (sys_, ctx):
        injector = Injector(sys_, SEED)
        say(f"soak: {REQUESTS} requests at {RATE} starts/s, a fault every {FAULT_EVERY:.0f} s")
        load, out = start_load(sys_, ctx)
        next_fault = time.time() + FAULT_EVERY
        while load.poll() is None:
            time.sleep(0.5)
            if time.time() < next_fault:
                continue
            try:
                window = injector.inject()
            except Exception as exc:
                window = {"fault": "failed", "error": f"{type(exc).__name__}: {exc}",
                          "start": time.time(), "back": time.time()}
                injector.windows.append(window)
                injector.heal()
            say(f"fault {window.get('n', '?')} {window['fault']}: {window.get('down_s')} s")
            line({"soak_fault": window})
            next_fault = max(next_fault + FAULT_EVERY, time.time() + 1)
        say("load done; draining")
        injector.heal()
        soakcheck.settle()
        events = [json.loads(x) for x in out.read_text().splitlines()]
        sent = next(e["requests"] for e in events if e["ev"] == "sent")
        windows = injector.windows
        result: dict[str, Any] = {
            "soak": "repeated_faults", "requests": sent, "requests_goal": REQUESTS,
            "retried_attempts": sum(e["ev"] == "resp" for e in events) - sent,
            "faults": len(windows), "faults_by_kind": Counter(w["fault"] for w in windows),
            "fault_every_s": FAULT_EVERY, "seed": SEED,
            "minutes": round((time.time() - t0) / 60, 1),
        }
        result.update(soakcheck.by_channel(events))
        result.update(soakcheck.answers_and_messages(events, ctx["stub"]))
        # Timers before the purge check: ``spotline purge`` fires any purge timer the
        # workers left, which would then look on time.
        result.update(soakcheck.timers(windows))
        result.update(soakcheck.latency(events, windows))
        result.update(soakcheck.audit_and_purge(sys_.env))
        result["worst_fault_down_s"] = max((w.get("down_s", 0) for w in windows), default=0)
        result["ok"] = (all(v for k, v in result.items() if k.startswith("ok_"))
                        and not any(w["fault"] == "failed" for w in windows))
        line(result)
        return 0 if result["ok"] else 1


def main() -> int:
    if REQUESTS < 1 or RATE <= 0 or FAULT_EVERY < 1:
        print("soak: SOAK_REQUESTS, SOAK_RATE and SOAK_FAULT_EVERY must be positive",
              file=sys.stderr)
        return 2
    try:
        return soak()
    except KeyboardInterrupt:
        say("interrupted")
        return 1


if __name__ == "__main__":
    sys.exit(main())
