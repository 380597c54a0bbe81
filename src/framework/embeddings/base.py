"""The Embedder protocol and the identity that binds a vector collection to one embedder.

Vectors from two models (or one model at two sizes) live in different spaces: mixing them in
one collection silently ruins every dense query. So each collection records the identity of
the embedder that filled it, and every writer and reader compares identities before use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class Embedder(Protocol):
    provider: str
    model: str

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    @property
    def identity(self) -> dict[str, str | int]: ...


@dataclass(frozen=True)
class EmbedderIdentity:
    provider: str
    model: str
    dimension: int | None  # None: not known yet without asking a remote server

    @classmethod
    def of(cls, embedder: Embedder, *, resolve_dimension: bool = True) -> EmbedderIdentity:
        """The embedder's identity; with `resolve_dimension=False` a remote embedder is not
        asked for its dimension (a no-op re-run should not need the network)."""
        dimension: int | None
        if resolve_dimension:
            dimension = int(embedder.dimension)
        else:
            dimension = getattr(embedder, "known_dimension", None)
            if dimension is None and not getattr(embedder, "remote", False):
                dimension = int(embedder.dimension)
        return cls(str(embedder.provider), str(embedder.model), dimension)

    @classmethod
    def from_metadata(cls, metadata: dict | None) -> EmbedderIdentity | None:
        if not metadata or "embedder_provider" not in metadata:
            return None
        raw_dimension = metadata.get("embedder_dimension")
        return cls(
            str(metadata["embedder_provider"]),
            str(metadata.get("embedder_model", "")),
            int(raw_dimension) if raw_dimension not in (None, "") else None,
        )

    def as_metadata(self) -> dict[str, str | int]:
        data: dict[str, str | int] = {"embedder_provider": self.provider, "embedder_model": self.model}
        if self.dimension is not None:
            data["embedder_dimension"] = self.dimension
        return data

    def as_dict(self) -> dict[str, str | int]:
        data: dict[str, str | int] = {"provider": self.provider, "model": self.model}
        if self.dimension is not None:
            data["dimension"] = self.dimension
        return data

    def conflicts_with(self, other: EmbedderIdentity) -> bool:
        """Different provider or model, or both dimensions known and different."""
        if (self.provider, self.model) != (other.provider, other.model):
            return True
        return self.dimension is not None and other.dimension is not None and self.dimension != other.dimension

    def __str__(self) -> str:
        size = f"{self.dimension} dims" if self.dimension is not None else "dimension not known yet"
        return f"{self.provider}:{self.model} ({size})"


class EmbedderBase:
    """Shared behaviour: a query is embedded like a one-text batch unless a provider knows better."""

    provider: str = ""
    model: str = ""
    remote: bool = False

    @property
    def dimension(self) -> int:  # pragma: no cover - every provider overrides it
        raise NotImplementedError

    @property
    def known_dimension(self) -> int | None:
        return self.dimension

    def embed(self, texts: list[str]) -> list[list[float]]:  # pragma: no cover
        raise NotImplementedError

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]

    @property
    def identity(self) -> dict[str, str | int]:
        return EmbedderIdentity.of(self).as_dict()

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, model={self.model!r})"
