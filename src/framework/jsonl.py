"""JSON Lines that survive crashes and sloppy editors.

Readers accept a UTF-8 BOM, CRLF and blank lines, report a malformed line with its number
instead of failing, and treat a last line with no newline as torn (never written) when asked
to, because an append-only writer killed mid-line leaves exactly that. Writers append one
whole line per call and fsync it, so a `kill -9` loses at most the line in flight.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JsonlRecord:
    line_number: int  # 1-based, as an editor shows it
    value: Any


@dataclass(frozen=True)
class JsonlProblem:
    line_number: int
    reason: str
    raw: str


@dataclass
class JsonlReadResult:
    records: list[JsonlRecord] = field(default_factory=list)
    problems: list[JsonlProblem] = field(default_factory=list)
    torn_tail: bool = False  # the file ended in a line without newline that was dropped


def iter_jsonl_lines(path: str | Path) -> Iterator[tuple[int, str, bool]]:
    """Yield (line_number, text, has_newline) with BOM and CR removed."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            has_newline = raw.endswith(b"\n")
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            yield number, text, has_newline


def read_jsonl(path: str | Path, *, torn_tail_is_unwritten: bool = False, max_line_chars: int | None = None) -> JsonlReadResult:
    """Read every line; keep good records and problems apart.

    `torn_tail_is_unwritten=True` is for files this project appends to (outputs): a final
    line without newline was cut by a crash. Inputs written by people often lack the final
    newline, so for them the last line counts.
    """
    result = JsonlReadResult()
    lines = list(iter_jsonl_lines(path)) if Path(path).exists() else []
    for index, (number, text, has_newline) in enumerate(lines):
        is_last = index == len(lines) - 1
        if not text.strip():
            continue
        if is_last and not has_newline and torn_tail_is_unwritten:
            result.torn_tail = True
            log.warning("%s: line %d has no newline (torn write); ignoring it", path, number)
            continue
        if max_line_chars is not None and len(text) > max_line_chars:
            result.problems.append(JsonlProblem(number, f"line longer than {max_line_chars} characters", text[:200]))
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            result.problems.append(JsonlProblem(number, f"invalid JSON: {exc.msg} at column {exc.colno}", text[:200]))
            continue
        result.records.append(JsonlRecord(number, value))
    return result


def load_jsonl(path: str | Path, *, torn_tail_is_unwritten: bool = False, log_problems: bool = True) -> list[Any]:
    """The values of every well-formed line; malformed lines are logged with their number and skipped."""
    result = read_jsonl(path, torn_tail_is_unwritten=torn_tail_is_unwritten)
    if log_problems:
        for problem in result.problems:
            log.warning("%s: line %d skipped: %s", path, problem.line_number, problem.reason)
    return [record.value for record in result.records]


def _dumps(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=False, separators=(",", ":"), default=str)


def repair_torn_tail(path: str | Path) -> bool:
    """Cut a final line that lacks its newline, so the next append starts on a fresh line.
    Returns True when something was cut."""
    path = Path(path)
    if not path.exists():
        return False
    with open(path, "rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return False
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return False
        # walk back to the last newline; files are append-only so the tail is short
        block = 65536
        pos = size
        cut = 0
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                cut = start + idx + 1
                break
            pos = start
        fh.truncate(cut)
        fh.flush()
        os.fsync(fh.fileno())
    log.warning("%s: removed a torn last line left by an interrupted run", path)
    return True


def append_jsonl(path: str | Path, record: Any | Iterable[Any], *, many: bool = False) -> None:
    """Append one record (or several with many=True) as whole lines, then flush and fsync.

    Each call issues a single write of complete lines, so a reader never sees half a
    record from this call unless the process dies inside that write, which readers treat
    as a torn tail.
    """
    records = list(record) if many else [record]
    if not records:
        return
    payload = "".join(_dumps(r) + "\n" for r in records).encode("utf-8")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def existing_output_ids(path: str | Path, *, id_key: str = "id", success_only: bool = True) -> set[str]:
    """Ids already answered in an append-only output file (ids compared as strings).

    With success_only, rows carrying an "error" are not counted, so failed ids are retried.
    """
    done: set[str] = set()
    for value in load_jsonl(path, torn_tail_is_unwritten=True, log_problems=False):
        if not isinstance(value, dict) or id_key not in value:
            continue
        if success_only and value.get("error"):
            continue
        done.add(str(value[id_key]))
    return done
