"""Retrieval-augmented generation storage: chunking, a Chroma vector store, a BM25 index
kept in step with it, index records for incremental ingest, and hybrid retrieval.

    from framework.rag import get_rag
    rag = get_rag()
    rag.add_documents([DocumentInput(source="policy.md", text="# Hotels\\n\\nUp to 4000 INR a night.")])
    hits = rag.query("hotel limit", top_k=3)

Importing this package is cheap: Chroma is imported on first use of the vector store.
"""

from .chunking import Chunker, ChunkingConfig
from .models import Chunk, DocumentInput, RetrievedChunk
from .rag import RAG, RETRIEVERS, get_rag

__all__ = ["RAG", "RETRIEVERS", "Chunk", "Chunker", "ChunkingConfig", "DocumentInput", "RetrievedChunk", "get_rag"]
