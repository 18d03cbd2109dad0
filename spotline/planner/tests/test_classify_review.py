"""A review of ``plan classify`` by tests: each test here is a bug found in review and
fails until it is fixed. Inputs are made up; nothing is read from a real call."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from spotline.core.plan.classify import CallClass
from spotline.core.plan.kinds import kind_of
from spotline.core.triage import Kind
from spotline.planner import htmlreport
from spotline.planner.callsfile import CallsFileError
from spotline.planner.classify import Columns, classify_calls
from spotline.planner.rulesfile import load_rules

RULES = load_rules()


def classified(path: Path, columns: Columns) -> dict[str, tuple[str, int, str]]:
    result = classify_calls(path, columns=columns, rules=RULES)
    return {r.type: (r.description, r.calls, r.klass.value) for r in result.types}


# --- Reading the file ------------------------------------------------------------------


def test_day_first_dates_are_not_read_month_first_when_the_file_starts_early_in_a_month(
        tmp_path: Path) -> None:
    # A European export sorted by time: the first 5,000 rows (the only ones the format
    # guess looks at) are May 1-5, which read as well month first. Day 13 on can only
    # be day first.
    lines = ["id,time,type"] + [f"{day}-{i},{day:02d}/05/2018 {i % 24:02d}:{i % 60:02d},WELFARE"
                                for day in range(1, 31) for i in range(1000)]
    path = tmp_path / "calls.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = classify_calls(path, columns=Columns(time="time", type="type"), rules=RULES)
    assert result.summary["bad_dates"] == 0
    assert result.summary["first_call"].startswith("2018-05-01")
    assert result.summary["last_call"].startswith("2018-05-30")


def test_a_utf8_file_with_one_stray_byte_far_in_keeps_its_utf8_text(tmp_path: Path) -> None:
    # One Latin-1 byte near the end makes the whole file read as Windows-1252: every
    # accented type written in UTF-8 before it comes out as mojibake (Ñ as two characters).
    head = "time,type\n" + "2024-03-04 09:15:00,SEÑORA WELFARE\n" * 3
    body = "".join(f"2024-03-04 09:{i % 60:02d}:{i % 59:02d},OVERDOSE {i % 7}\n"
                   for i in range(200_000))
    path = tmp_path / "calls.csv"
    path.write_bytes(head.encode("utf-8") + body.encode("utf-8")
                     + b"2024-03-04 10:00:00,CAF\xe9\n")
    types = classified(path, Columns(time="time", type="type"))
    assert "SEÑORA WELFARE" in types


def test_two_columns_named_alike_but_for_case_are_an_error_not_a_silent_pick(
        tmp_path: Path) -> None:
    # --type type with columns "Type" and "TYPE": which one is meant is a guess; the
    # last one is taken without a word.
    path = tmp_path / "calls.csv"
    path.write_text("time,Type,TYPE\n2024-03-04 09:15:00,WELFARE,GUN\n", encoding="utf-8")
    with pytest.raises(CallsFileError, match="type"):
        classify_calls(path, columns=Columns(time="time", type="type"), rules=RULES)


# --- Privacy ---------------------------------------------------------------------------


def test_a_free_text_desc_of_a_single_call_does_not_reach_the_outputs(tmp_path: Path) -> None:
    # --desc is "a column describing the call type"; an export without one invites the
    # narrative column. A type with one call then carries that call's words, verbatim,
    # into classification.csv and the report.
    secret = "caller J. Doe at 12 Elm St says her son took pills"
    path = tmp_path / "calls.csv"
    path.write_text("time,type,narrative\n"
                    f"2024-03-04 09:15:00,WEL,{secret}\n"
                    + "".join(f"2024-03-04 09:{i:02d}:00,SICK,sick person\n"
                              for i in range(10)), encoding="utf-8")
    out = tmp_path / "out"
    call_command("plan", "classify", str(path), "--time", "time", "--type", "type",
                 "--desc", "narrative", "--out", str(out))
    htmlreport.write(out)
    for name in ("classification.csv", "summary.json", "report.json", "report.html"):
        assert "Elm St" not in (out / name).read_text(encoding="utf-8"), name


# --- The shipped rule table on real-world wordings ---------------------------------------


@pytest.mark.parametrize(("call_type", "expected"), [
    # "SUSP*" (the suspicious rule) stands before the overdose rule.
    ("SUSPECTED OVERDOSE", CallClass.COMMUNITY),
    ("SUSPECTED DRUG OVERDOSE", CallClass.COMMUNITY),
    # "NARCOTICS" (the crime rule) stands before the overdose rule.
    ("NARCOTICS OVERDOSE", CallClass.COMMUNITY),
    # "WPN" is how many CAD systems abbreviate a weapon; "WEAP*" does not find it.
    ("EDP W/WPN", CallClass.NOT_ELIGIBLE),
    ("SUICIDAL W/WPN", CallClass.NOT_ELIGIBLE),
    # A drunk driver is traffic; "INTOX*" (community) finds it, traffic only knows DRUNK.
    ("INTOXICATED DRIVER", CallClass.NOT_ELIGIBLE),
    # The crime rule has NARCOTICS, DRUG DEALING and DRUG SALES; "DRUG*" (overdose,
    # community) takes the other drug crimes.
    ("DRUG POSSESSION", CallClass.NOT_ELIGIBLE),
    # "TRANSIENT*" (unhoused) finds a medical sign, a mini-stroke.
    ("TRANSIENT ISCHEMIC ATTACK", CallClass.EMS_ONLY),
])
def test_the_shipped_rules_on_real_wordings(call_type: str, expected: CallClass) -> None:
    assert RULES.classify(code=call_type).klass is expected


# --- Kinds: the skills and priority the simulation gives a call type ---------------------


def test_an_unhoused_suffix_does_not_turn_a_disturbance_into_a_welfare_check() -> None:
    # LVMPD adds "- UNHOUSED" to most of its types; "UNHOUSED" is a welfare word, tried
    # before the conflict words, so the disturbance loses de-escalation and drops to P3.
    plain = kind_of("OTHER DISTURBANCE", CallClass.COMMUNITY_WITH_BACKUP)
    unhoused = kind_of("OTHER DISTURBANCE - UNHOUSED", CallClass.COMMUNITY_WITH_BACKUP)
    assert (unhoused.kind, unhoused.priority) == (plain.kind, plain.priority)


def test_a_person_about_to_jump_is_a_mental_health_call() -> None:
    # FDNY's JUMPUP (suicide_means, with backup) matches no kind word: CONFLICT, so a
    # crisis-intervention skill is not asked for.
    verdict = kind_of("JUMPED - UP (Jumper Up - Patient potentially going to jump from "
                      "ledge/elevation)", CallClass.COMMUNITY_WITH_BACKUP)
    assert verdict.kind is Kind.MENTAL_HEALTH
