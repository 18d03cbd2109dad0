"""Small-cell suppression for program reports: hand-worked tables, a brute-force reader
who subtracts shown numbers from shown totals, and one who solves all of a table's
equations at once; both must learn nothing.

Every expected table below was worked by hand with the rules of ``core.figures``:
lines repaired in the order rows, columns, row totals, column totals, one fix per line
per pass, passes repeated until nothing changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotline.core.figures import (
    SUPPRESSED,
    Summary,
    Table,
    summarize,
    suppress_counts,
    suppress_table,
    week_grid,
)

MIN = 11  # SPOTLINE_REPORT_MIN_CELL's default


def grid(rows: str, cols: str, *values: Sequence[int]) -> dict[tuple[str, str], int]:
    """A table written out as rows of numbers, rows and columns named by one letter."""
    return {(r, c): v for r, line in zip(rows, values, strict=True)
            for c, v in zip(cols, line, strict=True)}


def hidden_cells(table: Table) -> set[tuple[str, str]]:
    return {key for key, value in table.cells.items() if value is SUPPRESSED}


# The reader ------------------------------------------------------------------------

def leaks(counts: Mapping[tuple[str, str], int], rows: Sequence[str], cols: Sequence[str],
          min_cell: int, table: Table) -> list[str]:
    """Everything wrong with ``table`` as a publication of ``counts``. Each line (a row
    with its total, a column with its total, the row totals with the grand total, the
    column totals with it) is one equation; a line with exactly one unknown gives it
    away, and a shown total gives away the sum of its hidden cells."""
    def true(r: str, c: str) -> int:
        return counts.get((r, c), 0)

    # (name, [(true, shown) of each cell], (true, shown) of the total)
    Line = tuple[str, list[tuple[int, int | None]], tuple[int, int | None]]
    true_rows = {r: sum(true(r, c) for c in cols) for r in rows}
    true_cols = {c: sum(true(r, c) for r in rows) for c in cols}
    grand = sum(true_rows.values())
    lines: list[Line] = [
        *((f"row {r}", [(true(r, c), table.cells[(r, c)]) for c in cols],
           (true_rows[r], table.row_totals[r])) for r in rows),
        *((f"column {c}", [(true(r, c), table.cells[(r, c)]) for r in rows],
           (true_cols[c], table.col_totals[c])) for c in cols),
        ("row totals", [(true_rows[r], table.row_totals[r]) for r in rows],
         (grand, table.total)),
        ("column totals", [(true_cols[c], table.col_totals[c]) for c in cols],
         (grand, table.total)),
    ]
    found = []
    for name, cells, total in lines:
        for value, shown in [*cells, total]:
            if shown is not SUPPRESSED and shown != value:
                found.append(f"{name}: shows {shown} for {value}")
            if 0 < value < min_cell and shown is not SUPPRESSED:
                found.append(f"{name}: small {value} is shown")
            if value == 0 and shown is SUPPRESSED:
                found.append(f"{name}: a true 0 is hidden")
        unknown = [value for value, shown in [*cells, total] if shown is SUPPRESSED]
        if len(unknown) == 1:
            found.append(f"{name}: the hidden {unknown[0]} is the one unknown")
        hidden_sum = sum(value for value, shown in cells if shown is SUPPRESSED)
        if total[1] is not SUPPRESSED and 0 < hidden_sum < min_cell:
            found.append(f"{name}: the hidden cells add up to a small {hidden_sum}")
    return found


def solved(counts: Mapping[tuple[str, str], int], rows: Sequence[str],
           cols: Sequence[str], table: Table) -> dict[str, int]:
    """The hidden figures that all equations of ``table`` together fix to one value,
    by name ("A/x", "A/total", "total/x", "total/total"), with that value.

    The unknowns are the hidden figures; each row (cells = row total), each column
    (cells = column total), the row totals (= grand total) and the column totals
    (= grand total) is one equation, with the shown figures moved to the right. The
    system is brought to reduced row echelon form in exact fractions: an unknown is
    fixed iff some row of that form is its unit vector (then the right side is its
    value), i.e. iff the unit vector lies in the row space."""
    shown: dict[str, int | None] = {
        **{f"{r}/{c}": table.cells[(r, c)] for r in rows for c in cols},
        **{f"{r}/total": table.row_totals[r] for r in rows},
        **{f"total/{c}": table.col_totals[c] for c in cols},
        "total/total": table.total}
    unknown = [name for name, value in shown.items() if value is SUPPRESSED]
    at = {name: k for k, name in enumerate(unknown)}
    lines = [[f"{r}/{c}" for c in [*cols, "total"]] for r in [*rows, "total"]] + \
            [[f"{r}/{c}" for r in [*rows, "total"]] for c in [*cols, "total"]]
    system: list[list[Fraction]] = []  # coefficients of the unknowns, then the right side
    for *parts, total in lines:
        equation = [Fraction(0)] * (len(unknown) + 1)
        for name, sign in [*((p, 1) for p in parts), (total, -1)]:
            value = shown[name]
            if value is SUPPRESSED:
                equation[at[name]] += sign
            else:
                equation[-1] -= sign * value
        system.append(equation)
    pivot_row = 0
    for col in range(len(unknown)):
        found = next((k for k in range(pivot_row, len(system)) if system[k][col]), None)
        if found is None:
            continue
        system[pivot_row], system[found] = system[found], system[pivot_row]
        lead = system[pivot_row][col]
        system[pivot_row] = [v / lead for v in system[pivot_row]]
        for k in range(len(system)):
            if k != pivot_row and system[k][col]:
                factor = system[k][col]
                system[k] = [a - factor * b for a, b in zip(system[k], system[pivot_row],
                                                          strict=True)]
        pivot_row += 1
    found_values = {}
    for equation in system:
        nonzero = [k for k, v in enumerate(equation[:-1]) if v]
        if len(nonzero) == 1:
            fixed = equation[-1]
            assert fixed.denominator == 1
            found_values[unknown[nonzero[0]]] = int(fixed)
    # The solver itself must be right about what it finds.
    true = {**{f"{r}/{c}": counts.get((r, c), 0) for r in rows for c in cols},
            **{f"{r}/total": sum(counts.get((r, c), 0) for c in cols) for r in rows},
            **{f"total/{c}": sum(counts.get((r, c), 0) for r in rows) for c in cols},
            "total/total": sum(counts.values())}
    assert all(true[name] == value for name, value in found_values.items())
    return found_values


def test_it_finds_a_leak_when_one_cell_of_a_row_is_hidden() -> None:
    # The reader itself must be able to fail: 55 - 20 - 30 = 5.
    counts = grid("A", "xyz", [5, 20, 30])
    leaky = Table(rows=("A",), cols=("x", "y", "z"),
                  cells={("A", "x"): None, ("A", "y"): 20, ("A", "z"): 30},
                  row_totals={"A": 55}, col_totals={"x": None, "y": 20, "z": 30},
                  total=55)
    # Column x hides its total too, so it has two unknowns and is safe.
    assert leaks(counts, "A", "xyz", MIN, leaky) == [
        "row A: the hidden 5 is the one unknown",
        "row A: the hidden cells add up to a small 5",
        "column totals: the hidden 5 is the one unknown",
        "column totals: the hidden cells add up to a small 5",
    ]


# suppress_table --------------------------------------------------------------------

def test_it_hides_a_second_cell_in_each_row_and_column() -> None:
    counts = grid("ABC", "xyz", [5, 20, 30], [15, 25, 12], [40, 18, 22])
    table = suppress_table(counts, rows="ABC", cols="xyz", min_cell=MIN)

    # A.x = 5 is small. Pass 1: row A hides its smallest other, A.y = 20; column x
    # hides B.x = 15; column y hides C.y = 18. Pass 2: row B has one hidden (B.x) and
    # hides B.z = 12; row C hides C.z = 22. Every line then has two hidden cells.
    assert table.cells == {
        ("A", "x"): None, ("A", "y"): None, ("A", "z"): 30,
        ("B", "x"): None, ("B", "y"): 25, ("B", "z"): None,
        ("C", "x"): 40, ("C", "y"): None, ("C", "z"): None,
    }
    assert table.row_totals == {"A": 55, "B": 52, "C": 80}
    assert table.col_totals == {"x": 60, "y": 63, "z": 64}
    assert table.total == 187
    assert leaks(counts, "ABC", "xyz", MIN, table) == []


KINDS = ["overdose", "mental_health", "welfare_check", "medical", "conflict", "other"]
SOURCES = ["web", "api", "sms", "operator", "checkin", "backup"]
# The review's table (kind by source): line by line it was safe, yet overdose/web = 1
# came back exactly from four lines taken together.
CHAIN = {("overdose", "web"): 1, ("overdose", "api"): 15, ("overdose", "sms"): 20,
         ("overdose", "checkin"): 5,
         ("mental_health", "web"): 20, ("mental_health", "sms"): 30,
         ("mental_health", "operator"): 12,
         ("welfare_check", "web"): 8, ("welfare_check", "sms"): 50,
         ("welfare_check", "operator"): 15}


def test_the_solver_finds_a_cell_given_away_by_a_chain_of_lines() -> None:
    # What the line rules alone published. Every line has two unknowns or none, but
    # the hidden cells form two loops (mental_health/welfare_check x web/operator, and
    # overdose/total x api/checkin) joined by overdose/web alone: web total 29 -
    # (mental_health/web + welfare_check/web) = 29 - ((62 - 30 - mh/operator) +
    # (73 - 50 - wc/operator)) with mh/operator + wc/operator = 27, so 1.
    def shown(r: str, c: str) -> int | None:
        hidden = {("overdose", "web"), ("overdose", "api"), ("overdose", "checkin"),
                  ("mental_health", "web"), ("mental_health", "operator"),
                  ("welfare_check", "web"), ("welfare_check", "operator")}
        return SUPPRESSED if (r, c) in hidden else CHAIN.get((r, c), 0)

    leaky = Table(rows=tuple(KINDS), cols=tuple(SOURCES),
                  cells={(r, c): shown(r, c) for r in KINDS for c in SOURCES},
                  row_totals={"overdose": 41, "mental_health": 62, "welfare_check": 73,
                              "medical": 0, "conflict": 0, "other": 0},
                  col_totals={"web": 29, "api": None, "sms": 100, "operator": 27,
                              "checkin": None, "backup": 0},
                  total=176)
    assert leaks(CHAIN, KINDS, SOURCES, MIN, leaky) == []
    assert solved(CHAIN, KINDS, SOURCES, leaky) == {"overdose/web": 1}


def test_it_hides_more_when_all_lines_together_give_a_cell_away() -> None:
    table = suppress_table(CHAIN, rows=KINDS, cols=SOURCES, min_cell=MIN)

    # The line rules give the table above; overdose/web is the one hidden cell on no
    # loop. Its row's and column's smallest shown nonzero cell is overdose/sms (20);
    # column sms then has one hidden cell, so the line rules hide mental_health/sms
    # (30, the smaller of 30 and 50). Now overdose/web closes a loop through sms.
    assert hidden_cells(table) == {
        ("overdose", "web"), ("overdose", "api"), ("overdose", "sms"),
        ("overdose", "checkin"),
        ("mental_health", "web"), ("mental_health", "sms"), ("mental_health", "operator"),
        ("welfare_check", "web"), ("welfare_check", "operator")}
    assert table.row_totals == {"overdose": 41, "mental_health": 62, "welfare_check": 73,
                                "medical": 0, "conflict": 0, "other": 0}
    assert table.col_totals == {"web": 29, "api": None, "sms": 100, "operator": 27,
                                "checkin": None, "backup": 0}
    assert table.total == 176
    assert leaks(CHAIN, KINDS, SOURCES, MIN, table) == []
    assert solved(CHAIN, KINDS, SOURCES, table) == {}


def test_it_hides_a_total_when_its_line_has_no_other_cell_to_hide() -> None:
    counts = grid("AB", "xy", [5, 40], [20, 0])
    table = suppress_table(counts, rows="AB", cols="xy", min_cell=MIN)

    # Column y is 40 and a 0: the 0 protects nothing, so the column's total goes, then
    # column x's total beside it (margin), row B's total (B.x is alone next to a 0) and
    # row A's total beside that (margin). The grand total stays.
    assert table.cells == {("A", "x"): None, ("A", "y"): None,
                           ("B", "x"): None, ("B", "y"): 0}
    assert table.row_totals == {"A": None, "B": None}
    assert table.col_totals == {"x": None, "y": None}
    assert table.total == 65
    assert leaks(counts, "AB", "xy", MIN, table) == []


def test_it_hides_a_cell_of_a_row_whose_total_was_hidden_for_the_margin() -> None:
    counts = grid("ABC", "xy", [50, 0], [60, 0], [0, 5])
    table = suppress_table(counts, rows="ABC", cols="xy", min_cell=MIN)

    # Row C's total (5) is small, so the margin hides row A's total (50, the smaller
    # of 50 and 60). Row A's cells would add up to it again, so A.x goes too.
    assert table.row_totals == {"A": None, "B": 60, "C": None}
    assert hidden_cells(table) == {("A", "x"), ("C", "y")}
    assert table.cells[("B", "x")] == 60
    assert table.col_totals == {"x": None, "y": None}
    assert table.total == 115
    assert leaks(counts, "ABC", "xy", MIN, table) == []


def test_it_hides_small_totals_and_the_totals_beside_them() -> None:
    counts = grid("ABC", "xy", [15, 15], [20, 25], [3, 4])
    table = suppress_table(counts, rows="ABC", cols="xy", min_cell=MIN)

    assert table.row_totals == {"A": None, "B": 45, "C": None}  # C: 7 is small
    assert table.cells == {("A", "x"): None, ("A", "y"): None,
                           ("B", "x"): 20, ("B", "y"): 25,
                           ("C", "x"): None, ("C", "y"): None}
    assert table.col_totals == {"x": 38, "y": 44}
    assert table.total == 82


def test_it_keeps_a_true_zero_and_hides_the_next_smallest_instead() -> None:
    cells, total = suppress_counts({"a": 5, "b": 0, "c": 30, "d": 31},
                                   order="abcd", min_cell=MIN)
    assert cells == {"a": None, "b": 0, "c": None, "d": 31}
    assert total == 66


def test_it_breaks_ties_by_the_callers_order() -> None:
    counts = {"a": 5, "b": 20, "c": 20}
    assert suppress_counts(counts, order="abc", min_cell=MIN)[0] == {
        "a": None, "b": None, "c": 20}
    assert suppress_counts(counts, order="acb", min_cell=MIN)[0] == {
        "a": None, "c": None, "b": 20}


def test_it_stops_when_hidden_cells_add_up_to_enough() -> None:
    # 6 + 7 = 13 >= 11: two small cells protect each other.
    assert suppress_counts({"a": 6, "b": 7, "c": 40}, order="abc", min_cell=MIN) == (
        {"a": None, "b": None, "c": 40}, 53)


def test_it_hides_one_more_when_hidden_cells_add_up_to_a_small_number() -> None:
    # 3 + 4 = 7 would be 47 - 40 for anyone: hide 40 too.
    assert suppress_counts({"a": 3, "b": 4, "c": 40}, order="abc", min_cell=MIN) == (
        {"a": None, "b": None, "c": None}, 47)


def test_it_hides_everything_small_including_the_total() -> None:
    assert suppress_counts({"a": 3, "b": 4}, order="ab", min_cell=MIN) == (
        {"a": None, "b": None}, None)


def test_it_shows_an_empty_table_as_zeros() -> None:
    table = suppress_table({}, rows="AB", cols="xy", min_cell=MIN)
    assert table.cells == {("A", "x"): 0, ("A", "y"): 0, ("B", "x"): 0, ("B", "y"): 0}
    assert table.row_totals == {"A": 0, "B": 0}
    assert table.col_totals == {"x": 0, "y": 0}
    assert table.total == 0
    assert suppress_counts({}, order="ab", min_cell=MIN) == ({"a": 0, "b": 0}, 0)


@pytest.mark.parametrize("min_cell", [0, 1])
def test_it_hides_nothing_when_the_minimum_is_one_or_less(min_cell: int) -> None:
    counts = grid("AB", "xy", [1, 2], [0, 3])
    table = suppress_table(counts, rows="AB", cols="xy", min_cell=min_cell)
    assert table.cells == counts
    assert table.row_totals == {"A": 3, "B": 3}
    assert table.col_totals == {"x": 1, "y": 5}
    assert table.total == 6


def test_it_shows_a_count_of_exactly_the_minimum() -> None:
    assert suppress_counts({"a": 11, "b": 12}, order="ab", min_cell=MIN) == (
        {"a": 11, "b": 12}, 23)


def test_it_keeps_the_callers_order_of_rows_and_columns() -> None:
    table = suppress_table({("B", "y"): 20}, rows=["B", "A"], cols=["y", "x"],
                           min_cell=MIN)
    assert table.rows == ("B", "A")
    assert table.cols == ("y", "x")
    assert list(table.cells) == [("B", "y"), ("B", "x"), ("A", "y"), ("A", "x")]


def test_it_gives_the_same_table_whatever_order_the_counts_come_in() -> None:
    counts = grid("ABC", "xyz", [5, 20, 30], [15, 25, 12], [40, 18, 22])
    backwards = dict(reversed(list(counts.items())))
    assert suppress_table(backwards, rows="ABC", cols="xyz", min_cell=MIN) == \
        suppress_table(counts, rows="ABC", cols="xyz", min_cell=MIN)


def test_it_rejects_a_count_outside_the_table() -> None:
    with pytest.raises(ValueError, match="outside the table"):
        suppress_table({("A", "w"): 3}, rows="AB", cols="xy", min_cell=MIN)
    with pytest.raises(ValueError, match="outside the table"):
        suppress_table({("Z", "x"): 3}, rows="AB", cols="xy", min_cell=MIN)
    with pytest.raises(ValueError, match="outside the table"):
        suppress_counts({"z": 3}, order="ab", min_cell=MIN)


def test_it_rejects_negative_counts_and_repeated_names() -> None:
    with pytest.raises(ValueError, match="negative"):
        suppress_counts({"a": -1}, order="a", min_cell=MIN)
    with pytest.raises(ValueError, match="repeated"):
        suppress_counts({"a": 1}, order=["a", "a"], min_cell=MIN)


@st.composite
def tables(draw: st.DrawFn) -> tuple[dict[tuple[str, str], int], str, str, int]:
    rows = "ABCDEF"[:draw(st.integers(1, 6))]
    cols = "uvwxyz"[:draw(st.integers(1, 6))]
    # Zeros and small numbers often, so that most tables need suppressing.
    value = st.one_of(st.just(0), st.integers(1, 10), st.integers(0, 40))
    counts = {(r, c): draw(value) for r in rows for c in cols}
    min_cell = draw(st.one_of(st.just(MIN), st.integers(0, 15)))
    return counts, rows, cols, min_cell


# About 1 table in 100 of these needed the audit of all lines together (the line
# rules alone left a hidden figure solvable), so the run is a little longer than usual.
@settings(max_examples=400)
@given(tables())
def test_it_never_leaves_a_hidden_number_to_arithmetic(
        case: tuple[dict[tuple[str, str], int], str, str, int]) -> None:
    counts, rows, cols, min_cell = case
    table = suppress_table(counts, rows=rows, cols=cols, min_cell=min_cell)
    # Not by one subtraction, nor by all the table's equations solved together.
    assert leaks(counts, rows, cols, min_cell, table) == []
    assert solved(counts, rows, cols, table) == {}


@given(st.lists(st.integers(0, 40), max_size=8), st.integers(0, 15))
def test_it_protects_a_one_way_table_like_a_column(values: list[int], min_cell: int) -> None:
    order = "abcdefgh"[:len(values)]
    counts = dict(zip(order, values, strict=True))
    cells, total = suppress_counts(counts, order=order, min_cell=min_cell)
    table = suppress_table({(k, "n"): v for k, v in counts.items()}, rows=order,
                           cols="n", min_cell=min_cell)
    assert cells == {k: table.cells[(k, "n")] for k in order}
    assert total == table.total
    assert leaks({(k, "n"): v for k, v in counts.items()}, order, "n", min_cell,
                 table) == []
    assert solved({(k, "n"): v for k, v in counts.items()}, order, "n", table) == {}


# summarize -------------------------------------------------------------------------

def test_it_gives_no_duration_over_too_few_incidents() -> None:
    assert summarize([float(v) for v in range(1, 11)], min_n=11) == Summary(
        n=10, median=None, p90=None)


def test_it_gives_the_median_and_90th_percentile_over_enough() -> None:
    # 1..11: the median is the 6th value; the 90th percentile sits at 0.9 * 10 = 9,
    # the 10th value exactly.
    assert summarize([float(v) for v in range(1, 12)], min_n=11) == Summary(
        n=11, median=6.0, p90=10.0)


def test_it_interpolates_between_values_in_any_order() -> None:
    # Sorted 10, 20, 30, 40: the median is halfway between 20 and 30; the 90th
    # percentile at 0.9 * 3 = 2.7 is 30 + 0.7 * 10.
    summary = summarize([40.0, 10.0, 30.0, 20.0], min_n=4)
    assert summary.n == 4
    assert summary.median == 25.0
    assert summary.p90 == pytest.approx(37.0)
    assert isinstance(summary.median, float)


def test_it_gives_nothing_for_no_values_whatever_the_minimum() -> None:
    assert summarize([], min_n=0) == Summary(n=0, median=None, p90=None)


def test_it_rejects_a_value_that_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="finite"):
        summarize([1.0, float("nan")], min_n=1)


# week_grid -------------------------------------------------------------------------

def test_it_keeps_hours_when_at_most_a_quarter_are_small() -> None:
    # 42 of 168 hours (every 4th) have 5: exactly a quarter.
    counts = {("overdose", h): 5 if h % 4 == 0 else 20 for h in range(168)}
    week = week_grid(counts, series=["overdose"], min_cell=MIN)

    assert week.hours_per_block == 1
    assert week.blocks == tuple(range(168))
    # One series: each small hour is its own column's total too, and the 42 hidden
    # hours add up to 210 in the row, so nothing else is hidden.
    assert {h for (_, h), v in week.cells.items() if v is None} == set(range(0, 168, 4))
    assert week.cells[("overdose", 1)] == 20


def test_it_merges_into_three_hours_when_more_than_a_quarter_are_small() -> None:
    counts = {("overdose", h): 5 if h % 4 == 0 else 20 for h in range(168)}
    counts[("overdose", 1)] = 5  # 43 small hours now
    week = week_grid(counts, series=["overdose"], min_cell=MIN)

    assert week.hours_per_block == 3
    assert week.blocks == tuple(range(0, 168, 3))
    assert week.cells[("overdose", 0)] == 5 + 5 + 20
    assert week.cells[("overdose", 3)] == 20 + 5 + 20  # hours 3, 4, 5
    assert week.cells[("overdose", 9)] == 60  # hours 9, 10, 11
    assert None not in week.cells.values()


def test_it_merges_a_sparse_week_into_six_hours() -> None:
    # 3 incidents in each of the first four hours of every 6-hour block: hours and
    # 3-hour blocks (9 and 3) are all small, 6-hour blocks have 12.
    counts = {("overdose", b + k): 3 for b in range(0, 168, 6) for k in range(4)}
    week = week_grid(counts, series=["overdose"], min_cell=MIN)

    assert week.hours_per_block == 6
    assert week.blocks == tuple(range(0, 168, 6))
    assert week.cells == {("overdose", b): 12 for b in range(0, 168, 6)}


def test_it_merges_a_sparser_week_into_days() -> None:
    # 3 incidents at 02, 08, 14 and 20 every day: every 6-hour block has 3, a day 12.
    counts = {("overdose", d * 24 + h): 3 for d in range(7) for h in (2, 8, 14, 20)}
    week = week_grid(counts, series=["overdose"], min_cell=MIN)

    assert week.hours_per_block == 24
    assert week.blocks == (0, 24, 48, 72, 96, 120, 144)
    assert week.cells == {("overdose", d * 24): 12 for d in range(7)}


def test_it_uses_days_when_even_days_are_small() -> None:
    counts = {("overdose", 30): 2, ("overdose", 100): 1}
    week = week_grid(counts, series=["overdose"], min_cell=MIN)

    assert week.hours_per_block == 24
    assert week.cells == {("overdose", d * 24): 0 if d not in (1, 4) else None
                          for d in range(7)}


def test_it_suppresses_the_blocks_of_a_rare_series_and_their_complements() -> None:
    counts = {("overdose", b + k): 3 for b in range(0, 168, 6) for k in range(4)}
    counts[("crisis", 2)] = 5
    week = week_grid(counts, series=["overdose", "crisis"], min_cell=MIN)

    # 1 small of 29 nonzero 6-hour cells: 6-hour blocks. Crisis at 0 is 5, and so is
    # the crisis total. Pass 1: column 0 (12 + 5) hides overdose at 0; the row totals
    # (336 and the hidden 5) hide the overdose total. Pass 2: the overdose row now has
    # a hidden total and a hidden cell, two unknowns, so nothing more is hidden.
    assert week.hours_per_block == 6
    assert {k for k, v in week.cells.items() if v is None} == {
        ("overdose", 0), ("crisis", 0)}
    assert week.cells[("overdose", 6)] == 12
    assert week.cells[("overdose", 18)] == 12
    assert week.cells[("crisis", 6)] == 0


def test_it_shows_an_empty_week_in_hours_of_zeros() -> None:
    week = week_grid({}, series=["overdose", "crisis"], min_cell=MIN)
    assert week.hours_per_block == 1
    assert len(week.cells) == 2 * 168
    assert set(week.cells.values()) == {0}


def test_it_rejects_an_hour_or_series_outside_the_week() -> None:
    with pytest.raises(ValueError, match="hour of week"):
        week_grid({("overdose", 168): 1}, series=["overdose"], min_cell=MIN)
    with pytest.raises(ValueError, match="hour of week"):
        week_grid({("overdose", -1): 1}, series=["overdose"], min_cell=MIN)
    with pytest.raises(ValueError, match="unknown series"):
        week_grid({("theft", 3): 1}, series=["overdose"], min_cell=MIN)
    with pytest.raises(ValueError, match="negative"):
        week_grid({("overdose", 3): -1, ("overdose", 4): 5}, series=["overdose"],
                  min_cell=MIN)


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=9, max_size=9),
       st.integers(min_value=0, max_value=2))
def test_a_column_total_hidden_on_request_cannot_be_worked_out(values: list[int],
                                                               col: int) -> None:
    """A total shown hidden elsewhere on the page (escalated check-ins are the check-in
    source's total) is hidden here too, and nothing in the table gives it back."""
    rows, cols = ("A", "B", "C"), ("x", "y", "z")
    counts = {(r, c): values[3 * i + j] for i, r in enumerate(rows) for j, c in enumerate(cols)}
    table = suppress_table(counts, rows=rows, cols=cols, min_cell=11,
                           hide_col_totals=[cols[col]])
    column_total = sum(counts[(r, cols[col])] for r in rows)
    if column_total > 0:
        assert table.col_totals[cols[col]] is None
    assert f"total/{cols[col]}" not in solved(counts, rows, cols, table)
    assert not leaks(counts, rows, cols, 11, table)
