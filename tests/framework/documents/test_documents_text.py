from __future__ import annotations

from pathlib import Path

from framework.documents.encoding import decode_bytes
from framework.documents.normalize import bad_char_ratio, clean_metadata, clean_text


def test_clean_text_folds_ligatures_and_drops_controls():
    raw = "de\ufb01nition \ufb02ight a\ufb03davit\x00\ufffe\x07 ok\u200b\r\nnext\u00a0line"
    cleaned = clean_text(raw)
    assert cleaned == "definition flight affidavit ok\nnext line"
    assert not any(0xFB00 <= ord(c) <= 0xFB06 for c in cleaned)


def test_clean_text_keeps_joiners_and_collapses_blank_lines():
    assert clean_text("a\u200db\n\n\n\n c  \n") == "a\u200db\n\n c"


def test_bad_char_ratio_counts_unmapped_glyphs():
    assert bad_char_ratio("abc\ufffe") == 0.25
    assert bad_char_ratio("plain text") == 0.0


def test_metadata_values_are_scalars_only():
    from datetime import date, datetime

    meta = clean_metadata({
        "none": None, "empty": "", "nan": float("nan"), "inf": float("inf"), "n": 3, "f": 1.5,
        "flag": False, "day": date(2024, 4, 1), "at": datetime(2024, 4, 1, 9, 30),
        "tags": ["a", "b"], "owner": {"team": "finance"}, "blank_list": [],
    })
    assert meta == {
        "n": 3, "f": 1.5, "flag": False, "day": "2024-04-01", "at": "2024-04-01T09:30:00",
        "tags": '["a", "b"]', "owner": '{"team": "finance"}',
    }
    assert all(isinstance(v, (str, int, float, bool)) for v in meta.values())


def test_decode_cp1252_not_mistaken_for_cp852():
    data = "Employee’s policy – meals up to €40; “receipts”.".encode("cp1252")
    decoded = decode_bytes(data)
    assert decoded.encoding == "cp1252"
    assert decoded.text == "Employee’s policy – meals up to €40; “receipts”."


def test_decode_boms_and_utf16():
    assert decode_bytes("\ufeffhé".encode("utf-8")).text == "hé"
    assert decode_bytes("₹2,500".encode("utf-16")).text == "₹2,500"  # with BOM
    assert decode_bytes("plain ascii text here".encode("utf-16-le")).text == "plain ascii text here"


def test_decode_mostly_utf8_replaces_the_bad_byte_with_a_warning():
    decoded = decode_bytes("Café bills ".encode() + b"\xff" + " naïve".encode())
    assert decoded.encoding == "utf-8"
    assert "Café" in decoded.text and "naïve" in decoded.text and "\ufffd" in decoded.text
    assert decoded.warning


def test_decode_cyrillic_legacy_is_left_to_the_detector():
    text = "Привет, как дела? Это тест кодировки для документов."
    assert decode_bytes(text.encode("cp1251")).text == text


def test_txt_cp1252_file(processor, tmp_path: Path):
    path = tmp_path / "policy.txt"
    path.write_bytes("Hôtel – €120 per night".encode("cp1252"))
    doc = processor.extract(path)
    assert doc.ok and doc.file_type == "text"
    assert doc.text == "Hôtel – €120 per night"
    assert doc.pages[0].method == "native" and doc.pages[0].confidence is None
    assert doc.metadata["encoding"] == "cp1252"


def test_markdown_front_matter_is_metadata(processor, tmp_path: Path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Travel\ntags: [a, b]\nowner:\n  team: finance\nempty:\n---\n# Body\n\ntext\n")
    doc = processor.extract(path)
    assert doc.file_type == "markdown"
    assert doc.text.startswith("# Body")
    assert doc.metadata["title"] == "Travel"
    assert doc.metadata["tags"] == '["a", "b"]'
    assert "empty" not in doc.metadata


def test_markdown_bad_front_matter_is_dropped_with_a_warning(processor, tmp_path: Path):
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: [unclosed\n---\nbody text\n")
    doc = processor.extract(path)
    assert doc.text == "body text"
    assert any("front matter" in w for w in doc.warnings)


def test_whitespace_only_text_is_no_text(processor, tmp_path: Path):
    path = tmp_path / "blank.txt"
    path.write_text("  \n\t\n  ")
    doc = processor.extract(path)
    assert doc.error and doc.error.kind == "no_text"
