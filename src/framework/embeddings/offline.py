"""The offline default: WordLlama's static token embeddings, which ship inside its wheel.

A static embedder averages one fixed vector per token, so it needs no network, no torch and
about 20 MB of memory, and embeds thousands of chunks per second on one core. It is weaker
than a transformer (see the benchmark table in the RAG report), which is why BM25 stays the
default retriever and this embedder mostly widens recall in hybrid mode.

WordLlama looks for its files next to its own package before trying to download them; we
also pass `disable_download=True`, so a broken install fails loudly instead of reaching out.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from framework.errors import ConfigurationError

from .base import EmbedderBase

if TYPE_CHECKING:
    import numpy as np

DEFAULT_OFFLINE_MODEL = "wordllama-l2_supercat-256"
_CONFIG = "l2_supercat"
_STORED_DIM = 256  # the weights file in the wheel; smaller sizes are Matryoshka truncations
_SIZES = (64, 128, 256)


def available_offline_models() -> list[str]:
    return [f"wordllama-{_CONFIG}-{size}" for size in _SIZES]


def _dimension_of(model: str) -> int:
    if model not in available_offline_models():
        raise ConfigurationError(
            f"unknown offline embedding model {model!r}; choose one of {', '.join(available_offline_models())} "
            "(or leave EMBEDDING_MODEL empty for the default)"
        )
    return int(model.rsplit("-", 1)[1])


class WordLlamaEmbedder(EmbedderBase):
    provider = "offline"

    def __init__(self, model: str | None = None) -> None:
        self.model = model or DEFAULT_OFFLINE_MODEL
        self._dimension = _dimension_of(self.model)
        self._lock = threading.Lock()
        self._matrix: np.ndarray | None = None
        self._tokenizer = None

    @property
    def dimension(self) -> int:
        return self._dimension

    def _load(self) -> None:
        with self._lock:
            if self._matrix is not None:
                return
            import numpy as np

            try:
                import wordllama
                from wordllama import WordLlama
            except ImportError as exc:  # pragma: no cover - a declared dependency
                raise ConfigurationError(f"the offline embedder needs the 'wordllama' package: {exc}") from None
            package_dir = Path(wordllama.__file__).parent
            try:
                model = WordLlama.load(
                    config=_CONFIG, dim=_STORED_DIM, trunc_dim=None, cache_dir=package_dir, disable_download=True
                )
            except FileNotFoundError as exc:
                raise ConfigurationError(f"WordLlama's bundled weights are missing from {package_dir}: {exc}") from None
            matrix = np.ascontiguousarray(model.embedding[:, : self._dimension], dtype=np.float32)
            tokenizer = model.tokenizer
            # WordLlama pads each batch to its longest text; pooling one text at a time from
            # unpadded ids gives the same vectors about five times faster on long chunks.
            tokenizer.no_padding()
            tokenizer.no_truncation()
            self._tokenizer = tokenizer
            self._matrix = matrix

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (a blank text gets a zero vector)."""
        import numpy as np

        if self._matrix is None:
            self._load()
        matrix, tokenizer = self._matrix, self._tokenizer
        assert matrix is not None and tokenizer is not None
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = tokenizer.encode_batch(list(texts), add_special_tokens=False)
        last = matrix.shape[0] - 1
        for row, encoding in enumerate(encodings):
            ids = encoding.ids
            if ids:
                out[row] = matrix[np.minimum(np.asarray(ids, dtype=np.int64), last)].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        out /= norms
        return out
