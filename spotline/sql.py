"""One multi-row INSERT for a list of model instances, without the ORM's query compiler.

``QuerySet.bulk_create`` builds its statement through the SQL compiler, which on the
hottest write path (a new incident: its offers, their messages, two timers, three
events, three audit entries) cost more CPU than the database spent on the rows. This
does the same job for plain rows: every concrete field but an auto primary key, each
value prepared by its own field (``pre_save`` then ``get_db_prep_save``, so sealed
fields seal, JSON is dumped and times are adapted exactly as the ORM would), one
``INSERT ... VALUES (...), (...)``, the new ids read back with ``RETURNING`` when asked.
PostgreSQL and SQLite (3.35 and later) both take it.

Not for models with signals, multi-table inheritance or fields computed by the
database (a ``GeneratedField``): use the ORM there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def insert(rows: Sequence[M], *, ids: bool = False, ignore_conflicts: bool = False) -> None:
    """Insert ``rows`` (instances of one model) with one statement; with ``ids``, set
    each instance's primary key from the database. ``ignore_conflicts`` skips a row
    that would break a unique constraint, as ``ON CONFLICT DO NOTHING``."""
    if not rows:
        return
    if ids and ignore_conflicts:
        raise ValueError("a skipped row has no id: ask for one or the other")
    model = type(rows[0])
    meta = model._meta
    pk = meta.pk
    fields = [f for f in meta.concrete_fields
              if not (f is pk and isinstance(f, models.AutoField | models.BigAutoField)
                      and all(getattr(r, f.attname) is None for r in rows))
              and not isinstance(f, models.GeneratedField)]
    quote = connection.ops.quote_name
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params: list[Any] = []
    for row in rows:
        for field in fields:
            params.append(field.get_db_prep_save(field.pre_save(row, True), connection))
    # Only quoted names and placeholders are formatted in; every value is a parameter.
    columns = ", ".join(quote(str(f.column)) for f in fields)
    sql = (f"INSERT INTO {quote(meta.db_table)} ({columns})"  # noqa: S608
           f" VALUES {', '.join([row_sql] * len(rows))}")
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if ids:
        sql += f" RETURNING {quote(str(pk.column))}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if ids:
            for row, (new_id,) in zip(rows, cursor.fetchall(), strict=True):
                setattr(row, pk.attname, new_id)
    for row in rows:  # saved, as after the ORM's insert: a later save() updates
        row._state.adding = False
        row._state.db = connection.alias
