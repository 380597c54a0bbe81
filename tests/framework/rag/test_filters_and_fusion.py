"""One `where` syntax for both retrievers, and reciprocal rank fusion."""

from __future__ import annotations

import json
import sqlite3

import pytest

from framework.rag.filters import FilterError, normalize_where, where_to_sql
from framework.rag.fusion import reciprocal_rank_fusion

ROWS = [
    {"source": "a.md", "page": 1, "file_type": "markdown", "ocr": False},
    {"source": "b.pdf", "page": 2, "file_type": "pdf", "ocr": True},
    {"source": "c.pdf", "page": 7, "file_type": "pdf"},
]


def matching(where):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (metadata TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [(json.dumps(r),) for r in ROWS])
    sql, params = where_to_sql(normalize_where(where))
    return sorted(json.loads(m)["source"] for (m,) in conn.execute(f"SELECT metadata FROM t WHERE {sql}", params))


@pytest.mark.parametrize(
    "where, expected",
    [
        ({"source": "a.md"}, ["a.md"]),
        ({"file_type": "pdf", "page": {"$gte": 5}}, ["c.pdf"]),
        ({"$or": [{"page": 1}, {"page": {"$gt": 6}}]}, ["a.md", "c.pdf"]),
        ({"source": {"$in": ["a.md", "c.pdf"]}}, ["a.md", "c.pdf"]),
        ({"source": {"$nin": ["a.md"]}}, ["b.pdf", "c.pdf"]),
        ({"ocr": True}, ["b.pdf"]),
        ({"ocr": {"$ne": True}}, ["a.md", "c.pdf"]),
        (None, ["a.md", "b.pdf", "c.pdf"]),
    ],
)
def test_where_in_sql(where, expected):
    assert matching(where) == expected


def test_several_keys_become_an_explicit_and():
    assert normalize_where({"a": 1, "b": {"$lt": 2}}) == {"$and": [{"a": {"$eq": 1}}, {"b": {"$lt": 2}}]}


@pytest.mark.parametrize("where", [{"a": [1, 2]}, {"a": {"$like": "x"}}, {"$not": {}}, {"a": {"$in": []}}, {"$and": []}])
def test_bad_filters_are_reported(where):
    with pytest.raises(FilterError):
        normalize_where(where)


def test_rrf_rewards_agreement_and_respects_weights():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "b", "d"]])
    assert [doc for doc, _ in fused][:2] == ["b", "c"] or [doc for doc, _ in fused][:2] == ["c", "b"]
    assert {doc for doc, _ in fused} == {"a", "b", "c", "d"}
    weighted = reciprocal_rank_fusion([["a", "b"], ["b", "x"]], [1.0, 0.1])
    assert [doc for doc, _ in weighted][0] == "b" and [doc for doc, _ in weighted][1] == "a"
    light = reciprocal_rank_fusion([["a", "b"], ["x"]], [1.0, 0.1])
    assert [doc for doc, _ in light] == ["a", "b", "x"]
