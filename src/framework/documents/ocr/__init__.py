"""OCR engines behind one interface; RapidOCR by default, Tesseract when installed."""

from .base import (
    OcrEngine,
    OcrError,
    OcrLine,
    OcrResult,
    OcrSegment,
    available_engines,
    get_ocr_engine,
    resolve_engine_name,
)
from .lines import build_lines
from .processor import OcrProcessor

__all__ = [
    "OcrEngine",
    "OcrError",
    "OcrLine",
    "OcrProcessor",
    "OcrResult",
    "OcrSegment",
    "available_engines",
    "build_lines",
    "get_ocr_engine",
    "resolve_engine_name",
]
