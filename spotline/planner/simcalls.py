"""A city's eligible calls as the simulation replays them: ``SimCall`` rows in time order.

1. Read the calls with the same columns as ``plan classify`` (``callsfile``), and the
   reviewed classification.csv: its ``class`` column decides which call types a
   community team takes (``community``, and ``community_with_backup`` with a second
   responder as backup); a type missing from it is unknown and not simulated.
2. Each type's kind and priority come from its words (``core.plan.kinds``) unless the
   reviewer wrote ``kind`` or ``priority`` columns.
3. With polars (never a Python loop over all the calls): dates parsed, the kept calls
   sorted by time, optionally a sample; a Python loop over the kept calls only builds
   the ``SimCall`` rows.
4. With an address column (``Columns.address`` and a ``locate``, as for ``plan
   classify``), the kept calls without usable coordinates are placed at the
   gazetteer's confident answer; calls with coordinates keep theirs.

A sample (``--sample N``) is the first whole days, from the first call's day, that hold
at least N calls (or all of them): a contiguous stretch of time keeps the city's load
per hour, where thinning the calls across the whole period would simulate a lighter
city (and ``plan staff`` would staff for it).

Times are the local time as written in the export: ``at`` counts seconds from midnight
before the first kept call, and ``how`` is the hour of the week as written, so a plan by
hour of the week lines up with the calls even across a daylight-saving change.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from spotline.core.geo import Point, area_cell
from spotline.core.plan.classify import CallClass
from spotline.core.plan.kinds import kind_of, parse_kind, parse_priority
from spotline.core.plan.model import SimCall
from spotline.core.triage import BASE_PRIORITY, Kind, Priority
from spotline.planner.callsfile import CallsFileError, read_table
from spotline.planner.classify import Columns, Locate, degrees, parse_times, usable

DAY = 86400.0


@dataclass(frozen=True)
class TypeInfo:
    klass: CallClass
    kind: Kind
    priority: Priority


@dataclass
class Loaded:
    calls: list[SimCall]
    start_how: int  # hour of the week at simulated time 0 (a Monday: 0)
    period_days: float  # whole days from the first call's midnight to the last call's end
    eligible: int  # calls of the two team classes with a readable date, before sampling
    sample_days: int | None = None  # the whole days a sample kept; None: no sample
    counts: dict[str, int] = field(default_factory=dict)  # what was left out, by why
    notes: list[str] = field(default_factory=list)
    geocoding: dict[str, Any] | None = None  # geocode.GeocodeCounts; None: no address


def read_classification(path: Path) -> dict[str, TypeInfo]:
    """Each call type's class (as reviewed), kind and priority; a clear error naming the
    line for a class, kind or priority that is not one."""
    if not path.is_file():
        raise CallsFileError(f"{path}: no such file (give the classification.csv that "
                             "'plan classify' wrote, after reviewing it)")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CallsFileError(f"{path.name}: is not UTF-8 (save it as UTF-8 CSV)") from None
    rows = csv.DictReader(io.StringIO(text))
    fields = {(f or "").strip().lower(): f for f in rows.fieldnames or []}
    for need in ("type", "class"):
        if need not in fields:
            raise CallsFileError(f"{path.name}: no column {need!r}; it needs at least "
                                 "type and class (as 'plan classify' writes it)")
    out: dict[str, TypeInfo] = {}
    lines: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        def get(name: str, row: dict[str, str] = row) -> str:
            return (row.get(fields[name]) or "").strip() if name in fields else ""
        code, raw_class = get("type"), get("class").lower()
        # Two rows for one type: whichever won, one of the reviewer's rows would not count.
        if code in lines:
            raise CallsFileError(
                f"{path.name} line {line}: type {code!r} is already on line {lines[code]}; "
                "keep one row per type")
        lines[code] = line
        try:
            klass = CallClass(raw_class)
        except ValueError:
            raise CallsFileError(
                f"{path.name} line {line}: class {raw_class!r} is not one of "
                f"{', '.join(c.value for c in CallClass)}") from None
        verdict = kind_of(f"{get('description')} {code}", klass)
        kind, priority = verdict.kind, verdict.priority
        try:
            if get("kind"):
                kind = parse_kind(get("kind"))
                priority = BASE_PRIORITY[kind]
            if get("priority"):
                priority = parse_priority(get("priority"))
        except ValueError as exc:
            raise CallsFileError(f"{path.name} line {line}: {exc}") from None
        out[code] = TypeInfo(klass, kind, priority)
    return out


def _points(frame: pl.DataFrame) -> pl.DataFrame:
    """``lat``/``lon`` as floats, null where missing or not a place (0,0 included)."""
    lat, lon = degrees("lat"), degrees("lon")
    ok = usable(lat, lon) & ~lat.is_nan() & ~lon.is_nan()
    return frame.with_columns(pl.when(ok).then(lat).otherwise(None).alias("lat"),
                              pl.when(ok).then(lon).otherwise(None).alias("lon"))


def _geocode(team: pl.DataFrame, locate: Locate) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The calls without a usable point placed by their address, where the gazetteer
    is sure; only the simulated calls are looked up (after sampling, not before)."""
    rest = team.filter(pl.col("lat").is_null()).select("row", "address")
    lat, lon, counts = locate(rest, "address")
    found = pl.DataFrame({"row": rest["row"], "glat": lat, "glon": lon})
    team = team.join(found, on="row", how="left", maintain_order="left").with_columns(
        pl.coalesce("lat", "glat").alias("lat"), pl.coalesce("lon", "glon").alias("lon")
    ).drop("glat", "glon")
    return team, dict(counts)


def load_calls(path: Path, *, columns: Columns, classification: Path,
               encoding: str | None = None,
               delimiter: str | None = None, time_format: str | None = None,
               sample: int | None = None, seed: int = 1,
               locate: Locate | None = None) -> Loaded:
    """The calls of the two team classes, in time order, as ``SimCall`` rows. Call
    types are matched to classification.csv by the type column itself, so a ``--desc``
    column or a ``--types`` list is not needed again: their descriptions are in it.

    ``sample``: the first whole days holding at least that many calls (the module's
    docstring). ``seed`` is not used: the sample is not random (kept for callers).
    ``locate``: how ``columns.address`` is geocoded (``geocode.points_for``)."""
    types = read_classification(classification)
    if bool(columns.lat) != bool(columns.lon):
        raise CallsFileError("--lat and --lon go together")
    if sample is not None and sample < 1:
        raise CallsFileError("--sample takes a number of calls, 1 or more")
    if columns.address and locate is None:
        raise ValueError("an address column needs a locate function "
                         "(spotline.planner.geocode.points_for)")
    named = {"time": columns.time, "type": columns.type, "lat": columns.lat,
             "lon": columns.lon, "address": columns.address}
    wanted = {k: v for k, v in named.items() if v}
    table = read_table(path, need=tuple(dict.fromkeys(wanted.values())), encoding=encoding,
                       delimiter=delimiter, option={v: f"--{k}" for k, v in wanted.items()})
    frame = table.frame.select(*(pl.col(c).alias(k) for k, c in wanted.items()))
    frame = frame.with_columns(pl.col("type").str.strip_chars().fill_null(""))
    if "lat" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("lat"),
                                   pl.lit(None, pl.String).alias("lon"))
    counts: dict[str, int] = {"calls": frame.height, "duplicate_rows": table.duplicate_rows}

    # 1. Each call's class from the reviewed table; the rest are counted and dropped.
    classes = pl.DataFrame(
        {"type": list(types), "class": [t.klass.value for t in types.values()]},
        schema={"type": pl.String, "class": pl.String})
    frame = frame.join(classes, on="type", how="left", maintain_order="left")
    counts["type_not_in_classification"] = int(frame["class"].null_count())
    by_class = dict(frame.group_by("class").len().iter_rows())
    for klass in (CallClass.EMS_ONLY, CallClass.NOT_ELIGIBLE, CallClass.UNKNOWN):
        counts[klass.value] = int(by_class.get(klass.value, 0))
    team = frame.filter(pl.col("class").is_in([CallClass.COMMUNITY.value,
                                               CallClass.COMMUNITY_WITH_BACKUP.value]))

    # 2. Dates; calls without one cannot be placed in time.
    when, _fmt, _offsets = parse_times(team["time"].str.strip_chars(), time_format)
    team = team.with_columns(when.alias("when"))
    counts["bad_dates"] = int(team["when"].null_count())
    team = _points(team.drop_nulls("when")).with_row_index("row")
    eligible = team.height
    if eligible == 0:
        raise CallsFileError(f"{path.name}: no call of class community or "
                             "community_with_backup with a readable date: nothing to "
                             "simulate (check the class column of the classification)")
    # A stable sort: calls at the same second keep the file's order.
    team = team.sort(["when", "row"])
    sample_days = None
    if sample is not None and sample < eligible:
        # Up to the end of the day of the N-th call: whole days, never a day cut short.
        last_day = team["when"][sample - 1].date()
        team = team.filter(pl.col("when").dt.date() <= last_day)
        sample_days = (last_day - team["when"][0].date()).days + 1
    geocoding = None
    if locate is not None and "address" in team.columns:
        team, geocoding = _geocode(team, locate)
    counts["no_coordinates"] = int(team["lat"].null_count())

    # 3. Seconds from the first call's midnight, and the hour of the week as written.
    first: datetime = team["when"][0]
    midnight = first.replace(hour=0, minute=0, second=0, microsecond=0)
    team = team.with_columns(
        ((pl.col("when") - pl.lit(midnight)).dt.total_microseconds() / 1e6).alias("at"),
        ((pl.col("when").dt.weekday().cast(pl.Int32) - 1) * 24
         + pl.col("when").dt.hour().cast(pl.Int32)).alias("how"))
    calls: list[SimCall] = []
    cells: dict[Point, str] = {}
    for i, (code, at, how, lat, lon, klass) in enumerate(
            team.select("type", "at", "how", "lat", "lon", "class").iter_rows()):
        info = types[code]
        point = Point(lat, lon) if lat is not None and lon is not None else None
        area = ""
        if point is not None:
            area = cells.get(point) or cells.setdefault(point, area_cell(point))
        calls.append(SimCall(call_id=i, at=float(at), how=int(how), point=point,
                             kind=info.kind, priority=info.priority, area=area,
                             backup=klass == CallClass.COMMUNITY_WITH_BACKUP.value))
    last = calls[-1].at
    period_days = float(int(last // DAY) + 1)
    loaded = Loaded(calls=calls, start_how=midnight.weekday() * 24, period_days=period_days,
                    eligible=eligible, sample_days=sample_days, counts=counts,
                    geocoding=geocoding)
    loaded.notes = _notes(loaded)
    return loaded


def _notes(loaded: Loaded) -> list[str]:
    """What was left out, one line each: counts only, never a call."""
    c = loaded.counts
    notes = [f"{c['calls']:,} calls read; {loaded.eligible:,} of the classes community "
             "and community_with_backup with a readable date"]
    if c["duplicate_rows"]:
        notes.append(f"{c['duplicate_rows']:,} rows were exact copies of another: "
                     "counted once")
    left = [(c["ems_only"], "ems_only"), (c["not_eligible"], "not_eligible"),
            (c["unknown"], "unknown")]
    notes.append("left out by class: " + ", ".join(f"{n:,} {k}" for n, k in left))
    if c["type_not_in_classification"]:
        notes.append(f"{c['type_not_in_classification']:,} calls have a type missing "
                     "from the classification: counted as unknown, not simulated")
    if c["bad_dates"]:
        notes.append(f"{c['bad_dates']:,} eligible calls have no readable date: "
                     "not simulated")
    if loaded.sample_days is not None:
        notes.append(f"simulating a sample: the first {loaded.sample_days:,} whole days "
                     f"from the first call's day, {len(loaded.calls):,} of the "
                     f"{loaded.eligible:,} eligible calls (a stretch of time, so the load "
                     "per hour is the city's)")
    g = loaded.geocoding
    if g is not None and not g["gazetteer"]:
        notes.append("no gazetteer loaded (spotline places import FILE): the addresses "
                     "were not geocoded")
    elif g is not None:
        notes.append(f"geocoded {g['geocoded']:,} of {g['addresses']:,} distinct addresses "
                     f"of simulated calls without coordinates ({g['ambiguous']:,} "
                     f"ambiguous, {g['not_found']:,} not found): {g['calls_placed']:,} "
                     "calls placed")
    if c["no_coordinates"]:
        notes.append(f"{c['no_coordinates']:,} simulated calls have no usable "
                     "coordinates: nobody can be sent to them (unserved, location unknown)")
    return notes
