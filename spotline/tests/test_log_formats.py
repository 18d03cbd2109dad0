"""The text log format (what `make run` prints for people) hides exactly what the JSON
format (production's default) hides: the same events, through the same redaction."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

import pytest
import structlog

from spotline.logs import REDACTED, DropExceptionText, formatter
from spotline.tests.test_logging import BODY, COORDS, EMAIL, NAME, PHONE, SECRETS, SID, TOKEN

LOGGER = "spotline.test.formats"


def log_everything() -> None:
    """Personal data every way it can reach a log: in a message's arguments, as
    extras, as structlog key/values (nested too), in a link, in an exception."""
    stdlib = logging.getLogger(LOGGER)
    stdlib.info("sms conversation=%s sid=%s from %s at %s", 4711, SID, PHONE, COORDS)
    stdlib.info("inbound sms refused sid=%s", SID, extra={"body": BODY, "from_name": NAME})
    stdlib.warning("mail to %s about /t/%s/", EMAIL, TOKEN)
    log = structlog.get_logger(LOGGER)
    log.info("incident_opened", incident_id=4711, sid=SID, body=BODY, name=NAME, phone=PHONE,
             lat=60.171234, lon=24.941234, note=f"call {PHONE}", path=f"/c/{TOKEN}/ok/",
             nested={"to": PHONE, "where": COORDS, "count": 3})
    log.info(f"texted {PHONE} at {COORDS}")

    def fail() -> None:
        raise ValueError(f"Failing row contains ({PHONE}, {BODY})")

    try:
        fail()
    except ValueError:
        stdlib.error("Internal Server Error: /x/", exc_info=True)
        log.exception("worker_pass_failed", incident_id=7)


def rendered(render: str, emit: Callable[[], None]) -> str:
    """What settings.LOGGING's console handler writes with SPOTLINE_LOG_FORMAT=render."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(render))
    handler.addFilter(DropExceptionText())
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        emit()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    return stream.getvalue()


@pytest.mark.parametrize("render", ["json", "text"])
def test_nothing_personal_survives_in_either_format(render: str) -> None:
    out = rendered(render, log_everything)
    for secret in SECRETS:
        assert secret not in out, (render, secret)
    # An exception keeps its type and frames; its message (with the row) is dropped.
    assert out.count("[ValueError]") == 2


def test_text_masks_exactly_what_json_masks() -> None:
    as_json = rendered("json", log_everything)
    as_text = rendered("text", log_everything)
    assert as_json.count(REDACTED) == as_text.count(REDACTED) > 0
    assert as_json.count("[token]") == as_text.count("[token]") == 2
    # The ids and codes people debug with are kept in both.
    for kept in (SID, "4711", "incident_opened", "worker_pass_failed", "in fail"):
        assert kept in as_json and kept in as_text, kept


def test_json_is_one_object_per_line_and_text_is_not() -> None:
    as_json = rendered("json", log_everything)
    records = [json.loads(line) for line in as_json.splitlines() if line.startswith("{")]
    assert len(records) == 7
    as_text = rendered("text", log_everything)
    assert not any(line.startswith("{") for line in as_text.splitlines())
    assert f"body={REDACTED}" in as_text and "incident_id=4711" in as_text
