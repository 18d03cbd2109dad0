"""``spotline plan report``: the report from hand-made planner files: every section, a
note for each step not run, every figure with alt text and its table, nothing of a call
(no address, no coordinate), no web address, and report.json with the same numbers."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from spotline.planner import htmlreport

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Things no report may show: they stand for a call's place, slipped into the files
# under keys a later version of a step might add.
SECRETS = ("43.0389117", "-87.9064736", "4455 W Zebrawood Ln", "1234 N Quillfeather Ave",
           "42.9871234")
SECTIONS = ("In short", "The diversion estimate", "The classification table",
            "The simulation", "The policy against the oracle", "The staffing curve",
            "The recommended plan by hour of the week",
            "What was assumed, and where it comes from", "What the model leaves out")


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def run_summary(median: float, p90: float, served: int, calls: int = 200) -> dict[str, Any]:
    return {
        "oracle": False, "calls": calls, "served": served, "served_share": served / calls,
        "on_scene_median_s": median, "on_scene_p90_s": p90, "accepted_median_s": 35.0,
        "unserved_by_reason": {"nobody_free": calls - served - 3, "nobody_accepted": 3},
        "utilization": 0.42, "ems_proposed": 4,
        "by_hour": [{"how": h, "calls": 2 if h % 3 else 0, "served": 1 if h % 3 else 0,
                     "median_s": median if h % 3 else None, "p90_s": p90 if h % 3 else None}
                    for h in range(168)],
        "by_area": {"872664c1effffff": {"calls": 150, "served": 140, "median_s": 240.0},
                    "872664c1bffffff": {"calls": 40, "served": 30, "median_s": 700.0},
                    "872664c19ffffff": {"calls": 10, "served": 0, "median_s": None}},
        # Not a key summarize writes: stands for a careless addition.
        "slowest_call": {"address": SECRETS[2], "lat": SECRETS[4]},
    }


def classify_files(out: Path) -> None:
    summary = {"calls": 1000, "community_share": 0.4123, "community_alone_share": 0.3,
               "by_class": {"community": 300, "community_with_backup": 112, "ems_only": 88,
                            "not_eligible": 480, "unknown": 20},
               "rows_read": 1002, "duplicate_rows": 2, "bad_dates": 5, "types": 25,
               "unknown_types": 1, "first_call": "2018-05-01T00:03:00",
               "last_call": "2018-05-31T23:58:00", "rules": "default",
               "centre": f"{SECRETS[0]},{SECRETS[1]}", "example": SECRETS[3]}
    (out / "summary.json").write_text(json.dumps(summary))
    types = [[f"T{i:02d}", f"CALL TYPE {i:02d}", 100 - i, "community" if i % 2 else
              "not_eligible", f"rule-{i}", f"reason {i}"] for i in range(24)]
    types.append(["ZZZ", "SOMETHING ODD", 20, "unknown", "", "no rule matched"])
    write_csv(out / "classification.csv",
              ["type", "description", "calls", "class", "rule", "reason"], types)
    write_csv(out / "diversion_by_hour.csv",
              ["weekday", "hour", "calls", "community", "community_with_backup", "share"],
              [[WEEKDAYS[d], h, 6, 2, 1, "0.5000"] if h != 4 else [WEEKDAYS[d], h, 0, 0, 0, ""]
               for d in range(7) for h in range(24)])


def simulate_files(out: Path) -> None:
    sim = {
        "calls": 200, "sample": None, "period_days": 30.9, "estimator": "straight_line",
        "road_fallbacks": 0,
        "staffing": {"responders": 20, "responder_hours_per_week": 3360, "per_hour": [20] * 168},
        "policy": run_summary(252.0, 540.0, 180), "oracle": run_summary(200.0, 400.0, 190),
        "comparison": {"on_scene_median_ratio": 1.26, "on_scene_p90_ratio": 1.35,
                       "served_share_ratio": 0.947},
        "straight_line": None,
        "assumptions": [{"name": "accept probability", "value": "0.8",
                         "source": "Spotline's demo programme, docs/planner.md"}],
        "first_place": [float(SECRETS[0]), float(SECRETS[1])],
    }
    (out / "simulation.json").write_text(json.dumps(sim))
    write_csv(out / "simulation_by_hour.csv",
              ["weekday", "hour", "calls", "served", "median_s", "p90_s"],
              [[WEEKDAYS[d], h, 2, 1, "252.0", "540.0"] for d in range(7) for h in range(24)])


def staff_files(out: Path) -> None:
    curve = [{"responders": n, "responder_hours_per_week": n * 168,
              "served_share": min(0.5 + n / 40, 0.99), "median_s": 900 - 30 * n,
              "p90_s": 1500 - 40 * n, "utilization": 0.9 - n / 50,
              "oracle_served_share": 0.99, "oracle_median_s": 700 - 25 * n}
             for n in range(5, 25, 5)]
    write_csv(out / "staffing_curve.csv", list(curve[0]), [list(r.values()) for r in curve])
    per_hour = [3 if 8 <= h % 24 < 22 else 1 for h in range(168)]
    staff = {"target": {"median_s": 300.0, "served_share": 0.9}, "reached": True,
             "recommended": {"responder_hours_per_week": sum(per_hour), "per_hour": per_hour,
                             "summary": run_summary(281.0, 610.0, 185),
                             "oracle": run_summary(210.0, 420.0, 195)},
             "curve": curve}
    (out / "staff.json").write_text(json.dumps(staff))
    write_csv(out / "recommended_plan.csv", ["weekday", "hour", "responders"],
              [[WEEKDAYS[h // 24], h % 24, n] for h, n in enumerate(per_hour)])


class Tags(HTMLParser):
    """The page's start tags in order, with their attributes, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.fixture
def full(tmp_path: Path) -> Path:
    classify_files(tmp_path)
    simulate_files(tmp_path)
    staff_files(tmp_path)
    return tmp_path


def report(folder: Path) -> tuple[str, dict[str, Any]]:
    htmlreport.write(folder)
    return ((folder / "report.html").read_text(encoding="utf-8"),
            json.loads((folder / "report.json").read_text(encoding="utf-8")))


def test_it_shows_every_section_when_every_step_ran(full: Path) -> None:
    html, data = report(full)
    headings = [t for t in parse(html).text if t.strip() in SECTIONS]
    assert headings == list(SECTIONS)
    assert "not run" not in html
    assert data["not_run"] == {"classify": None, "simulate": None, "staff": None}
    # Long tables fold away; the first 20 call types stay in sight.
    assert "<details>" in html
    assert html.count("CALL TYPE 00") == 2 and html.count("CALL TYPE 23") == 1


def test_it_says_how_to_run_each_step_that_did_not(tmp_path: Path) -> None:
    classify_files(tmp_path)
    html, data = report(tmp_path)
    assert "not run: spotline plan simulate" in html
    assert "not run: spotline plan staff" in html
    assert "not run: spotline plan classify" not in html
    assert "41.2%" in html  # the diversion estimate is there all the same
    assert data["simulation"] is None and data["staffing"] is None

    for name in ("summary.json", "classification.csv", "diversion_by_hour.csv"):
        (tmp_path / name).unlink()
    simulate_files(tmp_path)
    html, data = report(tmp_path)
    assert "not run: spotline plan classify" in html
    assert "not run: spotline plan simulate" not in html
    assert data["diversion"] is None and data["classification"] is None
    assert data["simulation"]["policy"]["on_scene_median_s"] == 252.0


def test_it_holds_no_address_and_no_coordinate(full: Path) -> None:
    html, _ = report(full)
    written = (full / "report.json").read_text(encoding="utf-8")
    for secret in SECRETS:
        assert secret not in html
        assert secret not in written
    # The files did hold them: the test would catch a report that copied keys blindly.
    assert SECRETS[0] in (full / "summary.json").read_text()
    assert SECRETS[2] in (full / "simulation.json").read_text()


def test_every_figure_has_alt_text_and_its_table_after_it(full: Path) -> None:
    html, _ = report(full)
    tags = parse(html).tags
    images = [i for i, (tag, _) in enumerate(tags) if tag == "img"]
    assert len(images) == 5  # diversion, simulation by hour, oracle, curve, plan
    for n, i in enumerate(images):
        attrs = tags[i][1]
        assert (attrs.get("alt") or "").strip()
        assert (attrs.get("src") or "").startswith("data:image/png;base64,")
        following = [tag for tag, _ in tags[i + 1:images[n + 1] if n + 1 < len(images)
                                            else None]]
        assert "table" in following, f"figure {n} has no table before the next figure"


def test_it_is_self_contained(full: Path) -> None:
    html, _ = report(full)
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE)
    tags = parse(html).tags
    assert not [t for t, _ in tags if t in {"script", "link", "iframe", "object"}]
    assert "@media print" in html


def test_headings_go_in_order_and_tables_have_headers(full: Path) -> None:
    html, _ = report(full)
    tags = parse(html).tags
    levels = [int(t[1]) for t, _ in tags if re.fullmatch(r"h[1-6]", t)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels))
    tables = html.split("<table")[1:]
    assert len(tables) >= 10
    for table in tables:
        assert "<caption>" in table.split("</table>")[0]
        assert '<th scope="col">' in table.split("</table>")[0]


def test_report_json_holds_the_headline_numbers_the_page_shows(full: Path) -> None:
    html, data = report(full)
    h = data["headline"]
    assert h["community_share"] == 0.4123 and "41.2%" in html
    assert h["basis"] == "recommended plan"
    assert h["median_s"] == 281.0 and "4.7 min" in html
    assert h["p90_s"] == 610.0 and "10.2 min" in html
    assert h["served_share"] == 185 / 200 and "92.5%" in html
    per_hour = [3 if 8 <= x % 24 < 22 else 1 for x in range(168)]
    assert h["recommended_responder_hours_per_week"] == sum(per_hour)
    assert f"{sum(per_hour):,} responder-hours a week" in html
    assert (h["recommended_on_shift_min"], h["recommended_on_shift_max"]) == (1, 3)
    assert data["staffing"]["recommended"]["per_hour"] == per_hour
    assert data["simulation"]["comparison"]["on_scene_median_ratio"] == 1.26
    assert "1.26" in html
    assert [a["name"] for a in data["assumptions"]] == ["accept probability"]
    assert data["limits"] == list(htmlreport.LIMITS)


def test_it_counts_areas_without_naming_them(full: Path) -> None:
    html, _ = report(full)
    assert "872664c1effffff" not in html
    # One area within 5 min (150 calls), one over 10 (40), one with nothing served (10).
    row = re.search(r"within 5 min</th><td class=\"n\">(\d+)</td><td class=\"n\">(\d+)", html)
    assert row and row.groups() == ("1", "150")
    row = re.search(r"no call served</th><td class=\"n\">(\d+)</td><td class=\"n\">(\d+)", html)
    assert row and row.groups() == ("1", "10")


def test_the_command_writes_both_files_and_names_the_steps_not_run(tmp_path: Path) -> None:
    classify_files(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    call_command("plan", "report", str(tmp_path), stdout=out, stderr=err)
    assert (tmp_path / "report.html").exists() and (tmp_path / "report.json").exists()
    assert "report.html" in out.getvalue()
    assert "not run: spotline plan simulate" in err.getvalue()


def test_the_command_answers_a_broken_file_in_one_line(tmp_path: Path) -> None:
    classify_files(tmp_path)
    (tmp_path / "simulation.json").write_text("{not json")
    with pytest.raises(CommandError, match=r"simulation\.json: not a JSON file"):
        call_command("plan", "report", str(tmp_path), stdout=io.StringIO())
    with pytest.raises(CommandError, match="no such folder"):
        call_command("plan", "report", str(tmp_path / "nowhere"), stdout=io.StringIO())
