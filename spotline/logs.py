"""Structured logs that cannot leak personal data.

Every line is one JSON object (``time``, ``level``, ``logger``, ``event``, then
key/values), from structlog loggers and from plain ``logging`` calls alike
(``log.info("incident opened id=%s", pk)`` keeps working: structlog's
``ProcessorFormatter`` renders stdlib records through the same chain).
That is the default, for production's log collectors. ``SPOTLINE_LOG_FORMAT=text``
(what ``make run`` sets) prints the same events, after the same steps, for people.

Every event passes ``redact`` before it is rendered:

- values of keys that name personal data (``SENSITIVE_KEYS``: body, phone, name,
  lat, ...) are replaced whole;
- in every other string, whatever looks like a phone number (seven or more digits,
  separators allowed), an email address, a pair of coordinates (two decimal numbers
  with four or more decimals), or a capability token in a URL path (``/t/<token>/``,
  ``/c/<token>/``, ...) is masked.

Exceptions keep their frames (file, line, function: what a developer needs) and
their type; the message is dropped, because a database error's message can quote the
row it choked on, and a row can hold a phone number, coordinates or a note.
"""

from __future__ import annotations

import logging
import logging.config
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[redacted]"

# Keys whose values are personal data whatever they look like (compared lower-case).
SENSITIVE_KEYS = frozenset({
    "body", "text", "message_body", "phone", "to", "from", "name", "description",
    "details", "notes", "lat", "lon", "location", "address",
    # the same things under the names this code base gives them
    "callback_phone", "phone_number", "from_number", "to_number", "trusted_phone",
    "trusted_name", "from_name", "username", "email", "where", "place", "access", "lng",
    "latitude", "longitude", "transcript", "note",
})

_NOT_IN_A_WORD_BEFORE = r"(?<![A-Za-z0-9_])"
_NOT_IN_A_WORD_AFTER = r"(?![A-Za-z0-9_])"
_DECIMAL = r"-?\d{1,3}\.\d{4,}"
# An ISO date or date-time ("2026-11-27", "2026-11-27 02:46:00+00:00") is kept whole.
_DATETIME = (r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
             r"(?:Z|[+-]\d{2}:?\d{2})?)?")
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A capability token in a path: the request's tracking or check-in link.
    (re.compile(r"(/(?:t|c|checkin/p|ws/track|api/v1/track|api/v1/checkins(?:/plans)?)/)"
                r"(?!plans/)[A-Za-z0-9_-]{8,}"), r"\1[token]"),
    # Coordinates: "60.1699, 24.9384", "60.169900%2C24.938400", "60.1699 24.9384".
    (re.compile(_NOT_IN_A_WORD_BEFORE + _DECIMAL + r"(?:\s*(?:,|;|%2C|%2c)\s*|\s+)"
                + _DECIMAL + _NOT_IN_A_WORD_AFTER), REDACTED),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), REDACTED),
    # Phone numbers: seven or more digits, with spaces, dots, dashes, slashes or
    # parentheses between them, and not inside a longer word (a message id, a digest).
    # A date-time is matched first, as itself, so that it is kept.
    (re.compile(rf"(?P<date>{_DATETIME})|{_NOT_IN_A_WORD_BEFORE}(?!\(?{_DATETIME})"
                r"\+?\(?\d(?:[\s().\-/]{0,3}\d){6,}" + _NOT_IN_A_WORD_AFTER), REDACTED),
)
_COORDINATE_PAIR = re.compile(rf"^\(?\[?{_DECIMAL}, {_DECIMAL}\]?\)?$")


def _mask(replacement: str) -> Callable[[re.Match[str]], str]:
    def mask(match: re.Match[str]) -> str:
        if match.re.groupindex.get("date") and match["date"]:
            return match[0]
        return match.expand(replacement)

    return mask


def scrub(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(_mask(replacement), text)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if str(k).lower() in SENSITIVE_KEYS else _clean(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        if len(value) == 2 and all(isinstance(v, float) for v in value) and \
                _COORDINATE_PAIR.match(", ".join(str(v) for v in value)):
            return REDACTED
        return [_clean(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(repr(value))


def redact(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """The redaction step every event passes before it is rendered."""
    return {key: REDACTED if key.lower() in SENSITIVE_KEYS else _clean(value)
            for key, value in event_dict.items()}


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _frames_only(exc_info: ExcInfo) -> str:
    etype, _, tb = exc_info
    frames = "".join(traceback.format_tb(tb))
    return f"[{etype.__name__}]\n{frames.rstrip()}"


def drop_exception_text(logger: WrappedLogger, method: str,
                        event_dict: EventDict) -> EventDict:
    """structlog's ``exc_info=True``: the type and the frames as ``exception``."""
    exc = event_dict.pop("exc_info", None)
    if exc is True:
        exc = sys.exc_info()
    elif isinstance(exc, BaseException):
        exc = (type(exc), exc, exc.__traceback__)
    if isinstance(exc, tuple) and exc and exc[0] is not None:
        event_dict["exception"] = _frames_only(exc)
    return event_dict


class DropExceptionText(logging.Filter):
    """The same for stdlib records: the message keeps the frames and the type only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            exc_info: Any = record.exc_info
            if isinstance(record.msg, dict):  # a structlog event: drop_exception_text's
                record.msg = {**record.msg, "exc_info": exc_info}
            else:
                record.msg = f"{record.getMessage()} {_frames_only(exc_info)}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


def _simple_extras(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """A stdlib record's ``extra=`` values, when plain data. Objects are left out:
    Django passes the request, and the dev server its socket (with the client's
    address)."""
    record = event_dict.get("_record")
    if record is not None:
        for key, value in record.__dict__.items():
            if key not in _RECORD_KEYS and isinstance(value, str | int | float | bool):
                event_dict.setdefault(key, value)
    return event_dict


_RECORD_KEYS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _ordered(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    head = {k: event_dict.pop(k) for k in ("time", "level", "logger", "event")
            if k in event_dict}
    return {**head, **event_dict}


def formatter(render: str = "json") -> logging.Formatter:
    """The formatter of every handler (settings.LOGGING)."""
    renderer: Processor = (structlog.dev.ConsoleRenderer(colors=False) if render == "text"
                           else structlog.processors.JSONRenderer())
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            _simple_extras,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            drop_exception_text,
            redact,
            # after redact: the timestamp is ours, not data to mask
            structlog.processors.TimeStamper(fmt="iso", utc=True,
                                             key="timestamp" if render == "text" else "time"),
            _ordered,
            renderer,
        ],
    )


def configure_structlog() -> None:
    """structlog loggers hand their events to stdlib logging, so both share the
    handlers, the level and the formatter configured in settings.LOGGING."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def configure(config: dict[str, Any]) -> None:
    """settings.LOGGING_CONFIG: the stdlib configuration, then structlog's."""
    logging.config.dictConfig(config)
    configure_structlog()
