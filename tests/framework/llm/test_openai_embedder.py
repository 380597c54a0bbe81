"""OpenAICompatibleEmbedder: batches, order, dimension, retries per batch, quota stops."""

from __future__ import annotations

import pytest

from framework.config import Settings
from framework.embeddings.openai_compat import OpenAICompatibleEmbedder
from framework.errors import ProviderError
from tests.support.fake_openai import FakeOpenAIServer, Reply, fake_embedding


@pytest.fixture()
def srv():
    with FakeOpenAIServer(embedding_dim=12) as server:
        yield server


def embedder(srv, **kwargs) -> OpenAICompatibleEmbedder:
    settings = Settings(_env_file=None, EMBEDDING_BASE_URL=srv.base_url, EMBEDDING_MODEL="fake-embed", EMBEDDING_BATCH_SIZE=3)
    kwargs.setdefault("max_retries", 2)
    return OpenAICompatibleEmbedder(settings, timeout_s=5, **kwargs)


def test_embeds_in_batches_keeping_order(srv):
    texts = [f"text {i}" for i in range(7)] + [""]
    emb = embedder(srv)
    vectors = emb.embed(texts)
    assert vectors[:7] == [fake_embedding(t, 12) for t in texts[:7]]
    assert len(vectors) == 8 and emb.dimension == 12
    assert [len(r.json["input"]) for r in srv.requests] == [3, 3, 2]
    assert srv.requests[-1].json["input"][-1] == " "  # empty text still gets a vector
    assert emb.name == "openai:fake-embed" and emb.model == "fake-embed"
    assert emb.embed([]) == []


def test_dimension_is_learned_by_asking_once(srv):
    emb = embedder(srv)
    assert emb.dimension == 12 and emb.dimension == 12
    assert len(srv.requests) == 1
    assert embedder(srv, dimension=12).dimension == 12 and len(srv.requests) == 1


def test_a_failing_batch_is_retried_alone(srv):
    srv.script(Reply(), Reply.server_error(500, html=False))
    vectors = embedder(srv).embed([f"t{i}" for i in range(6)])
    assert len(vectors) == 6
    assert srv.statuses() == [200, 500, 200]


def test_quota_stops_immediately(srv):
    srv.script(Reply.quota(), Reply.quota(), Reply.quota())
    with pytest.raises(ProviderError) as info:
        embedder(srv, max_retries=5).embed(["a", "b", "c", "d"])
    assert info.value.kind == "quota"
    assert len(srv.requests) == 1


def test_wrong_count_is_malformed(srv):
    srv.script(Reply(json={"object": "list", "data": [{"index": 0, "embedding": [0.1]}]}))
    with pytest.raises(ProviderError) as info:
        embedder(srv).embed(["a", "b"])
    assert info.value.kind == "malformed_response"


def test_rate_limited_batch_waits_retry_after(srv):
    srv.script(Reply.rate_limit(retry_after=0.3))
    assert len(embedder(srv).embed(["a"])) == 1
    assert srv.statuses() == [429, 200]
    assert srv.requests[1].t - srv.requests[0].t >= 0.3
