"""JSONL reading tolerates what people and crashes leave behind; appends survive kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from framework.jsonl import append_jsonl, existing_output_ids, load_jsonl, read_jsonl, repair_torn_tail

REPO = Path(__file__).resolve().parents[2]


def test_bom_crlf_blank_lines_and_missing_final_newline(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": "q1"}\r\n\r\n   \r\n{"id": "q2"}\r\n{"id": "q3"}')
    assert [r["id"] for r in load_jsonl(path)] == ["q1", "q2", "q3"]


def test_malformed_line_reported_with_number_and_skipped(tmp_path, caplog):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": 1}\n{oops\n{"id": 3}\n', encoding="utf-8")
    result = read_jsonl(path)
    assert [r.value["id"] for r in result.records] == [1, 3]
    assert [r.line_number for r in result.records] == [1, 3]
    assert len(result.problems) == 1 and result.problems[0].line_number == 2
    assert "invalid JSON" in result.problems[0].reason
    with caplog.at_level("WARNING"):
        load_jsonl(path)
    assert "line 2" in caplog.text


def test_torn_tail_is_unwritten_for_outputs(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "ans', encoding="utf-8")
    result = read_jsonl(path, torn_tail_is_unwritten=True)
    assert [r.value["id"] for r in result.records] == ["a"]
    assert result.torn_tail
    # a complete last record without newline is still torn for an output: it may be cut mid-way
    path.write_text('{"id": "a"}\n{"id": "b"}', encoding="utf-8")
    assert existing_output_ids(path) == {"a"}


def test_repair_torn_tail_then_append_starts_a_fresh_line(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b", "ans', encoding="utf-8")
    assert repair_torn_tail(path)
    append_jsonl(path, {"id": "b"})
    assert path.read_text(encoding="utf-8") == '{"id":"a"}\n{"id":"b"}\n'.replace('{"id":"a"}', '{"id": "a"}')
    assert not repair_torn_tail(path)


def test_existing_output_ids_skips_errors_and_compares_as_strings(tmp_path):
    path = tmp_path / "out.jsonl"
    append_jsonl(path, [{"id": 7, "answer": "x"}, {"id": "8", "error": {"type": "timeout"}}, {"id": "9", "answer": "y"}], many=True)
    assert existing_output_ids(path) == {"7", "9"}
    assert existing_output_ids(path, success_only=False) == {"7", "8", "9"}


def test_append_writes_utf8_lf_without_bom(tmp_path):
    path = tmp_path / "out.jsonl"
    append_jsonl(path, {"id": "₹", "text": "line\nbreak"})
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\n") == 1 and b"\r" not in raw
    assert json.loads(raw)["id"] == "₹"


_WRITER = """
import sys
from framework.jsonl import append_jsonl
path = sys.argv[1]
i = 0
while True:
    append_jsonl(path, {"id": i, "payload": "x" * 2000})
    i += 1
"""


def test_append_survives_kill_9_with_every_complete_line_intact(tmp_path):
    path = tmp_path / "out.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], cwd=REPO)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_size > 200_000:
                break
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    result = read_jsonl(path, torn_tail_is_unwritten=True)
    assert not result.problems
    ids = [r.value["id"] for r in result.records]
    assert len(ids) > 50
    assert ids == list(range(len(ids)))  # nothing lost or duplicated before the kill point
    assert all(r.value["payload"] == "x" * 2000 for r in result.records)
