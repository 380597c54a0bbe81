"""Typed records of the RAG layer: what is stored (Chunk) and what a query returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .metadata import MetadataValue


class Chunk(BaseModel):
    """One piece of one document, as stored in both indexes.

    `text` is what a reader sees; `heading` (the section path, "Handbook > Hotels") is indexed
    and embedded with it, because a chunk cut from the middle of a section otherwise loses the
    words that say what it is about.
    """

    model_config = ConfigDict(frozen=True)

    chunk_id: str
    source: str
    chunk_index: int = Field(ge=0)
    text: str
    heading: str = ""
    page: int | None = None
    content_hash: str
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)

    @property
    def indexed_text(self) -> str:
        return f"{self.heading}\n\n{self.text}" if self.heading else self.text

    def store_metadata(self) -> dict[str, MetadataValue]:
        """Metadata as written to the stores: document metadata, then ours (ours win)."""
        data: dict[str, MetadataValue] = dict(self.metadata)
        data.update(source=self.source, chunk_index=self.chunk_index, content_hash=self.content_hash)
        if self.heading:
            data["heading"] = self.heading
        if self.page is not None:
            data["page"] = self.page
        return data


class RetrievedChunk(BaseModel):
    """A query hit. `score` is higher-is-better within one retriever: -BM25 for bm25, cosine
    similarity for dense, the fused reciprocal-rank score for hybrid."""

    chunk_id: str
    text: str
    score: float
    source: str
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    retriever: str = ""
    ranks: dict[str, int] = Field(default_factory=dict)  # 1-based rank per retriever that found it


class DocumentInput(BaseModel):
    """Text handed to `RAG.add_documents` directly by library users."""

    source: str
    text: str
    metadata: dict[str, object] = Field(default_factory=dict)
    file_type: str = "text"
