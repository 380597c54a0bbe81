"""The SQLite file that sits next to Chroma: index records and the BM25 index, one per collection.

Keeping both in one database lets a file's lexical chunks and its record change in one
transaction: a crash leaves either the old state or the new one. WAL mode lets query
threads read while an ingest writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 1
INDEX_DIRNAME = "rag_index"


def index_path(persist_dir: Path, collection: str) -> Path:
    return Path(persist_dir) / INDEX_DIRNAME / f"{collection}.sqlite3"


def _schemas() -> list[str]:
    from .lexical import SCHEMA as LEXICAL
    from .records import SCHEMA as RECORDS

    return [RECORDS, LEXICAL]


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        # A cleanly closed WAL database has no -wal file: open it immutable, which creates no
        # -wal/-shm files (plain mode=ro would), so a dry run leaves the folder untouched. A
        # leftover -wal (a writer running, or killed) holds committed data that immutable
        # would not see, so then read it normally.
        wal = Path(f"{path}-wal")
        flags = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
        uri = f"file:{Path(path).resolve().as_posix()}?{flags}"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=5.0)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process; only a power cut can lose the last commits
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        with transaction(conn):
            for schema in _schemas():
                _apply(conn, schema)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return conn


def _apply(conn: sqlite3.Connection, schema: str) -> None:
    for statement in _statements(schema):
        conn.execute(statement)


def _statements(schema: str) -> Iterator[str]:
    # executescript() would COMMIT our open transaction; split on ';' outside trigger bodies
    buffer = ""
    for part in schema.split(";"):
        buffer += part + ";"
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            if statement.strip(";").strip():
                yield statement
            buffer = ""


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


class ThreadConnections:
    """One read connection per thread: sqlite3 connections must not be shared across threads
    while in use, and queries run in several threads at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=5.0)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()
