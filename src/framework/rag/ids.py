"""Deterministic chunk ids.

An id is a function of (source, chunk index, chunk content), never of time or order of
arrival, so re-ingesting a file upserts the same ids (a crash between the vector upsert and
the record update can never leave duplicates), identical chunks inside one document still
get distinct ids (their index differs), and two files with the same text get distinct ids
(their source differs).
"""

from __future__ import annotations

import hashlib


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def source_key(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def chunk_id(source: str, index: int, chunk_hash: str) -> str:
    # readable enough to debug by eye: which document, which position, which content
    return f"{source_key(source)}-{index:05d}-{chunk_hash[:12]}"
