"""Writes to both indexes so that a crash at any instant leaves nothing to duplicate or orphan.

Per group of files:
  1. record the group's new chunk ids as *pending* (committed);
  2. embed and upsert the vectors, one client-sized batch at a time (ids are deterministic:
     a replay overwrites instead of duplicating);
  3. in ONE SQLite transaction: replace the files' BM25 rows, write their records, clear
     their pending ids, and mark their stale ids pending;
  4. delete the stale vectors, then clear those pending ids.
A run that finds pending ids no record claims (a crash between 1 and 3, or between 3 and 4)
deletes those vectors first. With cleanup "none" step 3 deletes nothing: it lists the stale
ids in the `retained` table instead, and a later incremental or full run removes them
(`remove_retained`: the same steps 3-4, BM25 rows and records first, then the vectors).
A file counts as done only after step 3, i.e. after its last batch is in. Chroma itself
rewrites its HNSW files in place, so a kill inside step 2 or 4 can leave them unreadable: the
next run that needs Chroma then re-embeds every recorded chunk into a fresh collection
(`ensure_vectors_readable`), since the records hold all it was built from.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from framework.embeddings.base import Embedder, EmbedderIdentity
from framework.errors import ConfigurationError

from .index_db import transaction
from .models import Chunk
from .records import FileRecord
from .store import RagStore
from .vector_store import embedder_mismatch_message

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

CleanupMode = Literal["none", "incremental", "full"]


@dataclass
class FileUpdate:
    source: str
    chunks: list[Chunk]
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    extra: dict = field(default_factory=dict)  # passed through to the caller (manifest path, action)


class IndexWriter:
    def __init__(
        self,
        store: RagStore,
        embedder: Embedder,
        *,
        chunking_signature: str,
        cleanup: CleanupMode = "incremental",
        embedding_batch_size: int = 256,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunking_signature = chunking_signature
        self.cleanup = cleanup
        self.embedding_batch_size = max(1, embedding_batch_size)
        self.identity: EmbedderIdentity | None = None
        self._vectors_checked = False
        self.vectors_rebuilt = 0  # vectors re-embedded because Chroma's files were unreadable

    # -- preparation ---------------------------------------------------------------------
    def prepare(self) -> EmbedderIdentity:
        """Resolve the embedder's identity (a remote one may be asked once), check it against
        both the record and the Chroma collection, and open the collection for writing."""
        if self.identity is not None:
            return self.identity
        identity = EmbedderIdentity.of(self.embedder, resolve_dimension=True)
        stored = self.store.records.stored_identity()
        if stored is not None and stored.conflicts_with(identity):
            raise ConfigurationError(embedder_mismatch_message(self.store.collection, stored, identity))
        self.store.chroma.open_for(identity, create=True)
        with transaction(self.store.conn):
            self.store.records.set_identity(identity)
        self.identity = identity
        return identity

    @property
    def embedder_key(self) -> str:
        identity = self.identity or EmbedderIdentity.of(self.embedder, resolve_dimension=False)
        return f"{identity.provider}:{identity.model}:{identity.dimension}"

    def ensure_vectors_readable(self) -> None:
        """Before the first Chroma call of a run: when Chroma's files were left unreadable by a
        kill (see `ChromaStore.damage`), re-embed every recorded chunk into a fresh collection.
        The vectors are derived data: the records hold each chunk's heading, text and metadata
        exactly as first written, so the rebuilt collection equals the lost one. Checked only
        when Chroma is about to be used, so a re-run with nothing to do still never opens it."""
        if self._vectors_checked:
            return
        self._vectors_checked = True
        chroma = self.store.chroma
        damage = chroma.damage()
        if damage is None:
            return
        total = self.store.lexical.count()
        log.warning(
            "the vector index of collection %r cannot be read (%s); an interrupted write? Rebuilding its %d "
            "vector(s) from the index records", self.store.collection, damage.splitlines()[0][:200], total,
        )
        chroma.recreate()
        self.prepare()
        with transaction(self.store.conn):
            self.store.records.clear_pending(self.store.records.pending())  # nothing is in the new collection
        for batch in self.store.lexical.iter_chunks(batch_size=chroma.max_batch_size):
            chroma.upsert(batch, self._embed([chunk.indexed_text for chunk in batch]))
        self.vectors_rebuilt = total

    def reconcile_pending(self) -> int:
        """Delete vectors left by an interrupted run that no record claims. Returns how many."""
        records = self.store.records
        pending = records.pending()
        if not pending:
            return 0
        self.ensure_vectors_readable()  # a run killed inside a Chroma write is what leaves pending ids
        pending = records.pending()
        if not pending:
            return 0  # the collection was rebuilt from the records: nothing is left over
        tracked = set(self.store.lexical.get(pending))
        orphans = [i for i in pending if i not in tracked]
        if orphans:
            log.info("removing %d vector(s) left by an interrupted run", len(orphans))
            self.store.chroma.delete(orphans)
        with transaction(self.store.conn):
            records.clear_pending(pending)
        return len(orphans)

    def remove_retained(self) -> tuple[int, int]:
        """Delete the stale chunks that runs with cleanup "none" kept (an older version of a
        file, or chunks of other chunk settings), from both indexes, crash-safely: the BM25
        rows, the retained list and the records change in one transaction that also marks the
        ids pending; the vectors go after it. Returns (chunks removed, files concerned)."""
        records = self.store.records
        retained = records.retained()
        if not retained:
            return 0, 0
        self.ensure_vectors_readable()
        conn, lexical = self.store.conn, self.store.lexical
        ids = [chunk_id for chunk_ids in retained.values() for chunk_id in chunk_ids]
        with transaction(conn):
            records.add_pending(ids)
            lexical.delete_ids(ids)
            for source in retained:
                records.set_retained(source, [])
                records.set_chunk_count(source, lexical.count(source))
        self._delete_vectors(ids)
        return len(ids), len(retained)

    # -- writes ---------------------------------------------------------------------------
    def write(self, updates: Sequence[FileUpdate]) -> int:
        """Write the files' chunks; returns how many stale chunks (of their earlier versions)
        were removed."""
        updates = [u for u in updates if u.chunks]
        if not updates:
            return 0
        self.ensure_vectors_readable()
        self.prepare()
        conn, records, lexical = self.store.conn, self.store.records, self.store.lexical
        chunks = [chunk for update in updates for chunk in update.chunks]
        new_ids = [chunk.chunk_id for chunk in chunks]
        if len(set(new_ids)) != len(new_ids):  # pragma: no cover - ids carry the source and index
            raise RuntimeError("duplicate chunk ids in one write; two updates for the same source?")
        with transaction(conn):
            records.add_pending(new_ids)

        step = self.store.chroma.max_batch_size
        for start in range(0, len(chunks), step):
            batch = chunks[start : start + step]
            vectors = self._embed([chunk.indexed_text for chunk in batch])
            self.store.chroma.upsert(batch, vectors)

        stale: list[str] = []
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        with transaction(conn):
            for update in updates:
                keep = {chunk.chunk_id for chunk in update.chunks}
                old_ids = lexical.ids_for_source(update.source)
                gone = [i for i in old_ids if i not in keep]
                if self.cleanup != "none" and gone:
                    lexical.delete_ids(gone)
                    stale.extend(gone)
                # what cleanup "none" keeps is remembered, so a later run can still remove it
                records.set_retained(update.source, gone if self.cleanup == "none" else ())
                lexical.upsert(update.chunks)
                count = lexical.count(update.source) if self.cleanup == "none" else len(update.chunks)
                records.put(
                    FileRecord(
                        source=update.source, size=update.size, mtime_ns=update.mtime_ns, sha256=update.sha256,
                        chunking=self.chunking_signature, embedder=self.embedder_key, chunk_count=count,
                        indexed_at=now,
                    )
                )
            records.clear_pending(new_ids)
            records.add_pending(stale)
        if stale:
            self._delete_vectors(stale)
        return len(stale)

    def delete_sources(self, sources: Sequence[str]) -> int:
        """Remove files from both indexes and from the records. Returns the chunks removed."""
        removed = 0
        conn, records, lexical = self.store.conn, self.store.records, self.store.lexical
        self.ensure_vectors_readable()
        for source in sources:
            ids = lexical.ids_for_source(source)
            with transaction(conn):
                records.add_pending(ids)
                lexical.delete_source(source)
                records.remove(source)
                records.set_retained(source, ())
            self._delete_vectors(ids)
            removed += len(ids)
        return removed

    def _delete_vectors(self, ids: list[str]) -> None:
        if not ids:
            return
        self.store.chroma.delete(ids)
        with transaction(self.store.conn):
            self.store.records.clear_pending(ids)

    def _embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        parts = []
        embed_array = getattr(self.embedder, "embed_array", None)
        for start in range(0, len(texts), self.embedding_batch_size):
            piece = texts[start : start + self.embedding_batch_size]
            if embed_array is not None:
                parts.append(np.asarray(embed_array(piece), dtype=np.float32))
            else:
                parts.append(np.asarray(self.embedder.embed(piece), dtype=np.float32))
        vectors = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
        expected = self.identity.dimension if self.identity else None
        if expected is not None and vectors.shape[1] != expected:
            raise ConfigurationError(
                f"the embedder returned {vectors.shape[1]}-dimensional vectors, but collection "
                f"{self.store.collection!r} holds {expected}-dimensional ones"
            )
        return vectors
