"""get_embedder and the offline / sentence-transformers providers; identities that guard stores."""

from __future__ import annotations

import math
import sys
import types

import pytest

from framework.config import Settings
from framework.embeddings import (
    DEFAULT_OFFLINE_MODEL,
    EmbedderIdentity,
    OpenAIEmbedder,
    WordLlamaEmbedder,
    get_embedder,
)
from framework.errors import ConfigurationError


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_offline_is_the_default_and_states_its_identity():
    embedder = get_embedder(settings())
    assert isinstance(embedder, WordLlamaEmbedder)
    assert embedder.identity == {"provider": "offline", "model": DEFAULT_OFFLINE_MODEL, "dimension": 256}


def test_offline_vectors_are_unit_length_deterministic_and_aligned():
    embedder = get_embedder(settings())
    texts = ["Hotel stays are capped at 4000 INR per night.", "", "Meals up to 1200 INR per day."]
    first, again = embedder.embed(texts), embedder.embed(texts)
    assert first == again and len(first) == 3
    assert all(len(v) == 256 for v in first)
    assert math.isclose(sum(x * x for x in first[0]), 1.0, rel_tol=1e-5)
    assert not any(first[1])  # a blank text has no tokens: a zero vector, not NaN
    assert embedder.embed([]) == []
    assert embedder.embed_query(texts[0]) == first[0]


def test_offline_fast_path_matches_wordllama_itself():
    """We pool unpadded token ids ourselves (5x faster); the vectors must not change."""
    from pathlib import Path

    import numpy as np
    import wordllama
    from wordllama import WordLlama

    texts = ["short", "a somewhat longer sentence about hotel caps and meal limits " * 5]
    reference = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True).embed(texts, norm=True)
    ours = np.asarray(get_embedder(settings()).embed(texts))
    assert np.allclose(ours, reference, atol=1e-5)


def test_offline_needs_no_network(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("the offline embedder tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert len(WordLlamaEmbedder().embed(["no network needed"])[0]) == 256


@pytest.mark.parametrize("model, dimension", [("wordllama-l2_supercat-64", 64), ("wordllama-l2_supercat-128", 128)])
def test_offline_smaller_sizes(model, dimension):
    embedder = get_embedder(settings(EMBEDDING_MODEL=model))
    assert embedder.dimension == dimension and len(embedder.embed(["x y"])[0]) == dimension


def test_unknown_offline_model_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="wordllama-l2_supercat-256"):
        get_embedder(settings(EMBEDDING_MODEL="all-MiniLM-L6-v2"))


def test_openai_provider_through_the_fake_server():
    from tests.support.fake_openai import FakeOpenAIServer, fake_embedding

    with FakeOpenAIServer(embedding_dim=24) as server:
        embedder = get_embedder(
            settings(EMBEDDING_PROVIDER="openai", EMBEDDING_BASE_URL=server.base_url, EMBEDDING_MODEL="fake-embed")
        )
        assert isinstance(embedder, OpenAIEmbedder)
        # the identity without asking: provider and model are known, the dimension is not
        assert EmbedderIdentity.of(embedder, resolve_dimension=False) == EmbedderIdentity("openai", "fake-embed", None)
        assert server.requests == []
        assert embedder.embed_query("hello") == fake_embedding("hello", 24)
        assert embedder.identity == {"provider": "openai", "model": "fake-embed", "dimension": 24}
        embedder.close()


def test_sentence_transformers_needs_a_local_folder(tmp_path):
    with pytest.raises(ConfigurationError, match="local model folder"):
        get_embedder(settings(EMBEDDING_PROVIDER="sentence-transformers"))
    with pytest.raises(ConfigurationError, match="nothing is downloaded"):
        get_embedder(settings(EMBEDDING_PROVIDER="sentence-transformers", EMBEDDING_MODEL="all-MiniLM-L6-v2"))


def test_sentence_transformers_loads_the_folder_offline(tmp_path, monkeypatch):
    import numpy as np

    calls = {}

    class FakeModel:
        def __init__(self, path, device, local_files_only):
            calls.update(path=path, local_files_only=local_files_only)

        def get_sentence_embedding_dimension(self):
            return 3

        def encode(self, texts, **kwargs):
            calls["normalize"] = kwargs.get("normalize_embeddings")
            return np.ones((len(texts), 3), dtype=np.float32)

    monkeypatch.setitem(sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=FakeModel))
    folder = tmp_path / "sites" / "all-MiniLM-L6-v2"
    folder.mkdir(parents=True)
    embedder = get_embedder(settings(EMBEDDING_PROVIDER="sentence-transformers", EMBEDDING_MODEL=str(folder)))
    assert embedder.identity == {"provider": "sentence-transformers", "model": "all-MiniLM-L6-v2", "dimension": 3}
    assert embedder.embed(["a", "b"]) == [[1.0, 1.0, 1.0]] * 2
    assert calls["local_files_only"] is True and calls["normalize"] is True


def test_sentence_transformers_missing_library_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import raises ImportError
    embedder = get_embedder(settings(EMBEDDING_PROVIDER="sentence-transformers", EMBEDDING_MODEL=str(tmp_path)))
    with pytest.raises(ConfigurationError, match="pip install sentence-transformers"):
        embedder.embed(["x"])


def test_identity_conflicts():
    offline = EmbedderIdentity("offline", "m", 256)
    assert offline.conflicts_with(EmbedderIdentity("offline", "m", 128))
    assert offline.conflicts_with(EmbedderIdentity("openai", "m", 256))
    assert not offline.conflicts_with(EmbedderIdentity("offline", "m", None))  # dimension not known yet
    assert EmbedderIdentity.from_metadata(offline.as_metadata()) == offline
    assert EmbedderIdentity.from_metadata({"hnsw:space": "cosine"}) is None
    assert str(offline) == "offline:m (256 dims)"
