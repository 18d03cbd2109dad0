"""Logging that cannot leak personal data through an exception's message.

A database error's message can quote the row it choked on, and a row can hold a
phone number, coordinates or a note. Tracebacks keep their frames (file, line,
function: what a developer needs) and the exception's type; the message is dropped.
"""

from __future__ import annotations

import logging
import traceback


class DropExceptionText(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            etype, _, tb = record.exc_info
            frames = "".join(traceback.format_tb(tb))
            record.msg = f"{record.getMessage()} [{etype.__name__}]\n{frames.rstrip()}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True
