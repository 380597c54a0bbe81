"""On-disk cache of extraction results, keyed by content, engine and settings.

A key is the file's sha256 plus a fingerprint of everything that changes the output (engine,
DPI, thresholds, OCR on/off, this package's cache version). A renamed or copied file is a hit;
a changed setting is a miss. Entries are written atomically (temp file + fsync + rename), so
concurrent workers and crashes never leave a torn entry, and a damaged entry is just a miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from framework.fileio import atomic_write_bytes

from .models import ExtractedDocument

log = logging.getLogger(__name__)


def fingerprint_hash(fingerprint: dict[str, object]) -> str:
    canonical = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class ExtractionCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, sha256: str, fingerprint: dict[str, object]) -> Path:
        return self.root / sha256[:2] / f"{sha256}-{fingerprint_hash(fingerprint)}.json"

    def get(self, sha256: str, fingerprint: dict[str, object]) -> ExtractedDocument | None:
        path = self._path(sha256, fingerprint)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            document = ExtractedDocument.model_validate_json(raw)
        except ValueError:
            log.debug("ignoring a damaged cache entry %s", path)
            return None
        return document if document.sha256 == sha256 else None

    def put(self, document: ExtractedDocument, fingerprint: dict[str, object]) -> None:
        path = self._path(document.sha256, fingerprint)
        try:
            atomic_write_bytes(path, document.model_dump_json().encode())
        except OSError as exc:
            # A read-only or full cache folder must not fail the extraction itself.
            log.warning("could not write the extraction cache (%s): %s", path.parent, exc)
