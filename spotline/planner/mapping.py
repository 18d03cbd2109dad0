"""A city's setup in one small TOML file: which column is which, and how the file is
written, so ``plan classify calls.csv --mapping city.toml --out plan/`` is the whole
command. An option given on the command line wins over the file.

    # Milwaukee's calls for service
    time = "time"
    type = "nature"
    lat = "latitude"
    lon = "longitude"
    disposition = "status"

``types`` and ``rules`` are files, found beside the mapping file when not absolute.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Every key a mapping file may have, and what it names.
KEYS = {
    "time": "the column with the date and time of the call",
    "type": "the column with the call type (a code or a description)",
    "desc": "a column describing the call type",
    "lat": "the latitude column",
    "lon": "the longitude column",
    "priority": "the priority column (counted by value)",
    "disposition": "the disposition column (counted by value)",
    "address": "an address or beat column to geocode (calls without lat/lon)",
    "time_format": "how the time is written, as in '%m/%d/%Y %H:%M'",
    "encoding": "the files' encoding",
    "delimiter": "the separator",
    "types": "a separate list of call-type codes and descriptions (a file)",
    "types_code": "the code column of types",
    "types_desc": "the description column of types",
    "rules": "a city's rule table (a file)",
}
FILES = ("types", "rules")
MAX_BYTES = 64 * 1024


class MappingError(ValueError):
    """A mapping file that cannot be used; one line naming the file and the key."""


def read_mapping(path: Path) -> dict[str, str]:
    """The file's keys and values, its file names made relative to its folder."""
    name = path.name
    try:
        if path.stat().st_size > MAX_BYTES:
            raise MappingError(f"{name}: is larger than 64 KB; a mapping is a few lines")
        data: dict[str, Any] = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise MappingError(f"{path}: no such file") from None
    except OSError as exc:
        raise MappingError(f"{name}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise MappingError(f"{name}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{name}: is not valid TOML ({exc})") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        hints = [f"{k} (did you mean {close[0]}?)" if (close := difflib.get_close_matches(
            k, KEYS, n=1)) else k for k in unknown]
        raise MappingError(f"{name}: unknown key(s) {', '.join(hints)}; the keys are "
                           f"{', '.join(KEYS)}")
    out: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(value, str) or not value.strip():
            raise MappingError(f"{name}: {key} must be a text in quotes, "
                               f'as in {key} = "..."')
        out[key] = value
        if key in FILES:
            out[key] = str(path.parent / value)  # an absolute value stays as it is
    return out


def merge(options: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """The command's options with the mapping's values where no option was given."""
    merged = dict(options)
    for key, value in mapping.items():
        if merged.get(key) is None:
            merged[key] = value
    return merged


def add_export_options(p: Any, *, mapping_help: str) -> None:
    """The export and the options naming its columns and how it is written, the same
    for every command that reads one (classify, simulate, staff); each names the file
    that can hold them (``--mapping``) in its own words."""
    p.add_argument("calls", metavar="CALLS.csv")
    p.add_argument("--mapping", metavar="FILE", help=mapping_help)
    p.add_argument("--time", metavar="COL",
                   help="the column with the date and time of the call (required "
                        "unless the mapping names it)")
    p.add_argument("--type", metavar="COL",
                   help="the column with the call type, a code or a description "
                        "(required unless the mapping names it)")
    p.add_argument("--lat", metavar="COL", help=KEYS["lat"])
    p.add_argument("--lon", metavar="COL", help=KEYS["lon"])
    p.add_argument("--address", metavar="COL",
                   help="an address or beat to geocode with the gazetteer, for calls "
                        "without --lat/--lon")
    p.add_argument("--encoding", help="the files' encoding, when guessing goes wrong")
    p.add_argument("--delimiter", help="the separator, when guessing goes wrong")
    p.add_argument("--time-format", metavar="FORMAT",
                   help="how the time column is written, as in '%%m/%%d/%%Y %%H:%%M'")
