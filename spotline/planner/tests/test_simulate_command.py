"""``spotline plan simulate``: a small city end to end (the files of the contract, the
policy against the oracle, a sample), the calls as the simulation sees them, and bad
input answered with one line."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from collections import Counter
from dataclasses import fields
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from spotline.core.candidates import Candidate
from spotline.core.geo import Mode, Point, area_cell
from spotline.core.plan.model import Assumptions
from spotline.core.triage import Kind, Priority
from spotline.places.models import Landmark
from spotline.planner import cli_sim
from spotline.planner.classify import Columns
from spotline.planner.geocode import points_for
from spotline.planner.simcalls import load_calls
from spotline.planner.staffing import deal_modes, parse_modes

HEADER = "id,when,code,lat,lon\n"
# 2024-03-06 is a Wednesday. Eleven eligible calls with a date, one without a place.
ROWS = [
    "1,2024-03-06 09:15:00,WEL,43.0410,-87.9060",
    "2,2024-03-06 09:20:00,DIST,43.0450,-87.9110",  # with backup
    "3,2024-03-06 09:25:00,GUN,43.0450,-87.9110",   # not eligible
    "4,2024-03-06 10:05:00,OD,43.0390,-87.9200",
    "5,2024-03-06 13:40:00,WEL,43.0520,-87.9000",
    "6,2024-03-06 22:10:00,DIST,43.0300,-87.9150",
    "7,2024-03-07 02:00:00,MH,43.0600,-87.9300",
    "8,2024-03-07 08:30:00,WEL,,",                  # no place
    "9,2024-03-07 12:00:00,OD,43.0410,-87.9060",
    "10,2024-03-07 12:05:00,ZZZ,43.0410,-87.9060",  # not in the classification
    "11,2024-03-07 17:45:00,MH,43.0455,-87.9100",
    "12,not a date,WEL,43.0410,-87.9060",            # no readable date
    "13,2024-03-08 07:00:00,WEL,43.0480,-87.9050",
    "14,2024-03-08 23:59:00,DIST,43.0350,-87.9000",
]
CLASSIFICATION = (
    "type,description,calls,class,rule,reason,kind\n"
    "WEL,WELFARE CHECK,5,community,welfare,a welfare check,\n"
    "DIST,DISTURBANCE,3,community_with_backup,disturbance,a disturbance,\n"
    "GUN,PERSON WITH A GUN,1,not_eligible,weapon,a weapon,\n"
    "OD,OVERDOSE,2,community,overdose,an overdose,\n"
    "MH,SUBJECT IN CRISIS,2,community,mental,a crisis,mental health\n"
)
ELIGIBLE = 11


@pytest.fixture
def city(tmp_path: Path) -> tuple[Path, Path]:
    calls = tmp_path / "calls.csv"
    calls.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    classification = tmp_path / "classification.csv"
    classification.write_text(CLASSIFICATION, encoding="utf-8")
    return calls, classification


def simulate(calls: Path, classification: Path, out: Path, *extra: str,
             places: bool = True) -> str:
    args = [str(calls), "--time", "when", "--type", "code", "--classification",
            str(classification), "--out", str(out), *extra]
    if places:
        args += ["--lat", "lat", "--lon", "lon"]
    if "--staffing" not in extra:
        args += ["--responders", "2"]
    stdout = io.StringIO()
    call_command("plan", "simulate", *args, stdout=stdout)
    return stdout.getvalue()


def test_it_simulates_a_small_city_end_to_end(city: tuple[Path, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    printed = simulate(*city, tmp_path / "out")
    doc: dict[str, Any] = json.loads((tmp_path / "out" / "simulation.json").read_text())
    assert set(doc) == {"calls", "sample", "period_days", "estimator", "road_fallbacks",
                        "staffing", "policy", "oracle", "comparison", "straight_line",
                        "assumptions"}
    assert (doc["calls"], doc["sample"], doc["estimator"], doc["straight_line"]) == (
        ELIGIBLE, None, "straight_line", None)
    assert doc["period_days"] == 3.0  # Wednesday 0:00 to the end of Friday
    assert doc["staffing"] == {"responders": 2, "responder_hours_per_week": 336,
                               "per_hour": [2] * 168}
    for side in ("policy", "oracle"):
        summary = doc[side]
        assert summary["calls"] == ELIGIBLE
        assert 0.0 <= summary["served_share"] <= 1.0
        assert len(summary["by_hour"]) == 168
        # The call with no place cannot be reached by anyone.
        assert summary["served"] <= ELIGIBLE - 1
    assert doc["oracle"]["on_scene_median_s"] <= doc["policy"]["on_scene_median_s"]
    assert set(doc["comparison"]) >= {"on_scene_median_ratio", "served_share_ratio"}
    names = {a["name"] for a in doc["assumptions"]}
    assert {f.name for f in fields(Assumptions)} | {"estimator"} <= names
    assert all(a["source"] for a in doc["assumptions"])
    turnout = next(a for a in doc["assumptions"] if a["name"] == "turnout_seconds")
    assert (turnout["value"], "NFPA 1710" in turnout["source"]) == (60.0, True)

    with (tmp_path / "out" / "simulation_by_hour.csv").open(newline="") as f:
        hours = list(csv.DictReader(f))
    assert list(hours[0]) == ["weekday", "hour", "calls", "served", "median_s", "p90_s"]
    assert len(hours) == 168 and (hours[0]["weekday"], hours[0]["hour"]) == ("Mon", "0")
    wed9 = next(h for h in hours if (h["weekday"], h["hour"]) == ("Wed", "9"))
    assert wed9["calls"] == "2"
    assert sum(int(h["calls"]) for h in hours) == ELIGIBLE

    assert "policy / oracle" in printed and "served" in printed
    notes = capsys.readouterr().err
    assert "1 calls have a type missing from the classification" in notes
    assert "1 eligible calls have no readable date" in notes
    assert "1 simulated calls have no usable coordinates" in notes
    for secret in ("43.04", "-87.9", "not a date"):  # counts only, never a call
        assert secret not in notes and secret not in printed


def test_it_reads_the_calls_as_the_simulation_sees_them(city: tuple[Path, Path]) -> None:
    loaded = load_calls(city[0], columns=Columns(time="when", type="code", lat="lat",
                                                 lon="lon"), classification=city[1])
    calls = loaded.calls
    assert loaded.start_how == 2 * 24  # Wednesday midnight
    assert [c.call_id for c in calls] == list(range(ELIGIBLE))
    assert calls[0].at == 9 * 3600 + 15 * 60 and calls[0].how == 48 + 9
    assert calls[-1].at == 2 * 86400 + 23 * 3600 + 59 * 60 and calls[-1].how == 96 + 23
    assert [c.at for c in calls] == sorted(c.at for c in calls)
    assert (calls[0].kind, calls[0].priority, calls[0].backup) == (
        Kind.WELFARE_CHECK, Priority.P3, False)
    assert (calls[1].kind, calls[1].priority, calls[1].backup) == (
        Kind.CONFLICT, Priority.P2, True)
    assert (calls[2].kind, calls[2].priority) == (Kind.OVERDOSE, Priority.P1)
    # The reviewer's kind column wins over the words ("SUBJECT IN CRISIS").
    assert (calls[5].kind, calls[5].priority) == (Kind.MENTAL_HEALTH, Priority.P2)
    assert calls[0].point == Point(43.041, -87.906)
    assert calls[0].area == area_cell(Point(43.041, -87.906))
    nowhere = [c for c in calls if c.point is None]
    assert len(nowhere) == 1 and nowhere[0].area == ""
    assert loaded.counts["not_eligible"] == 1 and loaded.counts["bad_dates"] == 1


def test_a_sample_simulates_the_first_whole_days_holding_n_calls(
        city: tuple[Path, Path], tmp_path: Path) -> None:
    # Eligible calls by day: 5 on Wednesday, 4 on Thursday, 2 on Friday. A sample is a
    # stretch of whole days (the load per hour stays the city's), never a day cut short.
    simulate(*city, tmp_path / "out", "--sample", "4")
    doc = json.loads((tmp_path / "out" / "simulation.json").read_text())
    assert (doc["calls"], doc["sample"], doc["policy"]["calls"]) == (5, 4, 5)
    assert doc["period_days"] == 1.0
    columns = Columns(time="when", type="code", lat="lat", lon="lon")
    loaded = load_calls(city[0], columns=columns, classification=city[1], sample=6)
    assert len(loaded.calls) == 9 and loaded.eligible == ELIGIBLE
    assert (loaded.sample_days, loaded.period_days) == (2, 2.0)
    assert [c.at for c in loaded.calls] == sorted(c.at for c in loaded.calls)
    assert max(c.at for c in loaded.calls) < 2 * 86400
    assert any("the first 2 whole days" in n and "9 of the 11" in n for n in loaded.notes)
    every = load_calls(city[0], columns=columns, classification=city[1], sample=11)
    assert (len(every.calls), every.sample_days) == (11, None)


def plan_file(path: Path, rows: list[tuple[str, int, str]]) -> Path:
    path.write_text("weekday,hour,responders\n"
                    + "".join(f"{d},{h},{n}\n" for d, h, n in rows), encoding="utf-8")
    return path


WEEK = [(d, h) for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun") for h in range(24)]


def test_it_takes_a_staffing_plan_by_hour(city: tuple[Path, Path], tmp_path: Path) -> None:
    rows = [(d, h, "3" if 8 <= h < 20 else "1") for d, h in WEEK]
    simulate(*city, tmp_path / "out", "--staffing", str(plan_file(tmp_path / "p.csv", rows)))
    doc = json.loads((tmp_path / "out" / "simulation.json").read_text())
    assert doc["staffing"]["responders"] == 3
    assert doc["staffing"]["responder_hours_per_week"] == 7 * (12 * 3 + 12)
    assert doc["staffing"]["per_hour"][8] == 3 and doc["staffing"]["per_hour"][7] == 1


@pytest.mark.parametrize(("rows", "message"), [
    ([(d, h, "1") for d, h in WEEK[:-1]], "1 of the 168 hours of the week are missing "
                                          "(Sun 23:00)"),
    ([(d, h, "x" if (d, h) == ("Mon", 5) else "1") for d, h in WEEK],
     "p.csv line 7: responders 'x' is not a whole number"),
    ([(d, h, "-1" if (d, h) == ("Tue", 0) else "1") for d, h in WEEK],
     "p.csv line 26: responders -1 is negative"),
    ([("Mon", 0, "1"), *[(d, h, "1") for d, h in WEEK]], "p.csv line 3: Mon 0:00 is given "
                                                         "twice"),
    ([("Funday" if (d, h) == ("Mon", 0) else d, h, "1") for d, h in WEEK],
     "p.csv line 2: weekday 'Funday' is not Mon..Sun"),
])
def test_a_bad_staffing_file_says_which_line(city: tuple[Path, Path], tmp_path: Path,
                                            rows: list[tuple[str, int, str]],
                                            message: str) -> None:
    plan = plan_file(tmp_path / "p.csv", rows)
    with pytest.raises(CommandError, match=re.escape(message)):
        simulate(*city, tmp_path / "out", "--staffing", str(plan))
    assert not (tmp_path / "out").exists()


def test_without_coordinates_it_says_the_simulation_needs_them(
        city: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="needs the calls' places: pass --lat and --lon"):
        simulate(*city, tmp_path / "out", places=False)
    blank = tmp_path / "blank.csv"
    blank.write_text(HEADER + "".join(",".join(r.split(",")[:3]) + ",,\n" for r in ROWS),
                     encoding="utf-8")
    with pytest.raises(CommandError, match="none of the simulated calls has coordinates"):
        simulate(blank, city[1], tmp_path / "out")


def test_bad_options_and_classifications_get_one_line(city: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--modes: 'boat' is not a mode"):
        simulate(*city, tmp_path / "out", "--modes", "car=0.5,boat=0.5")
    with pytest.raises(CommandError, match="--accept is a probability"):
        simulate(*city, tmp_path / "out", "--accept", "1.5")
    bad = tmp_path / "bad.csv"
    bad.write_text(CLASSIFICATION.replace("not_eligible", "maybe"), encoding="utf-8")
    with pytest.raises(CommandError,
                       match=re.escape("bad.csv line 4: class 'maybe' is not one of")):
        simulate(city[0], bad, tmp_path / "out")
    bad.write_text(CLASSIFICATION.replace("mental health", "police"), encoding="utf-8")
    with pytest.raises(CommandError, match=re.escape("bad.csv line 6: 'police' is not a kind")):
        simulate(city[0], bad, tmp_path / "out")


def test_roads_that_cannot_load_fall_back_to_the_straight_line(
        city: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    simulate(*city, tmp_path / "out", "--osm", str(tmp_path / "missing.osm.pbf"),
             "--cache", str(tmp_path / "cache"))
    doc = json.loads((tmp_path / "out" / "simulation.json").read_text())
    assert (doc["estimator"], doc["straight_line"]) == ("straight_line", None)
    assert "the road network could not be used" in capsys.readouterr().err


def test_the_parsers_take_the_options_of_both_commands() -> None:
    parser = argparse.ArgumentParser()
    cli_sim.add_parsers(parser.add_subparsers(dest="subcommand"))
    o = vars(parser.parse_args(["staff", "c.csv", "--time", "t", "--type", "y",
                                "--classification", "k.csv", "--out", "o"]))
    assert (o["target_median"], o["target_served"], o["max_responders"],
            o["min_on_shift"], o["modes"], o["accept"], o["turnout"]) == (
        5.0, 0.9, 60, 1, "car", 0.8, 60.0)
    with pytest.raises(SystemExit):  # simulate needs --responders or --staffing
        parser.parse_args(["simulate", "c.csv", "--time", "t", "--type", "y",
                           "--classification", "k.csv", "--out", "o"])


def test_modes_are_dealt_so_that_every_first_few_keep_the_mix() -> None:
    modes = parse_modes("car=0.5, bike=0.3, walk=0.2")
    dealt = deal_modes(modes, 10)
    assert Counter(dealt) == {Mode.CAR: 5, Mode.BIKE: 3, Mode.WALK: 2}
    assert dealt[:2] == [Mode.CAR, Mode.BIKE]  # two on shift: not two drivers
    # Each next one takes the mode furthest behind its share (ties: the first given).
    car, bike, walk = Mode.CAR, Mode.BIKE, Mode.WALK
    assert dealt == [car, bike, walk, car, car, bike, car, walk, bike, car]
    assert parse_modes("car") == ((Mode.CAR, 1.0),)


# -- the mapping file, and addresses to geocode --------------------------------------------

def test_a_mapping_file_names_the_columns_and_the_options_win(
        city: tuple[Path, Path], tmp_path: Path) -> None:
    # Classify's keys (desc, rules, types) are ignored here; lat and lon come from it.
    mapping = tmp_path / "city.toml"
    mapping.write_text('time = "when"\ntype = "nope"\nlat = "lat"\nlon = "lon"\n'
                       'desc = "code"\nrules = "gone.toml"\ntypes = "gone.csv"\n'
                       'delimiter = ","\nencoding = "utf-8"\n', encoding="utf-8")
    out = io.StringIO()
    call_command("plan", "simulate", str(city[0]), "--mapping", str(mapping), "--type",
                 "code", "--classification", str(city[1]), "--responders", "2", "--out",
                 str(tmp_path / "o"), stdout=out)
    doc = json.loads((tmp_path / "o" / "simulation.json").read_text())
    assert doc["calls"] == ELIGIBLE and doc["policy"]["served"] >= 1
    out = io.StringIO()
    call_command("plan", "staff", str(city[0]), "--mapping", str(mapping), "--type", "code",
                 "--classification", str(city[1]), "--max-responders", "2", "--jobs", "1",
                 "--out", str(tmp_path / "s"), stdout=out)
    assert (tmp_path / "s" / "staff.json").is_file()


@pytest.mark.parametrize("command", ["simulate", "staff"])
def test_a_bad_mapping_or_none_is_one_clear_line(city: tuple[Path, Path], tmp_path: Path,
                                                 command: str) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('time = "when"\nlatt = "lat"\n', encoding="utf-8")
    base = [command, str(city[0]), "--classification", str(city[1]), "--responders", "2",
            "--out", str(tmp_path / "o")]
    if command == "staff":
        base.remove("--responders")
        base.remove("2")
    with pytest.raises(CommandError, match=r"^m\.toml: unknown key\(s\) latt \(did you "
                                           r"mean lat\?\)"):
        call_command("plan", *base, "--mapping", str(mapping), "--type", "code")
    with pytest.raises(CommandError, match=r'^--time is required \(or time = "COL"'):
        call_command("plan", *base, "--type", "code")
    assert not (tmp_path / "o").exists()


ADDRESSED = [  # 2024-03-06 is a Wednesday; all WEL (community)
    "2024-03-06 09:00:00,WEL,Quincewood shelter,,",
    "2024-03-06 10:00:00,WEL,Quincewood shelter,,",
    "2024-03-06 11:00:00,WEL,Larchmere clinic,,",
    "2024-03-06 12:00:00,WEL,the van stop,,",           # two landmarks: ambiguous
    "2024-03-06 13:00:00,WEL,Nowhere Street 99,,",      # not found
    "2024-03-06 14:00:00,WEL,Nowhere Street 99,60.1650,24.9300",  # coordinates win
    "2024-03-06 15:00:00,WEL,,,",                       # nothing at all
]


def geocoder(asked: list[str]) -> Any:
    def find(text: str) -> list[Candidate]:
        asked.append(text)
        known = {"Quincewood shelter": (60.17, 24.94), "Larchmere clinic": (60.16, 24.95)}
        return ([Candidate(text, *known[text], 0.95, "landmark", 10.0, "test")]
                if text in known else [])
    return find


def test_calls_without_coordinates_are_placed_by_their_address(tmp_path: Path) -> None:
    calls = tmp_path / "c.csv"
    calls.write_text("t,code,addr,lat,lon\n" + "\n".join(ADDRESSED) + "\n", encoding="utf-8")
    classification = tmp_path / "k.csv"
    classification.write_text(CLASSIFICATION, encoding="utf-8")
    asked: list[str] = []
    loaded = load_calls(calls, columns=Columns(time="t", type="code", lat="lat", lon="lon",
                                               address="addr"),
                        classification=classification,
                        locate=partial(points_for, geocoder=geocoder(asked)))
    assert [c.point for c in loaded.calls] == [
        Point(60.17, 24.94), Point(60.17, 24.94), Point(60.16, 24.95), None, None,
        Point(60.165, 24.93), None]
    # Only the calls without coordinates are looked up, each address once.
    assert sorted(asked) == ["Larchmere clinic", "Nowhere Street 99", "Quincewood shelter",
                             "the van stop"]
    assert loaded.counts["no_coordinates"] == 3
    assert loaded.geocoding is not None and loaded.geocoding["calls_placed"] == 3
    assert any("geocoded 2 of 4 distinct addresses" in n and "3 calls placed" in n
               for n in loaded.notes)
    # Without coordinate columns, the address alone.
    only = load_calls(calls, columns=Columns(time="t", type="code", address="addr"),
                      classification=classification,
                      locate=partial(points_for, geocoder=geocoder([])))
    assert sum(c.point is not None for c in only.calls) == 3


@pytest.mark.django_db
@pytest.mark.parametrize("places", [False, True])
def test_simulate_geocodes_with_the_gazetteer(tmp_path: Path, places: bool,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    Landmark.objects.create(name="Quincewood shelter", lat=60.1700, lon=24.9400)
    Landmark.objects.create(name="Larchmere clinic", lat=60.1600, lon=24.9500)
    Landmark.objects.create(name="North van", lat=60.1790, lon=24.9500,
                            aliases="the van stop")
    Landmark.objects.create(name="South van", lat=60.1600, lon=24.9400,
                            aliases="the van stop")
    calls = tmp_path / "c.csv"
    calls.write_text("t,code,addr,lat,lon\n" + "\n".join(ADDRESSED) + "\n", encoding="utf-8")
    classification = tmp_path / "k.csv"
    classification.write_text(CLASSIFICATION, encoding="utf-8")
    printed = simulate(calls, classification, tmp_path / "out", "--time", "t", "--type",
                       "code", "--address", "addr", places=places)
    doc = json.loads((tmp_path / "out" / "simulation.json").read_text())
    assert doc["calls"] == 7
    err = capsys.readouterr().err
    placed = 4 if places else 3  # the call with coordinates is one more with --lat/--lon
    assert f"{7 - placed} simulated calls have no usable coordinates" in err
    assert "geocoded 2 of " in err
    for secret in ("Quincewood", "Larchmere", "van stop", "Nowhere", "60.1", "24.9"):
        assert secret not in err and secret not in printed
