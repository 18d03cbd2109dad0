"""``spotline plan classify``: a small city end to end, Milwaukee's month against a count
made here with the csv module, and every bad file answered with one line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from spotline.planner.rulesfile import load_rules
from spotline.planner.tests.shared import ROOT, calls_dir

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HEADER = "id,when,code,extra,lat,lon\n"
ROWS = [
    "1,2024-03-04 09:15:00,WEL,café,43.1,-87.9",  # Monday 9: welfare -> community
    "2,2024-03-04 09:40:00,DIST,b,43.1,-87.9",  # Monday 9: disturbance -> with backup
    "3,2024-03-04 09:50:00,GUN,c,43.1,-87.9",   # Monday 9: weapon -> not eligible
    "3,2024-03-04 09:50:00,GUN,c,43.1,-87.9",   # an exact copy: counted once
    "4,2024-03-10 23:05:00,SICK,d,,",            # Sunday 23: medical, no coordinates
    "5,not a date,WEL,e,43.1,-87.9",             # a bad date: classified, no hour
    "6,2024-03-05 14:00:00,ZZZ,f,0,0",          # unknown type; 0,0 is no place
    "7,2024-03-05 14:30:00,,g,43.1,-87.9",       # no type at all
]
CODES = "code;label\nWEL;WELFARE CHECK (SEÑORA)\nDIST;OTHER DISTURBANCE\n" \
        "GUN;PERSON WITH A GUN\nSICK;SICK PERSON\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def classify(*args: str) -> str:
    out = io.StringIO()
    call_command("plan", "classify", *args, stdout=out)
    return out.getvalue()


def outputs(out: Path) -> tuple[list[dict[str, str]], dict[str, Any], list[dict[str, str]]]:
    with (out / "classification.csv").open(newline="", encoding="utf-8") as f:
        types = list(csv.DictReader(f))
    summary = json.loads((out / "summary.json").read_text())
    with (out / "diversion_by_hour.csv").open(newline="", encoding="utf-8") as f:
        hours = list(csv.DictReader(f))
    return types, summary, hours


@pytest.fixture
def city(tmp_path: Path) -> tuple[Path, Path]:
    calls = write(tmp_path / "calls.csv", HEADER + "\n".join(ROWS) + "\n")
    codes = write(tmp_path / "codes.csv", CODES)
    return calls, codes


def run_city(calls: Path, codes: Path, out: Path) -> str:
    return classify(str(calls), "--time", "when", "--type", "code", "--types", str(codes),
                    "--types-code", "code", "--types-desc", "label", "--lat", "lat",
                    "--lon", "lon", "--out", str(out))


def test_it_classifies_a_small_city_end_to_end(city: tuple[Path, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    printed = run_city(*city, tmp_path / "out")
    types, summary, hours = outputs(tmp_path / "out")
    assert list(types[0]) == ["type", "description", "calls", "class", "rule", "reason"]
    got = {t["type"]: (t["description"], t["calls"], t["class"], t["rule"]) for t in types}
    assert got == {
        "WEL": ("WELFARE CHECK (SEÑORA)", "2", "community", "welfare"),
        "DIST": ("OTHER DISTURBANCE", "1", "community_with_backup", "disturbance"),
        "GUN": ("PERSON WITH A GUN", "1", "not_eligible", "weapon"),
        "SICK": ("SICK PERSON", "1", "ems_only", "medical"),
        "ZZZ": ("", "1", "unknown", ""),
        "": ("", "1", "unknown", ""),
    }
    assert summary["calls"] == 7
    assert summary["by_class"] == {"community": 2, "community_with_backup": 1,
                                   "ems_only": 1, "not_eligible": 1, "unknown": 2}
    assert summary["community_share"] == round(3 / 7, 4)
    assert summary["community_alone_share"] == round(2 / 7, 4)
    assert (summary["rows_read"], summary["duplicate_rows"], summary["bad_dates"],
            summary["missing_coordinates"], summary["missing_type"]) == (8, 1, 1, 2, 1)
    assert summary["unused_columns"] == ["id", "extra"]
    assert summary["types_without_description"] == 1  # ZZZ ("" has no type to look up)
    assert len(hours) == 168
    monday9 = next(h for h in hours if (h["weekday"], h["hour"]) == ("Mon", "9"))
    assert monday9 == {"weekday": "Mon", "hour": "9", "calls": "3", "community": "1",
                       "community_with_backup": "1", "share": "0.6667"}
    assert sum(int(h["calls"]) for h in hours) == 6  # the bad date has no hour
    empty = next(h for h in hours if (h["weekday"], h["hour"]) == ("Wed", "3"))
    assert (empty["calls"], empty["share"]) == ("0", "")
    assert "a community team could take 42.9% of all calls" in printed
    notes = capsys.readouterr().err
    assert "1 rows were exact copies" in notes and "1 calls have no readable date" in notes
    assert "2 calls have no usable coordinates" in notes
    for secret in ("43.1", "SEÑORA", "not a date", "café"):  # counts only, never a call
        assert secret not in notes


@pytest.mark.parametrize(("encoding", "bom"), [
    ("latin-1", b""), ("cp1252", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""),
])
def test_it_reads_other_encodings_and_a_byte_order_mark(
        city: tuple[Path, Path], tmp_path: Path, encoding: str, bom: bytes) -> None:
    calls, _ = city
    (tmp_path / "calls2.csv").write_bytes(bom + calls.read_text().encode(encoding))
    (tmp_path / "codes2.csv").write_bytes(bom + CODES.encode(encoding))
    run_city(tmp_path / "calls2.csv", tmp_path / "codes2.csv", tmp_path / "out")
    types, summary, _ = outputs(tmp_path / "out")
    assert summary["calls"] == 7 and summary["bad_dates"] == 1
    assert summary["unused_columns"] == ["id", "extra"]  # the BOM is not in a name
    welfare = next(t for t in types if t["type"] == "WEL")
    assert welfare["description"] == "WELFARE CHECK (SEÑORA)"
    assert summary["encoding"] == {"latin-1": "cp1252", "cp1252": "cp1252",
                                   "utf-8": "utf-8-sig", "utf-16": "utf-16"}[encoding]


def test_it_reads_a_semicolon_file_and_a_description_column(tmp_path: Path) -> None:
    calls = write(tmp_path / "c.csv", "Time;Type;Text\n05/01/2018 01:02:03 PM;A1;DRUNK\n"
                                      "05/01/2018 11:00:00 PM;A1;DRUNK\n"
                                      "05/02/2018 08:00:00 AM;B2;SHOTS FIRED\n")
    classify(str(calls), "--time", "time", "--type", "type", "--desc", "text",
             "--out", str(tmp_path / "o"))
    types, summary, hours = outputs(tmp_path / "o")
    assert [(t["type"], t["class"]) for t in types] == [("A1", "community"),
                                                        ("B2", "not_eligible")]
    assert summary["time_format"] == "%m/%d/%Y %I:%M:%S %p"
    assert summary["bad_dates"] == 0
    tue = {int(h["hour"]): int(h["calls"]) for h in hours if h["weekday"] == "Tue"}
    assert (tue[13], tue[23]) == (1, 1)


def test_a_city_rules_file_pins_and_overrides(city: tuple[Path, Path], tmp_path: Path) -> None:
    rules = write(tmp_path / "city.toml", '[[pin]]\ncode = "ZZZ"\nclass = "community"\n'
                  'reason = "our outreach line"\n')
    calls, codes = city
    classify(str(calls), "--time", "when", "--type", "code", "--types", str(codes),
             "--types-code", "code", "--types-desc", "label", "--rules", str(rules),
             "--out", str(tmp_path / "o"))
    types, summary, _ = outputs(tmp_path / "o")
    assert next(t for t in types if t["type"] == "ZZZ")["rule"] == "pin:ZZZ"
    assert summary["by_class"]["community"] == 3 and summary["rules"] == "city.toml"


def test_a_csv_rules_file_works_too(city: tuple[Path, Path], tmp_path: Path) -> None:
    rules = write(tmp_path / "city.csv", "name,class,reason,words,code\n"
                  "zed,ems_only,a test,ZZZ;YYY,\n,not_eligible,pinned,,WEL\n")
    calls, _ = city
    classify(str(calls), "--time", "when", "--type", "code", "--rules", str(rules),
             "--out", str(tmp_path / "o"))
    _, summary, _ = outputs(tmp_path / "o")
    assert summary["by_class"]["ems_only"] == 2  # ZZZ by the city's rule, SICK as shipped
    assert summary["by_class"]["not_eligible"] == 3  # WEL pinned (2 calls), GUN


# -- Milwaukee, May 2018, against a count made here -------------------------------------

def test_it_matches_an_independent_count_of_milwaukee(tmp_path: Path) -> None:
    source = calls_dir() / "milwaukee_cfs_2018-05.csv"
    classify(str(source), "--time", "time", "--type", "nature", "--lat", "latitude",
             "--lon", "longitude", "--out", str(tmp_path / "mke"))
    types, summary, hours = outputs(tmp_path / "mke")

    table = load_rules()
    by_class: Counter[str] = Counter()
    by_hour: Counter[tuple[str, int, str]] = Counter()
    natures: Counter[str] = Counter()
    rows = set()
    with source.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            rows.add(tuple(row.values()))
            klass = table.classify(code=row["nature"]).klass.value
            natures[row["nature"]] += 1
            by_class[klass] += 1
            when = datetime.strptime(row["time"], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007
            by_hour[(WEEKDAYS[when.weekday()], when.hour, klass)] += 1
    assert len(rows) == sum(natures.values()) == 33968  # no duplicates in this file
    assert summary["calls"] == 33968
    assert summary["by_class"] == {k: by_class[k] for k in summary["by_class"]}
    team = by_class["community"] + by_class["community_with_backup"]
    assert summary["community_share"] == round(team / 33968, 4)
    assert {t["type"]: int(t["calls"]) for t in types} == dict(natures)
    for h in hours:
        key = (h["weekday"], int(h["hour"]))
        assert int(h["calls"]) == sum(n for (d, hr, _), n in by_hour.items()
                                      if (d, hr) == key)
        assert int(h["community"]) == by_hour[(*key, "community")]
        assert int(h["community_with_backup"]) == by_hour[(*key, "community_with_backup")]
    # The numbers docs/planner.md quotes.
    assert summary["by_class"] == {"community": 924, "community_with_backup": 3385,
                                   "ems_only": 740, "not_eligible": 28256, "unknown": 663}
    assert summary["community_share"] == 0.1269
    assert summary["missing_coordinates"] == 11


# -- bad files: one line, a non-zero exit, never a traceback ----------------------------

def bad(path: Path, *more: str, time: str = "when") -> str:
    with pytest.raises(CommandError) as caught:
        classify(str(path), "--time", time, "--type", "code", *more,
                 "--out", str(path.parent / "o"))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    assert bad(write(tmp_path / "e.csv", "")) == "e.csv: is empty"
    assert bad(write(tmp_path / "w.csv", " \n\n")) == "w.csv: is empty"
    assert bad(write(tmp_path / "h.csv", HEADER)) == "h.csv: has a header but no rows"


def test_a_file_without_the_time_column_is_refused(tmp_path: Path) -> None:
    message = bad(write(tmp_path / "c.csv", HEADER + ROWS[0]), time="time")
    assert message.startswith("c.csv: no column 'time' (named by --time); its columns are: "
                              "id, when, code")


def test_a_wrong_delimiter_is_named(tmp_path: Path) -> None:
    text = (HEADER + ROWS[0]).replace(",", ":")
    message = bad(write(tmp_path / "c.csv", text))
    assert "no column 'when'" in message and "Pass --delimiter" in message


def test_a_file_claimed_two_gigabytes_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        f.write(HEADER.encode())
        f.truncate(2 * 1024**3)  # sparse: nothing is written to disk
    message = bad(big)
    assert message.startswith("big.csv: is 2.0 GB; the planner reads files up to 1 GB")


def test_a_spreadsheet_and_a_binary_file_are_refused(tmp_path: Path) -> None:
    assert "save it as CSV" in bad(write(tmp_path / "x.csv", "PK\x03\x04rest"))
    assert "not a text file" in bad(write(tmp_path / "b.csv", "a,b\x00\n"))


def test_a_broken_quote_is_refused_without_quoting_the_row(tmp_path: Path) -> None:
    message = bad(write(tmp_path / "q.csv", HEADER + '1,2024-03-04 09:15:00,"WEL,SECRET\n'))
    assert "cannot be read as comma-separated values" in message
    assert "SECRET" not in message


def test_a_column_of_no_dates_is_refused(tmp_path: Path) -> None:
    message = bad(write(tmp_path / "d.csv", HEADER + "1,yesterday,WEL,a,1,1\n"))
    assert "no value of column 'when' (--time) is a date" in message


def test_bad_options_and_rules_are_one_line(city: tuple[Path, Path], tmp_path: Path) -> None:
    calls, codes = city
    assert bad(calls, "--types", str(codes)) == "--types needs --types-code and --types-desc"
    assert bad(calls, "--lat", "lat") == "--lat and --lon go together"
    assert "no such encoding" in bad(calls, "--encoding", "klingon")
    rules = write(tmp_path / "r.toml", '[[rule]]\nname = "x"\nclass = "police"\n')
    assert bad(calls, "--rules", str(rules)).startswith("r.toml: rule 'x': class must be")
    assert "is not valid TOML" in bad(calls, "--rules", str(write(tmp_path / "t.toml", "[[")))
    assert bad(tmp_path / "nope.csv").endswith("nope.csv: no such file")


def test_the_command_line_gives_one_line_and_exit_1(tmp_path: Path) -> None:
    """The real command, as a person runs it: no traceback on stderr."""
    empty = write(tmp_path / "e.csv", "")
    env = {**os.environ, "SPOTLINE_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "spotline", "plan", "classify", str(empty), "--time", "t",
         "--type", "c", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == "CommandError: e.csv: is empty"
    assert "Traceback" not in done.stderr
