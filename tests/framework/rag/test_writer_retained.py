"""Chunks kept by cleanup "none" are remembered and removed later, crash-safely; the writer
counts the stale chunks it removes."""

from __future__ import annotations

import pytest

from framework.rag.records import RecordStore
from framework.rag.vector_store import ChromaStore
from tests.framework.rag._helpers import store_state
from tests.framework.rag.test_writer import update, writer_for

OLD = "Old text about hotels and their nightly caps. " * 8
NEW = "New text about meals, taxis and daily allowances. " * 8


class Crash(Exception):
    pass


def crash(*args, **kwargs):
    raise Crash()


def ids_of(*updates) -> set[str]:
    return {chunk.chunk_id for u in updates for chunk in u.chunks}


def kept_by_cleanup_none(tmp_path):
    writer = writer_for(tmp_path, cleanup="none")
    old, new = update("a.txt", OLD), update("a.txt", NEW)
    assert writer.write([old]) == 0
    assert writer.write([new]) == 0  # nothing removed: kept, and listed as retained
    stale = ids_of(old) - ids_of(new)
    assert stale and writer.store.records.retained() == {"a.txt": sorted(stale)}
    writer.store.close()
    return old, new, stale


def test_remove_retained_deletes_from_both_indexes_and_fixes_the_count(tmp_path):
    old, new, stale = kept_by_cleanup_none(tmp_path)
    assert store_state(tmp_path / "db", "docs").sources == {"a.txt": len(ids_of(old) | ids_of(new))}
    writer = writer_for(tmp_path, cleanup="incremental")
    assert writer.remove_retained() == (len(stale), 1)
    assert writer.remove_retained() == (0, 0)
    writer.store.close()
    state = store_state(tmp_path / "db", "docs")
    assert state.consistent and state.chroma_ids == ids_of(new) and state.sources == {"a.txt": len(ids_of(new))}


def test_a_kill_between_the_commit_and_the_vector_delete_leaves_no_orphan(tmp_path, monkeypatch):
    _, new, stale = kept_by_cleanup_none(tmp_path)
    writer = writer_for(tmp_path, cleanup="incremental")
    monkeypatch.setattr(ChromaStore, "delete", crash)
    with pytest.raises(Crash):
        writer.remove_retained()
    monkeypatch.undo()
    writer.store.close()
    middle = store_state(tmp_path / "db", "docs")
    assert middle.lexical_ids == ids_of(new) and middle.chroma_ids == ids_of(new) | stale
    assert set(middle.pending) == stale

    again = writer_for(tmp_path, cleanup="incremental")
    assert again.reconcile_pending() == len(stale)
    assert again.remove_retained() == (0, 0)  # already off the list
    again.store.close()
    final = store_state(tmp_path / "db", "docs")
    assert final.consistent and final.chroma_ids == ids_of(new)


def test_a_kill_inside_the_transaction_changes_nothing(tmp_path, monkeypatch):
    _, new, stale = kept_by_cleanup_none(tmp_path)
    writer = writer_for(tmp_path, cleanup="incremental")
    monkeypatch.setattr(RecordStore, "set_chunk_count", crash)
    with pytest.raises(Crash):
        writer.remove_retained()
    monkeypatch.undo()
    writer.store.close()
    middle = store_state(tmp_path / "db", "docs")
    assert middle.lexical_ids == ids_of(new) | stale and not middle.pending and middle.consistent

    again = writer_for(tmp_path, cleanup="incremental")
    assert again.remove_retained() == (len(stale), 1)
    again.store.close()
    assert store_state(tmp_path / "db", "docs").chroma_ids == ids_of(new)


def test_an_incremental_rewrite_removes_and_counts_every_older_version(tmp_path):
    old, new, stale = kept_by_cleanup_none(tmp_path)
    writer = writer_for(tmp_path, cleanup="incremental")
    third = update("a.txt", "A third version about parking. " * 8)
    assert writer.write([third]) == len((ids_of(old) | ids_of(new)) - ids_of(third))
    assert writer.store.records.retained() == {}
    writer.store.close()
    state = store_state(tmp_path / "db", "docs")
    assert state.consistent and state.chroma_ids == ids_of(third)


def test_a_version_brought_back_is_not_retained_and_delete_clears_the_list(tmp_path):
    old, new, _ = kept_by_cleanup_none(tmp_path)
    writer = writer_for(tmp_path, cleanup="none")
    writer.write([update("a.txt", OLD)])  # the first version again: current, so not stale
    assert writer.store.records.retained() == {"a.txt": sorted(ids_of(new) - ids_of(old))}
    writer.cleanup = "incremental"
    assert writer.delete_sources(["a.txt"]) == len(ids_of(old) | ids_of(new))
    assert writer.store.records.retained() == {}
    writer.store.close()
    assert store_state(tmp_path / "db", "docs").chroma_ids == set()
