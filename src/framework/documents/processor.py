"""`DocumentProcessor.extract(path) -> ExtractedDocument`, the one entry point for text.

Flow: size check -> read bytes -> sha256 -> cache -> sniff the real type -> the format's
reader -> shared cleanup (done inside readers via `normalize`) -> "no text" / "needs OCR"
verdict -> cache. Any failure becomes `ExtractedDocument.error`; `extract` never raises for a
bad file.

The processor is cheap to build and to pickle (settings and flags only); the OCR engine is
loaded lazily, once per process, on the first page that needs it.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import metadata as importlib_metadata
from pathlib import Path

from ..config import Settings, get_settings
from .cache import ExtractionCache
from .docx_file import read_docx
from .html_file import read_html
from .image_file import read_image
from .models import DocumentError, ExtractedDocument, Extraction, ExtractionFailure
from .ocr.base import OcrError, OcrResult, resolve_engine_name
from .ocr.processor import OcrProcessor
from .pdf import read_pdf
from .sniff import SUPPORTED_EXTENSIONS, resolve_type, sniff
from .text_file import read_text

log = logging.getLogger("framework.documents")

# Bump when a reader's output changes, so cached results from older code are not reused.
CACHE_VERSION = 3  # 3: RapidOCR without the line-direction classifier; 2: strong signatures, text-named text read as text
# Errors that may pass on a re-run (engine installed later, a bug fixed): never cached.
_UNCACHED_ERRORS = {"ocr_failed"}
_UNCACHED_CODES = {"unexpected_error", "out_of_memory"}
_SNIFF_TO_TYPE = {"pdf": "pdf", "docx": "docx", "image": "image", "html": "html", "text": "text"}


def size_problem(size: int, settings: Settings) -> tuple[str, str, str] | None:
    """(kind, message, code) of a file its size alone rules out, else None: what `extract`
    reports for it, so a dry run can say it without reading the file."""
    if size == 0:
        return "empty", "the file is empty (0 bytes)", "empty_file"
    limit = settings.max_file_bytes
    if size > limit:
        return ("too_large", f"the file is {size:,} bytes ({size / 2**20:.1f} MB), above the limit of "
                f"{limit:,} bytes (MAX_FILE_BYTES)", "file_too_large")
    return None


class DocumentProcessor:
    SUPPORTED_EXTENSIONS: frozenset[str] = SUPPORTED_EXTENSIONS

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        ocr_enabled: bool = True,
        cache_dir: Path | None = None,
        use_cache: bool = True,
        ocr_engine: str | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.ocr_enabled = ocr_enabled
        self.use_cache = use_cache
        self.cache_dir = Path(cache_dir) if cache_dir is not None else Path(self.settings.cache_dir) / "documents"
        self.ocr = OcrProcessor(self.settings, engine=ocr_engine)

    # -- public API ------------------------------------------------------------------
    def extract(self, path: str | Path) -> ExtractedDocument:
        path = Path(path)
        try:
            size = path.stat().st_size
            if not path.is_file():
                return self._failed(path, b"", "corrupt", "the path is not a regular file", "not_a_file", size=0)
            problem = size_problem(size, self.settings)
            if problem is not None and problem[0] == "too_large":
                return self._failed(path, b"", *problem, size=size)
            data = path.read_bytes()
        except FileNotFoundError:
            return self._failed(path, b"", "corrupt", "the file does not exist", "not_found", size=0)
        except OSError as exc:
            return self._failed(path, b"", "corrupt", f"the file cannot be read: {exc}", "unreadable_file", size=0)
        return self._extract_data(data, str(path), path.suffix)

    def extract_bytes(self, data: bytes, name: str) -> ExtractedDocument:
        if len(data) > self.settings.max_file_bytes:
            return self._failed(
                Path(name), b"", "too_large",
                f"the file is {len(data) / 2**20:.1f} MB, above the MAX_FILE_BYTES limit", "file_too_large",
                size=len(data),
            )
        return self._extract_data(data, name, Path(name).suffix)

    def cache_fingerprint(self) -> dict[str, object]:
        """Everything besides the bytes that changes what `extract` returns."""
        settings = self.settings
        return {
            "cache_version": CACHE_VERSION,
            "ocr": self._engine_identity() if self.ocr_enabled else "off",
            "ocr_dpi": settings.ocr_dpi,
            "pdf_min_text_chars": settings.pdf_min_text_chars,
            "image_max_pixels": settings.image_max_pixels,
            "image_refuse_pixels": settings.image_refuse_pixels,
        }

    # -- internals -------------------------------------------------------------------
    def _extract_data(self, data: bytes, display: str, extension: str) -> ExtractedDocument:
        sha = hashlib.sha256(data).hexdigest()
        try:
            # The extension is part of the key: it picks the reader (.md vs .txt) and words the
            # errors ("a HEIC image although it is named .jpg"), so a copy under another
            # extension must not be served the first copy's result.
            fingerprint = {**self.cache_fingerprint(), "extension": extension.lower()} if self.use_cache else {}
            cache = ExtractionCache(self.cache_dir) if self.use_cache else None
            if cache is not None:
                cached = cache.get(sha, fingerprint)
                if cached is not None:
                    return cached.model_copy(update={"path": display})
            document = self._run_reader(data, display, extension, sha)
            if cache is not None and self._cacheable(document):
                cache.put(document, fingerprint)
        except Exception as exc:  # last line of defence: a bug here must not stop a batch
            log.debug("extraction of %s failed unexpectedly", display, exc_info=True)
            document = self._document(
                display, "unknown", sha, len(data),
                error=DocumentError(kind="corrupt", message=f"{type(exc).__name__}: {exc}", code="unexpected_error"),
            )
        for warning in document.warnings:
            log.warning("%s: %s", display, warning)
        return document

    def _run_reader(self, data: bytes, display: str, extension: str, sha: str) -> ExtractedDocument:
        sniffed = sniff(data)
        file_type = _SNIFF_TO_TYPE.get(sniffed.kind, "unknown")
        try:
            file_type = resolve_type(extension, sniffed)
            extraction = self._read(file_type, data)
            error = _verdict(extraction)
        except ExtractionFailure as failure:
            return self._document(display, file_type, sha, len(data), error=failure.to_error())
        except MemoryError:
            return self._document(
                display, file_type, sha, len(data),
                error=DocumentError(kind="too_large", message="ran out of memory reading the file", code="out_of_memory"),
            )
        if extraction.pages_needing_ocr and error is None:
            extraction.warnings.append(
                "OCR is disabled; page(s) without a text layer were skipped: "
                + ", ".join(str(n) for n in extraction.pages_needing_ocr)
            )
        return ExtractedDocument(
            path=display, file_type=file_type, sha256=sha, size_bytes=len(data),
            pages=extraction.pages, metadata=extraction.metadata, warnings=extraction.warnings, error=error,
        )

    def _read(self, file_type: str, data: bytes) -> Extraction:
        settings = self.settings
        ocr = self._ocr_page if self.ocr_enabled else None
        if file_type == "pdf":
            extraction = read_pdf(
                data, dpi=settings.ocr_dpi, min_text_chars=settings.pdf_min_text_chars,
                max_pixels=settings.image_max_pixels, ocr=ocr,
            )
        elif file_type == "image":
            extraction = read_image(
                data, max_pixels=settings.image_max_pixels, refuse_pixels=settings.image_refuse_pixels, ocr=ocr,
            )
        elif file_type == "docx":
            extraction = read_docx(data, max_xml_bytes=settings.max_file_bytes)
        elif file_type == "html":
            extraction = read_html(data)
        elif file_type in ("text", "markdown"):
            extraction = read_text(data, markdown=file_type == "markdown")
        else:  # pragma: no cover - resolve_type only returns the types above
            raise ExtractionFailure("unsupported", f"no reader for {file_type}", "unsupported_type")
        if any(page.method == "ocr" for page in extraction.pages):
            extraction.metadata.setdefault("ocr_engine", self.ocr.engine_name)
        return extraction

    def _ocr_page(self, image: object) -> OcrResult:
        return self.ocr.ocr_image(image)  # type: ignore[arg-type]

    def _engine_identity(self) -> str:
        try:
            name = resolve_engine_name(self.ocr.requested_engine)
        except OcrError:
            return "unavailable"
        if name == "rapidocr":
            try:
                return f"rapidocr=={importlib_metadata.version('rapidocr')}"
            except importlib_metadata.PackageNotFoundError:
                return name
        return name

    @staticmethod
    def _cacheable(document: ExtractedDocument) -> bool:
        error = document.error
        return error is None or (error.kind not in _UNCACHED_ERRORS and error.code not in _UNCACHED_CODES)

    def _failed(self, path: Path, data: bytes, kind: str, message: str, code: str, *, size: int) -> ExtractedDocument:
        sha = hashlib.sha256(data).hexdigest() if data else ""
        return self._document(
            str(path), _type_from_extension(path.suffix), sha, size,
            error=DocumentError(kind=kind, message=message, code=code),  # type: ignore[arg-type]
        )

    @staticmethod
    def _document(path: str, file_type: str, sha: str, size: int, *, error: DocumentError) -> ExtractedDocument:
        return ExtractedDocument(path=path, file_type=file_type, sha256=sha, size_bytes=size, error=error)


def _verdict(extraction: Extraction) -> DocumentError | None:
    """A document that was read but holds no text is still an error row: ingesting it would
    store nothing, and the user should know whether OCR would help."""
    if any(page.text.strip() for page in extraction.pages):
        return None
    if extraction.pages_needing_ocr:
        return DocumentError(
            kind="needs_ocr",
            message="the document has no text layer (scanned?) and OCR is disabled; re-run with OCR on",
            code="ocr_disabled",
        )
    return DocumentError(kind="no_text", message="the document contains no readable text", code="no_text")


def _type_from_extension(extension: str) -> str:
    ext = extension.lower()
    if ext == ".pdf":
        return "pdf"
    if ext == ".docx":
        return "docx"
    if ext in (".html", ".htm"):
        return "html"
    if ext in (".md", ".markdown"):
        return "markdown"
    if ext == ".txt":
        return "text"
    if ext in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        return "image"
    return "unknown"
