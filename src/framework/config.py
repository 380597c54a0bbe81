"""Settings for every service, read from the environment and `.env`.

`get_settings()` is the only way code reads settings; it is cached, and
`scripts.batch.common.apply_framework_overrides()` clears the cache after a CLI flag changed
the environment. The defaults are the offline providers, so a machine with no API key runs
every job.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from framework.errors import ConfigurationError

LlmProvider = Literal["offline", "openai"]
EmbeddingProvider = Literal["offline", "openai", "sentence-transformers"]
OcrEngineName = Literal["rapidocr", "tesseract", "auto"]
RetrieverName = Literal["bm25", "dense", "hybrid"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # --- LLM -------------------------------------------------------------------------
    llm_provider: LlmProvider = Field("offline", alias="LLM_PROVIDER")
    llm_model: str = Field("", alias="LLM_MODEL", description="empty = provider default")
    llm_base_url: str | None = Field(None, alias="LLM_BASE_URL")
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    llm_timeout_s: float = Field(60.0, alias="LLM_TIMEOUT_S", gt=0)
    llm_max_retries: int = Field(3, alias="LLM_MAX_RETRIES", ge=0)
    llm_temperature: float = Field(0.0, alias="LLM_TEMPERATURE", ge=0)

    # --- Embeddings ----------------------------------------------------------------
    embedding_provider: EmbeddingProvider = Field("offline", alias="EMBEDDING_PROVIDER")
    embedding_model: str = Field("", alias="EMBEDDING_MODEL", description="empty = provider default")
    embedding_base_url: str | None = Field(
        None, alias="EMBEDDING_BASE_URL", description="defaults to LLM_BASE_URL"
    )
    embedding_batch_size: int = Field(256, alias="EMBEDDING_BATCH_SIZE", gt=0)

    # --- Vector store and retrieval ---------------------------------------------------
    chroma_persist_dir: Path = Field(Path("data/chroma_db"), alias="CHROMA_PERSIST_DIR")
    chroma_collection: str = Field("documents", alias="CHROMA_COLLECTION")
    chroma_host: str | None = Field(None, alias="CHROMA_HOST")
    chroma_port: int = Field(8000, alias="CHROMA_PORT")
    # bm25 by measurement (benchmarks/rag_ingest.py, SciFact): with the offline embedder, fusing
    # dense hits in lowers nDCG@10; hybrid pays off with a stronger embedder (openai, a local model)
    rag_retriever: RetrieverName = Field("bm25", alias="RAG_RETRIEVER")
    rag_chunk_size: int = Field(1000, alias="RAG_CHUNK_SIZE", gt=0)
    rag_chunk_overlap: int = Field(100, alias="RAG_CHUNK_OVERLAP", ge=0)
    rag_chunk_unit: Literal["chars", "tokens"] = Field(
        "chars", alias="RAG_CHUNK_UNIT",
        description="what RAG_CHUNK_SIZE counts; tokens = the Llama-2 tokenizer bundled with WordLlama",
    )
    rag_hybrid_dense_weight: float = Field(
        0.3, alias="RAG_HYBRID_DENSE_WEIGHT", ge=0,
        description="weight of the dense ranking in hybrid reciprocal rank fusion (BM25 has weight 1)",
    )
    rag_rrf_k: int = Field(60, alias="RAG_RRF_K", gt=0)
    rag_candidates: int = Field(
        100, alias="RAG_CANDIDATES", gt=0,
        description="hits each retriever contributes to hybrid fusion (at least top_k)",
    )

    # --- Documents and OCR ------------------------------------------------------------
    ocr_engine: OcrEngineName = Field("rapidocr", alias="OCR_ENGINE")
    ocr_dpi: int = Field(300, alias="OCR_DPI", gt=0)
    ocr_threads: int = Field(
        0, alias="OCR_THREADS", ge=0,
        description="threads per OCR engine; 0 = this process's share of the CPUs",
    )
    pdf_min_text_chars: int = Field(
        25, alias="PDF_MIN_TEXT_CHARS", ge=0,
        description="a PDF page with fewer native characters is rendered and OCR'd",
    )
    image_max_pixels: int = Field(
        40_000_000, alias="IMAGE_MAX_PIXELS", gt=0,
        description="images above this are downscaled before OCR",
    )
    image_refuse_pixels: int = Field(
        200_000_000, alias="IMAGE_REFUSE_PIXELS", gt=0,
        description="images above this are refused unread (decompression bombs)",
    )
    max_file_bytes: int = Field(200 * 1024 * 1024, alias="MAX_FILE_BYTES", gt=0)

    # --- Files --------------------------------------------------------------------------
    output_dir: Path = Field(Path("data/output"), alias="OUTPUT_DIR")
    upload_dir: Path = Field(Path("data/uploads"), alias="UPLOAD_DIR")
    cache_dir: Path = Field(Path("data/cache"), alias="CACHE_DIR")

    @property
    def api_key(self) -> str | None:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else None

    @property
    def effective_embedding_base_url(self) -> str | None:
        return self.embedding_base_url or self.llm_base_url


def describe_invalid_settings(error: ValidationError) -> str:
    """One line naming each bad setting, its value and what it should be (secrets masked)."""
    parts = []
    for item in error.errors():
        name = ".".join(str(part) for part in item.get("loc", ())) or "settings"
        value = item.get("input")
        shown = "***" if "KEY" in name.upper() else repr(value)
        parts.append(f"{name}={shown}: {item.get('msg', 'invalid')}")
    return "invalid setting(s) in the environment or .env: " + "; ".join(parts)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, read once. Invalid values are a `ConfigurationError` (exit 1), not a
    pydantic traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError(describe_invalid_settings(exc)) from None
