"""Extract many files in parallel: one `DocumentProcessor` per worker process, so each
worker loads its OCR models once and keeps them for every file it is given."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from ..executor import LocalProcessExecutor
from .models import DocumentError, ExtractedDocument
from .processor import DocumentProcessor

_worker_processor: DocumentProcessor | None = None


def _install(processor: DocumentProcessor) -> None:
    global _worker_processor
    _worker_processor = processor


def _extract_one(path: str) -> ExtractedDocument:
    processor = _worker_processor or DocumentProcessor()
    return processor.extract(path)


def extract_all(
    paths: Iterable[str | Path],
    processor: DocumentProcessor | None = None,
    *,
    workers: int | None = None,
) -> Iterator[ExtractedDocument]:
    """Yield one `ExtractedDocument` per path, in completion order (not input order).

    `workers=None` uses `default_workers()` (one per core, measured fastest for OCR);
    `workers=1` runs in this process. A worker that crashes on a file yields an error row
    for that file only."""
    processor = processor or DocumentProcessor()
    with LocalProcessExecutor(workers=workers, initializer=_install, initargs=(processor,)) as executor:
        for path, result in executor.map_unordered(_extract_one, (str(p) for p in paths)):
            if isinstance(result, ExtractedDocument):
                yield result
            else:
                yield ExtractedDocument(
                    path=path, file_type="unknown", sha256="", size_bytes=0,
                    error=DocumentError(
                        kind="corrupt", message=f"extraction crashed: {type(result).__name__}: {result}",
                        code="worker_crashed",
                    ),
                )
