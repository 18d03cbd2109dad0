"""``plan classify``: a city's calls, each call type classified, and the diversion estimate.

1. Read the calls (``callsfile``): encoding, delimiter, exact duplicates dropped.
2. Count calls per call type with polars (never a Python loop over calls), take each
   type's description from ``--desc`` (its most frequent one, written out only when at
   least MIN_NAMED calls share its text) or the ``--types`` list.
3. Classify each distinct type with the rule table (``core.plan.classify``): a few
   hundred types, not hundreds of thousands of calls.
4. Join the classes back, count by class and by hour of the week, and count what could
   not be read (dates, coordinates, types) without ever stopping on it. Priority and
   disposition are counted by value; an address is geocoded by ``locate`` (the command
   passes ``spotline.planner.geocode.points_for``), only to count the calls it places.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from spotline.core.plan.classify import CallClass, RuleTable, normal_code
from spotline.core.plan.diversion import HourCell, by_class, share, team_calls, week_grid
from spotline.planner.callsfile import CallsFileError, read_table

#: Date formats tried on the time column, most common in US exports first.
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
)
#: Rows the format guess reads, evenly spaced over the column: an export sorted by time
#: that starts on the 1st reads as well day first as month first for days.
SAMPLE = 5000
#: A UTC offset after a time ("Z", "+00", "-05:00", " UTC"): ArcGIS and Socrata exports
#: write one. Only after a clock time, so a date's own "-01" is never taken for one.
OFFSET = r"^(.*\d:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
#: Priority and disposition values named in summary.json, most calls first; the rest
#: are counted together as "(other)", as are values of fewer than MIN_NAMED calls: a
#: value that rare may be words someone typed about one call, not a code.
TOP_VALUES = 20
MIN_NAMED = 5

#: ``locate(frame, column)``: latitudes and longitudes for the column's addresses (null
#: where none is sure), and the counts (``spotline.planner.geocode.points_for``).
Locate = Callable[[pl.DataFrame, str], tuple[pl.Series, pl.Series, Mapping[str, Any]]]


@dataclass(frozen=True)
class Columns:
    time: str
    type: str
    desc: str | None = None
    lat: str | None = None
    lon: str | None = None
    priority: str | None = None
    disposition: str | None = None
    address: str | None = None  # an address or beat to geocode, for calls without lat/lon


@dataclass(frozen=True)
class CodeList:
    path: Path
    code: str
    desc: str


@dataclass(frozen=True)
class TypeRow:
    type: str
    description: str
    calls: int
    klass: CallClass
    rule: str
    reason: str


@dataclass
class Result:
    types: list[TypeRow]
    grid: list[HourCell]
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Times:
    when: pl.Series  # datetimes, null where unreadable
    format: str
    offsets: int  # times whose UTC offset was set aside
    also: tuple[str, ...] = ()  # other formats that read the column as well, differently


def read_times(raw: pl.Series, given: str | None) -> Times:
    """The column as datetimes in the format that reads most of an evenly spaced sample
    (so one odd row does not decide). Formats that read as much of it are told apart by
    the whole column; when that cannot (every day 12 or less: 03/04 is March or April),
    the first in TIME_FORMATS is taken and the others are named in ``also``. A UTC
    offset is set aside and counted: hours are read as the clock time written."""
    if given:
        return Times(raw.str.to_datetime(given, strict=False), given, 0)
    offsets = int(raw.str.contains(OFFSET).sum())
    if offsets:
        raw = raw.str.replace(OFFSET, "${1}")
    values = raw.drop_nulls()
    sample = values.gather_every(max(1, values.len() // SAMPLE))
    read = {fmt: sample.str.to_datetime(fmt, strict=False).drop_nulls().len()
            for fmt in TIME_FORMATS}
    most = max(read.values())
    tied = [fmt for fmt in TIME_FORMATS if read[fmt] == most]
    if most == 0 or len(tied) == 1:
        return Times(raw.str.to_datetime(tied[0], strict=False), tied[0], offsets)
    parsed = {fmt: raw.str.to_datetime(fmt, strict=False) for fmt in tied}
    fewest = min(p.null_count() for p in parsed.values())
    tied = [fmt for fmt in tied if parsed[fmt].null_count() == fewest]
    best = parsed[tied[0]]
    # "%Y-%m-%d %H:%M:%S" and the same with "%.f" read a file alike: no doubt there.
    also = tuple(fmt for fmt in tied[1:] if not parsed[fmt].equals(best))
    return Times(best, tied[0], offsets, also)


def parse_times(raw: pl.Series, given: str | None) -> tuple[pl.Series, str, int]:
    """``read_times`` as (datetimes, format, offsets set aside)."""
    times = read_times(raw, given)
    return times.when, times.format, times.offsets


def degrees(column: str) -> pl.Expr:
    """A coordinate column as a number; a decimal comma ("43,05" in a European export)
    reads as a point."""
    return (pl.col(column).str.strip_chars().str.replace(",", ".", literal=True)
            .cast(pl.Float64, strict=False))


def usable(lat: pl.Expr, lon: pl.Expr) -> pl.Expr:
    """True where (lat, lon) is a place: present, in range, and not 0,0 (no place)."""
    return (lat.is_not_null() & lon.is_not_null() & (lat.abs() <= 90) & (lon.abs() <= 180)
            & ~((lat == 0) & (lon == 0)))


def top_counts(values: pl.Series) -> dict[str, int]:
    """Calls per value, most first: the TOP_VALUES most frequent values of at least
    MIN_NAMED calls, then "(blank)" and "(other)" when there are any."""
    text = values.str.strip_chars()
    blank = int((text.is_null() | (text == "")).sum())
    counted = (text.filter(text.is_not_null() & (text != "")).value_counts(name="n")
               .sort(["n", values.name], descending=[True, False]))
    named = counted.filter(pl.col("n") >= MIN_NAMED).head(TOP_VALUES)
    out = {str(v): int(n) for v, n in named.iter_rows()}
    other = int(counted["n"].sum()) - sum(out.values())
    if blank:
        out["(blank)"] = blank
    if other:
        out["(other)"] = other
    return out


def _descriptions(frame: pl.DataFrame, has_desc: bool) -> tuple[dict[str, str],
                                                                   dict[str, str]]:
    """Each type's most frequent description in the calls themselves, to classify by,
    and the same where at least MIN_NAMED calls share its text, to write out: a rarer
    text may be words someone typed about one call (a narrative column given as
    --desc), not a code's meaning."""
    if not has_desc:
        return {}, {}
    given = frame.filter(pl.col("desc").is_not_null()).select("type", "desc")

    def most_frequent(rows: pl.DataFrame) -> dict[str, str]:
        counted = (rows.group_by("type", "desc").len()
                   .sort(["type", "len", "desc"], descending=[False, True, False])
                   .unique("type", keep="first"))
        return dict(zip(counted["type"].to_list(), counted["desc"].to_list(), strict=True))

    common = given.filter(pl.len().over("desc") >= MIN_NAMED)
    return most_frequent(given), most_frequent(common)


def _code_list(codes: CodeList, encoding: str | None) -> dict[str, str]:
    """Description by code, the code as ``normal_code`` writes it: "wel " in the calls
    finds "WEL" in the list, as a pin would."""
    table = read_table(codes.path, need=(codes.code, codes.desc), encoding=encoding,
                       option={codes.code: "--types-code", codes.desc: "--types-desc"})
    frame = table.frame.select(
        pl.col(codes.code).str.strip_chars().alias("code"),
        pl.col(codes.desc).str.strip_chars().alias("desc"),
    ).drop_nulls("code").unique("code", keep="first", maintain_order=True)
    listed: dict[str, str] = {}
    for code, desc in frame.iter_rows():
        listed.setdefault(normal_code(code), desc or "")
    return listed


def _places(frame: pl.DataFrame, columns: Columns, locate: Locate | None
            ) -> tuple[int | None, dict[str, Any] | None]:
    """Calls without a usable point, and what geocoding did. Coordinates win: only the
    calls without them are geocoded."""
    if not columns.lat and not columns.address:
        return None, None
    placed = (frame.select(usable(degrees("lat"), degrees("lon"))).to_series()
              if columns.lat else pl.Series([False] * frame.height))
    if not columns.address:
        return int((~placed).sum()), None
    if locate is None:
        raise ValueError("--address needs a locate function (spotline.planner.geocode)")
    rest = frame.filter(~placed).select("address")
    lat, _, counts = locate(rest, "address")
    return rest.height - int(lat.is_not_null().sum()), dict(counts)


def classify_calls(path: Path, *, columns: Columns, rules: RuleTable,
                   codes: CodeList | None = None, encoding: str | None = None,
                   delimiter: str | None = None, time_format: str | None = None,
                   rules_name: str = "default", locate: Locate | None = None) -> Result:
    named = {"time": columns.time, "type": columns.type, "desc": columns.desc,
             "lat": columns.lat, "lon": columns.lon, "priority": columns.priority,
             "disposition": columns.disposition, "address": columns.address}
    wanted = {k: v for k, v in named.items() if v}
    if bool(columns.lat) != bool(columns.lon):
        raise CallsFileError("--lat and --lon go together")
    table = read_table(path, need=tuple(dict.fromkeys(wanted.values())), encoding=encoding,
                       delimiter=delimiter,
                       option={v: f"--{k}" for k, v in wanted.items()})
    frame = table.frame.select(
        *(pl.col(col).alias(key) for key, col in wanted.items())
    ).with_columns(pl.col("type").str.strip_chars().fill_null(""))
    if "desc" in frame.columns:
        frame = frame.with_columns(pl.col("desc").str.strip_chars().replace("", None))
    calls = frame.height

    times = read_times(frame["time"].str.strip_chars(), time_format)
    when = times.when
    bad_dates = when.null_count()
    if bad_dates == calls:
        raise CallsFileError(
            f"{path.name}: no value of column {columns.time!r} (--time) is a date and "
            "time that can be read; check the column, or pass --time-format "
            "(as in --time-format '%m/%d/%Y %H:%M')")

    # 2-3. Each distinct type once: its count, its description, its class.
    per_type = frame.group_by("type").len().sort(["len", "type"], descending=[True, False])
    described, shown = _descriptions(frame, "desc" in frame.columns)
    listed = _code_list(codes, encoding) if codes else {}
    rows: list[TypeRow] = []
    undescribed = 0
    for code, n in per_type.iter_rows():
        desc = described.get(code) or listed.get(normal_code(code)) or ""
        if codes and code and not desc:
            undescribed += 1
        verdict = (rules.classify(code=code, description=desc) if code
                   else None)
        if verdict is None:
            rows.append(TypeRow("", "", n, CallClass.UNKNOWN, "", "the call has no type"))
        else:
            # Classified by its text in memory; written out only where it is common.
            out = shown.get(code) or listed.get(normal_code(code)) or ""
            rows.append(TypeRow(code, out, n, verdict.klass, verdict.rule, verdict.reason))

    # 4. Classes back onto the calls; counts by class and by hour of the week.
    classes = pl.DataFrame({"type": [r.type for r in rows],
                            "class": [r.klass.value for r in rows]},
                           schema={"type": pl.String, "class": pl.String})
    dated = frame.select("type").with_columns(when.alias("when")).join(
        classes, on="type", how="left")
    counts = {CallClass(k): n for k, n in dated.group_by("class").len().iter_rows()}
    hours = (dated.drop_nulls("when")
             .group_by(pl.col("when").dt.weekday().alias("d"),
                       pl.col("when").dt.hour().alias("h"), "class").len())
    grid = week_grid((d - 1, h, CallClass(k), n) for d, h, k, n in hours.iter_rows())
    missing_coordinates, geocoding = _places(frame, columns, locate)

    team = team_calls(counts)
    span = dated["when"].drop_nulls()
    used = {v.lower() for v in wanted.values()}
    summary: dict[str, Any] = {
        "calls": calls,
        "by_class": by_class(counts),
        "community_share": share(team, calls),
        # Past the fixed contract: what was read, and what could not be.
        "community_alone_share": share(counts.get(CallClass.COMMUNITY, 0), calls),
        "rows_read": table.rows_read,
        "duplicate_rows": table.duplicate_rows,
        "bad_dates": bad_dates,
        "time_offsets_ignored": times.offsets,
        "missing_coordinates": missing_coordinates,
        "geocoding": geocoding,
        "missing_type": next((r.calls for r in rows if not r.type), 0),
        "by_priority": top_counts(frame["priority"]) if columns.priority else None,
        "by_disposition": top_counts(frame["disposition"]) if columns.disposition else None,
        "unused_columns": [c for c in table.columns if c.lower() not in used],
        "types": len(rows),
        "unknown_types": sum(1 for r in rows if r.klass is CallClass.UNKNOWN),
        "types_without_description": undescribed if codes else None,
        "first_call": span.min().isoformat() if span.len() else None,  # type: ignore[union-attr]
        "last_call": span.max().isoformat() if span.len() else None,  # type: ignore[union-attr]
        "encoding": table.encoding,
        "replaced_bytes": table.replaced_bytes,
        "delimiter": table.delimiter,
        "time_format": times.format,
        "time_format_ambiguous": list(times.also),
        "rules": rules_name,
    }
    return Result(types=rows, grid=grid, summary=summary, notes=notes(summary))


def notes(s: dict[str, Any]) -> list[str]:
    """What was counted but not used, one line each: counts only, never a call."""
    out = [f"read {s['rows_read']:,} rows ({s['encoding']}, "
           f"{'tab' if s['delimiter'] == chr(9) else repr(s['delimiter'])}-separated, "
           f"times as {s['time_format']})"]
    if s.get("replaced_bytes"):
        out.append(f"{s['replaced_bytes']:,} bytes are not UTF-8 in a UTF-8 file: read as "
                   "\ufffd (pass --encoding if the file is in another encoding)")
    if s.get("time_format_ambiguous"):
        out.append(f"the times read as well as {', '.join(s['time_format_ambiguous'])}: "
                   f"read as {s['time_format']}; pass --time-format if that is wrong")
    if s["duplicate_rows"]:
        out.append(f"{s['duplicate_rows']:,} rows were exact copies of another row: "
                   "counted once")
    if s["bad_dates"]:
        out.append(f"{s['bad_dates']:,} calls have no readable date: classified, but "
                   "left out of the hours of the week")
    if s["time_offsets_ignored"]:
        out.append(f"{s['time_offsets_ignored']:,} times carry a UTC offset (Z, +00, "
                   "-05:00): read as the clock time written; if that is UTC, the hours "
                   "of the week are UTC hours")
    g = s["geocoding"]
    if g is not None and not g["gazetteer"]:
        out.append("no gazetteer loaded (spotline places import FILE): the addresses "
                   "were not geocoded")
    elif g is not None:
        out.append(f"geocoded {g['geocoded']:,} of {g['addresses']:,} distinct addresses "
                   f"({g['ambiguous']:,} ambiguous, {g['not_found']:,} not found): "
                   f"{g['calls_placed']:,} calls placed")
    if s["missing_coordinates"]:
        out.append(f"{s['missing_coordinates']:,} calls have no usable coordinates")
    if s["missing_type"]:
        out.append(f"{s['missing_type']:,} calls have no call type: counted as unknown")
    if s["types_without_description"]:
        out.append(f"{s['types_without_description']:,} call types are not in the "
                   "--types list: classified by the code itself")
    if s["unused_columns"]:
        out.append(f"{len(s['unused_columns'])} columns not used: "
                   + ", ".join(s["unused_columns"][:20]))
    return out
