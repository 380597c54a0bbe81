"""Image files (photos and scans): every page OCR'd, nothing native to read."""

from __future__ import annotations

from collections.abc import Callable

from .images import iter_pages, open_image
from .models import Extraction, ExtractionFailure, PageText
from .normalize import clean_metadata
from .ocr.base import OcrError, OcrResult

PageOcr = Callable[[object], OcrResult]


def read_image(data: bytes, *, max_pixels: int, refuse_pixels: int, ocr: PageOcr | None) -> Extraction:
    header = open_image(data, refuse_pixels=refuse_pixels)  # bombs and junk fail here, OCR or not
    metadata: dict[str, object] = {
        "image_format": (header.format or "").lower(),
        "width": header.width,
        "height": header.height,
    }
    if ocr is None:
        raise ExtractionFailure("needs_ocr", "the file is an image and OCR is disabled", "ocr_disabled")
    pages: list[PageText] = []
    warnings: list[str] = []
    frames = iter_pages(data, max_pixels=max_pixels, refuse_pixels=refuse_pixels)
    while True:
        try:
            page = next(frames)
        except StopIteration:
            break
        except ExtractionFailure as failure:
            if not pages:
                raise
            # A damaged later TIFF page: keep the pages already read.
            warnings.append(f"page {len(pages) + 1} and after skipped: {failure.message}")
            break
        if page.downscaled or page.trimmed:
            width, height = page.original_size
            how = " and ".join(
                word for word, done in (("blank margins trimmed", page.trimmed), ("downscaled", page.downscaled)) if done
            )
            warnings.append(
                f"page {page.number}: reduced from {width}x{height} to {page.image.width}x{page.image.height} "
                f"for OCR ({how})"
            )
        try:
            result = ocr(page.image)
        except OcrError as exc:
            raise ExtractionFailure("ocr_failed", exc.message, f"ocr_{exc.kind}") from exc
        pages.append(PageText(number=page.number, text=result.text, method="ocr", confidence=result.confidence))
    metadata["page_count"] = len(pages)
    return Extraction(pages=pages, metadata=clean_metadata(metadata), warnings=warnings)
