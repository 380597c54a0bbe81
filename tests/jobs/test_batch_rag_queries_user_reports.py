"""Second round of a new user's reports on the queries job: `--retries` bounds rate limits
too, the embedder is checked before the first question, the dry run runs the store checks,
rows say what produced them, and the small ones (blank ids, garbage output lines,
duplicated sentences)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from framework.jsonl import append_jsonl
from framework.llm import OpenAICompatibleLLM
from framework.locking import RunLock
from framework.rag.answering import NO_MODEL, NOTHING_FOUND, ExtractiveAnswerer, LLMAnswerer
from framework.rag.query_batch import QueryOptions, read_output_state, read_queries, run_query_batch
from tests.framework.rag._helpers import isolated_env, tree_snapshot
from tests.support.fake_openai import FakeOpenAIServer, Reply

ROOT = Path(__file__).resolve().parents[2]
POLICY = """# Hotels

Hotel stays are reimbursed up to INR 5,000 per night. Receipts are required for every stay.

# Travel

Taxi fares are reimbursed at actuals. The meal allowance is INR 800 per day.
"""
WEATHER = "The weather is fine. It rains in the monsoon and the sun shines in May."
CARS = "Mileage for private cars is paid at INR 12 per km."


def make_store(persist: Path) -> Path:
    """A store built with the offline embedder: policy.md plus two unrelated notes (three
    chunks: with fewer, FTS5 finds every word in half the store and scores all at ~1e-6)."""
    from framework.config import Settings
    from framework.rag import DocumentInput, get_rag

    with get_rag(Settings(_env_file=None), persist_dir=persist) as rag:
        rag.add_documents([DocumentInput(source="policy.md", text=POLICY), DocumentInput(source="weather.md", text=WEATHER),
                           DocumentInput(source="cars.md", text=CARS)])
    return persist


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("store") / "db")


def write_questions(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i}", "query": f"What is the hotel limit, case {i}?"}) + "\n"
                            for i in range(1, n + 1)), encoding="utf-8")
    return path


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def run_job(store: Path, questions: Path, out: Path, *extra: str, **env: object) -> int:
    """The CLI in this process, with a clean environment plus `env`."""
    from scripts.batch.batch_rag_queries import BatchRagQueries

    argv = ["-i", str(questions), "-o", str(out), "--persist-dir", str(store), *extra]
    with isolated_env(CACHE_DIR=store.parent / "cache", **env):
        return int(BatchRagQueries().run(argv))


def fake_llm(srv: FakeOpenAIServer) -> dict[str, str]:
    return {"LLM_PROVIDER": "openai", "LLM_BASE_URL": srv.base_url, "OPENAI_API_KEY": "sk-test-user-0123456789"}


# -- 1. --retries bounds every retry, rate limits included ----------------------------------------
def test_retries_bound_rate_limits_too_in_the_cli(store, tmp_path, capsys):
    """The user's case: a server that always answers 429, `--retries 2`: 3 attempts per
    question, not 11, then an error row each."""
    questions = write_questions(tmp_path / "q.jsonl", 3)
    out = tmp_path / "a.jsonl"
    with FakeOpenAIServer() as srv:
        srv.script(*[Reply.rate_limit(retry_after=0.05)] * 100)
        started = time.monotonic()
        code = run_job(store, questions, out, "--model", "fake-chat", "--retries", "2", **fake_llm(srv))
        elapsed = time.monotonic() - started
        statuses = srv.statuses("/chat/completions")
    assert code == 3
    assert statuses == [429] * 9  # 3 questions x (1 + 2 retries)
    rows = rows_of(out)
    assert sorted(row["id"] for row in rows) == ["q1", "q2", "q3"]
    assert {(row["error"]["type"], row["error"]["attempts"]) for row in rows} == {("rate_limit", 3)}
    assert elapsed < 15


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_retries_bound_the_sum_of_rate_limits_and_server_errors(tmp_path, retries):
    """Mixed retryable errors share one budget: at most retries + 1 attempts per question."""
    from tests.jobs.test_batch_rag_queries import StandInRag

    pattern = [Reply.rate_limit(retry_after=0.02), Reply.server_error(502), Reply.rate_limit(retry_after=0.02),
               Reply.server_error(503, html=False)]
    with FakeOpenAIServer() as srv:
        srv.script(*pattern * 10)
        llm = OpenAICompatibleLLM(model="fake-chat", base_url=srv.base_url, api_key="sk-test-123456789",
                                  max_retries=0, timeout_s=5)
        questions = write_questions(tmp_path / "q.jsonl", 1)
        out = tmp_path / "a.jsonl"
        report = run_query_batch(questions, out, StandInRag(), LLMAnswerer(llm),
                                 QueryOptions(retries=retries, backoff_s=0.01))
        requests = len(srv.requests)
    assert requests == retries + 1
    [row] = rows_of(out)
    assert row["error"]["attempts"] == retries + 1 and report.failed_rows == 1


# -- 2. the embedder is checked before the first question -----------------------------------------
UNREACHABLE = {"EMBEDDING_PROVIDER": "openai", "EMBEDDING_BASE_URL": "http://127.0.0.1:9/v1"}


@pytest.mark.parametrize("flags", [("--retriever", "dense"), ("--retriever", "hybrid"), ("--retriever", "dense", "--dry-run")])
def test_another_embedder_is_refused_before_any_call(store, tmp_path, capsys, flags):
    out = tmp_path / "a.jsonl"
    started = time.monotonic()
    code = run_job(store, write_questions(tmp_path / "q.jsonl", 2), out, *flags, **UNREACHABLE)
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert "was built with embedder offline:" in err and "the configured embedder is openai:" in err
    assert elapsed < 10  # no connection attempts to the unreachable server


def test_the_default_retriever_setting_is_checked_too(store, tmp_path, capsys):
    out = tmp_path / "a.jsonl"
    code = run_job(store, write_questions(tmp_path / "q.jsonl", 1), out, RAG_RETRIEVER="hybrid", **UNREACHABLE)
    assert code == 1 and not out.exists()
    assert "was built with embedder" in capsys.readouterr().err


def test_a_reachable_wrong_embedder_is_refused_without_embedding_anything(store, tmp_path, capsys):
    out = tmp_path / "a.jsonl"
    with FakeOpenAIServer() as srv:
        code = run_job(store, write_questions(tmp_path / "q.jsonl", 2), out, "--retriever", "dense",
                       EMBEDDING_PROVIDER="openai", EMBEDDING_BASE_URL=srv.base_url, EMBEDDING_MODEL="fake-embed")
        assert srv.requests == []
    assert code == 1 and not out.exists()
    assert "openai:fake-embed" in capsys.readouterr().err


def test_bm25_does_not_care_about_the_embedder(store, tmp_path):
    out = tmp_path / "a.jsonl"
    assert run_job(store, write_questions(tmp_path / "q.jsonl", 2), out, "--retriever", "bm25", **UNREACHABLE) == 0
    assert run_job(store, write_questions(tmp_path / "q.jsonl", 2), tmp_path / "dry.jsonl", "--retriever", "bm25",
                   "--dry-run", **UNREACHABLE) == 0
    assert all(row["answer"].startswith("Hotel stays are reimbursed") for row in rows_of(out))


# -- 3. the dry run runs the store checks -----------------------------------------------------------
def test_dry_run_refuses_a_missing_or_empty_store(tmp_path, capsys):
    questions = write_questions(tmp_path / "q.jsonl", 1)
    missing = tmp_path / "nonexistent"
    assert run_job(missing, questions, tmp_path / "a.jsonl", "--dry-run") == 1
    assert "is empty; run batch_rag_ingest first" in capsys.readouterr().err
    assert not missing.exists()
    (tmp_path / "empty").mkdir()
    assert run_job(tmp_path / "empty", questions, tmp_path / "a.jsonl", "--dry-run") == 1
    assert "is empty" in capsys.readouterr().err
    assert list((tmp_path / "empty").iterdir()) == [] and not (tmp_path / "a.jsonl").exists()


def test_dry_run_refuses_a_store_being_ingested_and_touches_nothing(tmp_path, capsys):
    store = make_store(tmp_path / "db")
    questions = write_questions(tmp_path / "q.jsonl", 1)
    with RunLock(store):  # as an ingest holds it
        locked_files = tree_snapshot(store)
        assert run_job(store, questions, tmp_path / "a.jsonl", "--dry-run") == 1
        assert "is being written by another run" in capsys.readouterr().err
        assert tree_snapshot(store) == locked_files
    before = tree_snapshot(store)
    assert run_job(store, questions, tmp_path / "a.jsonl", "--dry-run", "--retriever", "hybrid") == 0
    assert tree_snapshot(store) == before  # the dry run's checks wrote nothing, not even a lock file
    assert "dry run: 1 new" in capsys.readouterr().err
    assert not (tmp_path / "a.jsonl").exists()


# -- 4. rows say what produced them -----------------------------------------------------------------
def test_extractive_rows_say_offline_extractive(store, tmp_path):
    out = tmp_path / "a.jsonl"
    assert run_job(store, write_questions(tmp_path / "q.jsonl", 1), out) == 0
    [row] = rows_of(out)
    assert row["model"] == "offline-extractive" and row["usage"] is None


def test_a_canned_answer_is_not_labelled_with_the_llm(tmp_path):
    from tests.jobs.test_batch_rag_queries import StandInRag

    with FakeOpenAIServer() as srv:
        llm = OpenAICompatibleLLM(model="llama", base_url=srv.base_url, api_key="sk-test-123456789", max_retries=0)
        out = tmp_path / "a.jsonl"
        run_query_batch(write_questions(tmp_path / "q.jsonl", 2), out, StandInRag([]), LLMAnswerer(llm), QueryOptions())
        assert srv.requests == []
    rows = rows_of(out)
    assert {(row["answer"], row["model"]) for row in rows} == {(NOTHING_FOUND, NO_MODEL)} and NO_MODEL == "none"
    assert all(row["usage"] is None for row in rows)


# -- 5. small ones ------------------------------------------------------------------------------------
def test_a_blank_id_is_reported_as_blank(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "   ", "query": "x"}\n{"id": "", "query": "x"}\n{"id": 1.5, "query": "x"}\n', encoding="utf-8")
    assert [p.reason for p in read_queries(path).problems] == [
        "id is blank", "missing id", "id must be a string or an integer"]


def test_garbage_lines_in_the_output_are_warned_about_with_line_numbers(tmp_path, caplog):
    out = tmp_path / "a.jsonl"
    append_jsonl(out, {"id": "q1", "query": "x", "answer": "yes", "sources": []})
    with open(out, "a", encoding="utf-8") as fh:
        fh.write("garbage from an editor\n[1, 2]\n{\"no\": \"id\"}\n")
    append_jsonl(out, {"id": "q2", "query": "x", "answer": None, "error": {"type": "timeout", "message": "m", "attempts": 4}})
    with caplog.at_level(logging.WARNING):
        state = read_output_state(out)
    assert state.answered == {"q1"} and set(state.last_error) == {"q2"}  # the run goes on
    warned = [r.getMessage() for r in caplog.records if "not an answer row" in r.getMessage()]
    assert [m.split(" line ")[1].split()[0] for m in warned] == ["2", "3", "4"]
    assert "invalid JSON" in warned[0] and "not a JSON object" in warned[1] and "no id" in warned[2]


def test_many_garbage_lines_are_warned_about_in_bounded_space(tmp_path, caplog):
    out = tmp_path / "a.jsonl"
    out.write_text("junk\n" * 500, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        read_output_state(out)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 21 and "480 more unreadable lines" in messages[-1] and "lines 21, 22," in messages[-1]


def test_garbage_output_lines_are_reported_by_the_job_which_keeps_going(store, tmp_path, capsys):
    out = tmp_path / "a.jsonl"
    out.write_text("this is not json\n", encoding="utf-8")
    assert run_job(store, write_questions(tmp_path / "q.jsonl", 1), out) == 0
    assert "line 1 is not an answer row (invalid JSON" in capsys.readouterr().err
    assert json.loads(out.read_text(encoding="utf-8").splitlines()[-1])["id"] == "q1"


class _Chunk:
    def __init__(self, chunk_id: str, text: str) -> None:
        self.chunk_id, self.text, self.score, self.source, self.metadata = chunk_id, text, 1.0, chunk_id + ".md", {}


def test_identical_chunks_are_quoted_once_with_the_first_citation():
    text = "Hotel stays are reimbursed up to INR 5,000 per night. Receipts are required."
    chunks = [_Chunk("a", text), _Chunk("b", text), _Chunk("c", "Hotel  stays are reimbursed up to INR 5,000 per night.")]
    answer = ExtractiveAnswerer().answer_text("What is the hotel limit per night?", chunks)
    assert answer == "Hotel stays are reimbursed up to INR 5,000 per night. [1]"


def test_bm25_does_not_pad_with_sources_that_share_only_common_words(store, tmp_path):
    out = tmp_path / "a.jsonl"
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "q", "query": "What is the hotel limit?"}) + "\n", encoding="utf-8")
    assert run_job(store, questions, out, "--retriever", "bm25") == 0
    [row] = rows_of(out)
    # weather.md shares "is" and "the" with the question, cars.md "is": words of half the
    # chunks or more, scored ~1e-6 by FTS5; they are not sources
    assert {source["source"] for source in row["sources"]} == {"policy.md"}
    assert all(source["score"] > 1e-3 for source in row["sources"])
