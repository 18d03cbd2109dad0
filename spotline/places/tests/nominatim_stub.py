"""A stand-in for an organization's Nominatim on 127.0.0.1: it answers /search with a
recorded jsonv2 response (``nominatim/*.json``), or fails the way a real server does
(a 500, a body that is not JSON, an answer later than the timeout), and keeps every
request it was sent so a test can count them and read their parameters."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RECORDED = Path(__file__).resolve().parent / "nominatim"


@dataclass
class Stub:
    url: str
    answer: str = "house.json"  # a file of RECORDED, or "500", "bad_json", "slow"
    slow_seconds: float = 1.0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            stub.requests.append((parts.path, {k: v[-1] for k, v in parse_qs(
                parts.query).items()}))
            if stub.answer == "500":
                self._send(500, b"<html>Internal Server Error</html>", "text/html")
            elif stub.answer == "bad_json":
                self._send(200, b'[{"place_id": 1, "lat": "60.1', "application/json")
            elif stub.answer == "slow":
                time.sleep(stub.slow_seconds)
                self._send(200, b"[]", "application/json")
            else:
                body = (RECORDED / stub.answer).read_bytes()
                self._send(200, body, "application/json; charset=utf-8")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout case)

        def log_message(self, *args: Any) -> None:
            pass  # http.server would print each request line, query text included

    return Handler


@contextmanager
def serving(answer: str = "house.json") -> Iterator[Stub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    stub = Stub(url=f"http://127.0.0.1:{server.server_address[1]}/nominatim", answer=answer)
    server.RequestHandlerClass = _handler(stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
