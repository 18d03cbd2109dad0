"""The database's own text search over place names: an FTS5 table of trigrams on
SQLite, a trigram (pg_trgm) GIN index on PostgreSQL. Any other database searches with
plain LIKE (places/textsearch.py), so this does nothing there."""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS places_placename_fts USING fts5("
    "norm, tokenize='trigram')",
]
SQLITE_DOWN = ["DROP TABLE IF EXISTS places_placename_fts"]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS places_placename_norm_trgm ON places_placename "
    "USING gin (norm gin_trgm_ops)",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS places_placename_norm_trgm"]


def _run(schema_editor, statements):
    for sql in statements:
        schema_editor.execute(sql)


def up(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_UP)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_UP)


def down(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_DOWN)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_DOWN)


class Migration(migrations.Migration):

    dependencies = [
        ('places', '0001_initial'),
    ]

    operations = [migrations.RunPython(up, down)]
