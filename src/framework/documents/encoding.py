"""Bytes to str for text-like files, without ever raising UnicodeDecodeError.

Order of evidence: a BOM, then a charset the file declares (HTML), then strict UTF-8, then
"UTF-8 with a few bad bytes" (common after a copy-paste or a bad concatenation: decoding the
whole file as cp1252 would garble every correct accent), and only then a statistical guess.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Bytes 0x80-0x9F that cp1252 leaves undefined; their presence rules cp1252 out.
_CP1252_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
# WHATWG: these labels are decoded as windows-1252 by every browser.
_WINDOWS_1252_ALIASES = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "ascii", "us-ascii", "cp819"}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    warning: str | None = None


def decode_bytes(data: bytes, declared: str | None = None) -> Decoded:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            # A BOM is the strongest evidence there is; bad sequences after it are replaced.
            return _decode_with_report(data[len(bom):], codec)

    if declared:
        codec = _lookup(declared)
        if codec:
            return _decode_with_report(data, codec)

    # Before UTF-8: ASCII text in UTF-16 without a BOM is valid UTF-8, full of NULs.
    utf16 = _utf16_guess(data)
    if utf16:
        return _decode_with_report(data, utf16)

    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass

    if _mostly_utf8(data):
        text = data.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        return Decoded(
            text, "utf-8",
            f"decoded as UTF-8 with {bad} invalid byte(s) replaced by U+FFFD",
        )

    return _guess_legacy(data)


def _decode_with_report(data: bytes, codec: str) -> Decoded:
    try:
        return Decoded(data.decode(codec), codec)
    except UnicodeDecodeError:
        text = data.decode(codec, errors="replace")
        return Decoded(
            text, codec,
            f"decoded as {codec} with {text.count(chr(0xFFFD))} invalid sequence(s) replaced",
        )


def _lookup(label: str) -> str | None:
    label = label.strip().strip("\"'").lower()
    if label in _WINDOWS_1252_ALIASES:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


def _mostly_utf8(data: bytes) -> bool:
    """True when the file has valid multi-byte UTF-8 sequences and only a few stray bytes."""
    valid = len(_UTF8_MULTIBYTE.findall(data))
    if valid == 0:
        return False
    high = sum(1 for b in data if b >= 0x80)
    valid_bytes = sum(len(m) for m in _UTF8_MULTIBYTE.findall(data))
    stray = high - valid_bytes
    return stray <= max(2, valid // 4)


def _utf16_guess(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    half = len(sample) // 2
    even_nul = sample[0::2].count(0) / half
    odd_nul = sample[1::2].count(0) / half
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _guess_legacy(data: bytes) -> Decoded:
    if _plausible_western(data):
        return Decoded(data.decode("cp1252"), "cp1252")
    best = from_bytes(data).best()
    if best is not None and best.encoding:
        try:
            return Decoded(data.decode(best.encoding), best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    return Decoded(
        data.decode("cp1252", errors="replace"), "cp1252",
        "encoding could not be detected; decoded as cp1252 with unknown bytes replaced",
    )


def _plausible_western(data: bytes) -> bool:
    """cp1252 (a superset of latin-1 for printable text) explains the bytes as Western text.

    Statistical detectors mistake short Western texts for cp852 or iso8859-4, so we check
    this first: accents and typographic punctuation are sparse in Western prose, while a
    Cyrillic or Greek text in a legacy code page is made almost entirely of high bytes."""
    if any(b in _CP1252_UNDEFINED for b in data):
        return False
    text = data.decode("cp1252")
    high = [ch for ch in text if ord(ch) >= 0x80]
    if not high:
        return True
    if any(not (ch.isalpha() or ch in _WESTERN_SYMBOLS) for ch in high):
        return False
    letters = sum(1 for ch in text if ch.isalpha())
    return len(high) <= 0.3 * max(letters, 1)


_WESTERN_SYMBOLS = set("\u2018\u2019\u201a\u201c\u201d\u201e\u2013\u2014\u2026\u2022\u20ac\u2122\u00a0"
                       "\u00a3\u00a5\u00a7\u00a9\u00ae\u00b0\u00b1\u00b2\u00b3\u00b5\u00b7\u00bc\u00bd\u00be"
                       "\u00ab\u00bb\u00bf\u00a1\u00d7\u00f7\u2020\u2021\u2030\u00a2\u00a4\u00a6\u00a8\u00af\u00b4\u00b8\u00b9\u00ba\u00aa\u00ad\u02c6\u02dc\u2039\u203a")
