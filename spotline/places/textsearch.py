"""The database's own text search over ``PlaceName.norm``: the shortlist that rapidfuzz
then scores. SQLite: the FTS5 trigram table (rebuilt after each import); PostgreSQL:
pg_trgm's word similarity both ways on its GIN index; any other database: LIKE on word stems.
Every query binds the text as a parameter; FTS5 gets each trigram as a quoted string,
so the person's quotes, stars, NEAR and OR are only letters."""

from __future__ import annotations

from django.db import connection, transaction

SHORTLIST = 60
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
    """Ids of the place names most like ``phrase`` (normalised phrases, joined with
    " | " when there are several), best first."""
    grams = [g for g in trigrams(phrase) if len(g) == 3]
    if not grams:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            ids: list[int] = []
            for part in phrase.split(" | "):
                match = " OR ".join('"' + g.replace('"', '""') + '"'
                                    for g in trigrams(part) if len(g) == 3)
                if match:
                    cursor.execute("SELECT rowid FROM places_placename_fts WHERE "
                                   "places_placename_fts MATCH %s "
                                   "ORDER BY bm25(places_placename_fts) LIMIT %s",
                                   [match, limit])
                    ids.extend(row[0] for row in cursor.fetchall())
            return ids
        elif connection.vendor == "postgresql":
            # Each word of the text within a name (norm %> word: "dubliner" in "dubliner
            # kaivopiha"); one index scan each, the best similarity wins. (The whole
            # text, or a name within it, norm <% text, was a sequential scan.)
            terms = sorted({w for w in phrase.split() if len(w) >= 3 and w != "|"},
                           key=len)[-10:]
            if not terms:
                return []
            union = " UNION ALL ".join(
                ["SELECT id, word_similarity(%s, norm) AS s FROM places_placename "
                 "WHERE norm %%> %s"] * len(terms))
            # On a small gazetteer the planner prices a sequential scan below the index,
            # but word_similarity on every row costs 15 ms a word (bench/geocode.py):
            # the index is asked for, in a transaction of its own (SET LOCAL).
            inside = connection.in_atomic_block
            with transaction.atomic():
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute(f"SELECT id FROM ({union}) AS found GROUP BY id "  # noqa: S608 - placeholders only
                               "ORDER BY max(s) DESC LIMIT %s",
                               [arg for term in terms for arg in (term, term)] + [limit])
                ids = [row[0] for row in cursor.fetchall()]
                if inside:  # a savepoint keeps SET LOCAL to the caller's transaction
                    cursor.execute("SET LOCAL enable_seqscan = on")
            return ids
        else:
            stems = sorted({w[:4] for w in phrase.split() if len(w) >= 3})[:8]
            where = " OR ".join(["norm LIKE %s"] * len(stems))
            cursor.execute(f"SELECT id FROM places_placename WHERE {where} LIMIT %s",  # noqa: S608 - placeholders only
                           [f"%{s}%" for s in stems] + [limit])
        return [row[0] for row in cursor.fetchall()]
