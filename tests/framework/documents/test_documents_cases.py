"""The user-reported cases (tests/fixtures/cases/*, copied from ../shared/cases)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.framework.documents._helpers import CASES, REPO, SHARED, squash

C01 = CASES / "C01_encrypted_pdf"
C02 = CASES / "C02_damaged_pdf"
C03 = CASES / "C03_pdf_ligatures"
C05 = CASES / "C05_no_text_inputs"
C07 = CASES / "C07_non_utf8_text"
C08 = CASES / "C08_docx_tables_headers"
C09 = CASES / "C09_html_boilerplate"
C12 = CASES / "C12_metadata_types"
C27 = CASES / "C27_hostile_images"


def _no_control_chars(text: str) -> bool:
    return not any((ord(c) < 32 and c not in "\n\t") or c in "\ufffe\uffff" for c in text)


def test_c01_encrypted_pdfs(processor):
    readable = processor.extract(C01 / "policy_empty_user_password.pdf")
    assert readable.ok, readable.error
    assert "4000 INR" in readable.text
    locked = processor.extract(C01 / "policy_password_protected.pdf")
    assert locked.error.kind == "encrypted" and locked.error.code == "password_required"
    assert processor.extract(C01 / "control.txt").ok


def test_c02_damaged_pdfs(processor):
    repaired = processor.extract(C02 / "wrong_startxref.pdf")
    assert repaired.ok and "Page 3: reimbursement rules part 3." in repaired.text
    assert any("startxref" in w for w in repaired.warnings)

    truncated = processor.extract(C02 / "truncated.pdf")
    assert (truncated.error and truncated.error.kind == "corrupt") or truncated.warnings

    no_xref = processor.extract(C02 / "no_xref.pdf")
    assert no_xref.error is None or no_xref.error.kind in ("no_text", "corrupt")

    html = processor.extract(C02 / "html_saved_as.pdf")
    assert html.error.kind == "corrupt" and html.error.code == "not_a_pdf"
    assert "HTML" in html.error.message


def test_c03_ligatures_are_normalised(processor):
    doc = processor.extract(C03 / "ligatures_unicode.pdf")
    assert doc.ok
    for word in ("definition", "flight", "affidavit"):
        assert word in doc.text
    assert not any(0xFB00 <= ord(c) <= 0xFB06 for c in doc.text)


def test_c03_unmapped_glyphs_are_flagged_and_never_stored(processor, offline_processor):
    offline = offline_processor.extract(C03 / "ligatures_mapped_to_null.pdf")
    assert _no_control_chars(offline.text)
    assert any("low text quality" in w for w in offline.warnings)

    reread = processor.extract(C03 / "ligatures_mapped_to_null.pdf")
    assert _no_control_chars(reread.text)
    assert any("low text quality" in w and "OCR" in w for w in reread.warnings)
    assert reread.pages[0].method == "ocr"
    assert "definition" in reread.text and "flight" in reread.text


def test_c05_no_text_inputs(processor, offline_processor):
    assert processor.extract(C05 / "empty.pdf").error.kind == "empty"
    assert processor.extract(C05 / "empty.txt").error.kind == "empty"
    assert processor.extract(C05 / "whitespace_only.md").error.kind == "no_text"
    assert processor.extract(C05 / "blank_page.pdf").error.kind == "no_text"
    assert processor.extract(C05 / "control.txt").ok

    scanned = processor.extract(C05 / "scanned_only.pdf")
    assert scanned.ok, scanned.error
    assert "original receipts" in scanned.text
    skipped = offline_processor.extract(C05 / "scanned_only.pdf")
    assert skipped.error.kind == "needs_ocr"


def test_c07_non_utf8_text(processor):
    cp1252 = processor.extract(C07 / "cp1252_policy.txt")
    for ch in "’–€“”":
        assert ch in cp1252.text
    utf16 = processor.extract(C07 / "utf16_with_bom.txt")
    assert "₹2,500" in utf16.text and "\x00" not in utf16.text
    latin1 = processor.extract(C07 / "latin1_policy.md")
    assert "déplacement" in latin1.text and "Hôtel" in latin1.text
    mostly = processor.extract(C07 / "mostly_utf8_one_bad_byte.txt")
    assert mostly.ok and "Café" in mostly.text and mostly.text.count("\ufffd") == 1
    assert mostly.warnings


def test_c08_docx_tables_sdt_headers(processor):
    doc = processor.extract(C08 / "policy_tables_only.docx")
    assert doc.ok
    for needle in ("Hotel", "4,000 per night", "Meals", "Airport taxi", "1,500 per trip",
                   "Approver: Finance Controller", "Acme Travel Policy v3", "Effective 1 April 2024"):
        assert needle in doc.text
    lines = doc.text.splitlines()
    assert "Hotel | 4,000 per night" in lines
    assert "Airport taxi | 1,500 per trip" in lines


def test_c09_html_boilerplate(processor):
    doc = processor.extract(C09 / "conveyance.html")
    assert doc.ok
    assert "Auto-rickshaw" in doc.text and "₹300" in doc.text and "employee’s" in doc.text
    for gone in ("trackingId", "tracking pixel", "font-family", "TODO remove", "Template text",
                 "INTERNAL DRAFT", "Careers", "Accept all cookies"):
        assert gone not in doc.text


def test_c12_metadata_types(processor):
    md = processor.extract(C12 / "front_matter.md")
    assert md.text.startswith("# Relocation")
    meta = md.metadata
    assert meta["title"] == "Relocation policy" and meta["version"] == 3 and meta["draft"] is False
    assert meta["date"] == "2024-04-01"
    assert json.loads(meta["tags"]) == ["relocation", "hotel", "travel"]
    assert json.loads(meta["reviewers"]) == [{"name": "A. Rao"}, {"name": "S. Iyer"}]
    assert "author" not in meta  # empty value dropped
    docx = processor.extract(C12 / "core_props.docx")
    assert docx.metadata["title"] == "Per diem table"
    assert docx.metadata["created"].startswith("2024-03-15T09:30:00")
    for doc in (md, docx):
        assert all(isinstance(v, (str, int, float, bool)) for v in doc.metadata.values())


def test_c27_hostile_images(processor):
    for name in ("IMG_0412.jpg", "IMG_0413.HEIC"):
        error = processor.extract(C27 / name).error
        assert error.kind == "unsupported" and error.code == "unsupported_format: heic"
        assert "convert" in error.message
    assert processor.extract(C27 / "truncated_upload.jpg").error.code == "truncated_image"
    assert processor.extract(C27 / "zero_bytes.png").error.kind == "empty"
    assert processor.extract(C27 / "not_really.png").error.code == "not_an_image"
    bomb = processor.extract(C27 / "pixel_bomb_20000x20000.png").error
    assert bomb.kind == "too_large" and bomb.code == "image_too_large"
    control = processor.extract(C27 / "control_ok.jpg")
    assert control.ok and "245.00" in control.text


_HUGE_SCAN = """
import json, resource, sys
from framework.documents import DocumentProcessor
doc = DocumentProcessor(use_cache=False).extract(sys.argv[1])
print(json.dumps({"text": doc.text, "error": doc.error and doc.error.model_dump(),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_c27_huge_scan_is_downscaled_within_memory():
    done = subprocess.run(
        [sys.executable, "-c", _HUGE_SCAN, str(C27 / "huge_scan_9000x12000.png")],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["error"] is None
    assert "512.00" in result["text"] and "21/04/2024" in result["text"]
    assert result["peak_mb"] < 2048


@pytest.mark.dataset
def test_sroie_receipt_total_and_date_found(processor):
    dataset = SHARED / "datasets" / "sroie-dev"
    if not dataset.is_dir():
        pytest.skip("../shared/datasets/sroie-dev not present")
    receipt = sorted((dataset / "images").glob("*.jpg"))[2]
    label = json.loads((dataset / "labels" / f"{receipt.stem}.json").read_text())
    doc = processor.extract(receipt)
    assert squash(label["total"]) in squash(doc.text)
    assert squash(label["date"]) in squash(doc.text)
