"""Word .docx read straight from its XML, in document order.

`python-docx`'s `document.paragraphs` misses most of a real policy: text in tables, nested
tables, content controls (w:sdt) and headers/footers. We walk the WordprocessingML tree
ourselves so every block comes out where it sits, each table row on one line ("Hotel |
4,000 per night"), and nothing is read twice (Word stores text boxes in two renderings).
"""

from __future__ import annotations

import posixpath
import zipfile
from io import BytesIO

from lxml import etree

from .models import Extraction, ExtractionFailure, PageText
from .normalize import clean_metadata, clean_text

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_OFFICE_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_REL_TYPES = ("header", "footer", "footnotes", "endnotes")
# Markup whose text is not what a reader sees: deleted revisions, field codes, the fallback
# copy of a text box, run and paragraph properties.
_SKIP = {
    W + "del", W + "delText", W + "instrText", W + "rPr", W + "pPr", W + "tblPr", W + "trPr",
    W + "tcPr", W + "sdtPr", W + "sectPr", MC + "Fallback",
}
_CORE_FIELDS = {
    "title": "title", "subject": "subject", "creator": "author", "keywords": "keywords",
    "description": "description", "lastModifiedBy": "last_modified_by", "revision": "revision",
    "created": "created", "modified": "modified", "category": "category",
}


def _parser() -> etree.XMLParser:
    # No DTDs, entities or network: a .docx is untrusted input (XXE, billion laughs).
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def read_docx(data: bytes, *, max_xml_bytes: int) -> Extraction:
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExtractionFailure("corrupt", f"the .docx is not a readable ZIP package: {exc}", "corrupt_docx") from exc
    with archive:
        reader = _Package(archive, max_xml_bytes)
        main = reader.main_document_path()
        body = reader.xml(main)
        if body is None:
            raise ExtractionFailure("corrupt", f"the .docx has no main document part ({main})", "corrupt_docx")
        related = reader.related_parts(main)
        blocks: list[str] = []
        for kind in ("header",):
            blocks.extend(_unique_texts(reader, related.get(kind, [])))
        body_el = body.find(f"{W}body")
        blocks.extend(_blocks(body_el if body_el is not None else body))
        for kind in ("footnotes", "endnotes", "footer"):
            blocks.extend(_unique_texts(reader, related.get(kind, [])))
        metadata = reader.core_properties()
    text = clean_text("\n".join(blocks))
    return Extraction(
        pages=[PageText(number=1, text=text, method="native", confidence=None)],
        metadata=clean_metadata(metadata),
        warnings=reader.warnings,
    )


class _Package:
    def __init__(self, archive: zipfile.ZipFile, max_xml_bytes: int) -> None:
        self.archive = archive
        self.names = set(archive.namelist())
        self.max_xml_bytes = max_xml_bytes
        self.warnings: list[str] = []
        total = sum(info.file_size for info in archive.infolist())
        if total > max_xml_bytes * 4:
            raise ExtractionFailure(
                "too_large",
                f"the .docx expands to {total // 2**20} MB of content; refused (zip bomb guard)",
                "archive_too_large",
            )

    def xml(self, name: str) -> etree._Element | None:
        if name not in self.names:
            return None
        info = self.archive.getinfo(name)
        if info.file_size > self.max_xml_bytes:
            raise ExtractionFailure(
                "too_large", f"{name} in the .docx is {info.file_size // 2**20} MB; refused",
                "archive_too_large",
            )
        try:
            raw = self.archive.read(name)
            return etree.fromstring(raw, parser=_parser())
        except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
            raise ExtractionFailure("corrupt", f"{name} in the .docx is damaged: {exc}", "corrupt_docx") from exc

    def main_document_path(self) -> str:
        rels = self._quiet_xml("_rels/.rels")
        if rels is not None:
            for rel in rels.iter(f"{REL}Relationship"):
                if rel.get("Type") == _OFFICE_DOC and rel.get("Target"):
                    return rel.get("Target", "").lstrip("/")
        return "word/document.xml"

    def related_parts(self, main: str) -> dict[str, list[str]]:
        folder, filename = posixpath.split(main)
        rels = self._quiet_xml(posixpath.join(folder, "_rels", filename + ".rels"))
        found: dict[str, list[str]] = {kind: [] for kind in _REL_TYPES}
        if rels is not None:
            for rel in rels.iter(f"{REL}Relationship"):
                kind = (rel.get("Type") or "").rsplit("/", 1)[-1]
                target = rel.get("Target") or ""
                if kind in found and rel.get("TargetMode") != "External":
                    path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
                    found[kind].append(path)
        else:
            for kind in ("header", "footer"):
                found[kind] = sorted(n for n in self.names if n.startswith(f"{folder}/{kind}") and n.endswith(".xml"))
            for kind in ("footnotes", "endnotes"):
                found[kind] = [n for n in (f"{folder}/{kind}.xml",) if n in self.names]
        return found

    def core_properties(self) -> dict[str, object]:
        core = self._quiet_xml("docProps/core.xml")
        out: dict[str, object] = {}
        if core is None:
            return out
        for element in core:
            local = etree.QName(element).localname
            if local in _CORE_FIELDS and element.text and element.text.strip():
                out[_CORE_FIELDS[local]] = element.text.strip()
        return out

    def _quiet_xml(self, name: str) -> etree._Element | None:
        try:
            return self.xml(name)
        except ExtractionFailure as failure:
            if failure.kind == "too_large":
                raise
            self.warnings.append(f"ignored a damaged part: {name}")
            return None


def _unique_texts(reader: _Package, parts: list[str]) -> list[str]:
    """Header/footer/notes text, each distinct text once (sections often repeat them)."""
    seen: set[str] = set()
    out: list[str] = []
    for part in parts:
        root = reader._quiet_xml(part)
        if root is None:
            continue
        if etree.QName(root).localname in ("footnotes", "endnotes"):
            notes = [n for n in root if n.get(f"{W}type") not in ("separator", "continuationSeparator", "continuationNotice")]
            text = "\n".join("\n".join(_blocks(n)) for n in notes)
        else:
            text = "\n".join(_blocks(root))
        if text.strip() and text not in seen:
            seen.add(text)
            out.append(text)
    return out


def _blocks(container: etree._Element) -> list[str]:
    """Block-level content of a body, cell, header or content control, in order."""
    lines: list[str] = []
    for child in container:
        tag = child.tag
        if tag == W + "p":
            lines.append(_paragraph_text(child))
        elif tag == W + "tbl":
            lines.extend(_table_lines(child))
        elif tag in (W + "sdt", W + "customXml", W + "sdtContent", MC + "AlternateContent", MC + "Choice"):
            lines.extend(_blocks(child))
    return lines


def _table_lines(table: etree._Element) -> list[str]:
    lines: list[str] = []
    for row in _rows(table):
        cells: list[str] = []
        nested: list[str] = []
        for cell in _cells(row):
            own: list[str] = []
            for block in cell:
                if block.tag == W + "tbl":
                    nested.extend(_table_lines(block))
                elif block.tag not in _SKIP:
                    own.extend(_blocks_of(block))
            text = " ".join(" ".join(own).split())
            if text:
                cells.append(text)
        if cells:
            lines.append(" | ".join(cells))
        lines.extend(nested)  # a table inside a cell follows its row, row by row
    return lines


def _blocks_of(element: etree._Element) -> list[str]:
    if element.tag == W + "p":
        return [_paragraph_text(element)]
    return _blocks(element)


def _rows(table: etree._Element):
    for child in table:
        if child.tag == W + "tr":
            yield child
        elif child.tag in (W + "sdt", W + "sdtContent", W + "customXml"):
            yield from _rows(child)


def _cells(row: etree._Element):
    for child in row:
        if child.tag == W + "tc":
            yield child
        elif child.tag in (W + "sdt", W + "sdtContent", W + "customXml"):
            yield from _cells(child)


def _paragraph_text(paragraph: etree._Element) -> str:
    parts: list[str] = []
    _collect(paragraph, parts)
    return "".join(parts)


def _collect(element: etree._Element, parts: list[str]) -> None:
    for child in element:
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIP:
            continue
        if tag == W + "t":
            parts.append(child.text or "")
        elif tag == W + "tab":
            parts.append("\t")
        elif tag in (W + "br", W + "cr"):
            parts.append("\n")
        elif tag == W + "noBreakHyphen":
            parts.append("-")
        elif tag == W + "r" and _hidden(child):
            continue
        elif tag == W + "txbxContent":
            parts.append("\n" + "\n".join(_blocks(child)) + "\n")
        else:
            _collect(child, parts)


def _hidden(run: etree._Element) -> bool:
    props = run.find(f"{W}rPr")
    if props is None:
        return False
    vanish = props.find(f"{W}vanish")
    return vanish is not None and vanish.get(f"{W}val", "true") not in ("0", "false", "off")
