"""HTML to text: the article, not the page chrome.

A saved intranet page is mostly navigation, cookie banners, scripts and footers. Indexed as
is, every chunk starts with "Home | About us | Careers" and retrieval ranks boilerplate. We
drop what a reader never sees (scripts, styles, templates, comments, hidden elements) and what
is not the content (nav, footer, banners), keep headings, and keep each table row on a line.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import CData, Comment, Declaration, Doctype, ProcessingInstruction

from .encoding import decode_bytes
from .models import Extraction, PageText
from .normalize import clean_metadata, clean_text

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_INVISIBLE_TAGS = {
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
    "head", "button", "select", "input", "textarea", "option", "dialog", "map", "audio", "video",
}
_CHROME_TAGS = {"nav", "footer"}
_CHROME_OUTSIDE_CONTENT = {"header", "aside"}  # page chrome unless inside the article
_CHROME_ROLES = {"navigation", "banner", "contentinfo", "search", "dialog", "alertdialog", "menubar"}
_BANNER_NAMES = re.compile(r"cookie|consent|gdpr|onetrust|cc-window|cc-banner|newsletter-popup", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "h1", "h2", "h3",
    "h4", "h5", "h6", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "thead",
    "tbody", "tfoot", "caption", "figure", "figcaption", "hr", "address", "details",
    "summary", "form", "fieldset", "legend", "body", "html",
}
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction, CData)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def read_html(data: bytes) -> Extraction:
    declared = _declared_charset(data)
    decoded = decode_bytes(data, declared=declared)
    soup = BeautifulSoup(decoded.text, "lxml")
    metadata: dict[str, object] = {"encoding": decoded.encoding}
    if soup.title and soup.title.string:
        metadata["title"] = soup.title.get_text(" ", strip=True)
    html_tag = soup.find("html")
    if isinstance(html_tag, Tag) and html_tag.get("lang"):
        metadata["language"] = str(html_tag.get("lang"))
    description = soup.find("meta", attrs={"name": "description"})
    if isinstance(description, Tag) and description.get("content"):
        metadata["description"] = str(description.get("content"))

    _drop_boilerplate(soup)
    parts: list[str] = []
    _walk(soup, parts, preformatted=False)
    text = clean_text(_tidy("".join(parts)))
    warnings = [decoded.warning] if decoded.warning else []
    return Extraction(
        pages=[PageText(number=1, text=text, method="native", confidence=None)],
        metadata=clean_metadata(metadata),
        warnings=warnings,
    )


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:8192])
    return match.group(1).decode("ascii", errors="ignore") if match else None


def _drop_boilerplate(soup: BeautifulSoup) -> None:
    doomed: list[Tag] = []
    for tag in soup.find_all(True):
        if not isinstance(tag, Tag) or tag.attrs is None:
            continue
        if _is_boilerplate(tag):
            doomed.append(tag)
    for tag in doomed:
        if not tag.decomposed:
            tag.decompose()


def _is_boilerplate(tag: Tag) -> bool:
    name = tag.name
    if name in _INVISIBLE_TAGS or name in _CHROME_TAGS:
        return True
    if name in _CHROME_OUTSIDE_CONTENT and tag.find_parent(["article", "main"]) is None:
        # Simple pages put their title in a top-level <header>; keep a header that holds a
        # heading (its <nav> goes anyway).
        return not (name == "header" and tag.find(["h1", "h2"]) is not None)
    attrs = tag.attrs
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if _HIDDEN_STYLE.search(str(attrs.get("style", ""))):
        return True
    if str(attrs.get("role", "")).lower() in _CHROME_ROLES:
        return True
    names = " ".join([str(attrs.get("id", "")), *_as_list(attrs.get("class"))])
    return bool(names.strip()) and bool(_BANNER_NAMES.search(names))


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _walk(node: Tag, out: list[str], *, preformatted: bool) -> None:
    for child in node.children:
        if isinstance(child, NavigableString):
            if isinstance(child, _SKIPPED_STRINGS):
                continue
            text = str(child)
            out.append(text if preformatted else _SPACES.sub(" ", text.replace("\n", " ")))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name
        if name == "br":
            out.append("\n")
        elif name == "tr":
            cells = [_cell_text(cell) for cell in child.find_all(["td", "th"], recursive=False)]
            out.append("\n" + " | ".join(c for c in cells if c) + "\n")
        elif name == "li":
            out.append("\n")
            _walk(child, out, preformatted=preformatted)
            out.append("\n")
        elif name in _BLOCK_TAGS:
            out.append("\n\n")
            _walk(child, out, preformatted=preformatted or name == "pre")
            out.append("\n\n")
        else:
            _walk(child, out, preformatted=preformatted)


def _cell_text(cell: Tag) -> str:
    parts: list[str] = []
    _walk(cell, parts, preformatted=False)
    return _SPACES.sub(" ", " ".join("".join(parts).split())).strip()


def _tidy(text: str) -> str:
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
