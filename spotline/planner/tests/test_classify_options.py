"""``plan classify`` past the fixed contract: a mapping file, priority and disposition
counts, addresses geocoded with the gazetteer, and what the first version misread
(codes in another case, times with a UTC offset, decimal commas)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from spotline.core.candidates import Candidate
from spotline.places.actions import places_import
from spotline.places.models import Landmark, Place
from spotline.places.textsearch import fts_rebuild
from spotline.planner.geocode import points_for
from spotline.planner.tests.shared import calls_dir

DEMO = Path(__file__).resolve().parents[2] / "places" / "data" / "helsinki.osm.pbf"
HEADER = "id,when,code,prio,disp,lat,lon\n"
ROWS = [f"{i},2024-03-04 09:{i:02d}:00,WELFARE CHECK,{'1' if i < 6 else '2'},"
        f"{'UNFOUNDED' if i % 2 else 'ADVISED'},43.1,-87.9" for i in range(12)]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def classify(*args: str) -> str:
    out = io.StringIO()
    call_command("plan", "classify", *args, stdout=out)
    return out.getvalue()


def summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture
def calls(tmp_path: Path) -> Path:
    return write(tmp_path / "calls.csv", HEADER + "\n".join(ROWS) + "\n")


# -- the mapping file ---------------------------------------------------------------------

def test_a_mapping_file_names_the_columns(calls: Path, tmp_path: Path) -> None:
    write(tmp_path / "codes.csv", "c,d\nWELFARE CHECK,FOUND PERSON\n")
    mapping = write(tmp_path / "city.toml", 'time = "when"\ntype = "code"\n'
                    'priority = "prio"\ndisposition = "disp"\nlat = "lat"\nlon = "lon"\n'
                    'types = "codes.csv"\ntypes_code = "c"\ntypes_desc = "d"\n')
    classify(str(calls), "--mapping", str(mapping), "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    assert s["calls"] == 12 and s["by_class"]["community"] == 12
    assert s["by_priority"] == {"1": 6, "2": 6}
    assert s["unused_columns"] == ["id"]
    assert s["types_without_description"] == 0  # codes.csv found beside the mapping
    table = (tmp_path / "o" / "classification.csv").read_text().splitlines()
    assert table[1].startswith("WELFARE CHECK,FOUND PERSON,12,community,")


def test_the_command_line_wins_over_the_mapping(calls: Path, tmp_path: Path) -> None:
    mapping = write(tmp_path / "city.toml", 'time = "when"\ntype = "nope"\n'
                    'priority = "prio"\n')
    classify(str(calls), "--mapping", str(mapping), "--type", "code", "--priority", "disp",
             "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    assert s["by_class"]["community"] == 12
    assert s["by_priority"] == {"ADVISED": 6, "UNFOUNDED": 6}


def test_time_and_type_are_needed_from_somewhere(calls: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r'^--type is required \(or type = "COL" in '):
        classify(str(calls), "--time", "when", "--out", str(tmp_path / "o"))
    mapping = write(tmp_path / "m.toml", 'type = "code"\n')
    with pytest.raises(CommandError, match=r"^--time is required"):
        classify(str(calls), "--mapping", str(mapping), "--out", str(tmp_path / "o"))


@pytest.mark.parametrize(("text", "expected"), [
    ('time = "when"\ntyp = "code"\n', "m.toml: unknown key(s) typ (did you mean type?); "
                                      "the keys are time, type, desc,"),
    ('time = "when"\ncolour = "x"\n', "m.toml: unknown key(s) colour; the keys are"),
    ("time = 3\n", 'm.toml: time must be a text in quotes, as in time = "..."'),
    ('time = "when"\n[columns]\n', "m.toml: unknown key(s) columns"),
    ("time = \n", "m.toml: is not valid TOML"),
])
def test_a_bad_mapping_is_one_clear_line(calls: Path, tmp_path: Path, text: str,
                                         expected: str) -> None:
    mapping = write(tmp_path / "m.toml", text)
    with pytest.raises(CommandError) as caught:
        classify(str(calls), "--mapping", str(mapping), "--type", "code",
                 "--out", str(tmp_path / "o"))
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_a_missing_mapping_file_is_named(calls: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"gone\.toml: no such file$"):
        classify(str(calls), "--mapping", str(tmp_path / "gone.toml"), "--out",
                 str(tmp_path / "o"))


# -- priority and disposition -------------------------------------------------------------

def test_priority_and_disposition_are_counted(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # 25 dispositions of 6 calls, one of 2 (too rare to name), 3 blank.
    rows = [f"2024-03-04 10:00:{i % 60:02d},WEL,P{i % 3},D{i // 6:02d}" for i in range(150)]
    rows += ["2024-03-05 10:00:00,WEL,P0,a note typed about one call",
             "2024-03-05 10:00:01,WEL,P0,a note typed about one call"]
    rows += [f"2024-03-05 11:00:0{i},WEL,,  " for i in range(3)]
    calls = write(tmp_path / "c.csv", "t,code,prio,disp\n" + "\n".join(rows) + "\n")
    printed = classify(str(calls), "--time", "t", "--type", "code", "--priority", "prio",
                       "--disposition", "disp", "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    assert s["by_priority"] == {"P0": 52, "P1": 50, "P2": 50, "(blank)": 3}
    d = s["by_disposition"]
    assert list(d)[:20] == [f"D{i:02d}" for i in range(20)]
    assert all(d[f"D{i:02d}"] == 6 for i in range(20))
    assert d["(blank)"] == 3
    assert d["(other)"] == 5 * 6 + 2  # five more codes, and the rare text
    assert sum(d.values()) == s["calls"] == 155
    assert "calls by disposition (the 5 largest" in printed
    assert "a note typed" not in printed + json.dumps(s) + capsys.readouterr().err
    # classification.csv is as before
    header = (tmp_path / "o" / "classification.csv").read_text().splitlines()[0]
    assert header == "type,description,calls,class,rule,reason"


# -- what the first version misread -------------------------------------------------------

def test_a_code_list_matches_codes_in_another_case(tmp_path: Path) -> None:
    calls = write(tmp_path / "c.csv", "t,code\n2024-03-04 10:00:00,wel\n"
                                      "2024-03-04 11:00:00,Wel \n2024-03-04 12:00:00,gun\n")
    codes = write(tmp_path / "k.csv", "code,label\nWEL,WELFARE CHECK\nGUN,PERSON WITH A GUN\n")
    classify(str(calls), "--time", "t", "--type", "code", "--types", str(codes),
             "--types-code", "code", "--types-desc", "label", "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    assert s["by_class"]["community"] == 2 and s["by_class"]["not_eligible"] == 1
    assert s["types_without_description"] == 0


def test_times_with_a_utc_offset_are_read_as_written(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    calls = write(tmp_path / "c.csv", "t,code\n2016/09/19 13:38:00+00,WEL\n"
                                      "2018-05-01T00:10:28.000Z,WEL\n"
                                      "2018-05-01T23:10:28-05:00,WEL\n")
    classify(str(calls), "--time", "t", "--type", "code", "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    # Two formats in one file: the one that reads most wins, the other is a bad date.
    assert s["bad_dates"] == 1 and s["time_offsets_ignored"] == 3
    assert s["first_call"] == "2018-05-01T00:10:28" and s["last_call"] == "2018-05-01T23:10:28"
    assert "3 times carry a UTC offset" in capsys.readouterr().err
    calls = write(tmp_path / "d.csv", "t,code\n2016/09/19 13:38:00+00,WEL\n")
    classify(str(calls), "--time", "t", "--type", "code", "--out", str(tmp_path / "p"))
    assert summary(tmp_path / "p")["first_call"] == "2016-09-19T13:38:00"


def test_dates_that_read_both_ways_are_read_month_first_and_said_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Every day is 12 or less: 03/04 is March 4th or April 3rd, and the whole file
    # cannot tell. The first format in the list is kept, and the other is named.
    calls = write(tmp_path / "c.csv", "t,code\n" + "".join(
        f"{d:02d}/04/2024 10:00,WEL\n" for d in range(1, 13)))
    classify(str(calls), "--time", "t", "--type", "code", "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    assert (s["time_format"], s["time_format_ambiguous"]) == ("%m/%d/%Y %H:%M",
                                                              ["%d/%m/%Y %H:%M"])
    assert s["first_call"] == "2024-01-04T10:00:00" and s["bad_dates"] == 0
    assert "pass --time-format if that is wrong" in capsys.readouterr().err


def test_formats_that_read_a_file_alike_are_not_called_ambiguous(tmp_path: Path) -> None:
    # "%Y-%m-%d %H:%M:%S" and the same with "%.f" read these times the same.
    calls = write(tmp_path / "c.csv", "t,code\n2024-04-03 10:00:00,WEL\n")
    classify(str(calls), "--time", "t", "--type", "code", "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    assert (s["time_format"], s["time_format_ambiguous"]) == ("%Y-%m-%d %H:%M:%S", [])


def test_a_stray_byte_in_a_utf8_file_is_replaced_and_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.csv").write_bytes("t,code\n2024-03-04 10:00:00,SEÑORA WEL\n".encode()
                                     + b"2024-03-04 11:00:00,CAF\xe9 WEL\n")
    classify(str(tmp_path / "c.csv"), "--time", "t", "--type", "code",
             "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    assert (s["encoding"], s["replaced_bytes"]) == ("utf-8", 1)
    assert "1 bytes are not UTF-8" in capsys.readouterr().err
    # A Windows-1252 file is still one: it has no UTF-8 characters to keep.
    (tmp_path / "d.csv").write_bytes(b"t,code\n2024-03-04 11:00:00,CAF\xe9 WEL\n")
    classify(str(tmp_path / "d.csv"), "--time", "t", "--type", "code",
             "--out", str(tmp_path / "p"))
    assert (summary(tmp_path / "p")["encoding"], summary(tmp_path / "p")["replaced_bytes"]
            ) == ("cp1252", 0)


def test_columns_named_alike_but_for_case_are_named_and_an_exact_name_wins(
        tmp_path: Path) -> None:
    calls = write(tmp_path / "c.csv", "t,Code,CODE\n2024-03-04 10:00:00,WEL,GUN\n")
    with pytest.raises(CommandError, match="'Code' and 'CODE' both match 'code'"):
        classify(str(calls), "--time", "t", "--type", "code", "--out", str(tmp_path / "o"))
    classify(str(calls), "--time", "t", "--type", "CODE", "--out", str(tmp_path / "o"))
    assert summary(tmp_path / "o")["by_class"]["not_eligible"] == 1


def test_a_description_shared_by_enough_calls_is_written(tmp_path: Path) -> None:
    calls = write(tmp_path / "c.csv", "t,code,text\n" + "".join(
        f"2024-03-04 10:{i:02d}:00,{'A' if i < 3 else 'B'},SICK PERSON\n" for i in range(5))
        + "2024-03-04 11:00:00,C,says her son is suicidal\n")
    classify(str(calls), "--time", "t", "--type", "code", "--desc", "text",
             "--out", str(tmp_path / "o"))
    with (tmp_path / "o" / "classification.csv").open(newline="") as f:
        rows = {r["type"]: r for r in csv.DictReader(f)}
    # Five calls share "SICK PERSON", over two types: a code's meaning, written out.
    assert rows["A"]["description"] == rows["B"]["description"] == "SICK PERSON"
    # One call's own words are not written, though they still classify its type.
    assert (rows["C"]["description"], rows["C"]["class"]) == ("", "community")


def test_a_file_of_only_a_byte_order_mark_is_empty(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(CommandError, match=r"^b\.csv: is empty$"):
        classify(str(tmp_path / "b.csv"), "--time", "t", "--type", "c", "--out",
                 str(tmp_path / "o"))


def test_decimal_commas_are_coordinates(tmp_path: Path) -> None:
    calls = write(tmp_path / "c.csv", "t;code;lat;lon\n04.03.2024 10:00;WEL;60,17;24,94\n"
                                      "04.03.2024 11:00;WEL;60.17;24.94\n"
                                      "04.03.2024 12:00;WEL;x;24.94\n")
    classify(str(calls), "--time", "t", "--type", "code", "--lat", "lat", "--lon", "lon",
             "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    assert s["missing_coordinates"] == 1 and s["bad_dates"] == 0


# -- geocoding ----------------------------------------------------------------------------

def fake(answers: dict[str, list[tuple[float, float, float]]], asked: list[str]
         ) -> Any:
    def geocoder(text: str) -> list[Candidate]:
        asked.append(text)
        return [Candidate(text, lat, lon, conf, "address", 10.0, "test")
                for lat, lon, conf in answers.get(text, [])]
    return geocoder


def test_points_for_asks_once_per_address_and_keeps_the_rows_order() -> None:
    frame = pl.DataFrame({"a": ["1 Main St", " 1 Main St", None, "far", "two", "", "far"]})
    asked: list[str] = []
    answers = {"1 Main St": [(43.0, -87.9, 0.95)],
               "two": [(43.0, -87.9, 0.9), (43.2, -87.9, 0.88)]}  # two places, both likely
    lat, lon, counts = points_for(frame, "a", geocoder=fake(answers, asked))
    assert sorted(asked) == ["1 Main St", "far", "two"]
    assert lat.to_list() == [43.0, 43.0, None, None, None, None, None]
    assert lon.to_list() == [-87.9, -87.9, None, None, None, None, None]
    assert counts == {"gazetteer": True, "addresses": 3, "geocoded": 1, "ambiguous": 1,
                      "not_found": 1, "calls": 7, "calls_placed": 2,
                      "calls_without_address": 2}


@pytest.fixture(scope="module")
def gazetteer(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """The demo extract (central Helsinki) and two landmarks known by one name."""
    with django_db_blocker.unblock():
        places_import(path=DEMO, replace=True)
        Landmark.objects.create(name="North drop-in", lat=60.1790, lon=24.9500,
                                aliases="the drop-in")
        Landmark.objects.create(name="South drop-in", lat=60.1600, lon=24.9400,
                                aliases="the drop-in")
        try:
            yield
        finally:
            Landmark.objects.filter(name__endswith="drop-in").delete()
            Place.objects.all().delete()
            fts_rebuild()


@pytest.mark.django_db
@pytest.mark.usefixtures("gazetteer")
def test_addresses_are_geocoded_with_the_gazetteer(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rows = ["2024-03-04 10:00:00,WEL,Aleksanterinkatu 52,,",
            "2024-03-04 10:05:00,WEL,Aleksanterinkatu 52,,",
            "2024-03-04 10:10:00,WEL,Kaivokatu 8,,",
            "2024-03-04 10:15:00,WEL,the drop-in,,",        # two landmarks: ambiguous
            "2024-03-04 10:20:00,WEL,Nowhere Street 99,,",  # not found
            "2024-03-04 10:25:00,WEL,Nowhere Street 99,60.17,24.94",  # coordinates win
            "2024-03-04 10:30:00,WEL,,,"]                   # nothing at all
    calls = write(tmp_path / "c.csv", "t,code,addr,lat,lon\n" + "\n".join(rows) + "\n")
    classify(str(calls), "--time", "t", "--type", "code", "--address", "addr",
             "--lat", "lat", "--lon", "lon", "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    assert s["geocoding"] == {"gazetteer": True, "addresses": 4, "geocoded": 2,
                              "ambiguous": 1, "not_found": 1, "calls": 6,
                              "calls_placed": 3, "calls_without_address": 1}
    assert s["missing_coordinates"] == 3
    err = capsys.readouterr().err
    assert "geocoded 2 of 4 distinct addresses (1 ambiguous, 1 not found): 3 calls placed" \
        in err
    for secret in ("Aleksanterinkatu", "drop-in", "Nowhere", "60.1"):
        assert secret not in err


@pytest.mark.django_db
def test_without_a_gazetteer_it_says_so_and_goes_on(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    Place.objects.all().delete()  # undone with the test's transaction
    Landmark.objects.all().delete()
    calls = write(tmp_path / "c.csv", "t,code,addr\n2024-03-04 10:00:00,DRUNK,Main St 1\n")
    classify(str(calls), "--time", "t", "--type", "code", "--address", "addr",
             "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    assert s["geocoding"]["gazetteer"] is False and s["missing_coordinates"] == 1
    assert s["by_class"]["community"] == 1
    assert "no gazetteer loaded" in capsys.readouterr().err


# -- Milwaukee with its disposition (the `status` column) ---------------------------------

def test_milwaukee_dispositions(tmp_path: Path) -> None:
    classify(str(calls_dir() / "milwaukee_cfs_2018-05.csv"), "--time", "time", "--type",
             "nature", "--disposition", "status", "--out", str(tmp_path / "o"))
    s = summary(tmp_path / "o")
    d = s["by_disposition"]
    assert sum(d.values()) == 33968
    assert d["Assignment Completed"] == 12071
    assert d["Unable to Locate Complainant"] == 4186
    assert s["unused_columns"] == ["id", "location", "latitude", "longitude", "district"]
