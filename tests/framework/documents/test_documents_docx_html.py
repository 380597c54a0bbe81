from __future__ import annotations

import zipfile
from pathlib import Path

import docx


def _docx_with_table(path: Path) -> Path:
    document = docx.Document()
    document.core_properties.title = "Travel policy"
    document.core_properties.author = "Finance"
    document.sections[0].header.paragraphs[0].text = "Acme header"
    document.sections[0].footer.paragraphs[0].text = "Page footer"
    document.add_paragraph("Intro paragraph.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Hotel"
    table.cell(0, 1).text = "4,000 per night"
    table.cell(1, 0).text = "Meals"
    table.cell(1, 1).text = "1,200 per day"
    document.add_paragraph("Closing paragraph.")
    document.save(str(path))
    return path


def test_docx_table_rows_in_document_order(processor, tmp_path: Path):
    doc = processor.extract(_docx_with_table(tmp_path / "policy.docx"))
    assert doc.ok, doc.error
    assert doc.file_type == "docx"
    lines = doc.text.splitlines()
    assert "Hotel | 4,000 per night" in lines
    assert "Meals | 1,200 per day" in lines
    assert lines.index("Intro paragraph.") < lines.index("Hotel | 4,000 per night") < lines.index("Closing paragraph.")
    assert lines[0] == "Acme header" and lines[-1] == "Page footer"
    assert doc.metadata["title"] == "Travel policy" and doc.metadata["author"] == "Finance"
    assert isinstance(doc.metadata["created"], str)


def test_docx_that_is_not_a_zip_is_corrupt(processor, tmp_path: Path):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    doc = processor.extract(path)
    assert doc.error and doc.error.kind == "corrupt"


def test_docx_without_document_part_is_corrupt(processor, tmp_path: Path):
    path = tmp_path / "hollow.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/styles.xml", "<styles/>")
    doc = processor.extract(path)
    assert doc.error and doc.error.kind == "corrupt"


def test_docx_xml_entities_are_not_expanded(processor, tmp_path: Path):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        "<w:p><w:r><w:t>safe &b;</w:t></w:r></w:p></w:body></w:document>"
    )
    path = tmp_path / "entities.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", bomb)
    doc = processor.extract(path)
    assert "aaaaaaaaaa" not in doc.text


def test_legacy_doc_is_unsupported(processor, tmp_path: Path):
    path = tmp_path / "old.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    doc = processor.extract(path)
    assert doc.error and doc.error.kind == "unsupported" and doc.error.code == "unsupported_format: doc"


HTML = """<!DOCTYPE html><html lang="en"><head><title>Conveyance</title>
<style>body{font-family:Arial}</style><script>var trackingId=1;</script></head>
<body><nav><a href="/">Home</a> | <a href="/careers">Careers</a></nav>
<div id="cookie-banner">Accept all cookies</div><!-- a comment -->
<main><h1>Local conveyance</h1><p>Taxi fares up to &#8377;300   per day.</p>
<table><tr><th>Mode</th><th>Limit</th></tr><tr><td>Auto</td><td>&#8377;300</td></tr></table>
<ul><li>first</li><li>second</li></ul><p hidden>secret</p><p style="display: none">draft</p></main>
<footer>&copy; 2024 Acme</footer></body></html>"""


def test_html_drops_boilerplate_and_keeps_headings(processor, tmp_path: Path):
    path = tmp_path / "page.html"
    path.write_text(HTML, encoding="utf-8")
    doc = processor.extract(path)
    assert doc.ok and doc.file_type == "html"
    lines = doc.text.splitlines()
    assert lines[0] == "Local conveyance"
    assert "Taxi fares up to ₹300 per day." in lines
    assert "Mode | Limit" in lines and "Auto | ₹300" in lines
    assert "first" in lines and "second" in lines
    for gone in ("Home", "Careers", "cookies", "trackingId", "font-family", "comment", "secret", "draft", "Acme"):
        assert gone not in doc.text
    assert doc.metadata["title"] == "Conveyance" and doc.metadata["language"] == "en"


def test_html_declared_charset_is_honoured(processor, tmp_path: Path):
    path = tmp_path / "legacy.htm"
    path.write_bytes('<html><head><meta charset="iso-8859-1"></head><body><p>employee’s “fare”</p></body></html>'.encode("cp1252"))
    doc = processor.extract(path)
    assert doc.text == "employee’s “fare”"


def test_html_top_level_header_with_the_title_is_kept(processor, tmp_path: Path):
    path = tmp_path / "simple.html"
    path.write_text("<html><body><header><nav>Home | Login</nav><h1>Meal policy</h1></header>"
                    "<p>Dinner up to 800 INR.</p><aside>Related: Careers</aside></body></html>")
    doc = processor.extract(path)
    assert doc.text.splitlines() == ["Meal policy", "", "Dinner up to 800 INR."]
