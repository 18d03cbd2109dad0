"""Read a city's calls-for-service export into a polars frame, or say in one line why not.

Exports come from many systems: UTF-8 with or without a byte-order mark, UTF-16 from
spreadsheets, Windows-1252 or Latin-1 from older ones, separated by commas, semicolons,
tabs or bars. This module finds which, reads every column as text (the planner parses
what it needs itself), drops rows that are exact copies of another and counts them. A
file it cannot use raises ``CallsFileError`` with a message that names the file and
never quotes a row: calls hold addresses and words about people.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

#: The largest export read: about 8 million calls of a typical width, years of a large
#: city. polars holds it all in memory, a few times its size on disk.
MAX_BYTES = 1024**3
DELIMITERS = (",", ";", "\t", "|")
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
#: A UTF-8 file with at most this many bytes that are not UTF-8 (or fewer than
#: STRAY_SHARE of its non-ASCII bytes) stays UTF-8, those bytes replaced: one stray
#: Latin-1 byte must not turn every accented type before it into mojibake.
STRAY_BYTES = 100
STRAY_SHARE = 0.001
_REPLACEMENT = "\ufffd".encode()


class CallsFileError(Exception):
    """A file the planner cannot use; the message is one line for the person running it.

    ``public`` is the same without anything read from the file, for what is kept after
    the file is gone (the page's run): a header may be a call when the export has none.
    """

    def __init__(self, message: str, *, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public if public is not None else message


@dataclass(frozen=True)
class Table:
    frame: pl.DataFrame  # every column as text; exact duplicate rows dropped
    columns: tuple[str, ...]  # the header, as in the file
    encoding: str
    delimiter: str
    rows_read: int
    duplicate_rows: int
    replaced_bytes: int = 0  # bytes that were not UTF-8 in a file read as UTF-8


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1024**3:.1f} GB" if size >= 1024**3 else f"{size / 1024**2:.0f} MB"


def _mostly_utf8(raw: bytes) -> tuple[bytes, int] | None:
    """``raw`` as UTF-8 with its few bad bytes replaced, and how many, when it is UTF-8
    but for a few stray bytes; None when it reads better as a single-byte encoding."""
    text = raw.decode("utf-8", errors="replace")
    # Each run of bad bytes becomes one U+FFFD: a lower bound on the bytes replaced.
    replaced = text.count("\ufffd") - raw.count(_REPLACEMENT)
    non_ascii = int(np.count_nonzero(np.frombuffer(raw, dtype=np.uint8) >= 0x80))
    valid = non_ascii - replaced  # bytes of UTF-8 characters that read
    few = replaced < STRAY_BYTES or replaced < STRAY_SHARE * non_ascii
    if not few or valid <= replaced:
        return None
    return text.encode("utf-8"), replaced


def _decode(raw: bytes, name: str, encoding: str | None) -> tuple[bytes, str, int]:
    """The file as UTF-8 bytes, the encoding it was in, and how many bytes were not
    UTF-8 in a file read as UTF-8 (replaced by U+FFFD)."""
    if encoding:
        try:
            codecs.lookup(encoding)
            return raw.decode(encoding).removeprefix("\ufeff").encode("utf-8"), encoding, 0
        except LookupError:
            raise CallsFileError(f"--encoding {encoding}: no such encoding "
                                 "(try utf-8, cp1252, latin-1, utf-16)") from None
        except UnicodeDecodeError as exc:
            raise CallsFileError(f"{name}: is not {encoding} (byte {exc.start})") from None
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
        encoding = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return (raw.decode("utf-16").removeprefix("\ufeff").encode("utf-8"), "utf-16",
                    0)
        except UnicodeDecodeError:
            raise CallsFileError(f"{name}: starts like UTF-16 but is not UTF-16") from None
    if b"\x00" in raw[:65536]:
        raise CallsFileError(f"{name}: is not a text file (it holds NUL bytes); "
                             "export the calls as CSV")
    try:
        raw.decode("utf-8")
        return raw, encoding or "utf-8", 0
    except UnicodeDecodeError:
        pass
    mostly = _mostly_utf8(raw)
    if mostly is not None:
        return mostly[0], encoding or "utf-8", mostly[1]
    # Not UTF-8: Windows-1252 (a superset of Latin-1's printable characters) is what
    # older dispatch systems and spreadsheets write; Latin-1 decodes any byte at all.
    for fallback in ("cp1252", "latin-1"):
        try:
            return raw.decode(fallback).encode("utf-8"), fallback, 0
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _header(data: bytes, delimiter: str) -> list[str]:
    end = data.find(b"\n")  # not split(): that would copy the whole file
    first = data[:end if end >= 0 else len(data)].decode("utf-8").rstrip("\r")
    return [name.strip() for name in next(csv.reader([first], delimiter=delimiter), [])]


def _delimiter(data: bytes, name: str, need: tuple[str, ...], given: str | None) -> str:
    if given:
        return "\t" if given in ("\\t", "tab") else given
    wanted = {n.lower() for n in need}
    headers = {d: _header(data, d) for d in DELIMITERS}
    for d, header in headers.items():
        if wanted <= {h.lower() for h in header}:
            return d
    # None holds every column named: take the one that splits the header most, and
    # let the missing column be reported by name.
    return max(DELIMITERS, key=lambda d: len(headers[d]))


def _resolve(header: list[str], need: tuple[str, ...], name: str,
             delimiter: str, option: dict[str, str]) -> dict[str, str]:
    """The file's own spelling of each needed column (matched ignoring case)."""
    found: dict[str, str] = {}
    for want in need:
        alike = [h for h in header if h.lower() == want.lower()]
        if want not in header and len(alike) > 1:
            flag = option.get(want, "")
            named = f"{want!r}{f' ({flag})' if flag else ''}"
            raise CallsFileError(
                f"{name}: the columns {' and '.join(map(repr, alike))} both match {named} "
                "but for case; name one exactly, or rename the other")
        have = want if want in header else next(iter(alike), None)
        if have is None:
            shown = ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
            hint = ""
            if len(header) == 1:
                hint = (" The header is one column: is the file separated by something "
                        "other than a comma, semicolon, tab or bar? Pass --delimiter.")
            flag = option.get(want, "")
            missing = f"{name}: no column {want!r}{f' (named by {flag})' if flag else ''}"
            raise CallsFileError(
                f"{missing}; its columns are: {shown}.{hint}",
                public=f"{missing}; it has {len(header)} columns, none of that name. Is "
                       f"its first line a header row naming the columns?{hint}")
        found[want] = have
    return found


def read_table(path: Path, *, need: tuple[str, ...], option: dict[str, str] | None = None,
               encoding: str | None = None, delimiter: str | None = None) -> Table:
    """Read ``path``; ``need`` are the columns that must be there (``option`` says
    which command-line option named each, for the error message)."""
    name = path.name
    if not path.exists():
        raise CallsFileError(f"{path}: no such file")
    if not path.is_file():
        raise CallsFileError(f"{path}: is not a file")
    size = path.stat().st_size
    if size == 0:
        raise CallsFileError(f"{name}: is empty")
    if size > MAX_BYTES:
        raise CallsFileError(
            f"{name}: is {_size(path)}; the planner reads files up to 1 GB (about 8 million "
            "calls). Split it by month or year, or keep only the columns you name.")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CallsFileError(f"{name}: cannot be read ({exc.strerror})") from None
    if raw.startswith(b"PK\x03\x04"):
        raise CallsFileError(f"{name}: is a spreadsheet or zip file, not CSV; "
                             "save it as CSV (comma-separated values) first")
    data, used, replaced = _decode(raw, name, encoding)
    del raw
    if not data or data.isspace():  # not strip(): that would copy the whole file
        raise CallsFileError(f"{name}: is empty")
    sep = _delimiter(data, name, need, delimiter)
    if len(sep) != 1:
        raise CallsFileError(f"--delimiter takes one character, not {sep!r}")
    header = _header(data, sep)
    names = _resolve(header, need, name, sep, option or {})
    try:
        frame = pl.read_csv(io.BytesIO(data), separator=sep, infer_schema=False,
                            truncate_ragged_lines=True, raise_if_empty=False)
    except pl.exceptions.PolarsError:
        # polars' message quotes the row it stopped at: keep it off the terminal.
        raise CallsFileError(
            f"{name}: cannot be read as {_NAMES.get(sep, repr(sep))}-separated values "
            "(a quote left open, or a broken line); check the export") from None
    frame = frame.rename({c: c.strip() for c in frame.columns
                          if c != c.strip() and c.strip() not in frame.columns})
    frame = frame.rename({have: want for want, have in names.items()
                          if have != want and have in frame.columns})
    if frame.height == 0:
        raise CallsFileError(f"{name}: has a header but no rows")
    unique = frame.unique(maintain_order=True)
    return Table(frame=unique, columns=tuple(header), encoding=used, delimiter=sep,
                 rows_read=frame.height, duplicate_rows=frame.height - unique.height,
                 replaced_bytes=replaced)
