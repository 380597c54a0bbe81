"""The one place where extracted text is cleaned, whatever format it came from.

Downstream code (chunking, vector stores, logs, JSON) must never see NUL, U+FFFE, stray
control characters or presentation forms such as the "fi" ligature, which breaks a search for
"definition". NFKC folds ligatures, full-width digits and non-breaking spaces into the plain
characters people type.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import date, datetime, time

# Format characters (category Cf) that are invisible but matter: joiners shape Indic scripts
# and emoji, so they stay; the rest (BOMs, bidi overrides, soft hyphens...) go.
_KEEP_FORMAT = {"\u200c", "\u200d"}
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
# The lookbehind starts a match only at the first blank of a run: without it, a long run of
# spaces not followed by a newline is rescanned from every position (quadratic; 80,000
# spaces took 11 s).
_TRAILING_SPACE = re.compile(r"(?<![ \t])[ \t]+\n")
_CONTROL_CHAR = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")

# Characters a PDF text layer produces for glyphs that have no Unicode mapping.
UNMAPPED_GLYPHS = frozenset({"\x00", "\ufffe", "\uffff", "\ufffd"})


def _is_dropped(ch: str) -> bool:
    if ch in "\n\t":
        return False
    category = unicodedata.category(ch)
    if category in ("Cc", "Cs", "Cn"):  # controls, lone surrogates, noncharacters/unassigned
        return ch != "\ufffd"  # keep the visible marker of a decoding error
    if category == "Cf":
        return ch not in _KEEP_FORMAT
    return False


def clean_text(text: str) -> str:
    """NFKC-normalise, drop control and invisible characters, tidy line ends and blank lines."""
    if not text:
        return ""
    text = _LINE_BREAKS.sub("\n", text)
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii() or _CONTROL_CHAR.search(text):
        text = "".join(ch for ch in text if not _is_dropped(ch))
    text = text.replace("\t", " ")
    text = _TRAILING_SPACE.sub("\n", text)
    text = _MANY_BLANK_LINES.sub("\n\n", text)
    return text.strip()


def bad_char_ratio(raw: str) -> float:
    """Share of non-space characters that are unmapped glyphs, controls or private-use
    code points: a text layer with many of these reads as garbage."""
    visible = 0
    bad = 0
    for ch in raw:
        if ch.isspace():
            continue
        visible += 1
        if ch in UNMAPPED_GLYPHS:
            bad += 1
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Co", "Cs"):
            bad += 1
    return bad / visible if visible else 0.0


def clean_metadata(values: dict[str, object]) -> dict[str, str | int | float | bool]:
    """Metadata that any vector store accepts: str/int/float/bool only.

    None, empty strings, NaN and infinities are dropped; dates become ISO strings; lists and
    maps become JSON strings (so nothing is lost and the value stays one scalar)."""
    out: dict[str, str | int | float | bool] = {}
    for key, value in values.items():
        scalar = _to_scalar(value)
        if scalar is not None:
            out[str(key)] = scalar
    return out


def _to_scalar(value: object) -> str | int | float | bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, str):
        text = clean_text(value)
        return text or None
    if isinstance(value, bytes):
        return None
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        if not value:
            return None
        plain = _jsonable(value)
        return json.dumps(plain, ensure_ascii=False, sort_keys=True)
    text = clean_text(str(value))
    return text or None


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=str)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
