"""A local fake of Twilio's REST API, over real HTTP on 127.0.0.1.

Only the two resources the outbox uses are served: ``POST
/2010-04-01/Accounts/{sid}/Messages.json`` and ``.../Calls.json``. Like Twilio, the
stub checks HTTP Basic auth (account SID, auth token), answers ``201`` with the JSON the
twilio library turns into a ``MessageInstance`` / ``CallInstance``, and answers errors
with Twilio's error JSON (``{"code", "message", "more_info", "status"}``).

It records every request (form fields and the ``I-Twilio-Idempotency-Token`` header)
and deduplicates by that token: a repeated token gets the first answer again and is
not counted as a new delivery. ``fail_with(status)`` makes the next requests fail.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

ROUTE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/(?P<resource>Messages|Calls)\.json$")

ERRORS: dict[int, tuple[int, str]] = {
    400: (21211, "The 'To' number is not a valid phone number."),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


@dataclass(frozen=True)
class Request:
    """One request as the stub received it."""

    method: str
    path: str
    resource: str  # "Messages" or "Calls" ("" for an unknown path)
    form: dict[str, str]
    token: str | None  # the I-Twilio-Idempotency-Token header
    authorized: bool
    status: int  # what the stub answered


@dataclass
class _State:
    requests: list[Request] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # new messages/calls
    by_token: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[tuple[int, dict[str, Any] | None]] = field(default_factory=list)
    fail_always: tuple[int, dict[str, Any] | None] | None = None


class TwilioStub:
    """Start with ``with TwilioStub(sid, token) as stub:``; point TWILIO_API_BASE at
    ``stub.url``."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Lock()
        self._state = _State()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> TwilioStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                status, body = stub._handle(
                    path=self.path, raw_form=raw,
                    authorization=self.headers.get("Authorization", ""),
                    token=self.headers.get("I-Twilio-Idempotency-Token"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the tests read .requests; stderr noise helps nobody

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket: new connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> TwilioStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- what the tests set and read ---------------------------------------------------

    def fail_with(self, status: int, body: dict[str, Any] | None = None, *,
                  times: int | None = 1) -> None:
        """Answer the next ``times`` requests (every request if None) with an error."""
        with self._lock:
            if times is None:
                self._state.fail_always = (status, body)
            else:
                self._state.failures.extend([(status, body)] * times)

    def succeed(self) -> None:
        with self._lock:
            self._state.failures.clear()
            self._state.fail_always = None

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._state.requests)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """The messages and calls Twilio would have sent: one per idempotency token."""
        with self._lock:
            return list(self._state.deliveries)

    # -- the fake API ----------------------------------------------------------------

    def _authorized(self, authorization: str) -> bool:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return (secrets.compare_digest(user, self.account_sid)
                and secrets.compare_digest(password, self.auth_token))

    def _handle(self, *, path: str, raw_form: str, authorization: str, token: str | None,
                ) -> tuple[int, dict[str, Any]]:
        form = {k: v[-1] for k, v in parse_qs(raw_form, keep_blank_values=True).items()}
        match = ROUTE.match(path.split("?")[0])
        authorized = self._authorized(authorization)
        with self._lock:
            status, body = self._answer(match, form, authorized, token)
            self._state.requests.append(Request(
                method="POST", path=path, resource=match["resource"] if match else "",
                form=form, token=token, authorized=authorized, status=status))
        return status, body

    def _answer(self, match: re.Match[str] | None, form: dict[str, str], authorized: bool,
                token: str | None) -> tuple[int, dict[str, Any]]:
        if match is None:
            return _error(404)
        if not authorized or match["sid"] != self.account_sid:
            return _error(401)
        # The same token again: the first answer, and nothing sent a second time.
        if token and token in self._state.by_token:
            return 201, self._state.by_token[token]
        if self._state.failures:
            status, body = self._state.failures.pop(0)
            return status, body or _error(status)[1]
        if self._state.fail_always is not None:
            status, body = self._state.fail_always
            return status, body or _error(status)[1]
        if match["resource"] == "Messages":
            if not form.get("To") or not (form.get("Body") or form.get("MediaUrl")):
                return _error(400)
            resource = self._message(form)
        else:
            if not form.get("To") or not (form.get("Twiml") or form.get("Url")):
                return _error(400)
            resource = self._call(form)
        self._state.deliveries.append({"resource": match["resource"], **form,
                                       "sid": resource["sid"]})
        if token:
            self._state.by_token[token] = resource
        return 201, resource

    def _message(self, form: dict[str, str]) -> dict[str, Any]:
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01",
            "body": form.get("Body", ""), "date_created": now, "date_sent": None,
            "date_updated": now, "direction": "outbound-api", "error_code": None,
            "error_message": None, "from": form.get("From"), "messaging_service_sid": None,
            "num_media": "0", "num_segments": "1", "price": None, "price_unit": "USD",
            "sid": sid, "status": "queued", "to": form.get("To"),
            "subresource_uris": {"media": f"{base}/Media.json"}, "uri": f"{base}.json",
        }

    def _call(self, form: dict[str, str]) -> dict[str, Any]:
        sid = "CA" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        base = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}"
        return {
            "account_sid": self.account_sid, "annotation": None, "answered_by": None,
            "api_version": "2010-04-01", "caller_name": None, "date_created": now,
            "date_updated": now, "direction": "outbound-api", "duration": None,
            "end_time": None, "forwarded_from": None, "from": form.get("From"),
            "from_formatted": form.get("From"), "group_sid": None, "parent_call_sid": None,
            "phone_number_sid": None, "price": None, "price_unit": "USD", "sid": sid,
            "start_time": None, "status": "queued", "subresource_uris": {},
            "to": form.get("To"), "to_formatted": form.get("To"), "trunk_sid": None,
            "uri": f"{base}.json", "queue_time": "0",
        }


def _error(status: int) -> tuple[int, dict[str, Any]]:
    code, message = ERRORS.get(status, (status, "Error"))
    return status, {"code": code, "message": message,
                    "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
