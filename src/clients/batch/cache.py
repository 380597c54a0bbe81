"""The per-bill cache: what reading a bill produced, keyed by content.

One append-only JSONL file under the output folder's `.cache/`. Each line is a `BillRecord`
whose `key` is sha256(file) + the reader's fingerprint (reader and extractor version,
default currency, date order, the policy's categories and excluded items). The coordinator
appends a line as soon as a bill is read (one whole line per write, fsync'd), so a run
killed with `kill -9` loses at most the bill in flight, and the re-run reads only the bills
that are missing. Decisions are never cached: they depend on other bills and on the policy's
limits, and are recomputed from these records on every run.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from pydantic import ValidationError

from framework.fileio import atomic_write_text
from framework.jsonl import append_jsonl, load_jsonl, repair_torn_tail

from clients.batch.schemas import BillRecord

log = logging.getLogger(__name__)

CACHE_FILE = "bill_records.jsonl"


class BillCache:
    def __init__(self, folder: Path, *, read_existing: bool = True) -> None:
        self.path = Path(folder) / CACHE_FILE
        self._records: dict[str, BillRecord] = {}
        self._lines = 0
        if self.path.exists():
            repair_torn_tail(self.path)
            if read_existing:
                self._load()

    def _load(self) -> None:
        for value in load_jsonl(self.path, torn_tail_is_unwritten=True):
            self._lines += 1
            try:
                record = BillRecord.model_validate(value)
            except ValidationError:
                continue  # a record of an older format: read the bill again
            self._records[record.key] = record

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: str) -> BillRecord | None:
        return self._records.get(key)

    def put(self, record: BillRecord) -> None:
        """Remember and persist a record (records marked not cacheable are only remembered
        for this run: an LLM fallback is retried next time)."""
        self._records[record.key] = record
        if record.cacheable:
            append_jsonl(self.path, record.model_dump(mode="json"))
            self._lines += 1

    def compact(self, keep: set[str]) -> None:
        """Rewrite the file with only the records of this batch when it has grown well past
        them (old policies, removed bills, superseded lines)."""
        if self._lines <= 2 * len(keep) + 100:
            return
        kept = [self._records[k] for k in sorted(keep) if k in self._records and self._records[k].cacheable]
        atomic_write_text(self.path, "".join(_line(r) + "\n" for r in kept))
        log.info("compacted the bill cache: %d lines -> %d", self._lines, len(kept))
        self._lines = len(kept)


def _line(record: BillRecord) -> str:
    return json.dumps(record.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))
