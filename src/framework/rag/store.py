"""One collection's storage: the Chroma collection plus its SQLite file (records + BM25).

Chroma is opened lazily: a re-run with nothing to do, a BM25 query and a dry run never pay
for importing it (about two seconds) or loading its HNSW index.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from framework.embeddings.base import Embedder, EmbedderIdentity
from framework.errors import ConfigurationError

from .index_db import ThreadConnections, connect, index_path
from .lexical import LexicalIndex
from .records import RecordStore
from .vector_store import ChromaStore, embedder_mismatch_message, validate_collection_name

log = logging.getLogger(__name__)


class RagStore:
    def __init__(self, settings: Any, persist_dir: Path, collection: str, *, readonly: bool = False) -> None:
        self.settings = settings
        self.persist_dir = Path(persist_dir)
        self.collection = validate_collection_name(collection)
        self.readonly = readonly
        self.db_path = index_path(self.persist_dir, self.collection)
        self._conn: sqlite3.Connection | None = None
        self._readers: ThreadConnections | None = None
        self._chroma: ChromaStore | None = None
        self._lock = threading.Lock()  # query threads open the readers and Chroma lazily

    # -- the writer's connection --------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.readonly:
                raise RuntimeError("this store was opened read-only")
            self._conn = connect(self.db_path)
        return self._conn

    @property
    def records(self) -> RecordStore:
        return RecordStore(self.conn)

    @property
    def lexical(self) -> LexicalIndex:
        return LexicalIndex(self.conn)

    def snapshot(self) -> sqlite3.Connection | None:
        """A read-only view for dry runs that creates no file at all; None when no index exists."""
        if not self.db_path.exists():
            return None
        return connect(self.db_path, readonly=True)

    # -- readers (any thread) ---------------------------------------------------------
    def exists(self) -> bool:
        return self.db_path.exists()

    def reader(self) -> sqlite3.Connection:
        with self._lock:
            return self._readers_unlocked().get()

    def _readers_unlocked(self) -> ThreadConnections:
        if self._readers is None:
            if not self.db_path.exists():
                raise ConfigurationError(
                    f"no RAG index for collection {self.collection!r} under {self.persist_dir}; "
                    "run `python -m scripts.batch.batch_rag_ingest` first (or check --persist-dir / --collection)"
                )
            self._readers = ThreadConnections(self.db_path)
        return self._readers

    # -- vectors --------------------------------------------------------------------------
    @property
    def chroma(self) -> ChromaStore:
        with self._lock:
            if self._chroma is None:
                self._chroma = ChromaStore(self.settings, self.persist_dir, self.collection)
            return self._chroma

    def stored_identity(self) -> EmbedderIdentity | None:
        if self._conn is not None:
            return RecordStore(self._conn).stored_identity()
        if not self.db_path.exists():
            return None
        return RecordStore(self.reader()).stored_identity()

    def check_embedder(self, embedder: Embedder, *, resolve_dimension: bool) -> EmbedderIdentity:
        """Compare the configured embedder with the one recorded for this collection (from the
        SQLite record, so no Chroma import and, for remote embedders, no request unless asked)."""
        configured = EmbedderIdentity.of(embedder, resolve_dimension=resolve_dimension)
        stored = self.stored_identity()
        if stored is not None and stored.conflicts_with(configured):
            raise ConfigurationError(embedder_mismatch_message(self.collection, stored, configured))
        return configured

    def close(self) -> None:
        if self._readers is not None:
            self._readers.close()
            self._readers = None
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None
        if self._chroma is not None:
            self._chroma.close()
            self._chroma = None


def store_lock(persist_dir: Path):
    """The one-writer lock of a persist dir. Chroma's own SQLite would otherwise make a
    second writer wait on its busy timeout, or interleave with the first."""
    from framework.locking import LockedError, RunLock

    class _StoreLock(RunLock):
        def locked_error(self, holder: str) -> LockedError:
            return LockedError(
                f"the RAG store at {self.target} is locked by another run: {holder}. "
                "Wait for it to finish, or use another --persist-dir."
            )

    return _StoreLock(persist_dir, folder=True)
