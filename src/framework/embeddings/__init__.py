"""Embedders: `get_embedder(settings)` returns the configured one.

    from framework.embeddings import get_embedder
    embedder = get_embedder()
    vectors = embedder.embed(["first text", "second text"])
    embedder.identity  # {"provider": "offline", "model": "wordllama-l2_supercat-256", "dimension": 256}

Providers: `offline` (default; WordLlama static embeddings shipped in the wheel), `openai`
(any OpenAI-compatible endpoint) and `sentence-transformers` (a local model folder).
"""

from __future__ import annotations

from framework.config import Settings, get_settings
from framework.errors import ConfigurationError

from .base import Embedder, EmbedderBase, EmbedderIdentity
from .offline import DEFAULT_OFFLINE_MODEL, WordLlamaEmbedder, available_offline_models

__all__ = [
    "DEFAULT_OFFLINE_MODEL",
    "Embedder",
    "EmbedderBase",
    "EmbedderIdentity",
    "OpenAIEmbedder",
    "WordLlamaEmbedder",
    "available_offline_models",
    "get_embedder",
]


class OpenAIEmbedder(EmbedderBase):
    """Gives the OpenAI-compatible client the Embedder protocol (provider, identity, queries)."""

    provider = "openai"
    remote = True

    def __init__(self, settings: Settings, **kwargs: object) -> None:
        from .openai_compat import OpenAICompatibleEmbedder

        self.client = OpenAICompatibleEmbedder(settings, **kwargs)  # type: ignore[arg-type]
        self.model = self.client.model

    @property
    def dimension(self) -> int:
        return self.client.dimension

    @property
    def known_dimension(self) -> int | None:
        # set once a reply arrived (or configured): lets a no-op run skip the probe request
        return getattr(self.client, "_dimension", None)

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.client.embed(texts) if texts else []

    def close(self) -> None:
        self.client.close()


def get_embedder(settings: Settings | None = None) -> Embedder:
    settings = settings or get_settings()
    provider = settings.embedding_provider
    if provider == "offline":
        return WordLlamaEmbedder(settings.embedding_model or None)
    if provider == "openai":
        return OpenAIEmbedder(settings)
    if provider == "sentence-transformers":
        from .sentence_transformers import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(settings.embedding_model, batch_size=min(settings.embedding_batch_size, 128))
    raise ConfigurationError(f"unknown EMBEDDING_PROVIDER {provider!r}; use offline, openai or sentence-transformers")
