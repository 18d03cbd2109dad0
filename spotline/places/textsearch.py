"""The database's own text search over ``PlaceName.norm``: the shortlist that rapidfuzz
then scores. SQLite: the FTS5 trigram table (rebuilt after each import); PostgreSQL:
pg_trgm's word similarity both ways on its GIN index; any other database: LIKE on word stems.
Every query binds the text as a parameter; FTS5 gets each trigram as a quoted string,
so the person's quotes, stars, NEAR and OR are only letters."""

from __future__ import annotations

from django.db import connection

SHORTLIST = 120
MAX_TRIGRAMS = 48


def trigrams(phrase: str) -> list[str]:
    """The distinct three-letter pieces of each word of ``phrase`` (words of one or two
    letters as they are), in order."""
    out: list[str] = []
    for word in phrase.split():
        pieces = [word] if len(word) < 3 else [word[i:i + 3] for i in range(len(word) - 2)]
        for piece in pieces:
            if piece not in out:
                out.append(piece)
    return out[:MAX_TRIGRAMS]


def fts_rebuild() -> None:
    """Fill the SQLite FTS table from the names (after an import); elsewhere, nothing."""
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM places_placename_fts")
        cursor.execute("INSERT INTO places_placename_fts(rowid, norm) "
                       "SELECT id, norm FROM places_placename")


def shortlist(phrase: str, *, limit: int = SHORTLIST) -> list[int]:
    """Ids of the place names most like ``phrase`` (a normalised phrase), best first."""
    grams = [g for g in trigrams(phrase) if len(g) == 3]
    if not grams:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            match = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
            cursor.execute("SELECT rowid FROM places_placename_fts WHERE places_placename_fts "
                           "MATCH %s ORDER BY bm25(places_placename_fts) LIMIT %s",
                           [match, limit])
        elif connection.vendor == "postgresql":
            # A name within the text (norm <% text), or the text within a name
            # (norm %> text: "dubliner" in "dubliner kaivopiha"); both use the index.
            cursor.execute("SELECT id FROM places_placename WHERE norm <%% %s OR norm %%> %s "
                           "ORDER BY greatest(word_similarity(norm, %s), "
                           "word_similarity(%s, norm)) DESC LIMIT %s",
                           [phrase, phrase, phrase, phrase, limit])
        else:
            stems = sorted({w[:4] for w in phrase.split() if len(w) >= 3})[:8]
            where = " OR ".join(["norm LIKE %s"] * len(stems))
            cursor.execute(f"SELECT id FROM places_placename WHERE {where} LIMIT %s",  # noqa: S608 - placeholders only
                           [f"%{s}%" for s in stems] + [limit])
        return [row[0] for row in cursor.fetchall()]
