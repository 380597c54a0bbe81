"""The queries CLI as a user runs it (subprocess), over a real store ingested once: the
user-reported cases C14, C16, C17, C18, the lock and the dry run. Kill -9 and resume:
tests/jobs/test_fault_injection.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from framework.locking import RunLock
from tests.support.fake_openai import FakeOpenAIServer, Reply

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "fixtures" / "cases"
COLLECTION = "policies"
POLICY = """# Hotels

Hotel stays are reimbursed up to INR 5,000 per night. Receipts are required for every stay.

# Travel

Taxi fares are reimbursed at actuals. The meal allowance is INR 800 per day.

# About

This policy answers each question by number; ask HR about anything it does not cover.
"""
LONG_LINE = json.dumps({"id": "q9", "query": "Summarise this: " + "lorem ipsum " * 25000})


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    from framework.config import Settings
    from framework.rag import DocumentInput, get_rag

    persist = tmp_path_factory.mktemp("store") / "chroma"
    with get_rag(Settings(_env_file=None), persist_dir=persist, collection=COLLECTION) as rag:
        rag.add_documents([DocumentInput(source="policy.md", text=POLICY)])
    return persist


def clean_env(**extra: str) -> dict[str, str]:
    prefixes = ("LLM_", "OPENAI_", "EMBEDDING_", "CHROMA_", "RAG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1", **extra)
    return env


def fake_llm_env(srv: FakeOpenAIServer) -> dict[str, str]:
    return clean_env(LLM_PROVIDER="openai", LLM_BASE_URL=srv.base_url, LLM_MODEL="fake-chat", OPENAI_API_KEY="sk-test-cli-0123456789")


def command(store: Path, questions: Path, output: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "scripts.batch.batch_rag_queries", "--input", str(questions), "--output", str(output),
        "--persist-dir", str(store), "--collection", COLLECTION, *extra,
    ]


def run_cli(store: Path, questions: Path, output: Path, *extra: str, env: dict | None = None, timeout: float = 60):
    return subprocess.run(
        command(store, questions, output, *extra), cwd=ROOT, env=env or clean_env(), capture_output=True, text=True, timeout=timeout
    )


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_questions(path: Path, n: int) -> Path:
    lines = [json.dumps({"id": f"q{i:03d}", "query": f"Policy question {i}: what is the hotel limit?"}) for i in range(1, n + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_c14_bom_crlf_input_gives_four_clean_answers(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    result = run_cli(store, CASES / "C14_questions_bom_crlf" / "questions_bom_crlf.jsonl", out)
    assert result.returncode == 0, result.stderr
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw and raw.endswith(b"\n")
    rows = sorted(rows_of(out), key=lambda row: row["id"])  # written as they complete
    assert [row["id"] for row in rows] == ["q1", "q2", "q3", "q4"]
    assert rows[0]["answer"] == "Hotel stays are reimbursed up to INR 5,000 per night. [1]"
    assert rows[0]["sources"][0]["source"] == "policy.md" and rows[0]["model"] == "offline-extractive"
    assert rows[3]["answer"].startswith("Taxi fares are reimbursed at actuals. [1]")
    assert "summary: done=4 skipped=0 failed=0" in result.stderr


def test_c16_bad_records_are_reported_per_line_and_a_rerun_adds_nothing(store, tmp_path):
    template = (CASES / "C16_bad_question_records" / "questions_bad.template.jsonl").read_text(encoding="utf-8")
    questions = tmp_path / "questions_bad.jsonl"
    questions.write_text(template.replace("@@LONG_QUERY_LINE@@", LONG_LINE), encoding="utf-8")
    out = tmp_path / "answers.jsonl"

    first = run_cli(store, questions, out)
    assert first.returncode == 2, first.stderr
    for line in (2, 3, 4, 5, 6, 8, 9, 10, 12):
        assert f"line {line}" in first.stderr, line
    assert "query too long (300,015 characters; the limit is 8,000)" in first.stderr
    rows = rows_of(out)
    answered = [row["id"] for row in rows if "error" not in row]
    assert sorted(answered) == ["7", "q1", "q11"]
    errors = {row["id"]: row["error"] for row in rows if "error" in row}
    assert sorted(errors) == ["q10", "q5", "q9"]
    assert {e["type"] for e in errors.values()} == {"invalid_input"} and {e["attempts"] for e in errors.values()} == {0}
    assert all(len(json.dumps(row)) < 2000 for row in rows)  # the 300k query is not copied out
    written = out.read_bytes()

    second = run_cli(store, questions, out)
    assert second.returncode == 2, second.stderr
    assert out.read_bytes() == written
    assert all(f"line {line}" in second.stderr for line in (2, 3, 4, 5, 6, 8, 9, 10, 12))  # reported again
    assert "skipped=3" in second.stderr


def test_retriever_flag_reaches_the_store(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"id": "a", "query": "taxi fares"}\n', encoding="utf-8")
    result = run_cli(store, questions, out, "--retriever", "dense", "--top-k", "1")
    assert result.returncode == 0, result.stderr
    [row] = rows_of(out)
    assert row["sources"][0]["source"] == "policy.md" and 0 < row["sources"][0]["score"] <= 1  # a cosine similarity


def test_dry_run_reports_and_writes_nothing(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    questions = write_questions(tmp_path / "q.jsonl", 5)
    assert run_cli(store, questions, out).returncode == 0
    with open(questions, "a", encoding="utf-8") as fh:
        fh.write('{"id": "q001", "query": "again"}\n{"id": "new", "query": "hotel?"}\nnot json\n')
    before = sorted(tmp_path.iterdir())
    result = run_cli(store, questions, out, "--dry-run")
    # the malformed line fails the real run partially: the dry run predicts its exit code
    assert result.returncode == 2, result.stderr
    assert "dry run: 1 new, 0 to retry (only errors so far), 5 done, 1 duplicated, 1 malformed or invalid" in result.stderr
    assert "dry run: summary: done=1 skipped=5 failed=1" in result.stderr
    assert sorted(tmp_path.iterdir()) == before
    assert len(rows_of(out)) == 5
    assert run_cli(store, questions, out).returncode == 2


def test_dry_run_of_good_input_exits_0(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    questions = write_questions(tmp_path / "q.jsonl", 3)
    result = run_cli(store, questions, out, "--dry-run", "--log-level", "ERROR")
    assert result.returncode == 0, result.stderr
    assert not out.exists()
    [summary] = [line for line in result.stderr.splitlines() if "summary:" in line]
    assert " | INFO | " in summary and "dry run: summary: done=3 skipped=0 failed=0" in summary


def test_a_second_concurrent_run_is_refused(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    with RunLock(out):
        result = run_cli(store, write_questions(tmp_path / "q.jsonl", 2), out)
    assert result.returncode == 1
    assert "locked by another run" in result.stderr
    assert not out.exists()


def test_usage_errors_exit_1(store, tmp_path):
    result = run_cli(store, tmp_path / "missing.jsonl", tmp_path / "out.jsonl")
    assert result.returncode == 1 and "is not a file" in result.stderr
    result = run_cli(store, write_questions(tmp_path / "q.jsonl", 1), tmp_path / "out.jsonl", "--concurrency", "0")
    assert result.returncode == 1


def test_c17a_rate_limits_are_waited_out_and_every_question_answered(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    questions = CASES / "C17_rate_limit_vs_quota" / "questions.jsonl"
    with FakeOpenAIServer() as srv:
        srv.script(*[Reply.rate_limit(retry_after=1)] * 3)
        result = run_cli(store, questions, out, env=fake_llm_env(srv))
        requests = list(srv.requests)
    assert result.returncode == 0, result.stderr
    assert len(requests) == 13 and [r.status for r in requests].count(429) == 3  # 10 answers + 3 refusals
    for index, request in enumerate(requests):
        if request.status == 429:  # nothing is sent inside a Retry-After window
            assert all(later.t >= request.t + 0.99 for later in requests[index + 1:])
    assert sorted(row["id"] for row in rows_of(out)) == [f"q{i:02d}" for i in range(1, 11)]
    assert all("error" not in row for row in rows_of(out))


def test_c17b_quota_stops_the_run_after_one_request(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    questions = CASES / "C17_rate_limit_vs_quota" / "questions.jsonl"
    with FakeOpenAIServer() as srv:
        srv.script(*[Reply.quota()] * 30)
        started = time.monotonic()
        result = run_cli(store, questions, out, env=fake_llm_env(srv))
        elapsed = time.monotonic() - started
        requests = len(srv.requests)
    assert result.returncode == 3, result.stderr
    assert requests <= 3 and elapsed < 20
    assert "quota" in result.stderr and "billing" in result.stderr and "9 question(s) not asked" in result.stderr
    assert [(row["id"], row["error"]["type"]) for row in rows_of(out)] == [("q01", "quota")]
    assert "sk-test-cli-0123456789" not in result.stderr


def test_c17b_quota_keeps_the_answers_already_written(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    earlier = {"id": "q10", "query": "Policy question number 10?", "answer": "An earlier answer.", "sources": []}
    out.write_text(json.dumps(earlier) + "\n", encoding="utf-8")
    with FakeOpenAIServer() as srv:
        srv.script(*[Reply.quota()] * 30)
        result = run_cli(store, CASES / "C17_rate_limit_vs_quota" / "questions.jsonl", out, env=fake_llm_env(srv))
    # the file holds an answer and a failure: partial (the queries job counts earlier answers as done)
    assert result.returncode == 2, result.stderr
    assert "8 question(s) not asked" in result.stderr
    assert rows_of(out)[0] == earlier and [row["id"] for row in rows_of(out)] == ["q10", "q01"]


def test_c18a_5xx_with_html_bodies_are_retried_and_all_answered(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    questions = CASES / "C18_server_errors_and_hangs" / "questions.jsonl"
    pattern = [Reply.server_error(502, html=True), Reply(), Reply.server_error(503, html=False), Reply(),
               Reply.server_error(500, html=False), Reply()]
    with FakeOpenAIServer() as srv:
        srv.script(*pattern * 3)
        result = run_cli(store, questions, out, env=fake_llm_env(srv))
        statuses = srv.statuses()
    assert result.returncode == 0, result.stderr
    assert {502, 503, 500} <= set(statuses) and statuses.count(200) == 8
    assert sorted(row["id"] for row in rows_of(out)) == [f"q{i:02d}" for i in range(1, 9)]
    assert all("error" not in row for row in rows_of(out))
    assert "Traceback" not in result.stderr and "JSONDecodeError" not in result.stderr


def test_c18c_always_502_fails_every_item_with_bounded_attempts(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    questions = CASES / "C18_server_errors_and_hangs" / "questions.jsonl"
    with FakeOpenAIServer() as srv:
        srv.script(*[Reply.server_error(502, html=True)] * 100)
        result = run_cli(store, questions, out, "--retries", "1", env=fake_llm_env(srv))
        requests = len(srv.requests)
    assert result.returncode == 3, result.stderr
    assert requests == 16
    rows = rows_of(out)
    assert sorted(row["id"] for row in rows) == [f"q{i:02d}" for i in range(1, 9)]
    assert {(row["error"]["type"], row["error"]["attempts"]) for row in rows} == {("server_error", 2)}
    assert "Traceback" not in result.stderr and "JSONDecodeError" not in result.stderr


def test_c18b_timeout_flag_cuts_a_hung_request_which_is_retried(store, tmp_path):
    out = tmp_path / "answers.jsonl"
    questions = CASES / "C18_server_errors_and_hangs" / "questions.jsonl"
    with FakeOpenAIServer() as srv:
        srv.script(Reply(), Reply(), Reply.hang(300))
        started = time.monotonic()
        result = run_cli(store, questions, out, "--timeout", "1", env=fake_llm_env(srv))
        elapsed = time.monotonic() - started
        statuses = srv.statuses()
    assert result.returncode == 0, result.stderr
    assert statuses.count(0) == 1 and statuses.count(200) == 8
    assert elapsed < 20
    assert sorted(row["id"] for row in rows_of(out)) == [f"q{i:02d}" for i in range(1, 9)]
