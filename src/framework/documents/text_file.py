"""Plain text and Markdown. Markdown front matter is metadata, not body text: a title or a
list of reviewers in the body would be chunked, embedded and retrieved as if it were policy."""

from __future__ import annotations

import re
import tomllib

import yaml

from .encoding import decode_bytes
from .models import Extraction, PageText
from .normalize import clean_metadata, clean_text

_YAML_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_TOML_FRONT = re.compile(r"\A\+\+\+[ \t]*\n(.*?\n)?\+\+\+[ \t]*(?:\n|\Z)", re.S)


def read_text(data: bytes, *, markdown: bool) -> Extraction:
    decoded = decode_bytes(data)
    warnings = [decoded.warning] if decoded.warning else []
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    metadata: dict[str, object] = {"encoding": decoded.encoding}
    if markdown:
        text, front, problem = split_front_matter(text)
        metadata.update({k: v for k, v in front.items() if k not in metadata})
        if problem:
            warnings.append(problem)
    return Extraction(
        pages=[PageText(number=1, text=clean_text(text), method="native", confidence=None)],
        metadata=clean_metadata(metadata),
        warnings=warnings,
    )


def split_front_matter(text: str) -> tuple[str, dict[str, object], str | None]:
    """(body, metadata, warning). Unparseable front matter is still removed from the body."""
    for pattern, parse in ((_YAML_FRONT, _parse_yaml), (_TOML_FRONT, tomllib.loads)):
        match = pattern.match(text)
        if not match:
            continue
        body = text[match.end():]
        try:
            data = parse(match.group(1) or "")
        except Exception as exc:  # any parser error: keep the body, report the header
            return body, {}, f"front matter could not be parsed ({type(exc).__name__}); ignored"
        if not isinstance(data, dict):
            return body, {}, "front matter is not a key/value map; ignored"
        return body, data, None
    return text, {}, None


def _parse_yaml(source: str) -> object:
    # safe_load: front matter is user input, and full YAML can construct arbitrary objects.
    return yaml.safe_load(source) if source.strip() else {}
