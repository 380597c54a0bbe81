"""The RAG jobs' outputs as a new user got them wrong: unwritable --persist-dir, --manifest,
--output and --log-file are one-line usage errors before any work; the job's own manifest and
log file inside --input are never indexed; the summary stays INFO at --log-level ERROR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.framework.rag._helpers import run_cli, store_state

REPO = Path(__file__).resolve().parents[2]

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"),
                                reason="/sys and /proc are Linux pseudo file systems")


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "meals.txt").write_text("Meals are reimbursed up to 1200 INR per day.\n")
    return folder


def ingest(tmp_path: Path, *extra: object) -> int:
    return run_cli(["--input", tmp_path / "docs", "--workers", "1", *extra])


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if " | ERROR | " in line]
    return line


@linux_only
@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--persist-dir", "/sys/chroma"], "--persist-dir: cannot write /sys/chroma: cannot create the folder /sys/chroma"),
        (["--manifest", "/proc/m.jsonl"], "--manifest: cannot write /proc/m.jsonl: cannot create files in /proc"),
        (["--log-file", "/sys/x.log"], "--log-file: cannot write /sys/x.log: cannot create files in /sys"),
    ],
)
def test_ingest_refuses_unwritable_outputs_before_reading_a_file(tmp_path, docs, capsys, flags, expected):
    extra = flags if flags[0] == "--persist-dir" else ["--persist-dir", tmp_path / "db", *flags]
    assert ingest(tmp_path, *extra) == 1
    err = capsys.readouterr().err
    assert expected in one_error_line(err) and "summary:" not in err
    assert not (tmp_path / "db" / "rag_index").exists()


def test_ingest_refuses_a_store_that_is_a_file(tmp_path, docs, capsys):
    (tmp_path / "db").write_text("x")
    for dry in ([], ["--dry-run"]):
        assert ingest(tmp_path, "--persist-dir", tmp_path / "db", *dry) == 1
        assert f"--persist-dir: cannot write {tmp_path / 'db'}: it is a file, not a folder" in one_error_line(
            capsys.readouterr().err
        )


def test_the_manifest_and_the_log_file_inside_the_input_are_never_indexed(tmp_path, docs, capsys):
    # names with an extension that is indexed (.txt by default), so only the exclusion keeps them out
    flags = ["--persist-dir", tmp_path / "db", "--manifest", docs / "ingested.txt",
             "--log-file", docs / "logs" / "ingest.txt"]
    assert ingest(tmp_path, *flags, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "meals.txt" in out and "ingested.txt" not in out and "ingest.txt" not in out
    for _ in range(2):  # the second run sees both files written by the first
        assert ingest(tmp_path, *flags) == 0
        assert set(store_state(tmp_path / "db").sources) == {"meals.txt"}
    assert "done=0 skipped=1 failed=0" in capsys.readouterr().err
    rows = [json.loads(line) for line in (docs / "ingested.txt").read_text().splitlines()]
    assert [row["source"] for row in rows] == ["meals.txt"]


def test_ingest_summary_is_info_at_error_level(tmp_path, docs, capsys):
    assert ingest(tmp_path, "--persist-dir", tmp_path / "db", "--log-level", "ERROR") == 0
    err = capsys.readouterr().err
    assert "| ERROR |" not in err
    [summary] = [line for line in err.splitlines() if "summary:" in line]
    assert summary.split(" | ")[1] == "INFO" and "done=1 skipped=0 failed=0" in summary


def queries(tmp_path: Path, *extra: object) -> subprocess.CompletedProcess:
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "query": "hotel?"}\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_", "EMBEDDING_", "CHROMA_", "RAG_"))}
    env.update(ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "scripts.batch.batch_rag_queries", "--input", str(questions),
         "--persist-dir", str(tmp_path / "db"), *map(str, extra)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )


@linux_only
@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--output", "/sys/answers.jsonl"], "-o/--output: cannot write /sys/answers.jsonl: cannot create files in /sys"),
        (["--output", "/proc/nope/a.jsonl"], "-o/--output: cannot write /proc/nope/a.jsonl: cannot create the folder"),
        (["--log-file", "/proc/x.log"], "--log-file: cannot write /proc/x.log: cannot create files in /proc"),
    ],
)
def test_queries_refuse_unwritable_outputs(tmp_path, flags, expected):
    if "--output" not in flags:
        flags = ["--output", tmp_path / "answers.jsonl", *flags]
    proc = queries(tmp_path, *flags)
    assert proc.returncode == 1, proc.stderr
    assert expected in one_error_line(proc.stderr)


def test_queries_output_below_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    proc = queries(tmp_path, "--output", tmp_path / "afile" / "answers.jsonl")
    assert proc.returncode == 1, proc.stderr
    assert "afile is a file, not a folder" in one_error_line(proc.stderr)
