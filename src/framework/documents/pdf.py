"""PDF pages with pypdfium2: the text layer where it is good, OCR where it is missing or
garbage.

A page is OCR'd when its text layer has fewer than `pdf_min_text_chars` characters (a scan),
or when a noticeable share of its glyphs have no Unicode mapping (ligatures mapped to NUL,
custom font encodings): such a layer reads "denition" for "definition" and silently breaks
search. A page with nothing drawn on it is not rendered at all.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from .images import TRIM_ABOVE_SIDE, trim_margins
from .models import Extraction, ExtractionFailure, PageText
from .normalize import bad_char_ratio, clean_metadata, clean_text
from .ocr.base import OcrError, OcrResult

# Above this share of unmapped / control glyphs a text layer is treated as garbage.
GARBAGE_RATIO = 0.02
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s*(?:%%EOF)?\s*$")
_OBJ_AT = re.compile(rb"\s*\d+\s+\d+\s+obj\b")
_PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz]|[+-]\d{2}'?\d{2}'?)?")
_PASSWORD_ERRORS = {pdfium_c.FPDF_ERR_PASSWORD}
_SECURITY_ERRORS = {pdfium_c.FPDF_ERR_SECURITY}

PageOcr = Callable[[Image.Image], OcrResult]  # raises OcrError
# PDFium is not thread-safe. Every call into it holds this lock; OCR runs outside it, so
# threads extracting different PDFs still overlap on the slow part.
_PDFIUM_LOCK = threading.RLock()


def read_pdf(
    data: bytes,
    *,
    dpi: int,
    min_text_chars: int,
    max_pixels: int,
    ocr: PageOcr | None,
) -> Extraction:
    warnings = structure_warnings(data)
    with _PDFIUM_LOCK:
        document = _open(data, truncated=any("truncated" in w for w in warnings))
    try:
        return _read_pages(document, warnings, dpi=dpi, min_text_chars=min_text_chars, max_pixels=max_pixels, ocr=ocr)
    finally:
        with _PDFIUM_LOCK:
            document.close()


def structure_warnings(data: bytes) -> list[str]:
    """Damage PDFium repairs silently; we report it so a user knows the file is not clean."""
    tail = data[-2048:]
    warnings: list[str] = []
    if b"%%EOF" not in tail:
        warnings.append("the PDF has no %EOF marker: the file looks truncated")
    match = _STARTXREF.search(tail.rstrip(b"\x00\r\n\t "))
    if match:
        offset = int(match.group(1))
        target = data[offset:offset + 32]
        if not (target.lstrip().startswith(b"xref") or _OBJ_AT.match(target)):
            warnings.append("the PDF's startxref offset is wrong; the cross-reference table was rebuilt by scanning")
    elif b"%%EOF" in tail:
        warnings.append("the PDF has no startxref; the cross-reference table was rebuilt by scanning")
    return warnings


def _open(data: bytes, *, truncated: bool) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(data)  # no password: PDFium tries the empty user password
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in _PASSWORD_ERRORS:
            raise ExtractionFailure(
                "encrypted", "the PDF is password-protected; provide an unprotected copy", "password_required"
            ) from exc
        if code in _SECURITY_ERRORS:
            raise ExtractionFailure(
                "encrypted", "the PDF uses an unsupported security handler", "unsupported_encryption"
            ) from exc
        reason = "it was truncated (no %EOF at the end)" if truncated else "its structure is damaged"
        raise ExtractionFailure("corrupt", f"the PDF cannot be opened: {reason} ({exc})", "corrupt_pdf") from exc


def _read_pages(
    document: pdfium.PdfDocument,
    warnings: list[str],
    *,
    dpi: int,
    min_text_chars: int,
    max_pixels: int,
    ocr: PageOcr | None,
) -> Extraction:
    with _PDFIUM_LOCK:
        count = len(document)
        metadata: dict[str, object] = {"page_count": count, **_document_metadata(document)}
    if count == 0:
        raise ExtractionFailure("no_text", "the PDF has no pages", "no_pages")
    pages: list[PageText] = []
    needing_ocr: list[int] = []
    failed_pages: list[int] = []
    ocr_errors: list[OcrError] = []
    for index in range(count):
        number = index + 1
        try:
            with _PDFIUM_LOCK:
                scan = _scan_page(
                    document, index, min_text_chars=min_text_chars, dpi=dpi, max_pixels=max_pixels,
                    render=ocr is not None,
                )
        except Exception as exc:  # PDFium raises on a page whose objects are damaged
            failed_pages.append(number)
            warnings.append(f"page {number} could not be read: {type(exc).__name__}: {exc}")
            continue
        pages.append(_page_text(scan, warnings, needing_ocr, ocr_errors, ocr=ocr))
    if failed_pages and len(failed_pages) == count:
        raise ExtractionFailure("corrupt", f"none of the {count} PDF page(s) could be read", "corrupt_pdf")
    if ocr_errors and not any(p.text for p in pages):
        first = ocr_errors[0]
        raise ExtractionFailure("ocr_failed", first.message, f"ocr_{first.kind}")
    return Extraction(pages=pages, metadata=clean_metadata(metadata), warnings=warnings, pages_needing_ocr=needing_ocr)


@dataclass
class _PageScan:
    number: int
    native: str
    native_chars: int
    garbage: float
    needs_pixels: bool  # too little text or a garbage layer, and something drawn to read
    image: Image.Image | None


def _scan_page(
    document: pdfium.PdfDocument, index: int, *, min_text_chars: int, dpi: int, max_pixels: int, render: bool
) -> _PageScan:
    """Everything that touches PDFium for one page (called under the lock)."""
    page = document[index]
    try:
        textpage = page.get_textpage()
        try:
            # get_text_range keeps unmapped glyphs as U+FFFE, which lets us measure the
            # damage; clean_text removes them afterwards.
            raw = textpage.get_text_range()
        finally:
            textpage.close()
        native = clean_text(raw)
        native_chars = sum(1 for ch in native if not ch.isspace())
        garbage = bad_char_ratio(raw)
        low_quality = garbage > GARBAGE_RATIO
        # A blank or text-only page has nothing more to show when rendered, unless its text
        # layer is garbage: then the glyphs themselves are worth reading.
        needs_pixels = (native_chars < min_text_chars or low_quality) and (low_quality or _has_graphics(page))
        image = _render(page, dpi=dpi, max_pixels=max_pixels) if needs_pixels and render else None
    finally:
        page.close()
    return _PageScan(index + 1, native, native_chars, garbage, needs_pixels, image)


def _page_text(
    scan: _PageScan,
    warnings: list[str],
    needing_ocr: list[int],
    ocr_errors: list[OcrError],
    *,
    ocr: PageOcr | None,
) -> PageText:
    number = scan.number
    native_page = PageText(number=number, text=scan.native, method="native", confidence=None)
    low_quality = scan.garbage > GARBAGE_RATIO
    if low_quality:
        warnings.append(
            f"page {number}: low text quality ({scan.garbage:.0%} of glyphs have no Unicode mapping)"
            + ("; re-read with OCR" if ocr else "; enable OCR to re-read it")
        )
    if not scan.needs_pixels:
        return native_page
    if ocr is None or scan.image is None:
        if scan.native_chars == 0:
            needing_ocr.append(number)
        return native_page
    try:
        result = ocr(scan.image)
    except OcrError as exc:
        ocr_errors.append(exc)
        warnings.append(f"page {number}: OCR failed: {exc.message}")
        return native_page
    ocr_chars = sum(1 for ch in result.text if not ch.isspace())
    # Keep whichever reading has more to say; a garbage layer only needs OCR to be close.
    threshold = scan.native_chars * (0.5 if low_quality else 1.0)
    if ocr_chars > threshold or (ocr_chars and scan.native_chars == 0):
        return PageText(number=number, text=result.text, method="ocr", confidence=result.confidence)
    return native_page


def _has_graphics(page: pdfium.PdfPage) -> bool:
    """Anything besides text objects (images, paths, forms) or annotations to render?"""
    if pdfium_c.FPDFPage_GetAnnotCount(page.raw) > 0:
        return True
    return any(obj.type != pdfium_c.FPDF_PAGEOBJ_TEXT for obj in page.get_objects(max_depth=1))


def _render(page: pdfium.PdfPage, *, dpi: int, max_pixels: int):
    width, height = page.get_size()
    scale = dpi / 72.0
    pixels = width * scale * height * scale
    if pixels > max_pixels:
        # A poster-sized page at 300 dpi would be hundreds of megapixels.
        scale *= math.sqrt(max_pixels / pixels)
    bitmap = page.render(scale=scale)
    try:
        image = bitmap.to_pil()
    finally:
        bitmap.close()
    # A page is mostly margin; the OCR engine would shrink the whole page to its working
    # size, so cut the margins first and keep the resolution for the text.
    return trim_margins(image) if max(image.size) > TRIM_ABOVE_SIDE else image


def _document_metadata(document: pdfium.PdfDocument) -> dict[str, object]:
    try:
        raw = document.get_metadata_dict(skip_empty=True)
    except Exception:
        return {}
    out: dict[str, object] = {}
    for key, value in raw.items():
        if not value:
            continue
        name = key.lower().replace("creationdate", "created").replace("moddate", "modified")
        out[name] = _pdf_date(value) if key in ("CreationDate", "ModDate") else value
    return out


def _pdf_date(value: str) -> str:
    match = _PDF_DATE.match(value.strip())
    if not match:
        return value
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return value
    if zone and zone.upper() != "Z":
        digits = zone.replace("'", "")
        sign = 1 if digits[0] == "+" else -1
        offset = timedelta(hours=int(digits[1:3]), minutes=int(digits[3:5] or 0))
        moment = moment.replace(tzinfo=timezone(sign * offset))
    elif zone:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()
