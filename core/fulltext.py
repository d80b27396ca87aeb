"""One full-text index for every app: FTS5 on SQLite, tsvector + GIN on PostgreSQL.

An app indexes a document under a kind ("poll", ...) and an object id, with a title that
weighs more than the body, and searches that kind with one query whatever the words:
every word must match (as a word prefix), ranked by BM25 on SQLite and ts_rank_cd on
PostgreSQL. The table is made by core's migration; which objects exist and who may see
them is the caller's business (search returns ids and scores only), so an index row of
a deleted object is harmless until `fulltext_prune` removes it.

On PostgreSQL a search runs under SEARCH_STATEMENT_TIMEOUT_MS: no query can hold the
database for long, and one cut short answers as no match.
"""

import logging
import re

from django.conf import settings
from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

TABLE = "core_fulltext"
MAX_WORDS = 16
WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(query: str) -> list[str]:
    """The query's words, case-folded, at most MAX_WORDS, duplicates dropped."""
    found = []
    for word in WORD.findall(query.casefold()):
        if word not in found:
            found.append(word)
    return found[:MAX_WORDS]


def _plain(text: str) -> str:
    return " ".join(WORD.findall(text.casefold()))


# --- schema (called by core's migration) -------------------------------------------------


def create_schema(schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            "CREATE TABLE IF NOT EXISTS core_fulltext ("
            " kind varchar(32) NOT NULL, object_id bigint NOT NULL, document tsvector NOT NULL,"
            " PRIMARY KEY (kind, object_id))"
        )
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS core_fulltext_document"
            " ON core_fulltext USING gin (document)"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS core_fulltext USING fts5("
            " kind UNINDEXED, object_id UNINDEXED, title, body,"
            " tokenize='unicode61 remove_diacritics 2')"
        )
    else:  # pragma: no cover - Tally runs on these two
        raise NotImplementedError(f"No full-text index for {vendor}")


def drop_schema(schema_editor) -> None:
    schema_editor.execute("DROP TABLE IF EXISTS core_fulltext")


# --- writes ------------------------------------------------------------------------------


def index_document(*, kind: str, object_id: int, title: str, body: str = "") -> None:
    """Put (or replace) one object's document in the index."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO core_fulltext (kind, object_id, document) VALUES (%s, %s,"
                " setweight(to_tsvector('simple', %s), 'A')"
                " || setweight(to_tsvector('simple', %s), 'B'))"
                " ON CONFLICT (kind, object_id) DO UPDATE SET document = EXCLUDED.document",
                # Words only, as queries are split: PostgreSQL's parser would otherwise drop
                # text that looks like markup ("<script>") or read it as URLs and paths.
                [kind, object_id, _plain(title), _plain(body)],
            )
        else:
            cursor.execute(
                "DELETE FROM core_fulltext WHERE kind = %s AND object_id = %s", [kind, object_id]
            )
            cursor.execute(
                "INSERT INTO core_fulltext (kind, object_id, title, body) VALUES (%s, %s, %s, %s)",
                [kind, object_id, title, body],
            )


def remove_document(*, kind: str, object_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM core_fulltext WHERE kind = %s AND object_id = %s", [kind, object_id]
        )


def indexed_ids(*, kind: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT object_id FROM core_fulltext WHERE kind = %s", [kind])
        return {int(row[0]) for row in cursor.fetchall()}


# --- reads -------------------------------------------------------------------------------


def _fts5_query(terms: list[str], joiner: str) -> str:
    # Each word quoted (FTS5 syntax cannot be injected), as a prefix.
    return f" {joiner} ".join('"' + term.replace('"', '""') + '"*' for term in terms)


def _tsquery(terms: list[str], joiner: str) -> str:
    # Words are letters and digits only (see WORD), so they need no escaping in a tsquery.
    return f" {joiner} ".join(f"{term}:*" for term in terms)


def search(*, kind: str, query: str, limit: int = 20) -> list[tuple[int, float]]:
    """Return up to `limit` (object id, score) of `kind` matching every word, best first."""
    return _ranked(kind=kind, query=query, limit=limit, every_word=True)


def search_any(*, kind: str, query: str, limit: int = 20) -> list[tuple[int, float]]:
    """Return up to `limit` (object id, score) of `kind` matching any word, best first.

    For ranking a known, small set (one poll's snippets, say) by how many of the query's
    words each holds and how rare they are; `search` is the one for finding.
    """
    return _ranked(kind=kind, query=query, limit=limit, every_word=False)


def _ranked(*, kind: str, query: str, limit: int, every_word: bool) -> list[tuple[int, float]]:
    """One statement, under the search statement timeout on PostgreSQL. Finding (every
    word) ranks by cover density and puts newer objects first on a tie; ranking a set (any
    word) by plain rank, older first."""
    terms = words(query)
    if not terms:
        return []
    order = "DESC" if every_word else "ASC"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                timeout = int(settings.SEARCH_STATEMENT_TIMEOUT_MS)
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(timeout)])
                rank = "ts_rank_cd" if every_word else "ts_rank"
                cursor.execute(
                    f"SELECT object_id, {rank}(document, q) AS score"  # noqa: S608 - fixed words
                    " FROM core_fulltext, to_tsquery('simple', %s) AS q"
                    " WHERE kind = %s AND document @@ q"
                    f" ORDER BY score DESC, object_id {order} LIMIT %s",
                    [_tsquery(terms, "&" if every_word else "|"), kind, limit],
                )
            else:
                cursor.execute(
                    "SELECT object_id, -bm25(core_fulltext, 0, 0, 2.0, 1.0) AS score"  # noqa: S608
                    " FROM core_fulltext"
                    " WHERE core_fulltext MATCH %s AND kind = %s"
                    f" ORDER BY score DESC, object_id {order} LIMIT %s",
                    [_fts5_query(terms, "AND" if every_word else "OR"), kind, limit],
                )
            rows = cursor.fetchall()
    except DatabaseError as error:
        if connection.vendor == "postgresql" and "statement timeout" in str(error):
            logger.warning("A full-text search ran out of time: %r", query[:100])
            return []
        raise
    return [(int(object_id), float(score)) for object_id, score in rows]
