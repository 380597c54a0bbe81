from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from framework.config import Settings
from framework.documents import (
    SUPPORTED_EXTENSIONS,
    DocumentError,
    DocumentProcessor,
    ExtractedDocument,
    PageText,
)
from framework.documents.ocr import base as ocr_base
from framework.documents.ocr.base import OcrError
from tests.framework.documents._helpers import squash


def test_public_models_contract():
    page = PageText(number=1, text="a", method="native", confidence=None)
    with pytest.raises(Exception):
        page.text = "b"  # frozen
    doc = ExtractedDocument(
        path="x", file_type="text", sha256="0" * 64, size_bytes=1,
        pages=[page, PageText(number=2, text="", method="ocr", confidence=0.5), PageText(number=3, text="c", method="ocr", confidence=0.9)],
    )
    assert doc.text == "a\n\nc" and doc.ok
    failed = doc.model_copy(update={"error": DocumentError(kind="corrupt", message="m", code="not_a_pdf")})
    assert not failed.ok
    assert SUPPORTED_EXTENSIONS == DocumentProcessor.SUPPORTED_EXTENSIONS
    assert {".txt", ".md", ".pdf", ".docx", ".html", ".htm", ".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"} <= SUPPORTED_EXTENSIONS


@pytest.mark.parametrize(
    ("name", "data", "kind", "code"),
    [
        ("empty.pdf", b"", "empty", "empty_file"),
        ("empty.txt", b"", "empty", "empty_file"),
        ("page.pdf", b"<!DOCTYPE html><html><body>403</body></html>", "corrupt", "not_a_pdf"),
        ("photo.png", b"<html><body>404 Not Found</body></html>", "corrupt", "not_an_image"),
        ("photo.jpg", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40, "unsupported", "unsupported_format: heic"),
        ("sheet.xlsx", b"PK\x03\x04rest", "unsupported", "unsupported_extension: .xlsx"),
        ("notes.txt", b"\x00\x01\x02\x03binary\x00\x00\xff" * 50, "unsupported", "not_text"),
        ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "corrupt", None),
        ("cut.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "corrupt", None),
    ],
)
def test_error_kinds_never_raise(processor, tmp_path: Path, name, data, kind, code):
    path = tmp_path / name
    path.write_bytes(data)
    doc = processor.extract(path)
    assert doc.error is not None, doc
    assert doc.error.kind == kind
    if code:
        assert doc.error.code == code
    assert doc.error.message
    assert doc.path == str(path)


def test_missing_file_and_directory(processor, tmp_path: Path):
    assert processor.extract(tmp_path / "nope.pdf").error.code == "not_found"
    assert processor.extract(tmp_path).error.code == "not_a_file"


def test_too_large_file_is_refused_unread(tmp_path: Path):
    settings = Settings(MAX_FILE_BYTES=10, CACHE_DIR=tmp_path / "c")
    path = tmp_path / "big.txt"
    path.write_text("x" * 11)
    doc = DocumentProcessor(settings, use_cache=False).extract(path)
    assert doc.error.kind == "too_large" and doc.error.code == "file_too_large"
    assert doc.size_bytes == 11


def test_ocr_failure_is_a_typed_error(processor, monkeypatch, image_only_pdf: Path, tmp_path: Path):
    def broken(self, image):
        raise OcrError("failed", "engine exploded")

    monkeypatch.setattr(type(processor.ocr), "ocr_image", broken)
    doc = processor.extract(image_only_pdf)
    assert doc.error.kind == "ocr_failed" and "engine exploded" in doc.error.message

    image = tmp_path / "shot.png"
    from tests.framework.documents._helpers import text_image

    text_image(["X"]).save(image)
    assert processor.extract(image).error.kind == "ocr_failed"


def test_unavailable_engine_is_ocr_failed(settings, tmp_path: Path, receipt_image):
    path = tmp_path / "r.png"
    receipt_image.save(path)
    doc = DocumentProcessor(settings, use_cache=False, ocr_engine="nonexistent").extract(path)
    assert doc.error.kind == "ocr_failed"


def test_unexpected_bug_becomes_an_error_row(processor, monkeypatch, tmp_path: Path):
    import framework.documents.processor as module

    def explode(data, *, markdown):
        raise RuntimeError("bug")

    monkeypatch.setattr(module, "read_text", explode)
    path = tmp_path / "a.txt"
    path.write_text("hello")
    doc = processor.extract(path)
    assert doc.error.kind == "corrupt" and doc.error.code == "unexpected_error"


def test_extract_bytes(processor):
    doc = processor.extract_bytes("Hôtel".encode("cp1252"), "note.txt")
    assert doc.ok and doc.text == "Hôtel" and doc.path == "note.txt"
    assert processor.extract_bytes(b"", "x.pdf").error.kind == "empty"


def test_cache_skips_the_second_ocr(settings, tmp_path: Path, monkeypatch, image_only_pdf: Path):
    from framework.documents.ocr import OcrProcessor

    calls = []
    real = OcrProcessor.ocr_image

    def counting(self, image):
        calls.append(image.size)
        return real(self, image)

    monkeypatch.setattr(OcrProcessor, "ocr_image", counting)
    cache_dir = tmp_path / "doc-cache"
    first = DocumentProcessor(settings, cache_dir=cache_dir).extract(image_only_pdf)
    assert first.ok and first.pages[0].method == "ocr"
    assert len(calls) == 1 and list(cache_dir.rglob("*.json"))

    copy = tmp_path / "renamed.pdf"  # same bytes, other name: still a hit
    copy.write_bytes(image_only_pdf.read_bytes())
    second = DocumentProcessor(settings, cache_dir=cache_dir).extract(copy)
    assert len(calls) == 1
    assert second.text == first.text and second.path == str(copy)

    # A setting that changes the output is a different entry.
    DocumentProcessor(Settings(CACHE_DIR=settings.cache_dir, OCR_DPI=150), cache_dir=cache_dir).extract(copy)
    assert len(calls) == 2
    # OCR off is another entry too, and never reuses OCR text.
    offline = DocumentProcessor(settings, cache_dir=cache_dir, ocr_enabled=False).extract(copy)
    assert offline.error.kind == "needs_ocr" and len(calls) == 2


def test_damaged_cache_entry_is_a_miss(settings, tmp_path: Path):
    cache_dir = tmp_path / "c"
    path = tmp_path / "a.txt"
    path.write_text("hello world")
    processor = DocumentProcessor(settings, cache_dir=cache_dir)
    processor.extract(path)
    for entry in cache_dir.rglob("*.json"):
        entry.write_text("{torn")
    assert processor.extract(path).text == "hello world"


def test_a_copy_under_another_extension_is_not_served_the_first_copys_result(settings, tmp_path: Path):
    """The extension picks the reader and words the errors, so it is part of the cache key (C27:
    IMG_0412.jpg and IMG_0413.HEIC hold the same HEIC bytes)."""
    processor = DocumentProcessor(settings, cache_dir=tmp_path / "c")
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    (tmp_path / "IMG_0412.jpg").write_bytes(heic)
    (tmp_path / "IMG_0413.HEIC").write_bytes(heic)
    assert "although it is named .jpg" in processor.extract(tmp_path / "IMG_0412.jpg").error.message
    honest = processor.extract(tmp_path / "IMG_0413.HEIC").error
    assert honest.code == "unsupported_format: heic" and "named" not in honest.message
    (tmp_path / "notes.txt").write_text("# Title\n\nbody\n")
    (tmp_path / "notes.md").write_text("# Title\n\nbody\n")
    assert processor.extract(tmp_path / "notes.txt").file_type == "text"
    assert processor.extract(tmp_path / "notes.md").file_type == "markdown"


def test_processor_pickles_without_an_engine(settings, receipt_image):
    processor = DocumentProcessor(settings, use_cache=False)
    processor.ocr.ocr_image(receipt_image)  # engine now loaded in this process
    clone = pickle.loads(pickle.dumps(processor))
    assert len(pickle.dumps(processor)) < 10_000
    assert clone.ocr_enabled and clone.settings.ocr_dpi == settings.ocr_dpi
    assert ocr_base.loaded_engines()


def test_auto_engine_prefers_rapidocr():
    assert ocr_base.resolve_engine_name("auto") == "rapidocr"
    assert ocr_base.available_engines()[0] == "rapidocr"
    with pytest.raises(OcrError):
        ocr_base.resolve_engine_name("no-such-engine")


@pytest.mark.skipif("tesseract" not in ocr_base.available_engines(), reason="tesseract binary not installed")
def test_tesseract_engine_end_to_end(tmp_path: Path, receipt_image):
    settings = Settings(OCR_ENGINE="tesseract", CACHE_DIR=tmp_path)
    path = tmp_path / "r.png"
    receipt_image.save(path)
    doc = DocumentProcessor(settings, use_cache=False).extract(path)
    assert doc.ok, doc.error
    assert "total12.50" in squash(doc.text)
    assert doc.metadata["ocr_engine"] == "tesseract"


def test_extract_all_in_process_and_in_a_pool(settings, tmp_path: Path):
    from framework.documents import extract_all

    paths = []
    for n in range(4):
        path = tmp_path / f"note{n}.txt"
        path.write_text(f"note number {n}")
        paths.append(path)
    (tmp_path / "empty.txt").write_bytes(b"")
    paths.append(tmp_path / "empty.txt")
    processor = DocumentProcessor(settings, use_cache=False)
    for workers in (1, 2):
        docs = {Path(d.path).name: d for d in extract_all(paths, processor, workers=workers)}
        assert docs["note3.txt"].text == "note number 3"
        assert docs["empty.txt"].error.kind == "empty"
        assert len(docs) == 5
