"""Counts fit to publish: small-cell suppression for program reports (issue 17).

A report must not let anyone pick out the few people behind a small number. Three
tools, all pure:

* ``suppress_table`` / ``suppress_counts``: a cell of 1 to ``min_cell - 1`` is hidden
  (primary suppression), and more cells or totals are hidden until no hidden number
  can be had back by subtracting shown numbers within one row or column, no hidden
  cells of a line add up to a small number, and no hidden number is fixed exactly by
  all the table's rows and columns solved together (complementary suppression). A true
  0 stays shown: nobody is in it.
* ``summarize``: a median and 90th percentile only when enough values stand behind
  them.
* ``week_grid``: incidents by hour of the week, merged into 3-hour, 6-hour or whole-day
  blocks when hourly cells would be mostly small, then suppressed like a table.

What is guaranteed, for one table on its own: no hidden number is determined exactly by
the table's rows and columns (with their totals and the grand total), whether a reader
subtracts within one line or solves the linear system of all lines at once. Ranges can
still be narrowed: counts are whole and not negative, so a reader may bound a hidden
cell (e.g. between 0 and a shown total) and sometimes to a few values; that is the usual
trade-off of cell suppression and why ``min_cell`` defaults to 11. Nor does it know
about other tables: a figure shown in another table (or report) that equals a sum
hidden here is the caller's to prevent.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# A suppressed figure is None; templates show it as "<11" (the configured minimum).
SUPPRESSED = None

HOURS_IN_WEEK = 168
# Finest first. Each divides 24, so blocks never straddle local midnight.
BLOCK_HOURS = (1, 3, 6, 24)


@dataclass(frozen=True)
class Table:
    """A two-way table after suppression. rows/cols keep the caller's order."""

    rows: tuple[str, ...]
    cols: tuple[str, ...]
    cells: dict[tuple[str, str], int | None]  # (row, col) -> count or None if suppressed
    row_totals: dict[str, int | None]
    col_totals: dict[str, int | None]
    total: int | None


@dataclass(frozen=True)
class Summary:
    # The true number of values. Below min_n it is itself a small count: callers that
    # print it must suppress it as they would a cell.
    n: int
    median: float | None  # None when n < min_n
    p90: float | None


@dataclass(frozen=True)
class WeekGrid:
    hours_per_block: int  # 1, 3, 6 or 24
    blocks: tuple[int, ...]  # block start as hour of week, 0 = Monday 00:00 local .. 167
    cells: dict[tuple[str, int], int | None]  # (series, block start) -> count or None


# A position in the table with its margins: (i, j) with i == len(rows) for the column
# totals and j == len(cols) for the row totals, so (len(rows), len(cols)) is the grand
# total. With the margins inside the grid every line, margins included, is "cells of
# one row (or column) and the total at its end", and one rule serves them all.
_Pos = tuple[int, int]
_Line = tuple[tuple[_Pos, ...], _Pos]  # (cells, total)


def suppress_table(counts: Mapping[tuple[str, str], int], *, rows: Sequence[str],
                   cols: Sequence[str], min_cell: int,
                   hide_col_totals: Collection[str] = ()) -> Table:
    """Suppress a two-way table. ``counts`` may leave out zeros; a key whose row or
    column is not in ``rows``/``cols`` is a ValueError (a caller's typo must not make
    incidents vanish from a report). ``hide_col_totals``: columns whose (nonzero) total
    must be hidden whatever its size, because the same number is shown hidden elsewhere;
    the repairs and the whole-table check then make sure nothing gives it back."""
    row_at = _index(rows, "row")
    col_at = _index(cols, "column")
    n_rows, n_cols = len(rows), len(cols)
    values = [[0] * (n_cols + 1) for _ in range(n_rows + 1)]
    for (row, col), count in counts.items():
        if row not in row_at or col not in col_at:
            raise ValueError(f"count for ({row!r}, {col!r}) is outside the table")
        _check_count(count)
        i, j = row_at[row], col_at[col]
        values[i][j] += count
        values[i][n_cols] += count
        values[n_rows][j] += count
        values[n_rows][n_cols] += count

    forced = {(n_rows, col_at[c]) for c in hide_col_totals
              if c in col_at and values[n_rows][col_at[c]] > 0}
    hidden = _suppress(values, min_cell, forced=forced)

    def shown(i: int, j: int) -> int | None:
        return SUPPRESSED if (i, j) in hidden else values[i][j]

    return Table(
        rows=tuple(rows),
        cols=tuple(cols),
        cells={(r, c): shown(i, j) for i, r in enumerate(rows) for j, c in enumerate(cols)},
        row_totals={r: shown(i, n_cols) for i, r in enumerate(rows)},
        col_totals={c: shown(n_rows, j) for j, c in enumerate(cols)},
        total=shown(n_rows, n_cols),
    )


def suppress_counts(counts: Mapping[str, int], *, order: Sequence[str],
                    min_cell: int) -> tuple[dict[str, int | None], int | None]:
    """A one-way table and its total, suppressed as a table with one column (so the
    same rules, and the same hidden cells, as anywhere else)."""
    only = "count"
    table = suppress_table({(key, only): count for key, count in counts.items()},
                           rows=order, cols=(only,), min_cell=min_cell)
    return {key: table.cells[(key, only)] for key in order}, table.total


def summarize(values: Sequence[float], *, min_n: int) -> Summary:
    """Median and 90th percentile (linear interpolation, numpy's default) of
    ``values``, or None for both when fewer than ``min_n`` values stand behind them: a
    duration over a handful of incidents describes those few people."""
    n = len(values)
    if any(not math.isfinite(v) for v in values):
        # numpy would quietly return nan, and a report would print it.
        raise ValueError("values must be finite numbers")
    # n == 0 has no percentile at all, whatever min_n says.
    if n == 0 or n < min_n:
        return Summary(n=n, median=None, p90=None)
    median, p90 = np.percentile(np.asarray(values, dtype=float), [50, 90], method="linear")
    return Summary(n=n, median=float(median), p90=float(p90))


def week_grid(counts: Mapping[tuple[str, int], int], *, series: Sequence[str],
              min_cell: int) -> WeekGrid:
    """Counts by (series, hour of week), merged upward and suppressed.

    The block size is the finest of 1, 3, 6 and 24 hours at which at most a quarter
    of the nonzero (series, block) cells are small; hourly cells that would be mostly
    "<11" tell a reader nothing, while merged ones can be shown. When even whole days
    fail, days are used anyway: there is nothing coarser in a week grid.
    """
    known = set(series)
    for (name, hour), count in counts.items():
        if name not in known:
            raise ValueError(f"count for unknown series {name!r}")
        if not 0 <= hour < HOURS_IN_WEEK:
            raise ValueError(f"hour of week {hour} is outside 0..{HOURS_IN_WEEK - 1}")
        # Checked before merging: a negative count would hide inside a block's sum.
        _check_count(count)

    size = BLOCK_HOURS[-1]
    for hours in BLOCK_HOURS[:-1]:
        merged = _merge(counts, hours)
        nonzero = [v for v in merged.values() if v > 0]
        small = sum(1 for v in nonzero if v < min_cell)
        # "At most a quarter", in integers.
        if 4 * small <= len(nonzero):
            size = hours
            break

    blocks = tuple(range(0, HOURS_IN_WEEK, size))
    table = suppress_table({(name, str(start)): count
                            for (name, start), count in _merge(counts, size).items()},
                           rows=series, cols=[str(start) for start in blocks],
                           min_cell=min_cell)
    return WeekGrid(
        hours_per_block=size,
        blocks=blocks,
        cells={(name, start): table.cells[(name, str(start))]
               for name in series for start in blocks},
    )


def _merge(counts: Mapping[tuple[str, int], int], hours: int) -> dict[tuple[str, int], int]:
    merged: dict[tuple[str, int], int] = {}
    for (name, hour), count in counts.items():
        # Hour of week 0 is Monday 00:00, so hour - hour % size starts a block at local
        # midnight or a multiple of ``size`` hours after it.
        key = (name, hour - hour % hours)
        merged[key] = merged.get(key, 0) + count
    return merged


def _index(names: Sequence[str], what: str) -> dict[str, int]:
    at = {name: i for i, name in enumerate(names)}
    if len(at) != len(names):
        raise ValueError(f"a {what} name is repeated: {list(names)!r}")
    return at


def _check_count(count: int) -> None:
    if count < 0:
        raise ValueError(f"a count cannot be negative: {count}")


def _suppress(values: list[list[int]], min_cell: int, *,
              forced: Collection[_Pos] = ()) -> set[_Pos]:
    """The hidden positions of ``values`` (cells with their margins, see ``_Pos``),
    with ``forced`` hidden from the start."""
    n_rows, n_cols = len(values) - 1, len(values[0]) - 1

    # 1. Primary: every small number, totals included. Zeros are not small.
    hidden = {(i, j) for i in range(n_rows + 1) for j in range(n_cols + 1)
              if 0 < values[i][j] < min_cell} | set(forced)

    # 2. The lines in the order they are repaired: rows, columns, then the margins
    #    (row totals against the grand total, column totals against it). The order
    #    only decides which of several fixes is taken; fixed, it keeps output stable.
    lines: list[_Line] = [
        *((tuple((i, j) for j in range(n_cols)), (i, n_cols)) for i in range(n_rows)),
        *((tuple((i, j) for i in range(n_rows)), (n_rows, j)) for j in range(n_cols)),
        (tuple((i, n_cols) for i in range(n_rows)), (n_rows, n_cols)),
        (tuple((n_rows, j) for j in range(n_cols)), (n_rows, n_cols)),
    ]

    # 3. Complementary: repair lines until a whole pass changes nothing, then (4.) audit
    #    all lines together; while a hidden figure can be solved exactly, hide one more
    #    beside it and start again. Every step hides one more position and none is ever
    #    shown again, so this ends (at worst with every nonzero figure hidden, which the
    #    audit always passes, see ``_exposed``).
    while True:
        changed = True
        while changed:
            changed = False
            for line in lines:
                pos = _repair(values, hidden, line, min_cell)
                if pos is not None:
                    hidden.add(pos)
                    changed = True
        exposed = _exposed(hidden, n_rows, n_cols)
        if exposed is None:
            return hidden
        more = _complement(values, hidden, exposed)
        if more is None:  # unreachable (see ``_exposed``); never loop forever on it
            return hidden
        hidden.add(more)


def _repair(values: list[list[int]], hidden: set[_Pos], line: _Line,
            min_cell: int) -> _Pos | None:
    """The position to hide so that ``line`` leaks less, or None if it is safe.

    A line is the equation cells = total. It leaks when:
    (a) the total is shown and exactly one cell is hidden (total minus the rest), or
        the hidden cells add up to a small number (their sum is total minus the rest,
        and a small sum is as telling as a small cell);
    (b) the total is hidden but every cell is shown (the sum of the cells). This can
        happen when a margin line hid a total to protect another one.
    """
    cells, total = line
    hidden_cells = [pos for pos in cells if pos in hidden]
    if total in hidden:
        if hidden_cells:
            return None
    else:
        if not hidden_cells:
            return None
        if len(hidden_cells) > 1 and sum(_at(values, p) for p in hidden_cells) >= min_cell:
            return None
    # The smallest shown nonzero cell costs the reader least; min() keeps the first of
    # equals, i.e. the caller's order. A zero is never hidden: hiding it protects
    # nothing, since the reader would still know the hidden sum.
    candidates = [pos for pos in cells if pos not in hidden and _at(values, pos) > 0]
    if candidates:
        return min(candidates, key=lambda pos: _at(values, pos))
    # (a) with no cell left to hide: hide the total. (b) cannot get here, since a hidden
    # total is never 0 and so always has a nonzero cell, but None is the safe answer.
    return None if total in hidden else total


def _at(values: list[list[int]], pos: _Pos) -> int:
    return values[pos[0]][pos[1]]


def _exposed(hidden: set[_Pos], n_rows: int, n_cols: int) -> _Pos | None:
    """The first hidden position (row by row) that the equations of all lines together
    fix to one value, or None if none is.

    The unknowns are the hidden positions; every line (``_Line``) is one equation,
    cells - total = known numbers. Negate the unknowns of the last row and of the last
    column (the margins; the grand total twice, so not at all) and multiply the margin
    lines' equations by -1: every equation becomes "the unknowns at one node sum to a
    known number" in the bipartite graph whose nodes are the grid's rows and columns
    and whose edges are the hidden positions. Sign changes do not change which unit
    vectors lie in the row space, and the row space of a graph's incidence matrix is
    everything orthogonal to its cycles (a bipartite graph's cycles are even, so
    alternating signs close them). So a hidden figure is solved exactly iff its edge
    lies on no cycle: iff it is a bridge. Exact, and linear in the table's size.

    With every nonzero figure hidden there is no bridge: the true (sign-changed) values
    sum to 0 at every node, and a bridge would carry the whole imbalance of its side,
    0, but a hidden figure is never 0. So hiding more always ends.
    """
    edges = sorted(hidden)
    n_nodes = n_rows + n_cols + 2  # rows 0..n_rows, then columns 0..n_cols
    links: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for k, (i, j) in enumerate(edges):
        links[i].append((n_rows + 1 + j, k))
        links[n_rows + 1 + j].append((i, k))
    # Tarjan's bridges, without recursion: an edge to a child is a bridge when nothing
    # below the child reaches back above it.
    seen = [-1] * n_nodes
    low = [0] * n_nodes
    bridges: set[int] = set()
    step = 0
    for root in range(n_nodes):
        if seen[root] != -1:
            continue
        seen[root] = low[root] = step
        step += 1
        stack = [(root, -1, iter(links[root]))]
        while stack:
            node, via, rest = stack[-1]
            for other, k in rest:
                if k == via:
                    continue
                if seen[other] == -1:
                    seen[other] = low[other] = step
                    step += 1
                    stack.append((other, k, iter(links[other])))
                    break
                low[node] = min(low[node], seen[other])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > seen[parent]:
                        bridges.add(via)
    return edges[min(bridges)] if bridges else None


def _complement(values: list[list[int]], hidden: set[_Pos], pos: _Pos) -> _Pos | None:
    """The figure to hide beside ``pos``, which the whole table gives away: the smallest
    shown nonzero cell of its row or column (for a total, the smallest shown nonzero
    total of its margin line), first in row-by-row order among equals. Failing that,
    any figure of its two lines, and failing that, any figure of the table."""
    n_rows, n_cols = len(values) - 1, len(values[0]) - 1
    i, j = pos
    if i < n_rows and j < n_cols:
        near = [(i, k) for k in range(n_cols)] + [(k, j) for k in range(n_rows)]
    else:  # a total: the other totals of its margin line (both, for the grand total)
        near = [(k, n_cols) for k in range(n_rows) if j == n_cols] + \
               [(n_rows, k) for k in range(n_cols) if i == n_rows]
    lines = [(i, k) for k in range(n_cols + 1)] + [(k, j) for k in range(n_rows + 1)]
    everywhere = [(a, b) for a in range(n_rows + 1) for b in range(n_cols + 1)]
    for group in (near, lines, everywhere):
        shown = sorted(p for p in set(group) if p not in hidden and _at(values, p) > 0)
        if shown:
            return min(shown, key=lambda p: _at(values, p))
    return None
