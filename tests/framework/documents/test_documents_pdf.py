from __future__ import annotations

from pathlib import Path

from tests.framework.documents._helpers import make_text_pdf, squash

from framework.documents.pdf import _pdf_date, structure_warnings


def test_native_text_pdf(processor, text_pdf: Path):
    doc = processor.extract(text_pdf)
    assert doc.ok, doc.error
    assert doc.file_type == "pdf"
    assert [p.method for p in doc.pages] == ["native"]
    assert "Line 5: hotel stays are capped at 4000 INR per night." in doc.text
    assert doc.metadata["page_count"] == 1
    assert not doc.warnings


def test_image_only_pdf_is_ocrd(processor, image_only_pdf: Path):
    doc = processor.extract(image_only_pdf)
    assert doc.ok, doc.error
    page = doc.pages[0]
    assert page.method == "ocr" and page.confidence is not None and page.confidence > 0.5
    assert "total12.50" in squash(doc.text)
    assert doc.metadata["ocr_engine"] == "rapidocr"


def test_image_only_pdf_without_ocr_needs_ocr(offline_processor, image_only_pdf: Path):
    doc = offline_processor.extract(image_only_pdf)
    assert doc.error and doc.error.kind == "needs_ocr"
    assert doc.error.code == "ocr_disabled"


def test_encrypted_pdf_needs_password(processor, tmp_path: Path):
    path = make_text_pdf(tmp_path / "locked.pdf", ["secret limits"], owner_password="o", user_password="u")
    doc = processor.extract(path)
    assert doc.error and doc.error.kind == "encrypted"
    assert doc.error.code == "password_required"
    assert doc.sha256 and doc.size_bytes == path.stat().st_size


def test_pdf_encrypted_with_empty_user_password_is_read(processor, tmp_path: Path):
    path = make_text_pdf(tmp_path / "owner_only.pdf", ["Hotel cap 4000 INR"], owner_password="owner", user_password="")
    doc = processor.extract(path)
    assert doc.ok, doc.error
    assert "Hotel cap 4000 INR" in doc.text


def test_truncated_pdf_is_corrupt_or_partial(processor, text_pdf: Path, tmp_path: Path):
    data = text_pdf.read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 200):
        path = tmp_path / f"cut_{cut}.pdf"
        path.write_bytes(data[:cut])
        doc = processor.extract(path)
        if doc.ok:  # PDFium may recover some pages; then the damage must be reported
            assert doc.warnings
        else:
            assert doc.error.kind in ("corrupt", "no_text")


def test_garbage_bytes_after_pdf_header_are_corrupt(processor, tmp_path: Path):
    path = tmp_path / "junk.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    doc = processor.extract(path)
    assert doc.error and doc.error.kind == "corrupt" and doc.error.code == "corrupt_pdf"


def test_structure_warnings():
    assert structure_warnings(b"%PDF-1.4\n1 0 obj\n") == ["the PDF has no %EOF marker: the file looks truncated"]
    good = b"%PDF-1.4\nxref\n0 1\ntrailer\nstartxref\n9\n%%EOF\n"
    assert structure_warnings(good) == []
    bad = good.replace(b"startxref\n9", b"startxref\n3")
    assert any("startxref" in w for w in structure_warnings(bad))


def test_pdf_dates_become_iso():
    assert _pdf_date("D:20240401093000+05'30'") == "2024-04-01T09:30:00+05:30"
    assert _pdf_date("D:20240401") == "2024-04-01T00:00:00"
    assert _pdf_date("garbage") == "garbage"


def test_pdfs_can_be_extracted_from_several_threads(processor, text_pdf: Path, tmp_path: Path):
    from concurrent.futures import ThreadPoolExecutor

    others = [make_text_pdf(tmp_path / f"p{n}.pdf", [f"document {n} body text long enough"] * 3) for n in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        docs = list(pool.map(processor.extract, [text_pdf, *others] * 5))
    assert all(doc.ok for doc in docs)
    assert {doc.text.splitlines()[0] for doc in docs[1:5]} == {f"document {n} body text long enough" for n in range(4)}
