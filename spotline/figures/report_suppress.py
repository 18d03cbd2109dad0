"""Small-cell suppression across the tables of one report: ``core.figures`` protects
each table against a reader's arithmetic along its own rows and columns; here the
tables that share a number are kept from giving each other away.

Two numbers are shared on the report page:

1. The kind totals are the row totals of both kind x source and kind x priority. A
   total one table hides and the other shows undoes the hiding: "mental-health
   crises: 80" from the first, "only P2 has any" in the second, and the P2 column's
   small cell is the P2 total minus the rest. So kind x priority is shown only when
   it hides exactly the kind totals the first hides; otherwise its kinds are merged
   into one row: priority alone. (Merging only some kinds is not enough: a merged
   row's cells are sums over a few kinds, and the first table's totals of some of
   them would take those sums apart.)
2. The incidents a responder reached are both "served by" (community + crisis team)
   and the number behind the time to the scene (counted over the same incidents). So
   "reached" is suppressed first, as a whole against "nobody", and only then split by
   who.
3. The incidents nobody reached are "served by: nobody", the total of the unserved
   reasons (those without a reason count as "not recorded", so the two are one
   number) and the total of the unserved week grid. Whenever "nobody" is hidden, so
   is the reasons' total (with a reason, so that the list's own line holds) and every
   block of the grid. The converse needs no code: a reasons' total is hidden only
   when it is small, and then "nobody", the same number, is small too.
4. An escalated check-in opens an incident from the source "checkin": the check-ins
   "help was sent" and the kind x source column "checkin" count the same events
   (apart from the edges of the period, and areas, which check-ins do not have). So
   they are hidden together: when "help was sent" is hidden, the column total is
   hidden too (``suppress_table(hide_col_totals=...)``, whose repairs and whole-table
   check then hide what else that needs), and when the table hides that total, "help
   was sent" goes with it. Hiding the column total
   rather than "started" keeps the check-ins' own figures as they are.

Pure: counts in, suppressed figures out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from spotline.core.figures import Table, WeekGrid, suppress_counts, suppress_table

MERGED_KINDS = "merged_kinds"  # kind x priority: the kinds that cannot be shown apart
NOBODY = "nobody"  # served_by == "": nobody reached the scene


@dataclass(frozen=True)
class Counts:
    """A one-way table after suppression: codes in order, and the total."""

    order: tuple[str, ...]
    cells: dict[str, int | None]
    total: int | None


def order(known: Sequence[str], seen: Iterable[str]) -> tuple[str, ...]:
    """The known codes in their order, then any other code found (sorted): a code
    added after this was written is counted, not dropped or refused."""
    return (*known, *sorted(set(seen) - set(known)))


def counts(values: Mapping[str, int], known: Sequence[str], k: int) -> Counts:
    codes = order(known, values)
    cells, total = suppress_counts(values, order=codes, min_cell=k)
    return Counts(order=codes, cells=cells, total=total)


def part(n: int, *, of: int, k: int) -> int | None:
    """``n`` of a whole of ``of`` shown elsewhere: hidden when small, and also when the
    rest (``of - n``) is small, since the whole minus the part would show it."""
    cells, _ = suppress_counts({"yes": n, "no": of - n}, order=("yes", "no"), min_cell=k)
    return cells["yes"]


def kind_tables(by_source: Mapping[tuple[str, str], int],
                by_priority: Mapping[tuple[str, str], int], *, kinds: Sequence[str],
                sources: Sequence[str], priorities: Sequence[str], k: int,
                hidden_sources: Collection[str] = ()) -> tuple[Table, Table]:
    """Kind x source (with the totals of ``hidden_sources`` hidden), and kind x
    priority when it hides exactly the kind totals the first hides; otherwise priority
    alone, all kinds in one row (``MERGED_KINDS``)."""
    first = suppress_table(by_source, rows=kinds, cols=sources, min_cell=k,
                           hide_col_totals=hidden_sources)
    second = _merged_table(by_priority, kinds, priorities, (), k)
    if any(second.row_totals[kind] != first.row_totals[kind] for kind in kinds):
        second = _merged_table(by_priority, kinds, priorities, kinds, k)
    if first.total is None and second.total is not None:
        # The first table hid a grand total that is not small (to protect a margin):
        # the second would give it back. Rare; show nothing of the second.
        second = _all_hidden(second)
    return first, second


def _merged_table(values: Mapping[tuple[str, str], int], kinds: Sequence[str],
                  cols: Sequence[str], merged: Collection[str], k: int) -> Table:
    rows = [kind for kind in kinds if kind not in merged]
    if merged:
        rows.append(MERGED_KINDS)
    table: dict[tuple[str, str], int] = {}
    for (kind, col), n in values.items():
        key = (MERGED_KINDS if kind in merged else kind, col)
        table[key] = table.get(key, 0) + n
    return suppress_table(table, rows=rows, cols=cols, min_cell=k)


def _all_hidden(table: Table) -> Table:
    return Table(rows=table.rows, cols=table.cols, cells=dict.fromkeys(table.cells),
                 row_totals=dict.fromkeys(table.rows), col_totals=dict.fromkeys(table.cols),
                 total=None)


def served_by(values: Mapping[str, int], known: Sequence[str],
              k: int) -> tuple[Counts, int | None]:
    """Who reached the scene first (``known`` ends with ``NOBODY``), and the number of
    incidents reached (``None`` when hidden), to be shown behind the time to the
    scene. Split by who only when "reached" itself is shown."""
    codes = order(known, values)
    reached_codes = [code for code in codes if code != NOBODY]
    reached = sum(values.get(code, 0) for code in reached_codes)
    top, total = suppress_counts({"reached": reached, NOBODY: values.get(NOBODY, 0)},
                                 order=("reached", NOBODY), min_cell=k)
    if top["reached"] is None:
        # A true zero stays shown: it says nothing of the others.
        split = {code: (0 if values.get(code, 0) == 0 else None) for code in reached_codes}
    else:
        split, _ = suppress_counts({code: values.get(code, 0) for code in reached_codes},
                                   order=reached_codes, min_cell=k)
    return (Counts(order=codes, cells={**split, NOBODY: top[NOBODY]}, total=total),
            top["reached"])


def unserved(reasons: Mapping[str, int], known: Sequence[str], k: int, *,
             nobody: int | None) -> Counts:
    """The unserved by reason, whose total is "served by: nobody" (shown as ``nobody``,
    ``None`` when hidden): hidden with it, and then with a reason, the smallest, unless
    one is hidden already (a hidden total beside cells all shown is their sum)."""
    found = counts(reasons, known, k)
    if nobody is not None or found.total is None:
        return found
    cells = dict(found.cells)
    if not any(n is None and reasons.get(code, 0) > 0 for code, n in cells.items()):
        smallest = min((code for code in found.order if reasons.get(code, 0) > 0),
                       key=lambda code: reasons[code], default=None)
        if smallest is not None:
            cells[smallest] = None
    return Counts(order=found.order, cells=cells, total=None)


def withheld(grid: WeekGrid) -> WeekGrid:
    """The grid with every block hidden, zeros too: its total is a hidden number."""
    return WeekGrid(hours_per_block=grid.hours_per_block, blocks=grid.blocks,
                    cells=dict.fromkeys(grid.cells))
