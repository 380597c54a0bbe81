"""Chroma as the vector store: a persistent client under the persist dir, or a server.

Chroma holds ids, vectors and metadata (so `where` filters work on both sides); chunk text
lives once, in the index database next to it (see lexical.py).

Chroma is only ever given vectors: with no embeddings, `upsert` falls back to Chroma's
default embedding function, which downloads a model at run time. The collection's metadata
records which embedder filled it, and opening it with another one is an error before any
write. Writes go in batches no larger than the client's own limit.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framework.embeddings.base import EmbedderIdentity
from framework.errors import ConfigurationError

from .models import Chunk

log = logging.getLogger(__name__)

COLLECTION_NAME_RULE = (
    "a collection name has 3-63 characters from letters, digits, '.', '_' and '-', starts and ends with a "
    "letter or digit, has no '..', and is not an IPv4 address"
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")


def validate_collection_name(name: str) -> str:
    """Fail before any work on a name Chroma would reject after it. The 63-character cap is
    stricter than current Chroma (512) on purpose: older Chroma servers enforce it."""
    problem = None
    if not isinstance(name, str) or not _NAME.match(name):
        problem = "wrong length or characters"
    elif ".." in name:
        problem = "contains '..'"
    else:
        try:
            ipaddress.IPv4Address(name)
            problem = "is an IPv4 address"
        except ValueError:
            pass
    if problem:
        raise ConfigurationError(f"invalid collection name {name!r} ({problem}): {COLLECTION_NAME_RULE}")
    return name


def embedder_mismatch_message(collection: str, stored: EmbedderIdentity, configured: EmbedderIdentity) -> str:
    return (
        f"collection {collection!r} was built with embedder {stored}, but the configured embedder is {configured}. "
        "Vectors from different embedders cannot be mixed: set EMBEDDING_PROVIDER / EMBEDDING_MODEL back to the "
        "stored ones, or use another --collection (or persist dir) for this embedder."
    )


@dataclass(frozen=True)
class VectorHit:
    chunk_id: str
    similarity: float
    metadata: dict[str, Any]


class ChromaStore:
    def __init__(self, settings: Any, persist_dir: Path, collection: str) -> None:
        self.settings = settings
        self.persist_dir = Path(persist_dir)
        self.name = validate_collection_name(collection)
        self._client = None
        self._collection = None
        self._lock = threading.RLock()

    # -- connection ----------------------------------------------------------------------
    @property
    def client(self):
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self):
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        host = getattr(self.settings, "chroma_host", None)
        if host:
            try:
                return chromadb.HttpClient(host=host, port=int(self.settings.chroma_port), settings=chroma_settings)
            except Exception as exc:
                raise ConfigurationError(f"cannot reach the Chroma server at {host}:{self.settings.chroma_port}: {exc}") from None
        self.persist_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.persist_dir), settings=chroma_settings)

    @property
    def max_batch_size(self) -> int:
        try:
            return max(1, int(self.client.get_max_batch_size()))
        except Exception:  # an old server without the endpoint
            return 5000

    def _get(self):
        """The collection if it exists, else None (never created here)."""
        with self._lock:
            if self._collection is None:
                try:
                    self._collection = self.client.get_collection(self.name, embedding_function=None)
                except Exception as exc:
                    if _is_not_found(exc):
                        return None
                    raise
            return self._collection

    def exists(self) -> bool:
        return self._get() is not None

    def stored_identity(self) -> EmbedderIdentity | None:
        collection = self._get()
        return EmbedderIdentity.from_metadata(collection.metadata) if collection is not None else None

    def open_for(self, identity: EmbedderIdentity, *, create: bool) -> bool:
        """Open the collection for vectors of `identity`: create it (recording the identity)
        if allowed, or check that it was built by the same embedder. Returns False when it
        does not exist and may not be created."""
        with self._lock:
            collection = self._get()
            if collection is None:
                if not create:
                    return False
                metadata: dict[str, Any] = {"hnsw:space": "cosine", **identity.as_metadata()}
                self._collection = self.client.get_or_create_collection(
                    self.name, metadata=metadata, embedding_function=None
                )
                collection = self._collection
            stored = EmbedderIdentity.from_metadata(collection.metadata)
            if stored is None:
                if collection.count() == 0:
                    _record_identity(collection, identity)
                    return True
                raise ConfigurationError(
                    f"collection {self.name!r} holds vectors but records no embedder; refusing to add vectors "
                    f"from {identity} to it. Use another --collection."
                )
            if stored.conflicts_with(identity):
                raise ConfigurationError(embedder_mismatch_message(self.name, stored, identity))
            if stored.dimension is None and identity.dimension is not None:
                _record_identity(collection, identity)
            return True

    # -- writes -----------------------------------------------------------------------------
    def upsert(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]) -> None:
        if len(chunks) != len(embeddings):
            raise ValueError(f"{len(chunks)} chunks but {len(embeddings)} embeddings")
        if not chunks:
            return  # Chroma rejects an empty upsert
        collection = self._require()
        step = self.max_batch_size
        for start in range(0, len(chunks), step):
            batch = chunks[start : start + step]
            with self._lock:
                # No documents: the text lives in the index database beside Chroma, and Chroma
                # would build a trigram full-text index over it (measured: 60% of ingest time).
                collection.upsert(
                    ids=[c.chunk_id for c in batch],
                    embeddings=_as_matrix(embeddings[start : start + step]),
                    metadatas=[c.store_metadata() for c in batch],
                )

    def delete(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        if not ids:
            return
        collection = self._get()
        if collection is None:
            return
        step = self.max_batch_size
        for start in range(0, len(ids), step):
            with self._lock:
                collection.delete(ids=ids[start : start + step])

    # -- damage -----------------------------------------------------------------------------
    def damage(self) -> str | None:
        """Why the local collection cannot be read, or None when it can (or is not local).

        Chroma rewrites its HNSW segment files (index_metadata.pickle, data_level0.bin, ...)
        in place, so a process killed during a flush can leave them truncated; from then on
        every call on the collection, count() included, fails with an InternalError about the
        segment. A Chroma server is left alone: an error there may be the network."""
        if getattr(self.settings, "chroma_host", None):
            return None
        collection = self._get()
        if collection is None:
            return None
        try:
            with self._lock:
                collection.count()
        except Exception as exc:
            text = str(exc)
            if any(word in text.lower() for word in ("hnsw", "segment", "pickle", "compact")):
                return text
            raise
        return None

    def recreate(self) -> None:
        """Drop the collection and create it empty with the same metadata (its embedder)."""
        with self._lock:
            collection = self._get()
            if collection is None:
                return
            metadata = dict(collection.metadata or {})
            self.client.delete_collection(self.name)
            self._collection = self.client.get_or_create_collection(self.name, metadata=metadata, embedding_function=None)

    # -- reads ------------------------------------------------------------------------------
    def count(self) -> int:
        collection = self._get()
        return int(collection.count()) if collection is not None else 0

    def query(self, embedding: Sequence[float], n_results: int, where: dict[str, Any] | None = None) -> list[VectorHit]:
        collection = self._get()
        if collection is None or n_results < 1:
            return []
        with self._lock:
            result = collection.query(
                query_embeddings=[list(embedding)],
                n_results=int(n_results),
                where=where or None,
                include=["metadatas", "distances"],
            )
        ids = result["ids"][0]
        metadatas = (result.get("metadatas") or [[]])[0] or [{}] * len(ids)
        distances = (result.get("distances") or [[]])[0] or [0.0] * len(ids)
        # cosine space: distance = 1 - cosine similarity
        return [
            VectorHit(chunk_id, 1.0 - float(distance), dict(metadata or {}))
            for chunk_id, metadata, distance in zip(ids, metadatas, distances)
        ]

    def _require(self):
        collection = self._get()
        if collection is None:
            raise RuntimeError(f"collection {self.name!r} is not open for writing; call open_for() first")
        return collection

    def close(self) -> None:
        with self._lock:
            client, self._client, self._collection = self._client, None, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing must never mask the run's own outcome
                log.debug("closing the Chroma client failed", exc_info=True)


def _as_matrix(vectors: Any) -> Any:
    import numpy as np

    return np.asarray(vectors, dtype=np.float32)


def _record_identity(collection: Any, identity: EmbedderIdentity) -> None:
    # Chroma refuses any hnsw:* key in modify(), even unchanged; the space lives in the config
    kept = {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:")}
    collection.modify(metadata={**kept, **identity.as_metadata()})


def _is_not_found(exc: Exception) -> bool:
    name = type(exc).__name__
    text = str(exc).lower()
    return name in ("NotFoundError", "InvalidCollectionException") or "does not exist" in text or "not found" in text
