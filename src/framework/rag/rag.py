"""`get_rag(settings)`: add documents, query them (BM25, dense or hybrid), delete them.

    rag = get_rag()
    for hit in rag.query("hotel cap per night", top_k=5, where={"file_type": "pdf"}):
        print(hit.score, hit.source, hit.metadata.get("page"), hit.text[:80])

`query` is thread-safe (each thread reads through its own SQLite connection; Chroma calls
are serialised) and never writes. Its result is repeatable: every ranking (BM25, dense, the
fused one) orders equal scores by chunk id. Writes (`add_documents`, `delete`) take the store's
one-writer lock for their duration.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from framework.config import Settings, get_settings
from framework.embeddings import Embedder, get_embedder
from framework.errors import ConfigurationError

from .chunking import Chunker, ChunkingConfig
from .filters import normalize_where
from .fusion import reciprocal_rank_fusion
from .lexical import LexicalIndex
from .models import DocumentInput, RetrievedChunk
from .store import RagStore, store_lock
from .vector_store import embedder_mismatch_message
from .writer import FileUpdate, IndexWriter

log = logging.getLogger(__name__)

RETRIEVERS = ("bm25", "dense", "hybrid")
#: Extra nearest neighbours asked of Chroma, so that hits tied at the cut-off (the same text
#: stored twice has the same vector) are chosen by chunk id, not by the index's visit order.
_DENSE_TIE_MARGIN = 8


class RAG:
    def __init__(
        self,
        settings: Settings | None = None,
        *,
        persist_dir: Path | None = None,
        collection: str | None = None,
        embedder: Embedder | None = None,
        chunking: ChunkingConfig | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.persist_dir = Path(persist_dir or self.settings.chroma_persist_dir)
        self.store = RagStore(self.settings, self.persist_dir, collection or self.settings.chroma_collection)
        self.collection = self.store.collection
        self._embedder = embedder
        self.chunking = chunking or ChunkingConfig.from_settings(self.settings)
        self._lock = threading.Lock()
        self._checked_level = 0  # 1: provider and model checked; 2: dimension and Chroma too

    # -- parts --------------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        with self._lock:
            return self._embedder_unlocked()

    def _embedder_unlocked(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings)
        return self._embedder

    def _check_identity(self, *, dense: bool) -> None:
        """Dense and hybrid queries with another embedder than the one that built the
        collection are an error: a silent fallback would answer from the wrong index later.
        BM25 queries use no embedder and are not checked."""
        level = 2 if dense else 1
        if self._checked_level >= level:
            return
        with self._lock:
            if self._checked_level >= level:
                return
            configured = self.store.check_embedder(self._embedder_unlocked(), resolve_dimension=dense)
            if dense:
                stored = self.store.chroma.stored_identity()
                if stored is not None and stored.conflicts_with(configured):
                    raise ConfigurationError(embedder_mismatch_message(self.collection, stored, configured))
            self._checked_level = level

    # -- reads ----------------------------------------------------------------------------
    def query(
        self,
        text: str,
        top_k: int = 5,
        where: dict[str, Any] | None = None,
        retriever: str | None = None,
    ) -> list[RetrievedChunk]:
        retriever = retriever or self.settings.rag_retriever
        if retriever not in RETRIEVERS:
            raise ConfigurationError(f"unknown retriever {retriever!r}; use one of {', '.join(RETRIEVERS)}")
        where = normalize_where(where)
        if top_k < 1 or not text or not text.strip():
            return []
        lexical = LexicalIndex(self.store.reader())
        if retriever != "bm25":
            # BM25 never touches the embedder or the vectors: any embedder may query it
            self._check_identity(dense=True)
        if retriever == "bm25":
            return [
                RetrievedChunk(chunk_id=h.chunk_id, text=h.text, score=h.score, source=h.source, metadata=h.metadata,
                               retriever="bm25", ranks={"bm25": rank})
                for rank, h in enumerate(lexical.search(text, top_k, where), start=1)
            ]
        depth = top_k if retriever == "dense" else max(top_k, self.settings.rag_candidates)
        dense_hits = self._dense(text, depth, where)
        if retriever == "dense":
            rows = lexical.get([h.chunk_id for h in dense_hits])
            return [
                RetrievedChunk(chunk_id=h.chunk_id, text=rows[h.chunk_id].text, score=h.similarity,
                               source=rows[h.chunk_id].source, metadata=rows[h.chunk_id].metadata,
                               retriever="dense", ranks={"dense": rank})
                for rank, h in enumerate((h for h in dense_hits if h.chunk_id in rows), start=1)
            ]
        lexical_hits = lexical.search(text, depth, where)
        lexical_rank = {h.chunk_id: rank for rank, h in enumerate(lexical_hits, start=1)}
        dense_rank = {h.chunk_id: rank for rank, h in enumerate(dense_hits, start=1)}
        fused = reciprocal_rank_fusion(
            [list(lexical_rank), list(dense_rank)],
            [1.0, self.settings.rag_hybrid_dense_weight],
            k=self.settings.rag_rrf_k,
        )[:top_k]
        rows = {h.chunk_id: h for h in lexical_hits}
        rows.update(lexical.get([chunk_id for chunk_id, _ in fused if chunk_id not in rows]))
        results = []
        for chunk_id, score in fused:
            row = rows.get(chunk_id)
            if row is None:
                continue  # deleted between the two reads (a concurrent ingest)
            ranks = {name: ranking[chunk_id] for name, ranking in (("bm25", lexical_rank), ("dense", dense_rank))
                     if chunk_id in ranking}
            results.append(RetrievedChunk(chunk_id=chunk_id, text=row.text, score=score, source=row.source,
                                          metadata=row.metadata, retriever="hybrid", ranks=ranks))
        return results

    def _dense(self, text: str, n: int, where: dict[str, Any] | None):
        """The `n` nearest chunks, best first, equal similarities in chunk id order."""
        vector = self.embedder.embed_query(text)
        if not any(vector):
            return []  # no known token: a zero vector has no direction to compare
        if not self.store.chroma.exists():
            raise ConfigurationError(
                f"collection {self.collection!r} has no vectors under {self.persist_dir}; run the ingest first"
            )
        hits = self.store.chroma.query(vector, n + _DENSE_TIE_MARGIN, where)
        return sorted(hits, key=lambda hit: (-hit.similarity, hit.chunk_id))[:n]

    def count(self) -> int:
        """Chunks in the collection (as the BM25 index sees them; the vector store holds the same ids)."""
        if not self.store.exists():
            return 0
        return LexicalIndex(self.store.reader()).count()

    def sources(self) -> list[str]:
        if not self.store.exists():
            return []
        return [row[0] for row in self.store.reader().execute("SELECT source FROM files ORDER BY source")]

    # -- writes -----------------------------------------------------------------------------
    def add_documents(
        self,
        documents: Iterable[Any],
        *,
        sources: Sequence[str] | None = None,
        metadatas: Sequence[dict[str, Any] | None] | None = None,
    ) -> list[str]:
        """Chunk, embed and store documents; returns the chunk ids written.

        Each document is an `ExtractedDocument`, a `DocumentInput`, or a plain string; its
        source is `sources[i]`, else its own `source`/`path`, else a hash of its text. A
        source that is already stored is replaced (stale chunks removed)."""
        documents = list(documents)
        chunker = Chunker(self.chunking)
        updates: list[FileUpdate] = []
        for index, document in enumerate(documents):
            extra_meta = dict(metadatas[index] or {}) if metadatas else {}
            if isinstance(document, str):
                document = DocumentInput(source="", text=document)
            source = sources[index] if sources else getattr(document, "source", None) or getattr(document, "path", "")
            if isinstance(document, DocumentInput):
                text = document.text
                source = source or "text:" + hashlib.sha256(text.encode()).hexdigest()[:16]
                chunks = chunker.chunk_pages(
                    source, [(1, text)], file_type=document.file_type, metadata={**document.metadata, **extra_meta}
                )
                digest = hashlib.sha256(text.encode()).hexdigest()
                size = len(text.encode())
            else:  # an ExtractedDocument
                if getattr(document, "error", None) is not None:
                    raise ValueError(f"document {source!r} was not extracted: {document.error.message}")
                if extra_meta:
                    document = document.model_copy(update={"metadata": {**document.metadata, **extra_meta}})
                chunks = chunker.chunk_document(document, str(source))
                digest, size = document.sha256, document.size_bytes
            if not chunks:
                raise ValueError(f"document {source!r} has no text to index")
            updates.append(FileUpdate(source=str(source), chunks=chunks, size=size, mtime_ns=0, sha256=digest))
        if len({u.source for u in updates}) != len(updates):
            raise ValueError("two documents share one source; give each a distinct source")
        with store_lock(self.persist_dir):
            writer = self._writer()
            writer.reconcile_pending()
            writer.write(updates)
        return [chunk.chunk_id for update in updates for chunk in update.chunks]

    def delete(self, source: str) -> int:
        """Remove one source from both indexes; returns the number of chunks removed."""
        if not self.store.exists():
            return 0
        with store_lock(self.persist_dir):
            return self._writer().delete_sources([source])

    def _writer(self) -> IndexWriter:
        return IndexWriter(
            self.store, self.embedder, chunking_signature=self.chunking.signature,
            cleanup="incremental", embedding_batch_size=self.settings.embedding_batch_size,
        )

    def close(self) -> None:
        self.store.close()
        embedder = self._embedder
        close = getattr(embedder, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> RAG:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def get_rag(
    settings: Settings | None = None,
    *,
    persist_dir: Path | None = None,
    collection: str | None = None,
    embedder: Embedder | None = None,
) -> RAG:
    return RAG(settings, persist_dir=persist_dir, collection=collection, embedder=embedder)


__all__ = ["RAG", "RETRIEVERS", "get_rag"]
