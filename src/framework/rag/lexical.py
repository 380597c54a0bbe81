"""The lexical (BM25) index: SQLite FTS5 over the same chunks as the vector store.

Measured on the SciFact dev half, FTS5's BM25 with the Porter stemmer and an OR query scores
as well as a dedicated BM25 library with a Snowball stemmer, and it is incremental and
transactional for free. The chunk rows (text and metadata) live in `chunks`; `chunks_fts`
is an external-content index kept in step by triggers, so deleting a chunk row removes its
postings in the same transaction.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .filters import where_to_sql
from .models import Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    chunk_index INTEGER NOT NULL,
    heading TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS chunks_by_source ON chunks (source, chunk_index);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    heading, text, content='chunks', content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_after_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, heading, text) VALUES (new.rowid, new.heading, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_after_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, heading, text) VALUES ('delete', old.rowid, old.heading, old.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_after_update AFTER UPDATE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, heading, text) VALUES ('delete', old.rowid, old.heading, old.text);
    INSERT INTO chunks_fts (rowid, heading, text) VALUES (new.rowid, new.heading, new.text);
END;
"""

_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_QUERY_TERMS = 64
#: FTS5's bm25() gives a term found in at least half of the chunks an idf of 1e-6 (it clamps
#: log((N - n + 0.5) / (n + 0.5)) <= 0 to that), and one term adds at most idf * (k1 + 1),
#: k1 = 1.2. A hit scoring no more than this per query term matched only such words ("the",
#: "what", a word in every chunk): nothing it shares with the query sets it apart. See
#: `LexicalIndex.search`.
_CLAMPED_TERM_SCORE = 1e-6 * 2.2


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: str
    source: str
    text: str
    metadata: dict[str, Any]
    score: float  # -bm25: higher is better


def query_terms(text: str) -> list[str]:
    """The distinct words of `text`, in order, at most _MAX_QUERY_TERMS."""
    return list(dict.fromkeys(word.lower() for word in _WORD.findall(text)))[:_MAX_QUERY_TERMS]


def match_expression(text: str) -> str | None:
    """An OR query of the distinct words of `text`, each quoted so that FTS5 syntax in user
    text (AND, NEAR, column:, *) is taken as words. OR ranks documents by how many query
    words they share, weighted by rarity, which is what BM25 is meant to do; an implicit AND
    returns nothing as soon as one query word is missing."""
    terms = query_terms(text)
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in terms)


#: Below this many chunks most words are in half of them, so a near-zero score says little.
SMALL_STORE_CHUNKS = 10


def drop_unmatched(hits: list[LexicalHit], n_terms: int, store_chunks: int | None = None) -> list[LexicalHit]:
    """Without the hits whose score is effectively zero: all the query words they hold are
    in at least half of the chunks, so FTS5 scored them ~1e-6 (see _CLAMPED_TERM_SCORE). They
    only pad the list with unrelated sources, and a question made only of such words ("the",
    "what is it") gets no hits at all. In a small store (under SMALL_STORE_CHUNKS, or of
    unknown size), where every word may be in half of it, they are kept when even the best hit
    is at that scale."""
    floor = _CLAMPED_TERM_SCORE * max(1, n_terms) * (1 + 1e-9)
    if not hits:
        return hits
    small = store_chunks is None or store_chunks < SMALL_STORE_CHUNKS
    if small and max(hit.score for hit in hits) <= floor:
        return hits
    return [hit for hit in hits if hit.score > floor]


class LexicalIndex:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- writes (the caller owns the transaction) -------------------------------------
    def upsert(self, chunks: Sequence[Chunk]) -> None:
        self.delete_ids(c.chunk_id for c in chunks)
        self.conn.executemany(
            "INSERT INTO chunks (chunk_id, source, chunk_index, heading, text, metadata) VALUES (?, ?, ?, ?, ?, ?)",
            (
                (c.chunk_id, c.source, c.chunk_index, c.heading, c.text,
                 json.dumps(c.store_metadata(), ensure_ascii=False, sort_keys=True))
                for c in chunks
            ),
        )

    def delete_ids(self, ids: Iterable[str]) -> None:
        self.conn.executemany("DELETE FROM chunks WHERE chunk_id = ?", ((i,) for i in ids))

    def delete_source(self, source: str) -> list[str]:
        ids = self.ids_for_source(source)
        self.conn.execute("DELETE FROM chunks WHERE source = ?", (source,))
        return ids

    # -- reads ----------------------------------------------------------------------------
    def ids_for_source(self, source: str) -> list[str]:
        rows = self.conn.execute("SELECT chunk_id FROM chunks WHERE source = ? ORDER BY chunk_index, chunk_id", (source,))
        return [row[0] for row in rows]

    def count(self, source: str | None = None) -> int:
        if source is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
        return int(self.conn.execute("SELECT COUNT(*) FROM chunks WHERE source = ?", (source,)).fetchone()[0])

    def iter_chunks(self, batch_size: int = 1000) -> Iterator[list[Chunk]]:
        """Every stored chunk, as written (heading, text, store metadata), in batches."""
        cursor = self.conn.execute(
            "SELECT chunk_id, source, chunk_index, heading, text, metadata FROM chunks ORDER BY rowid"
        )
        while rows := cursor.fetchmany(batch_size):
            batch = []
            for chunk_id, source, chunk_index, heading, text, metadata in rows:
                stored = json.loads(metadata)
                batch.append(Chunk(chunk_id=chunk_id, source=source, chunk_index=chunk_index, heading=heading, text=text,
                                   content_hash=str(stored.get("content_hash", "")), metadata=stored))
            yield batch

    def get(self, ids: Sequence[str]) -> dict[str, LexicalHit]:
        found: dict[str, LexicalHit] = {}
        for start in range(0, len(ids), 500):
            batch = list(ids[start : start + 500])
            marks = ", ".join("?" for _ in batch)
            rows = self.conn.execute(
                f"SELECT chunk_id, source, text, metadata FROM chunks WHERE chunk_id IN ({marks})", batch
            )
            for chunk_id, source, text, metadata in rows:
                found[chunk_id] = LexicalHit(chunk_id, source, text, json.loads(metadata), 0.0)
        return found

    def search(self, query: str, limit: int, where: dict[str, Any] | None = None) -> list[LexicalHit]:
        """The best `limit` chunks for `query`, best first; equal scores (the same text stored
        twice) in chunk id order, so every run returns the same list. Hits that share only
        words found in half the chunks or more are dropped (`drop_unmatched`)."""
        expression = match_expression(query)
        if expression is None or limit < 1:
            return []
        condition, params = where_to_sql(where, metadata_column="c.metadata")
        rows = self.conn.execute(
            "SELECT c.chunk_id, c.source, c.text, c.metadata, bm25(chunks_fts) AS rank"
            " FROM chunks_fts JOIN chunks AS c ON c.rowid = chunks_fts.rowid"
            f" WHERE chunks_fts MATCH ? AND {condition} ORDER BY rank, c.chunk_id LIMIT ?",
            [expression, *params, int(limit)],
        )
        hits = [LexicalHit(cid, src, text, json.loads(meta), -float(rank)) for cid, src, text, meta, rank in rows]
        (store_chunks,) = self.conn.execute("SELECT count(*) FROM chunks").fetchone()
        return drop_unmatched(hits, len(query_terms(query)), store_chunks)
