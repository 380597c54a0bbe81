"""Index records: what the store holds for each source file, and ids in flight.

`files` answers "is this file already indexed as it is now?" from its size and mtime alone,
so an unchanged corpus is skipped without opening a single file. `pending` is a small
write-ahead list of vector ids that may exist in Chroma without being recorded here (written
before an upsert, cleared after the record commits); a run that starts after a crash deletes
whatever it lists that no record claims, so a kill -9 can never leave orphans behind.
`retained` lists the chunks of older versions that a `--cleanup none` run kept on purpose,
so that a later incremental or full run can still delete them. `meta` holds the embedder
that built the collection and the input folder it was built from.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from framework.embeddings.base import EmbedderIdentity

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    source TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    chunking TEXT NOT NULL,
    embedder TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    indexed_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (
    chunk_id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS retained (
    chunk_id TEXT PRIMARY KEY,
    source TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS retained_by_source ON retained (source);
"""

INPUT_KEY = "input_dir"


@dataclass(frozen=True)
class FileRecord:
    source: str
    size: int
    mtime_ns: int
    sha256: str
    chunking: str
    embedder: str
    chunk_count: int
    indexed_at: str


class RecordStore:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    # -- files ----------------------------------------------------------------------
    def get(self, source: str) -> FileRecord | None:
        row = self.conn.execute(
            "SELECT source, size, mtime_ns, sha256, chunking, embedder, chunk_count, indexed_at FROM files WHERE source = ?",
            (source,),
        ).fetchone()
        return FileRecord(*row) if row else None

    def all(self) -> dict[str, FileRecord]:
        rows = self.conn.execute(
            "SELECT source, size, mtime_ns, sha256, chunking, embedder, chunk_count, indexed_at FROM files"
        )
        return {row[0]: FileRecord(*row) for row in rows}

    def sources(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT source FROM files ORDER BY source")]

    def put(self, record: FileRecord) -> None:
        self.conn.execute(
            "INSERT INTO files (source, size, mtime_ns, sha256, chunking, embedder, chunk_count, indexed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(source) DO UPDATE SET size=excluded.size,"
            " mtime_ns=excluded.mtime_ns, sha256=excluded.sha256, chunking=excluded.chunking,"
            " embedder=excluded.embedder, chunk_count=excluded.chunk_count, indexed_at=excluded.indexed_at",
            (record.source, record.size, record.mtime_ns, record.sha256, record.chunking, record.embedder,
             record.chunk_count, record.indexed_at),
        )

    def touch(self, source: str, size: int, mtime_ns: int) -> None:
        """Same bytes, new mtime (a `touch`, a copy that kept content): remember the new stat
        so the next run skips the file without hashing it again."""
        self.conn.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE source = ?", (size, mtime_ns, source))

    def remove(self, source: str) -> None:
        self.conn.execute("DELETE FROM files WHERE source = ?", (source,))

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM files").fetchone()[0])

    def set_chunk_count(self, source: str, chunk_count: int) -> None:
        self.conn.execute("UPDATE files SET chunk_count = ? WHERE source = ?", (chunk_count, source))

    # -- pending vector ids -----------------------------------------------------------
    def add_pending(self, ids: Iterable[str]) -> None:
        self.conn.executemany("INSERT OR IGNORE INTO pending (chunk_id) VALUES (?)", ((i,) for i in ids))

    def clear_pending(self, ids: Iterable[str]) -> None:
        self.conn.executemany("DELETE FROM pending WHERE chunk_id = ?", ((i,) for i in ids))

    def pending(self) -> list[str]:
        return [row[0] for row in self.conn.execute("SELECT chunk_id FROM pending ORDER BY chunk_id")]

    # -- chunks of older versions kept by --cleanup none ------------------------------------
    def set_retained(self, source: str, ids: Iterable[str]) -> None:
        """The stale chunk ids `source` still has in both indexes (replaces the earlier list)."""
        self.conn.execute("DELETE FROM retained WHERE source = ?", (source,))
        self.conn.executemany(
            "INSERT OR REPLACE INTO retained (chunk_id, source) VALUES (?, ?)", ((i, source) for i in ids)
        )

    def retained(self) -> dict[str, list[str]]:
        """source -> stale chunk ids. Empty for a store written before the table existed and
        opened read-only (a dry run), where the schema is not applied."""
        try:
            rows = self.conn.execute("SELECT source, chunk_id FROM retained ORDER BY source, chunk_id").fetchall()
        except sqlite3.OperationalError:
            return {}
        out: dict[str, list[str]] = {}
        for source, chunk_id in rows:
            out.setdefault(source, []).append(chunk_id)
        return out

    # -- collection metadata ------------------------------------------------------------
    def stored_identity(self) -> EmbedderIdentity | None:
        return EmbedderIdentity.from_metadata(self._meta_with_prefix("embedder_"))

    def set_identity(self, identity: EmbedderIdentity) -> None:
        for key, value in identity.as_metadata().items():
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, str(value)),
            )

    def input_dir(self) -> str | None:
        """The input folder (resolved, absolute) the collection was built from; None for a
        store written before it was recorded."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (INPUT_KEY,)).fetchone()
        return row[0] if row else None

    def set_input_dir(self, path: str) -> None:
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (INPUT_KEY, path),
        )

    def _meta_with_prefix(self, prefix: str) -> dict[str, str]:
        rows = self.conn.execute("SELECT key, value FROM meta WHERE key LIKE ?", (prefix + "%",))
        return dict(rows)
