"""Logs are JSON lines, and nothing personal survives the redaction step
(spotline/logs.py): no phone numbers, coordinates, bodies, names or tokens."""

from __future__ import annotations

import io
import json
import logging
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from spotline.accounts.tests.test_run_command import STOP_TIMEOUT, Server, request
from spotline.logs import REDACTED, DropExceptionText, formatter, scrub

PHONE = "+1 (555) 010-0177"
PHONE_DIGITS = "5550100177"
COORDS = "60.171234, 24.941234"
BODY = "Blue jacket, lying down behind the library"
NAME = "Maria Virtanen"
EMAIL = "maria.virtanen@example.org"
SID = "SM0123456789abcdef0123456789abcdef"  # ids survive, digit runs and all
TOKEN = "AbCdEfGh0123456789xyzw"
SECRETS = (PHONE, PHONE_DIGITS, "010-0177", "60.171234", "24.941234", BODY, NAME, EMAIL,
           "virtanen", TOKEN)


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """What the configured console handler (settings.LOGGING) writes, into a buffer."""
    root = logging.getLogger()
    console = next(h for h in root.handlers
                   if isinstance(h.formatter, structlog.stdlib.ProcessorFormatter))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(console.formatter)
    for f in console.filters:
        handler.addFilter(f)
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # each line alone is JSON


def test_it_writes_one_json_object_per_line_with_nothing_personal(output: io.StringIO
                                                                   ) -> None:
    stdlib = logging.getLogger("spotline.intake.sms")
    stdlib.info("sms conversation=%s sid=%s from %s at %s", 4711, SID, PHONE, COORDS)
    stdlib.info("inbound sms refused sid=%s", SID, extra={"body": BODY, "from_name": NAME})
    stdlib.warning("mail to %s about /t/%s/", EMAIL, TOKEN)
    log = structlog.get_logger("spotline.dispatch")
    log.info("incident_opened", incident_id=4711, sid=SID, body=BODY, name=NAME, phone=PHONE,
             lat=60.171234, lon=24.941234, note=f"call {PHONE}", path=f"/c/{TOKEN}/ok/",
             nested={"to": PHONE, "where": COORDS, "count": 3})
    log.info(f"texted {PHONE} at {COORDS}")

    records = lines(output)
    assert len(records) == 5
    for record in records:
        assert list(record)[:4] == ["time", "level", "logger", "event"]
    text = output.getvalue()
    for secret in SECRETS:
        assert secret not in text, secret
    assert records[0]["event"] == f"sms conversation=4711 sid={SID} from {REDACTED} at {REDACTED}"
    assert records[0]["logger"] == "spotline.intake.sms"
    assert records[0]["level"] == "info"
    assert records[1]["body"] == REDACTED and records[1]["from_name"] == REDACTED
    assert records[2]["event"] == f"mail to {REDACTED} about /t/[token]/"
    opened = records[3]
    assert opened["event"] == "incident_opened"
    assert opened["incident_id"] == 4711 and opened["sid"] == SID
    assert opened["path"] == "/c/[token]/ok/"
    assert opened["nested"] == {"to": REDACTED, "where": REDACTED, "count": 3}
    for key in ("body", "name", "phone", "lat", "lon"):
        assert opened[key] == REDACTED


def test_it_keeps_an_exceptions_type_and_frames_but_not_its_message(output: io.StringIO
                                                                     ) -> None:
    def fail() -> None:
        raise ValueError(f"Failing row contains ({PHONE}, {BODY})")

    try:
        fail()
    except ValueError:
        logging.getLogger("django.request").error("Internal Server Error: /x/", exc_info=True)
        structlog.get_logger("spotline.worker").exception("worker_pass_failed", incident_id=7)

    stdlib, native = lines(output)
    for secret in SECRETS:
        assert secret not in output.getvalue(), secret
    assert "Internal Server Error: /x/ [ValueError]" in str(stdlib["event"])
    assert "in fail" in str(stdlib["event"])
    assert native["event"] == "worker_pass_failed" and native["incident_id"] == 7
    assert "[ValueError]" in str(native["exception"]) and "in fail" in str(native["exception"])


def test_it_redacts_the_dev_servers_request_lines(output: io.StringIO) -> None:
    # Django's runserver logs request lines through "django.server", with the request
    # and its socket (the client's address) as extras.
    logging.getLogger("django.server").info(
        '"%s" %s %s', f"GET /c/{TOKEN}/ HTTP/1.1", 200, 1234,
        extra={"request": object(), "server_time": "27/Nov/2026 03:00:00", "status_code": 200})
    (line,) = lines(output)
    # (" 200 1234" is seven digits with a separator: masked like a local phone number.)
    assert str(line["event"]).startswith('"GET /c/[token]/ HTTP/1.1" ')
    assert line["status_code"] == 200
    assert "request" not in line


def test_it_masks_what_looks_personal_and_keeps_ids_and_codes() -> None:
    assert scrub("call +358 40 123 4567 now") == f"call {REDACTED} now"
    assert scrub("call 555.010.0199") == f"call {REDACTED}"
    assert scrub("at 60.1699,24.9384 and 60.169900%2C24.938400") == \
        f"at {REDACTED} and {REDACTED}"
    assert scrub("to=a.b+c@example.org") == f"to={REDACTED}"
    assert scrub("GET /api/v1/checkins/plans/PlanToken0123 and /ws/track/TrackTok0123/") == \
        "GET /api/v1/checkins/plans/[token] and /ws/track/[token]/"
    kept = (f"incident=4711 offer=12 sid={SID} digest=9f86d081884c7d659a2feaa0c55ad015 "
            "p=P1 older than 2026-11-27 02:46:00+00:00 (2026-11-27T02:46:00Z)")
    assert scrub(kept) == kept


def test_it_renders_text_for_people_through_the_same_redaction() -> None:

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("text"))
    handler.addFilter(DropExceptionText())
    logger = logging.getLogger("spotline.test.text")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sms from %s", PHONE)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = stream.getvalue()
    assert "sms from [redacted]" in text and PHONE_DIGITS not in text
    assert not text.startswith("{")


def test_spotline_run_writes_json_lines_and_no_request_lines(tmp_path: Path) -> None:
    """The real server: uvicorn's own logging goes through ours, and no access log
    (request lines carry tracking and check-in tokens)."""

    server = Server(tmp_path)
    try:
        server.wait_ready()
        status, body = request(server.base + "/api/v1/incidents", body={
            "kind": "overdose", "location": {"lat": 60.171234, "lon": 24.941234},
            "callback_phone": PHONE, "details": BODY})
        assert status == 201, body
        token = json.loads(body)["tracking_token"]
        assert request(f"{server.base}/t/{token}/")[0] == 200
        assert request(f"{server.base}/c/{TOKEN}/")[0] == 404
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=STOP_TIMEOUT)
    finally:
        server.close()
    out = server.log.read_text()
    banner, *rest = out.splitlines()
    assert banner.startswith("Spotline is serving on")
    assert rest, out
    for line in rest:
        record = json.loads(line)
        assert {"time", "level", "logger", "event"} <= set(record)
    for secret in (*SECRETS, token, "/t/", "/c/", "GET ", "HTTP/1.1"):
        assert secret not in "\n".join(rest), secret
