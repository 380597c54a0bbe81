"""The write protocol: client-sized batches, and no duplicates or orphans after a crash."""

from __future__ import annotations

import pytest

from framework.embeddings import get_embedder
from framework.errors import ConfigurationError
from framework.rag.chunking import Chunker, ChunkingConfig
from framework.rag.store import RagStore
from framework.rag.vector_store import ChromaStore, validate_collection_name
from framework.rag.writer import FileUpdate, IndexWriter
from tests.framework.rag._helpers import CASES, make_settings, store_state


def update(source: str, text: str, size: int = 100) -> FileUpdate:
    chunks = Chunker(ChunkingConfig(120, 0)).chunk_pages(source, [(1, text)])
    return FileUpdate(source=source, chunks=chunks, size=size, mtime_ns=1, sha256=source + text[:8])


def writer_for(tmp_path, **kwargs) -> IndexWriter:
    settings = make_settings(tmp_path)
    store = RagStore(settings, tmp_path / "db", "docs")
    return IndexWriter(store, get_embedder(settings), chunking_signature="sig", **kwargs)


LONG = " ".join(f"Paragraph {i} talks about hotel {i} and meal {i}." for i in range(40))


def test_upserts_never_exceed_the_client_batch_size(tmp_path, monkeypatch):
    monkeypatch.setattr(ChromaStore, "max_batch_size", property(lambda self: 7))
    calls = []
    original = ChromaStore.upsert

    def spy(self, chunks, embeddings):
        calls.append(len(chunks))
        return original(self, chunks, embeddings)

    monkeypatch.setattr(ChromaStore, "upsert", spy)
    writer = writer_for(tmp_path)
    big = update("big.txt", LONG)
    assert len(big.chunks) > 14
    writer.write([big])
    assert max(calls) <= 7 and sum(calls) == len(big.chunks)
    state = store_state(tmp_path / "db", "docs")
    assert state.consistent and state.sources == {"big.txt": len(big.chunks)}
    writer.store.close()


def test_crash_after_upsert_before_record_leaves_nothing_behind(tmp_path, monkeypatch):
    writer = writer_for(tmp_path)
    writer.write([update("keep.txt", "Keep this text about hotels.")])

    from framework.rag.records import RecordStore

    class Crash(Exception):
        pass

    def crash(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(RecordStore, "put", crash)
    with pytest.raises(Crash):
        writer.write([update("lost.txt", LONG)])
    monkeypatch.undo()
    writer.store.close()

    middle = store_state(tmp_path / "db", "docs")
    assert middle.pending and len(middle.chroma_ids) > len(middle.lexical_ids)  # vectors upserted, not recorded

    # the file vanished before the next run: its vectors must not stay as orphans
    again = writer_for(tmp_path)
    assert again.reconcile_pending() == len(middle.chroma_ids) - len(middle.lexical_ids)
    again.store.close()
    final = store_state(tmp_path / "db", "docs")
    assert final.consistent and set(final.sources) == {"keep.txt"}


def test_cleanup_modes_for_a_changed_file(tmp_path):
    writer = writer_for(tmp_path, cleanup="none")
    writer.write([update("a.txt", "Old text about hotels. " * 10)])
    before = store_state(tmp_path / "db", "docs").lexical_ids
    writer.write([update("a.txt", "New text about meals. " * 10)])
    kept = store_state(tmp_path / "db", "docs")
    assert before <= kept.lexical_ids and kept.chroma_ids == kept.lexical_ids and kept.consistent
    writer.cleanup = "incremental"
    writer.write([update("a.txt", "New text about meals. " * 10)])
    cleaned = store_state(tmp_path / "db", "docs")
    assert not (before & cleaned.lexical_ids) and cleaned.consistent
    assert writer.delete_sources(["a.txt"]) == len(cleaned.lexical_ids)
    assert store_state(tmp_path / "db", "docs").chroma_ids == set()
    writer.store.close()


def test_collection_names_from_the_case_file():
    names = (CASES / "C13_store_preflight_and_lock" / "collection_names.txt").read_text().split("\n")
    names = [n for n in names if n]
    valid = [n for n in names if _valid(n)]
    assert valid == ["ok-name_1"]


def _valid(name: str) -> bool:
    try:
        validate_collection_name(name)
        return True
    except ConfigurationError as exc:
        assert "3-63 characters" in str(exc) and repr(name) in str(exc)
        return False
