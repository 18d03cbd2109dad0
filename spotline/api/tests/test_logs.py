"""Exception messages never reach the log: they can quote personal data."""

from __future__ import annotations

import logging
import sys

from spotline.logs import DropExceptionText


def test_it_keeps_the_frames_and_type_but_drops_the_message() -> None:
    row = "+1555" + "0100199, behind the 7-" + "11"  # not in any source line

    def fail() -> None:
        raise ValueError(f"Failing row contains ({row})")

    try:
        fail()
    except ValueError:

        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1,
                                   "Internal Server Error: %s", ("/x/",), sys.exc_info())
    assert DropExceptionText().filter(record)
    text = logging.Formatter().format(record)
    assert "Internal Server Error: /x/" in text
    assert "ValueError" in text and "in fail" in text
    assert "5550100199" not in text and "7-11" not in text
