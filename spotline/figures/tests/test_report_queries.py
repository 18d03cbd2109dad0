"""A program report's figures for a month worked out by hand (issue 17).

The month (May 2026, area "Harbour", the minimum cell at its default of 11) is seeded
straight into the reporting store by ``seed_month``; every expected figure below was
worked by hand with the rules of ``core.figures`` (lines repaired rows first, then
columns, then the margins; the smallest shown nonzero cell is hidden first, ties in
the table's order). The page, the CSV and the print-out are tested in test_reports.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from spotline.alerts.models import Area
from spotline.figures import queries
from spotline.figures.queries import KINDS, PRIORITIES, SERVED, SOURCES, report
from spotline.figures.report_suppress import MERGED_KINDS, kind_tables, served_by
from spotline.tally.models import CheckinFact, Coverage, IncidentFact

pytestmark = pytest.mark.django_db

MAY_1, MAY_31 = date(2026, 5, 1), date(2026, 5, 31)
CELL_A = "871f1d489ffffff"  # the area "Harbour"
CELL_B = "871f1d48bffffff"  # the area "Hills"
FIRST_ID = 987_001  # incident facts' ids: recognisable if a page ever printed one

# Minutes to acceptance of the first 12 incidents: median (6 + 8) / 2 = 7.0; the 90th
# percentile sits at 0.9 x 11 = 9.9 places in, 12 + 0.9 x (20 - 12) = 19.2.
ACCEPTED_MINUTES = (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 20, 30)


def _hour(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _fact(i: int, *, day: date, kind: str, source: str, priority: str, area: str,
          week_hour: int, **fields: Any) -> IncidentFact:
    return IncidentFact(id=FIRST_ID + i, opened_hour=_hour(day, i % 24), day=day,
                        week_hour=week_hour, kind=kind, source=source, priority=priority,
                        area=area, state="resolved", closed=True, to_first_offer=0, **fields)


def month_facts() -> list[IncidentFact]:
    """The 104 incidents of May in Harbour, by index i:

    - kind x source: overdose 40 web, 3 sms, 20 phone line (i 0-62, P1); mental-health
      crisis 15 web, 12 sms, 14 phone line (i 63-103, P2);
    - accepted (i 0-11, ``ACCEPTED_MINUTES``); on scene by a community responder after
      10 minutes (i 0-9: ten, too few for a time);
    - naloxone, responsive after (i 0-19: 20 reversed), naloxone, not responsive (i
      20-24); an ambulance requested (i 25-29); EMS not needed (i 0-24, 30-34);
    - referrals: housing and treatment (i 0-11), detox (i 12-14);
    - nobody reached: everyone busy (i 58-87, Friday 20-24 h, 8, 8, 7, 7 an hour),
      nobody on shift (i 88-99) and cancelled by the person (i 100-103), both Tuesday
      03 h; the other 58 opened Wednesday 12 h, and of them the 48 nobody reached
      have no reason ("not recorded").
    """
    layout = ([("overdose", "web", "P1")] * 40 + [("overdose", "sms", "P1")] * 3
              + [("overdose", "operator", "P1")] * 20
              + [("mental_health", "web", "P2")] * 15 + [("mental_health", "sms", "P2")] * 12
              + [("mental_health", "operator", "P2")] * 14)
    friday = [116] * 8 + [117] * 8 + [118] * 7 + [119] * 7
    facts = []
    for i, (kind, source, priority) in enumerate(layout):
        fields: dict[str, Any] = {}
        if i < len(ACCEPTED_MINUTES):
            fields["to_accepted"] = ACCEPTED_MINUTES[i] * 60
        if i < 10:
            fields.update(to_on_scene=600, served_by="community")
        if i < 25:
            fields.update(outcome=True, naloxone_doses=1 if i < 20 else 2,
                          responsive_after="yes" if i < 20 else "no")
        if 25 <= i < 30:
            fields.update(ambulance_requested=True, ems="requested")
        elif i < 35:
            fields["ems"] = "not_needed"
        if i < 12:
            fields["referrals"] = ["housing", "treatment"]
        elif i < 15:
            fields["referrals"] = ["detox"]
        week_hour = 60
        if 58 <= i < 88:
            fields["unserved_reason"] = "all_busy"
            week_hour = friday[i - 58]
        elif i >= 88:
            fields["unserved_reason"] = "nobody_on_shift" if i < 100 else "cancelled_by_person"
            week_hour = 27
        facts.append(_fact(i, day=MAY_1 + timedelta(days=i % 31), kind=kind, source=source,
                           priority=priority, area=CELL_A, week_hour=week_hour, **fields))
    return facts


def seed_month() -> tuple[Area, Area]:
    """The month, and around it what must not count: 13 conflicts in Hills (another
    area), 20 overdoses in Harbour on 30 April and 20 on 1 June."""
    harbour = _area("Harbour", CELL_A)
    hills = _area("Hills", CELL_B)
    facts = month_facts()
    n = len(facts)
    facts += [_fact(n + j, day=MAY_1 + timedelta(days=j), kind="conflict", source="web",
                    priority="P2", area=CELL_B, week_hour=60) for j in range(13)]
    n = len(facts)
    facts += [_fact(n + j, day=MAY_1 - timedelta(days=1) if j < 20 else MAY_31 + timedelta(
        days=1), kind="overdose", source="web", priority="P1", area=CELL_A, week_hour=60)
        for j in range(40)]
    IncidentFact.objects.bulk_create(facts)

    # Responder time on shift: Wednesday 12-15 h in Harbour, 1.5 + 1 + 0.5 h; Tuesday
    # 03 h, 0.3 h; not counted: Hills, and Harbour in April.
    Coverage.objects.bulk_create([
        Coverage(hour=_hour(date(2026, 5, 6), 12), day=date(2026, 5, 6), week_hour=60,
                 area=CELL_A, seconds=5400),
        Coverage(hour=_hour(date(2026, 5, 6), 13), day=date(2026, 5, 6), week_hour=61,
                 area=CELL_A, seconds=3600),
        Coverage(hour=_hour(date(2026, 5, 6), 14), day=date(2026, 5, 6), week_hour=62,
                 area=CELL_A, seconds=1800),
        Coverage(hour=_hour(date(2026, 5, 5), 3), day=date(2026, 5, 5), week_hour=27,
                 area=CELL_A, seconds=1080),
        Coverage(hour=_hour(date(2026, 5, 6), 12), day=date(2026, 5, 6), week_hour=60,
                 area=CELL_B, seconds=7200),
        Coverage(hour=_hour(date(2026, 4, 29), 12), day=date(2026, 4, 29), week_hour=60,
                 area=CELL_A, seconds=3600),
    ])
    # Check-ins: 25 started, 12 asked, 3 escalated, 15 ended by the person; one in April.
    CheckinFact.objects.bulk_create(
        [CheckinFact(started_hour=_hour(MAY_1 + timedelta(days=i)), day=MAY_1 + timedelta(
            days=i), week_hour=12, minutes=10, asked=i < 12, escalated=i < 3, ended=i >= 10)
         for i in range(25)]
        + [CheckinFact(started_hour=_hour(date(2026, 4, 30)), day=date(2026, 4, 30),
                       week_hour=12, minutes=10)])
    return harbour, hills


def _area(name: str, cell: str) -> Area:
    now = datetime(2026, 4, 1, tzinfo=UTC)
    return Area.objects.create(name=name, geometry={"type": "Polygon", "coordinates": []},
                               h3_cell=cell, cells=[cell], km2=5.2, centre_lat=0.0,
                               centre_lon=0.0, created_at=now, updated_at=now)


def test_it_hides_a_cell_of_3_and_its_complements_in_row_and_column() -> None:
    harbour, _ = seed_month()
    table = report(start=MAY_1, end=MAY_31, areas=[harbour]).by_kind_source

    # Overdose by text message is 3: hidden. Its row then has one hidden cell, so the
    # smallest other (phone line, 20) goes too; its column likewise (mental health by
    # text, 12); and the phone-line column then the mental-health phone line (14).
    assert table.cells[("overdose", "sms")] is None
    assert table.cells[("overdose", "operator")] is None
    assert table.cells[("mental_health", "sms")] is None
    assert table.cells[("mental_health", "operator")] is None
    assert table.cells[("overdose", "web")] == 40
    assert table.cells[("mental_health", "web")] == 15
    assert table.cells[("welfare_check", "web")] == 0
    assert table.row_totals == {"overdose": 63, "mental_health": 41, "welfare_check": 0,
                                "medical": 0, "conflict": 0, "other": 0}
    assert table.col_totals == {"web": 55, "api": 0, "sms": 15, "operator": 34,
                                "checkin": 0, "backup": 0}
    assert table.total == 104


def test_it_gives_response_times_only_over_enough_incidents() -> None:
    harbour, _ = seed_month()
    times = {d.measure: d for d in report(start=MAY_1, end=MAY_31, areas=[harbour]).durations}

    assert (times["to_accepted"].n, times["to_accepted"].median,
            times["to_accepted"].p90) == (12, 7.0, 19.2)
    # On scene: ten incidents, one short of the minimum. Neither n nor a time.
    assert (times["to_on_scene"].n, times["to_on_scene"].median,
            times["to_on_scene"].p90) == (None, None, None)
    assert (times["to_first_offer"].n, times["to_first_offer"].median) == (104, 0.0)
    assert (times["to_closed"].n, times["to_closed"].median) == (0, None)


def test_it_counts_outcomes_referrals_who_served_and_why_not() -> None:
    harbour, _ = seed_month()
    figures = report(start=MAY_1, end=MAY_31, areas=[harbour])

    # 20 of 63 overdoses reversed (the other 43 are shown too); 25 of 104 given
    # naloxone; 5 ambulances: hidden.
    assert figures.outcomes == {"overdoses_reversed": 20, "naloxone_given": 25,
                                "ambulance_requested": None}
    # EMS requested 5: hidden, and with it the smallest other (not needed, 30).
    assert figures.ems.cells == {"not_needed": None, "requested": None, "declined": 0,
                                 "not_recorded": 69}
    assert figures.ems.total == 104
    # Detox 3: hidden, and the first of the two 12s (treatment comes before housing).
    assert figures.referrals.cells["detox"] is None
    assert figures.referrals.cells["treatment"] is None
    assert figures.referrals.cells["housing"] == 12
    assert figures.referrals.total == 27
    # Ten reached by community responders: hidden, and so the 94 nobody reached.
    assert figures.served_by.cells == {"community": None, "crisis_team": 0, "nobody": None}
    assert figures.served_by.total == 104
    # Cancelled by the person 4: hidden, with the smallest other (nobody on shift, 12).
    # The 48 nobody reached without a reason are "not recorded", so the reasons add up
    # to the 94 "nobody": hidden there, so hidden here too.
    assert figures.unserved.cells["all_busy"] == 30
    assert figures.unserved.cells["nobody_on_shift"] is None
    assert figures.unserved.cells["cancelled_by_person"] is None
    assert figures.unserved.cells["not_recorded"] == 48
    assert figures.unserved.total is None
    # Check-ins (everywhere): 3 escalated is hidden; 15 ended is hidden too, since the
    # 10 that did not end is small and 25 started is shown.
    assert figures.checkins == {"started": 25, "asked": 12, "escalated": None, "ended": None}


def test_it_merges_a_sparse_week_upward() -> None:
    harbour, _ = seed_month()
    figures = report(start=MAY_1, end=MAY_31, areas=[harbour])

    # Nobody reached by hour: 16 on Tuesday 03 h, 48 on Wednesday 12 h, 8, 8, 7, 7 on
    # Friday 20-23 h. Hourly 4 of 6 cells are small, in 3 hours 1 of 4 (Friday 18-21
    # h, 8). But the grid adds up to the 94 "nobody" that "served by" hides: every
    # block is hidden, zeros too.
    grid = figures.unserved_by_hour
    assert grid.hours_per_block == 3
    assert set(grid.cells.values()) == {None}

    # All incidents by hour add Wednesday 12 h (58): 3-hour blocks have 1 small of 4.
    # Friday 18-21 h (8) is hidden, and then the smallest other, Tuesday 03-06 h (16).
    cover = figures.coverage
    assert cover.hours_per_block == 3
    assert cover.demand[27] is None and cover.demand[114] is None
    assert (cover.demand[60], cover.demand[117]) == (58, 22)
    # Responder-hours: 1.5 + 1 + 0.5 on Wednesday 12-15 h, 0.3 on Tuesday 03-06 h.
    assert cover.responder_hours[60] == 3.0
    assert cover.responder_hours[27] == 0.3
    assert sum(cover.responder_hours.values()) == pytest.approx(3.3)


def test_it_counts_the_areas_chosen_or_everywhere() -> None:
    harbour, hills = seed_month()

    everywhere = report(start=MAY_1, end=MAY_31).by_kind_source
    assert everywhere.total == 104 + 13
    assert everywhere.row_totals["conflict"] == 13

    only_hills = report(start=MAY_1, end=MAY_31, areas=[hills])
    assert only_hills.by_kind_source.total == 13
    assert only_hills.by_kind_source.row_totals["overdose"] == 0
    assert only_hills.coverage.responder_hours[60] == 2.0
    assert only_hills.area_names == ("Hills",)
    both = report(start=MAY_1, end=MAY_31, areas=[harbour, hills])
    assert both.by_kind_source.total == 117


def test_it_counts_the_days_of_the_period_and_no_others() -> None:
    seed_month()
    assert report(start=date(2026, 4, 30), end=date(2026, 4, 30)).by_kind_source.total == 20
    assert report(start=date(2026, 6, 1), end=date(2026, 6, 1)).by_kind_source.total == 20
    assert report(start=MAY_1, end=date(2026, 6, 1)).by_kind_source.total == 117 + 20


def test_it_gives_zeros_for_an_empty_period_or_an_area_without_cells() -> None:
    harbour, _ = seed_month()
    Area.objects.filter(pk=harbour.pk).update(cells=[])
    harbour.refresh_from_db()

    for figures in (report(start=date(2025, 1, 1), end=date(2025, 1, 31)),
                    report(start=MAY_1, end=MAY_31, areas=[harbour])):
        assert figures.by_kind_source.total == 0
        assert all(d.n == 0 and d.median is None for d in figures.durations)
        assert figures.unserved_by_hour.hours_per_block == 1
        assert set(figures.coverage.demand.values()) == {0}


def test_it_counts_a_code_it_does_not_know_rather_than_fail() -> None:
    IncidentFact.objects.bulk_create([
        _fact(i, day=MAY_1, kind="gas_leak", source="pager", priority="P1", area=CELL_A,
              week_hour=3) for i in range(12)])
    table = report(start=MAY_1, end=MAY_31).by_kind_source
    assert table.rows[-1] == "gas_leak" and table.cols[-1] == "pager"
    assert table.cells[("gas_leak", "pager")] == 12


def test_it_refuses_a_period_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends before"):
        report(start=MAY_31, end=MAY_1)


def test_it_keeps_kind_totals_from_giving_each_other_away_between_tables() -> None:
    # Mental-health crises are all P2 (80), conflicts too (5). Alone, kind x priority
    # hides conflict/P2, then mental-health/P2 beside it, then (its only cell) the
    # mental-health total: which kind x source shows, and P2 less 80 is the 5. So
    # kind x priority falls back to priority alone, all kinds in one row.
    by_source = {("overdose", "web"): 40, ("overdose", "sms"): 30,
                 ("mental_health", "web"): 50, ("mental_health", "sms"): 30,
                 ("conflict", "web"): 5, ("medical", "web"): 20, ("medical", "sms"): 15}
    priority = {"overdose": "P1", "mental_health": "P2", "conflict": "P2", "medical": "P1"}
    by_priority: dict[tuple[str, str], int] = {}
    for (kind, _), n in by_source.items():
        key = (kind, priority[kind])
        by_priority[key] = by_priority.get(key, 0) + n
    first, second = kind_tables(by_source, by_priority, kinds=KINDS, sources=SOURCES,
                                priorities=PRIORITIES, k=11)

    assert first.row_totals["mental_health"] == 80
    assert first.row_totals["conflict"] is None
    assert second.rows == (MERGED_KINDS,)
    assert (second.cells[(MERGED_KINDS, "P1")], second.cells[(MERGED_KINDS, "P2")],
            second.total) == (105, 85, 190)

    # Where both tables hide the same totals (here: none), kind x priority stays.
    del by_source[("conflict", "web")], by_priority[("conflict", "P2")]
    first, second = kind_tables(by_source, by_priority, kinds=KINDS, sources=SOURCES,
                                priorities=PRIORITIES, k=11)
    assert second.rows == KINDS
    assert second.cells[("mental_health", "P2")] == 80


def test_it_splits_who_served_only_when_the_incidents_reached_are_shown() -> None:
    # 105 reached (100 community, 5 crisis team), 50 nobody. Suppressed as one list,
    # the 5 would be hidden with the 50 beside it, and 100 shown: then the 105 behind
    # the time to the scene, less 100, is 5. Reached first, then split: both hidden.
    served, reached = served_by({"community": 100, "crisis_team": 5, "nobody": 50},
                                SERVED, 11)
    assert reached == 105
    assert served.cells == {"community": None, "crisis_team": None, "nobody": 50}
    assert served.total == 155

    served, reached = served_by({"community": 8, "nobody": 50}, SERVED, 11)
    assert reached is None
    assert served.cells == {"community": None, "crisis_team": 0, "nobody": None}


def test_it_hides_the_number_behind_the_time_to_the_scene_as_served_by_does() -> None:
    IncidentFact.objects.bulk_create(
        [_fact(i, day=MAY_1, kind="overdose", source="web", priority="P1", area=CELL_A,
               week_hour=3, to_on_scene=300 + i, served_by="community") for i in range(30)]
        + [_fact(30 + i, day=MAY_1, kind="overdose", source="web", priority="P1",
                 area=CELL_A, week_hour=3) for i in range(5)])
    figures = report(start=MAY_1, end=MAY_31)
    on_scene = next(d for d in figures.durations if d.measure == "to_on_scene")

    # 30 reached, 5 nobody: "nobody" is small, so "reached" goes with it; the time
    # stays (30 incidents stand behind it), its number does not.
    assert figures.served_by.cells["nobody"] is None
    assert on_scene.n is None
    assert on_scene.median == 5.2  # 300..329 s: the median 314.5 s


def test_it_gives_the_same_figures_through_the_index_or_reading_the_table(
        monkeypatch: pytest.MonkeyPatch) -> None:
    harbour, _ = seed_month()
    monkeypatch.setattr(queries, "SCAN_SHARE", 0)  # never read through
    by_index = report(start=MAY_1, end=MAY_31, areas=[harbour])
    monkeypatch.setattr(queries, "SCAN_SHARE", 10**9)  # always (on SQLite)
    read_through = report(start=MAY_1, end=MAY_31, areas=[harbour])
    assert by_index == read_through
    assert report(start=MAY_1, end=MAY_1, min_cell=1).by_kind_source.total == 5
