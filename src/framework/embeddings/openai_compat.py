"""Embeddings from any OpenAI-compatible `POST {base_url}/embeddings` (OpenAI, Azure, Ollama,
vLLM, llama.cpp, text-embeddings-inference...).

Texts go in batches of `embedding_batch_size`; each batch is retried on its own through the
shared backoff policy, so a 429 in batch 40 does not redo batches 1-39. An exhausted quota,
a bad key or a wrong model stop at once: no retry can fix them.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from framework.config import Settings, get_settings
from framework.errors import ConfigurationError, ProviderError
from framework.llm import openai_http as wire
from framework.retry import retry_with_backoff

log = logging.getLogger(__name__)

DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"


class OpenAICompatibleEmbedder:
    """`embed(texts)` -> one vector per text, in order. `dimension` is the configured one, or
    learned from the first reply (asking the server once if nothing was embedded yet)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int | None = None,
        dimension: int | None = None,
        timeout_s: float | None = None,
        max_retries: int | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        settings = settings or get_settings()
        self.model = model or settings.embedding_model or DEFAULT_EMBEDDING_MODEL
        self.base_url = (base_url or settings.effective_embedding_base_url or wire.OPENAI_BASE_URL).rstrip("/")
        key = api_key if api_key is not None else settings.api_key
        if not key and self.base_url == wire.OPENAI_BASE_URL:
            raise ConfigurationError(
                "EMBEDDING_PROVIDER=openai needs OPENAI_API_KEY, or EMBEDDING_BASE_URL pointing at a "
                "local OpenAI-compatible server"
            )
        self.batch_size = batch_size or settings.embedding_batch_size
        self.max_retries = settings.llm_max_retries if max_retries is None else max_retries
        self.timeout_s = timeout_s or settings.llm_timeout_s
        self._api_key = key
        self._dimension = dimension
        self._url = wire.endpoint(self.base_url, "embeddings")
        self._client = httpx.Client(
            transport=transport,
            headers=wire.auth_headers(self.base_url, key),
            timeout=wire.make_timeout(self.timeout_s),
            limits=wire.make_limits(4),
        )

    @property
    def name(self) -> str:
        # recorded in a collection's metadata: vectors from another model must not mix in
        return f"openai:{self.model}"

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self.embed(["dimension probe"])
        assert self._dimension is not None
        return self._dimension

    @property
    def known_dimension(self) -> int | None:
        """The dimension if configured or already seen, without asking the server."""
        return self._dimension

    def __repr__(self) -> str:
        return f"OpenAICompatibleEmbedder(model={self.model!r}, base_url={self.base_url!r})"

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            vectors.extend(
                retry_with_backoff(lambda batch=batch: self._embed_batch(batch), max_attempts=self.max_retries + 1, log=log)
            )
        return vectors

    def _payload(self, batch: list[str]) -> dict[str, Any]:
        # OpenAI rejects empty strings; a blank still needs a vector to keep positions aligned
        return {"model": self.model, "input": [text if text.strip() else " " for text in batch]}

    def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        try:
            response = self._client.post(self._url, json=self._payload(batch))
        except httpx.HTTPError as exc:
            raise wire.error_from_exception(exc, self.base_url, self.timeout_s) from None
        if response.status_code >= 300:
            raise wire.error_from_response(response, self._api_key)
        return self._vectors(wire.json_body(response), len(batch), response.status_code)

    def _vectors(self, body: dict[str, Any], expected: int, status: int) -> list[list[float]]:
        data = body.get("data")
        if not isinstance(data, list) or len(data) != expected:
            got = len(data) if isinstance(data, list) else "no"
            raise ProviderError("malformed_response", f"asked for {expected} embeddings, got {got}", status)
        try:
            ordered = sorted(data, key=lambda item: item.get("index", 0))
            vectors = [[float(x) for x in item["embedding"]] for item in ordered]
        except (AttributeError, KeyError, TypeError, ValueError):
            raise ProviderError("malformed_response", "an embedding item lacks a list of numbers", status) from None
        sizes = {len(v) for v in vectors}
        if len(sizes) > 1 or 0 in sizes:
            raise ProviderError("malformed_response", f"embeddings of different sizes: {sorted(sizes)}", status)
        size = sizes.pop()
        if self._dimension is None:
            self._dimension = size
        elif size != self._dimension:
            raise ProviderError(
                "malformed_response", f"{self.model} returned {size}-dimensional vectors, expected {self._dimension}", status
            )
        return vectors

    def close(self) -> None:
        self._client.close()
