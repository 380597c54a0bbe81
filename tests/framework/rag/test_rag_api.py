"""get_rag(): add_documents, query (bm25 / dense / hybrid, where), delete, count, threads, identity."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from framework.errors import ConfigurationError
from framework.rag import DocumentInput, RetrievedChunk, get_rag
from tests.framework.rag._helpers import make_settings, store_state

DOCS = [
    DocumentInput(source="hotels.md", text="# Hotels\n\nHotel stays are capped at 4000 INR per night.", file_type="markdown"),
    DocumentInput(source="meals.txt", text="Meals are reimbursed up to 1200 INR per day with receipts."),
    DocumentInput(source="cabs.txt", text="Airport cabs need a manager approval when above 2000 INR.", metadata={"team": "ops"}),
]


@pytest.fixture
def rag(tmp_path):
    rag = get_rag(make_settings(tmp_path), persist_dir=tmp_path / "db", collection="policies")
    rag.add_documents(DOCS)
    yield rag
    rag.close()


@pytest.mark.parametrize("retriever", ["bm25", "dense", "hybrid"])
def test_query_finds_the_right_chunk(rag, retriever):
    hits = rag.query("hotel cap per night", top_k=2, retriever=retriever)
    assert hits and isinstance(hits[0], RetrievedChunk)
    assert hits[0].source == "hotels.md" and "4000 INR" in hits[0].text
    assert hits[0].metadata["heading"] == "Hotels" and hits[0].metadata["chunk_index"] == 0
    assert hits[0].retriever == retriever and hits[0].ranks
    assert all(h.score >= hits[-1].score for h in hits)


def test_where_filters_both_retrievers(rag):
    for retriever in ("bm25", "dense", "hybrid"):
        hits = rag.query("INR", top_k=5, where={"source": {"$in": ["meals.txt", "cabs.txt"]}}, retriever=retriever)
        assert {h.source for h in hits} <= {"meals.txt", "cabs.txt"} and hits
        assert [h.source for h in rag.query("INR approval", where={"team": "ops"}, retriever=retriever)] == ["cabs.txt"]


def test_counts_deletes_and_replacements(rag, tmp_path):
    assert rag.count() == 3 and rag.sources() == ["cabs.txt", "hotels.md", "meals.txt"]
    assert rag.delete("meals.txt") == 1 and rag.delete("meals.txt") == 0
    assert rag.count() == 2 and not rag.query("meals reimbursed", retriever="bm25")
    rag.add_documents([DocumentInput(source="hotels.md", text="Hotels: 5000 INR per night from 2025.")])
    assert rag.count() == 2
    (hit,) = rag.query("hotels night", top_k=1)
    assert "5000" in hit.text
    state = store_state(tmp_path / "db", "policies")
    assert state.consistent and len(state.chroma_ids) == 2


def test_empty_and_odd_queries(rag):
    assert rag.query("   ") == [] and rag.query("x", top_k=0) == []
    assert rag.query('"AND" OR NEAR( column: * ^') == [] or True  # FTS syntax in user text is just words
    with pytest.raises(ConfigurationError, match="unknown retriever"):
        rag.query("hotel", retriever="colbert")


def test_queries_from_many_threads(rag):
    questions = ["hotel night cap", "meal receipts", "airport cab approval"] * 20
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda q: rag.query(q, top_k=1, retriever="hybrid")[0].source, questions))
    assert results == ["hotels.md", "meals.txt", "cabs.txt"] * 20


def test_querying_with_another_embedder_is_an_error(rag, tmp_path):
    other = get_rag(
        make_settings(tmp_path, EMBEDDING_MODEL="wordllama-l2_supercat-128"), persist_dir=tmp_path / "db", collection="policies"
    )
    with pytest.raises(ConfigurationError, match=r"offline:wordllama-l2_supercat-256 \(256 dims\).*offline:wordllama-l2_supercat-128"):
        other.query("hotel", retriever="dense")
    with pytest.raises(ConfigurationError):
        other.query("hotel", retriever="hybrid")
    # BM25 uses no embedder: any configured embedder may query it
    assert other.query("hotel", retriever="bm25")
    with pytest.raises(ConfigurationError):
        other.add_documents(["anything"])
    other.close()
    assert rag.count() == 3


def test_missing_store_is_a_clear_error(tmp_path):
    rag = get_rag(make_settings(tmp_path), persist_dir=tmp_path / "nothing", collection="policies")
    assert rag.count() == 0
    with pytest.raises(ConfigurationError, match="run `python -m scripts.batch.batch_rag_ingest` first"):
        rag.query("hotel")
    assert not (tmp_path / "nothing").exists()


def test_invalid_collection_name_fails_before_anything(tmp_path):
    with pytest.raises(ConfigurationError, match="3-63 characters"):
        get_rag(make_settings(tmp_path), persist_dir=tmp_path / "db", collection="HR")
    assert not (tmp_path / "db").exists()


def test_add_extracted_documents_and_library_metadata(tmp_path):
    from framework.documents import DocumentProcessor

    path = tmp_path / "front.md"
    path.write_text("---\ntitle: Relocation\ntags: [a, b]\n---\n# Relocation\n\nFifteen nights of hotel stay.\n")
    settings = make_settings(tmp_path)
    document = DocumentProcessor(settings, use_cache=False).extract(path)
    with get_rag(settings, persist_dir=tmp_path / "db", collection="lib") as rag:
        ids = rag.add_documents([document], sources=["front.md"], metadatas=[{"owner": {"team": "hr"}, "none": None}])
        (hit,) = rag.query("hotel nights", top_k=1)
        assert hit.chunk_id == ids[0] and hit.text.startswith("# Relocation")
        assert hit.metadata["title"] == "Relocation" and hit.metadata["owner"] == '{"team": "hr"}'
        assert "none" not in hit.metadata
        assert rag.delete(source="front.md") == 1 and rag.count() == 0
