"""Text out of documents: txt, md, pdf, docx, html and images (OCR), with typed errors.

    from framework.documents import DocumentProcessor
    doc = DocumentProcessor().extract("bill.jpg")
    doc.ok, doc.text, doc.pages[0].method, doc.error
"""

from .batch import extract_all
from .models import DocumentError, ExtractedDocument, PageText
from .ocr import OcrError, OcrLine, OcrProcessor, OcrResult, available_engines, get_ocr_engine
from .processor import DocumentProcessor
from .sniff import SUPPORTED_EXTENSIONS

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "DocumentError",
    "DocumentProcessor",
    "ExtractedDocument",
    "OcrError",
    "OcrLine",
    "OcrProcessor",
    "OcrResult",
    "PageText",
    "available_engines",
    "extract_all",
    "get_ocr_engine",
]
