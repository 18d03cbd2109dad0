"""The load for the fault tests: a separate process, as a client on 127.0.0.1 would be.

``python -m faults.load CONFIG.json`` runs until SIGTERM, then writes what it saw as
JSON lines to the config's ``out`` file:

- ``{"ev": "resp", ...}``: every HTTP answer to a help request (status, ms, port, time,
  whether a 503 carried Retry-After), and connection errors as status 0;
- ``{"ev": "ack", ...}``: a help request that got a 2xx ("acknowledged"), with its
  incident id and tracking token;
- ``{"ev": "accept", ...}``: a race of two responders on one incident, and who won.

Help requests go out at a steady rate to the web processes in turn; a failed one is
sent again, with the SAME Idempotency-Key, to the next process, until it is
acknowledged or ``give_up_s`` passes. Every ``accept_every``-th acknowledged incident
with two or more pending offers gets two accepts at once, from two of the offered
responders, on two different processes. Incidents are cancelled by the person ("I am
OK now") ``close_after_s`` after they were opened, and right after an accept, so
responders come free again and offers do not pile up. Offer ids are read from the
database (the harness's side door); every change goes through the HTTP API.
"""

from __future__ import annotations

import itertools
import json
import random
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import requests

KINDS = ["overdose", "overdose", "overdose", "mental_health", "medical"]


def _retry_after(r: requests.Response | None) -> float:
    try:
        return min(2.0, max(0.1, float(r.headers.get("Retry-After", "1")))) if r else 1.0
    except ValueError:
        return 1.0


class Load:
    def __init__(self, config: dict[str, Any]) -> None:
        self.c = config
        self.ports: list[int] = config["ports"]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self.acked: dict[int, dict[str, Any]] = {}  # incident id -> ack
        self.raced: set[int] = set()
        self.closed: set[int] = set()
        self.local = threading.local()
        with open(config["tokens"]) as f:
            self.tokens: dict[int, str] = {int(k): v for k, v in json.load(f).items()}
        self.rng = random.Random(config.get("seed", 1))  # noqa: S311 - places, not secrets
        lat0, lon0 = config["centre"]
        self.centre = (lat0, lon0)

    # -- plumbing ---------------------------------------------------------------------

    def session(self) -> requests.Session:
        s = getattr(self.local, "s", None)
        if s is None:
            s = self.local.s = requests.Session()
        return s

    def record(self, ev: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(ev)

    def url(self, port: int, path: str) -> str:
        return f"http://127.0.0.1:{port}{path}"

    # -- help requests ----------------------------------------------------------------

    def body(self) -> dict[str, Any]:
        lat0, lon0 = self.centre
        with self.lock:
            dlat, dlon = self.rng.uniform(-0.012, 0.012), self.rng.uniform(-0.02, 0.02)
            kind = self.rng.choice(KINDS)
        return {"kind": kind,
                "location": {"lat": round(lat0 + dlat, 6), "lon": round(lon0 + dlon, 6),
                             "accuracy_m": 30, "description": "by the bus shelter"},
                "details": "fault test", "breathing": "no", "conscious": "no",
                "danger": "no"}

    def ask(self, n: int) -> None:
        key = f"faults-{uuid.uuid4()}"
        body = self.body()
        port_order = itertools.cycle(self.ports[n % len(self.ports):] +
                                     self.ports[:n % len(self.ports)])
        first = time.time()
        attempts = 0
        while time.time() - first < self.c["give_up_s"]:
            port = next(port_order)
            attempts += 1
            t0 = time.time()
            try:
                r = self.session().post(self.url(port, "/api/v1/incidents"), json=body,
                                        headers={"Idempotency-Key": key}, timeout=10)
                status = r.status_code
            except requests.RequestException as exc:
                r, status = None, 0
                self.record({"ev": "resp", "status": 0, "error": type(exc).__name__,
                             "ms": (time.time() - t0) * 1000, "port": port, "t": t0})
            if r is not None:
                self.record({"ev": "resp", "status": status, "ms": (time.time() - t0) * 1000,
                             "port": port, "t": t0,
                             "retry_after": r.headers.get("Retry-After")})
            if r is not None and 200 <= status < 300:
                data = r.json()
                ack = {"ev": "ack", "key": key, "id": data["id"],
                       "token": data["tracking_token"], "status_url": data["status_url"],
                       "t": time.time(), "first": first, "attempts": attempts,
                       "port": port}
                with self.lock:
                    self.acked[data["id"]] = ack
                self.record(ack)
                return
            if self.stop.is_set() and status == 0:
                return  # shutting down; never acknowledged
            if attempts % len(self.ports):
                continue  # at once to the other process, as a load balancer would
            # Every process said no: wait as a well-behaved client does (Retry-After,
            # at most 2 s here so the harness sees how soon service comes back).
            time.sleep(0.1 if status == 0 else _retry_after(r))
        self.record({"ev": "gave_up", "key": key, "attempts": attempts})

    def pace(self, pool: ThreadPoolExecutor) -> None:
        interval = 1.0 / self.c["rate"]
        start = time.monotonic()
        for n in itertools.count():
            if self.stop.is_set():
                return
            target = start + n * interval
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(self.ask, n)

    # -- responders racing, people cancelling --------------------------------------------

    def accept_loop(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        racer = ThreadPoolExecutor(16)
        count = 0
        while not self.stop.is_set():
            time.sleep(0.3)
            with self.lock:
                ids = [i for i in self.acked if i not in self.raced and i not in self.closed]
            if not ids:
                continue
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.c["database_url"], autocommit=True,
                                           connect_timeout=2)
                rows = conn.execute(
                    "SELECT incident_id, array_agg(id ORDER BY id), "
                    "array_agg(responder_id ORDER BY id) FROM dispatch_offer "
                    "WHERE status = 'pending' AND incident_id = ANY(%s) "
                    "GROUP BY incident_id HAVING count(*) >= 2", (ids,)).fetchall()
            except psycopg.Error:
                conn = None
                continue
            for incident_id, offer_ids, responder_ids in rows:
                with self.lock:
                    self.raced.add(incident_id)
                count += 1
                if count % self.c["accept_every"]:
                    continue
                racer.submit(self.race, incident_id, list(zip(offer_ids, responder_ids,
                                                              strict=True))[:2])
        racer.shutdown(wait=True)

    def accept(self, port: int, offer_id: int, responder_id: int) -> int:
        try:
            r = self.session().post(
                self.url(port, f"/api/v1/offers/{offer_id}/accept"),
                headers={"Authorization": f"Bearer {self.tokens[responder_id]}"}, timeout=10)
            return r.status_code
        except requests.RequestException:
            return 0

    def race(self, incident_id: int, pair: list[tuple[int, int]]) -> None:
        barrier = threading.Barrier(2)
        results: list[int] = [0, 0]

        def one(i: int) -> None:
            offer_id, responder_id = pair[i]
            barrier.wait()
            results[i] = self.accept(self.ports[i % len(self.ports)], offer_id, responder_id)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.record({"ev": "accept", "incident": incident_id, "statuses": results})
        if 200 in results:
            self.cancel(incident_id)

    def cancel(self, incident_id: int) -> None:
        with self.lock:
            ack = self.acked[incident_id]
        for port in self.ports * 3:
            try:
                r = self.session().post(self.url(port, f"/api/v1/track/{ack['token']}/cancel"),
                                        timeout=10)
                if r.status_code in (200, 409):
                    with self.lock:
                        self.closed.add(incident_id)
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)

    def close_loop(self) -> None:
        while not self.stop.is_set():
            time.sleep(0.5)
            cutoff = time.time() - self.c["close_after_s"]
            with self.lock:
                old = [i for i, a in self.acked.items() if a["t"] < cutoff and i not in self.closed]
            for incident_id in old:
                if self.stop.is_set():
                    return
                self.cancel(incident_id)

    # -- run --------------------------------------------------------------------------

    def run(self) -> None:
        pool = ThreadPoolExecutor(self.c.get("threads", 48))
        threads = [threading.Thread(target=self.pace, args=(pool,)),
                   threading.Thread(target=self.accept_loop),
                   threading.Thread(target=self.close_loop)]
        for t in threads:
            t.start()
        self.stop.wait()
        for t in threads:
            t.join(timeout=15)
        pool.shutdown(wait=True, cancel_futures=True)
        with self.lock:
            still_open = [i for i in self.acked if i not in self.closed]
        self.close_and_write(still_open)

    def close_and_write(self, still_open: list[int], *head: dict[str, Any]) -> None:
        """Close what is still open, so the next run does not inherit rounds of offers
        (and their messages) from this one; then write ``head`` and every event."""
        with ThreadPoolExecutor(8) as closer:
            list(closer.map(self.cancel, still_open))
        with open(self.c["out"], "w") as f, self.lock:
            for ev in (*head, *self.events):
                f.write(json.dumps(ev) + "\n")


def main(kind: type[Load] = Load) -> None:
    """Run a load of ``kind`` from the config file named on the command line until
    SIGTERM (or SIGINT)."""
    with open(sys.argv[1]) as f:
        load = kind(json.load(f))
    signal.signal(signal.SIGTERM, lambda *_: load.stop.set())
    signal.signal(signal.SIGINT, lambda *_: load.stop.set())
    load.run()


if __name__ == "__main__":
    main()
