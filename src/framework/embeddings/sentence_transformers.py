"""A local sentence-transformers model folder, for air-gapped sites that have one.

Nothing is downloaded: EMBEDDING_MODEL must be a directory on disk, the hub is switched to
offline mode before the library loads, and `local_files_only` is passed as well. The
library (and torch) are optional: only this provider needs them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from framework.errors import ConfigurationError

from .base import EmbedderBase


class SentenceTransformerEmbedder(EmbedderBase):
    provider = "sentence-transformers"

    def __init__(self, model_dir: str | Path, *, batch_size: int = 64, device: str | None = None) -> None:
        if not str(model_dir).strip():
            raise ConfigurationError(
                "EMBEDDING_PROVIDER=sentence-transformers needs EMBEDDING_MODEL set to a local model folder"
            )
        path = Path(model_dir).expanduser()
        if not path.is_dir():
            raise ConfigurationError(
                f"EMBEDDING_MODEL={model_dir!s} is not a folder; the sentence-transformers provider only loads "
                "a model already on disk (nothing is downloaded)"
            )
        self.path = path.resolve()
        # The identity must not depend on where a site keeps the folder, only on which model it is.
        self.model = self.path.name
        self.batch_size = batch_size
        self.device = device or "cpu"
        self._lock = threading.Lock()
        self._model = None
        self._dimension: int | None = None

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError:
                    raise ConfigurationError(
                        "EMBEDDING_PROVIDER=sentence-transformers needs the 'sentence-transformers' package "
                        "(and torch) installed: pip install sentence-transformers"
                    ) from None
                try:
                    model = SentenceTransformer(str(self.path), device=self.device, local_files_only=True)
                except Exception as exc:
                    raise ConfigurationError(f"cannot load the sentence-transformers model in {self.path}: {exc}") from None
                self._dimension = int(model.get_sentence_embedding_dimension())
                self._model = model
        return self._model

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._load()
        assert self._dimension is not None
        return self._dimension

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._load()
        vectors = model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()
