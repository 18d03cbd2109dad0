"""The soak's load: people asking for help three ways, check-ins, responders answering.

``python -m faults.soakload CONFIG.json`` (started by ``faults.soak``) sends, open-loop
at ``rate`` starts a second until ``requests`` requests have gone out, a mix of:

- help by the API (``Idempotency-Key``), by the help page (a page load, then the form
  with its hidden submission key) and by a signed Twilio SMS webhook (a landmark named
  in the text, so the request has a point);
- check-ins of one minute (with ``Idempotency-Key``) that are answered "OK" and ended,
  ended at once, or never answered, so they escalate and are then called off;
- responders answering offers: two racing for one incident, one double-tapping
  "accept" on two processes, a decline then an accept, or nobody (the round times out);
- people cancelling ("I am OK now") after a while, or right after an accept.

A request that fails (connection refused, 5xx, the reply "please send it again") is
sent again the way that client would: the same key, submission or SMS id, at once to the
other process, then after Retry-After; a new text when the reply asked for one. Every
first attempt counts toward ``requests``; retries are counted apart. When the budget is
spent it waits for the check-ins still running, closes what is open and writes every
event as JSON lines to ``out``, then exits. SIGTERM stops it early the same way.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import psycopg
import requests
from twilio.request_validator import RequestValidator

from faults.load import KINDS, Load, _retry_after, main

Attempt = Callable[[requests.Session, int], requests.Response]
TRACK = re.compile(r"/t/([\w-]{16,})/")
HIDDEN = re.compile(r'name="(csrfmiddlewaretoken|submission)" value="([^"]+)"')


class SoakLoad(Load):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.budget: int = config["requests"]
        self.sent = 0
        self.numbers = itertools.count(1)
        self.spent = threading.Event()
        self.later: list[tuple[float, int, Callable[[], None]]] = []
        self.later_seq = itertools.count()
        self.running_checkins = 0
        self.pool = ThreadPoolExecutor(config.get("threads", 64))
        # The person's side of a check-in (OK, done, call-off, watching) on threads of
        # its own: a pool saturated by retries during a fault must not make an answer
        # late enough to escalate a check-in whose person did answer.
        self.timed = ThreadPoolExecutor(config.get("timed_threads", 32))
        self.unresolved: dict[str, dict[str, Any]] = {}  # tracking token -> ack

    # -- the budget and the retry rule ------------------------------------------------

    def count(self, *, start: bool = False) -> bool:
        """Count a first attempt. A start (someone asking for help, a check-in) is
        refused once the budget is spent; what follows from one already started is not."""
        with self.lock:
            if start and self.sent >= self.budget:
                self.spent.set()
                return False
            self.sent += 1
            return True

    def submit(self, pool: ThreadPoolExecutor, fn: Callable[..., None], *args: Any) -> None:
        """A task whose exception is recorded (and judged), not lost in its future."""
        def run() -> None:
            try:
                fn(*args)
            except Exception as exc:
                self.record({"ev": "load_error", "in": getattr(fn, "__name__", "?"),
                             "error": type(exc).__name__, "t": time.time()})
        pool.submit(run)

    def attempt(self, what: str, send: Attempt, done: Callable[[requests.Response], bool],
                *, start: bool = False, counted: bool = False) -> requests.Response | None:
        """Send until ``done`` says so or ``give_up_s`` passes (see the module doc).
        ``counted``: the caller counted this first attempt already."""
        if not counted and not self.count(start=start):
            return None
        first, tries = time.time(), 0
        session = requests.Session()
        while time.time() - first < self.c["give_up_s"]:
            port = self.ports[tries % len(self.ports)]
            tries += 1
            t0 = time.time()
            try:
                r: requests.Response | None = send(session, port)
                status = r.status_code if r is not None else 0
            except requests.RequestException as exc:
                r, status = None, 0
                self.record({"ev": "resp", "what": what, "status": 0, "t": t0, "port": port,
                             "ms": (time.time() - t0) * 1000, "error": type(exc).__name__})
            if r is not None:
                self.record({"ev": "resp", "what": what, "status": status, "t": t0,
                             "port": port, "ms": (time.time() - t0) * 1000,
                             "retry_after": r.headers.get("Retry-After")})
                if done(r):
                    return r
                if 400 <= status < 500 and status not in (408, 429):
                    # An answer, not a failure: a retry would get the same.
                    self.record({"ev": "refused", "what": what, "status": status})
                    return r
            if tries % len(self.ports):
                continue
            time.sleep(0.1 if status == 0 else _retry_after(r))
        self.record({"ev": "gave_up", "what": what, "tries": tries})
        return None

    def at(self, delay: float, fn: Callable[[], None]) -> None:
        with self.lock:
            heapq.heappush(self.later, (time.time() + delay, next(self.later_seq), fn))

    def clock(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                due = []
                while self.later and self.later[0][0] <= time.time():
                    due.append(heapq.heappop(self.later)[2])
            for fn in due:
                self.submit(self.timed, fn)
            time.sleep(0.2)

    def place(self) -> dict[str, Any]:
        body = self.body()["location"]
        return {"lat": body["lat"], "lon": body["lon"], "accuracy_m": 30}

    # -- three ways to ask for help ----------------------------------------------------

    def ack(self, channel: str, token: str, incident_id: int | None, **extra: Any) -> None:
        ack = {"ev": "ack", "channel": channel, "token": token, "id": incident_id,
               "t": time.time(), **extra}
        with self.lock:
            if incident_id is None:
                self.unresolved[token] = ack
            else:
                self.acked[incident_id] = ack
        self.record(ack)

    def help_api(self) -> None:
        key, body = f"soak-{uuid.uuid4()}", self.body()
        r = self.attempt("help_api", lambda s, p: s.post(
            self.url(p, "/api/v1/incidents"), json=body, timeout=10,
            headers={"Idempotency-Key": key}), lambda r: r.status_code == 201, start=True)
        if r is not None and r.status_code == 201:
            data = r.json()
            self.ack("api", data["tracking_token"], data["id"], key=key)

    def help_form(self) -> None:
        """One person, one page load: a new submission key only with a new page."""
        page = self.attempt("form_page", lambda s, p: s.get(self.url(p, "/"), timeout=10),
                            lambda r: r.status_code == 200, start=True)
        if page is None or page.status_code != 200:
            return
        hidden = dict(HIDDEN.findall(page.text))
        where = self.place()
        data = {**hidden, "kind": self.rng.choice(KINDS[:2]), "lat": where["lat"],
                "lon": where["lon"], "breathing": "no", "conscious": "no", "danger": "no"}
        cookies = page.cookies

        def send(s: requests.Session, port: int) -> requests.Response:
            return s.post(self.url(port, "/"), data=data, cookies=cookies, timeout=10,
                          allow_redirects=False)

        r = self.attempt("help_form", send, lambda r: r.status_code == 302)
        match = TRACK.search(r.headers.get("Location", "")) if r is not None else None
        if match:
            self.ack("web", match.group(1), None, submission=hidden.get("submission"))

    def help_sms(self) -> None:
        """A text naming a landmark; Twilio's retry keeps the id, a new text gets a new one."""
        if not self.count(start=True):
            return  # the budget is spent: nobody texted
        phone = f"+1555{9_000_000 + next(self.numbers):07d}"
        text = f"my friend isn't breathing at {self.rng.choice(self.c['landmarks'])}"
        sid = [f"SM{uuid.uuid4().hex}"]
        hook = f"{self.c['site_url']}/hooks/twilio/sms"
        validator = RequestValidator(self.c["twilio_token"])

        def send(s: requests.Session, port: int) -> requests.Response:
            params = {"MessageSid": sid[0], "From": phone, "To": "+15550100000",
                      "Body": text, "NumMedia": "0", "AccountSid": self.c["twilio_sid"]}
            r = s.post(self.url(port, "/hooks/twilio/sms"), data=urlencode(params),
                       timeout=10, headers={
                           "Content-Type": "application/x-www-form-urlencoded",
                           "X-Twilio-Signature": validator.compute_signature(hook, params)})
            if r.status_code == 200 and "send it again" in r.text:
                sid[0] = f"SM{uuid.uuid4().hex}"  # "please send it again": a new text
            return r

        # Done on any answer but "send it again": another reply without a link is what
        # this person got (recorded by the check as not acknowledged), not a reason to
        # text the same conversation again and again for give_up_s.
        r = self.attempt("help_sms", send,
                         lambda r: r.status_code == 200 and "send it again" not in r.text,
                         counted=True)
        match = TRACK.search(r.text) if r is not None else None
        if match:
            self.ack("sms", match.group(1), None, phone_n=phone[-7:])
        self.record({"ev": "sms_person", "acked": bool(match)})

    # -- check-ins ----------------------------------------------------------------------

    def checkin(self) -> None:
        if not self.count(start=True):
            return  # the budget is spent: nobody started one
        key = f"soak-checkin-{uuid.uuid4()}"
        body: dict[str, Any] = {"location": {**self.place(), "description": "upstairs flat"},
                                "minutes": 1}
        r = self.attempt("checkin_start", lambda s, p: s.post(
            self.url(p, "/api/v1/checkins"), json=body, timeout=10,
            headers={"Idempotency-Key": key}), lambda r: r.status_code == 201, counted=True)
        self.record({"ev": "checkin_key", "key": key})
        if r is None or r.status_code != 201:
            return
        token = r.json()["token"]
        with self.lock:
            fate = self.rng.choice(["ok_then_done", "done", "miss"])
            self.running_checkins += 1
        self.record({"ev": "checkin", "key": key, "token": token, "fate": fate,
                     "t": time.time()})
        path = f"/api/v1/checkins/{token}"

        def post(what: str, sub: str) -> requests.Response | None:
            return self.attempt(what, lambda s, p: s.post(self.url(p, f"{path}/{sub}"),
                                                          timeout=10),
                                lambda r: r.status_code == 200)

        def end(what: str, sub: str) -> Callable[[], None]:
            def run() -> None:
                try:
                    r = post(what, sub)
                    self.record({"ev": what, "token": token,
                                 "status": r.status_code if r is not None else 0})
                finally:
                    with self.lock:
                        self.running_checkins -= 1
            return run

        if fate == "done":
            self.at(15, end("checkin_done", "done"))
        elif fate == "ok_then_done":
            self.at(25, lambda: (post("checkin_ok", "ok"), None)[1])
            self.at(45, end("checkin_done", "done"))
        else:
            self.at(75, lambda: self.watch_escalation(token, path, end))

    def watch_escalation(self, token: str, path: str,
                         end: Callable[[str, str], Callable[[], None]]) -> None:
        for _ in range(30):
            try:
                r = requests.get(self.url(self.ports[0], path), timeout=10)
                if r.status_code == 200 and r.json().get("escalated"):
                    self.record({"ev": "escalated", "token": token, "t": time.time()})
                    self.at(self.c["close_after_s"], end("checkin_call_off", "call-off"))
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(5)
        self.record({"ev": "not_escalated", "token": token})
        with self.lock:
            self.running_checkins -= 1

    # -- responders ----------------------------------------------------------------------

    def answer(self, incident_id: int, offers: list[tuple[int, int]], n: int) -> None:
        """Race, double-tap, decline-then-accept, or nobody (by turns)."""
        how = n % 4
        if how == 0 and len(offers) >= 2:
            self.count(), self.count()
            self.race(incident_id, offers[:2])
            return
        if how == 3:
            return  # nobody answers: the round's timer moves it on
        offer_id, responder_id = offers[0]
        if how == 2 and len(offers) >= 2:
            self.count()
            status = self.accept(self.ports[0], offer_id, responder_id, verb="decline")
            self.record({"ev": "decline", "incident": incident_id, "status": status})
            offer_id, responder_id = offers[1]
        barrier, statuses = threading.Barrier(2), [0, 0]

        def tap(i: int) -> None:
            barrier.wait()
            statuses[i] = self.accept(self.ports[i], offer_id, responder_id)

        self.count(), self.count()
        taps = [threading.Thread(target=tap, args=(i,)) for i in range(2)]
        for t in taps:
            t.start()
        for t in taps:
            t.join()
        self.record({"ev": "doubletap", "incident": incident_id, "statuses": statuses})
        if 200 in statuses:
            self.cancel(incident_id)

    def accept(self, port: int, offer_id: int, responder_id: int,
               verb: str = "accept") -> int:
        t0 = time.time()
        try:
            r = self.session().post(self.url(port, f"/api/v1/offers/{offer_id}/{verb}"),
                                    headers={"Authorization":
                                             f"Bearer {self.tokens[responder_id]}"},
                                    timeout=10)
            status = r.status_code
        except requests.RequestException:
            status = 0
        self.record({"ev": "resp", "what": verb, "status": status, "t": t0, "port": port,
                     "ms": (time.time() - t0) * 1000})
        return status

    def cancel(self, incident_id: int) -> None:
        with self.lock:
            ack = self.acked[incident_id]
        if ack.get("channel") != "checkin":  # those are called off on their own timeline
            self.attempt("cancel", lambda s, p: s.post(
                self.url(p, f"/api/v1/track/{ack['token']}/cancel"), timeout=10),
                lambda r: r.status_code in (200, 409))
        with self.lock:
            self.closed.add(incident_id)

    def responders(self) -> None:
        """Find offers (and the incidents of page and SMS requests) by the side door."""
        conn: psycopg.Connection[Any] | None = None
        turns = itertools.count()
        while not self.stop.is_set():
            time.sleep(0.3)
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.c["database_url"], autocommit=True,
                                           connect_timeout=2)
                self.resolve(conn)
                with self.lock:
                    ids = [i for i in self.acked if i not in self.raced and i not in self.closed]
                rows = conn.execute(
                    "SELECT incident_id, array_agg(id ORDER BY id), "
                    "array_agg(responder_id ORDER BY id) FROM dispatch_offer "
                    "WHERE status = 'pending' AND incident_id = ANY(%s) "
                    "GROUP BY incident_id", (ids,)).fetchall()
            except psycopg.Error:
                conn = None
                continue
            for incident_id, offer_ids, responder_ids in rows:
                with self.lock:
                    self.raced.add(incident_id)
                self.submit(self.pool, self.answer, incident_id,
                            list(zip(offer_ids, responder_ids, strict=True)), next(turns))

    def resolve(self, conn: psycopg.Connection[Any]) -> None:
        with self.lock:
            pending = dict(self.unresolved)
        by_digest = {hashlib.sha256(t.encode()).hexdigest(): t for t in pending}
        rows = conn.execute("SELECT tracking_digest, id FROM dispatch_incident "
                            "WHERE tracking_digest = ANY(%s)", (list(by_digest),)).fetchall()
        with self.lock:
            known = list(self.acked)
        esc = conn.execute(
            "SELECT incident_id FROM checkins_checkin WHERE incident_id IS NOT NULL "
            "AND incident_id <> ALL(%s)", (known,)).fetchall()
        with self.lock:
            for digest, incident_id in rows:
                ack = self.unresolved.pop(by_digest[digest])
                self.acked[incident_id] = {**ack, "id": incident_id}
            for (incident_id,) in esc:
                self.acked.setdefault(incident_id, {"channel": "checkin", "t": time.time()})

    # -- run ------------------------------------------------------------------------------

    def starts(self) -> None:
        ways = [self.help_api] * 4 + [self.help_form] * 2 + [self.help_sms] * 2 \
            + [self.checkin] * 2
        interval, start = 1.0 / self.c["rate"], time.monotonic()
        for n in itertools.count():
            if self.stop.is_set() or self.spent.is_set():
                return
            delay = start + n * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with self.lock:
                way = self.rng.choice(ways)
            self.submit(self.pool, way)

    def run(self) -> None:
        threads = [threading.Thread(target=f, daemon=True)
                   for f in (self.starts, self.clock, self.responders, self.close_loop)]
        for t in threads:
            t.start()
        while not self.stop.is_set() and not self.spent.is_set():
            time.sleep(0.5)
        # The budget is spent: let check-ins play out (a missed one takes ~2 min).
        t0 = time.time()
        while not self.stop.is_set() and time.time() - t0 < 240:
            with self.lock:
                if self.running_checkins <= 0:
                    break
            time.sleep(1)
        self.stop.set()
        for t in threads:
            t.join(timeout=15)
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.timed.shutdown(wait=True, cancel_futures=True)
        with self.lock:
            still_open = [i for i, a in self.acked.items()
                          if i not in self.closed and a.get("channel") != "checkin"]
        self.close_and_write(still_open, {"ev": "sent", "requests": self.sent})


if __name__ == "__main__":
    main(SoakLoad)
