"""Repeatable retrieval: every ranking (BM25, dense, the fused one) orders equal scores by
chunk id, and BM25 drops hits that share only very common words with the query."""

from __future__ import annotations

import pytest

from framework.rag import DocumentInput, get_rag
from framework.rag.fusion import reciprocal_rank_fusion
from framework.rag.lexical import LexicalHit, drop_unmatched

from ._helpers import make_settings

SAME = "Hotel stays are reimbursed up to INR 5,000 per night for every employee on a business trip."
OTHERS = [
    "Taxi fares are reimbursed at actuals within the city.",
    "The meal allowance is INR 800 per day on travel.",
    "Laptops are replaced every four years by the IT desk.",
]


def test_fusion_breaks_ties_by_id_whatever_the_input_order():
    assert [doc for doc, _ in reciprocal_rank_fusion([["b"], ["a"]])] == ["a", "b"]
    assert [doc for doc, _ in reciprocal_rank_fusion([["a"], ["b"]])] == ["a", "b"]
    # c and a both sit at rank 1 of one list and rank 2 of the other: a tie
    fused = reciprocal_rank_fusion([["c", "a", "z"], ["a", "c"]])
    assert [doc for doc, _ in fused] == ["a", "c", "z"]


def hit(chunk_id: str, score: float) -> LexicalHit:
    return LexicalHit(chunk_id, chunk_id, "", {}, score)


def test_drop_unmatched_keeps_real_matches_and_tiny_stores():
    padded = [hit("a", 3.2), hit("b", 0.4), hit("c", 2.7e-6), hit("d", 1.2e-6)]
    assert [h.chunk_id for h in drop_unmatched(padded, n_terms=5)] == ["a", "b"]
    # every hit at the clamped scale (a store of one or two chunks): nothing to tell apart, keep
    tiny = [hit("a", 4.1e-6), hit("b", 1.1e-6)]
    assert drop_unmatched(tiny, n_terms=5) == tiny
    assert drop_unmatched([], n_terms=3) == []
    # with the store's size known: a question of common words only gets nothing from a real
    # store, and a tiny store (where every word is common) keeps its hits
    assert drop_unmatched(tiny, n_terms=5, store_chunks=56) == []
    assert drop_unmatched(tiny, n_terms=5, store_chunks=3) == tiny
    assert [h.chunk_id for h in drop_unmatched(padded, n_terms=5, store_chunks=56)] == ["a", "b"]


@pytest.fixture(scope="module")
def duplicated_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ties")
    settings = make_settings(tmp)
    documents = [DocumentInput(source=f"copy_{n}.md", text=SAME) for n in range(5)]
    documents += [DocumentInput(source=f"other_{n}.md", text=text) for n, text in enumerate(OTHERS)]
    with get_rag(settings) as rag:
        rag.add_documents(documents)
    rag = get_rag(settings)
    yield rag
    rag.close()


@pytest.mark.parametrize("retriever", ["bm25", "dense", "hybrid"])
def test_equal_scores_come_in_chunk_id_order_every_time(duplicated_store, retriever):
    rag = duplicated_store
    copies = sorted(h.chunk_id for h in rag.query(SAME, top_k=10, retriever="bm25") if h.text == SAME)
    assert len(copies) == 5
    first = rag.query("hotel stays per night on a business trip", top_k=3, retriever=retriever)
    assert [h.chunk_id for h in first] == copies[:3]  # the five copies tie: the lowest ids win
    for _ in range(5):
        again = rag.query("hotel stays per night on a business trip", top_k=3, retriever=retriever)
        assert [(h.chunk_id, h.score) for h in again] == [(h.chunk_id, h.score) for h in first]
