"""The queries job in-process: input rules (C14, C16), resume planning, the extractive and
grounded answerers, the shared pacer, and the OpenAI-compatible path against the fake server
(C17 rate limit vs quota, C18 server errors and hangs)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from framework.jsonl import append_jsonl
from framework.llm import OpenAICompatibleLLM
from framework.pacing import RequestPacer
from framework.rag.answering import NOTHING_FOUND, ExtractiveAnswerer, LLMAnswerer, get_answerer, grounded_messages
from framework.rag.query_batch import (
    MAX_QUERY_CHARS,
    QueryOptions,
    dry_run_report,
    plan_queries,
    read_output_state,
    read_queries,
    run_query_batch,
)
from tests.support.fake_openai import FakeOpenAIServer, Reply

CASES = Path(__file__).resolve().parents[1] / "fixtures" / "cases"
LONG_LINE = json.dumps({"id": "q9", "query": "Summarise this: " + "lorem ipsum " * 25000})


def c16_input(tmp_path: Path) -> Path:
    template = (CASES / "C16_bad_question_records" / "questions_bad.template.jsonl").read_text(encoding="utf-8")
    path = tmp_path / "questions_bad.jsonl"
    path.write_text(template.replace("@@LONG_QUERY_LINE@@", LONG_LINE), encoding="utf-8")
    return path


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_one_outcome_per_id(path: Path, ids: set[str]) -> dict[str, dict]:
    """Every id has exactly one success row, or only error rows; returns the last row per id."""
    last: dict[str, dict] = {}
    successes: dict[str, int] = {}
    for row in rows_of(path):
        last[row["id"]] = row
        if row["error"] if "error" in row else False:
            continue
        successes[row["id"]] = successes.get(row["id"], 0) + 1
    assert set(last) == ids
    assert all(count == 1 for count in successes.values()), successes
    for row_id, row in last.items():
        assert ("error" in row) == (row_id not in successes)
    return last


@dataclass
class Chunk:
    chunk_id: str
    text: str
    score: float
    source: str
    metadata: dict = field(default_factory=dict)


class StandInRag:
    """Answers every query with the same two chunks (the job is under test, not retrieval)."""

    def __init__(self, chunks: list[Chunk] | None = None) -> None:
        self.chunks = chunks if chunks is not None else [
            Chunk("policy.md#0", "Hotel stays are reimbursed up to INR 5,000 per night. Receipts are required.", 3.2, "policy.md"),
            Chunk("policy.md#1", "Taxi fares are reimbursed at actuals. The meal allowance is INR 800 per day.", 2.1, "policy.md"),
        ]
        self.calls: list[tuple] = []

    def query(self, text, top_k=5, where=None, retriever=None):
        self.calls.append((text, top_k, retriever))
        return self.chunks[:top_k]


# -- input rules ---------------------------------------------------------------------------------
def test_c14_bom_crlf_blank_lines_and_missing_final_newline():
    queries = read_queries(CASES / "C14_questions_bom_crlf" / "questions_bom_crlf.jsonl")
    assert [item.id for item in queries.items] == ["q1", "q2", "q3", "q4"]
    assert queries.items[2].query == "हिन्दी में सीमा क्या है?" or queries.items[2].query.endswith("?")
    assert not queries.problems and not queries.duplicates


def test_c16_each_bad_line_is_reported_with_its_number_and_reason(tmp_path):
    queries = read_queries(c16_input(tmp_path))
    assert [(item.id, item.line_number) for item in queries.items] == [("q1", 1), ("7", 7), ("q11", 11)]
    problems = {p.line_number: (p.id, p.reason) for p in queries.problems}
    assert sorted(problems) == [2, 3, 4, 5, 9, 10, 12]
    assert problems[2][0] is None and "invalid JSON" in problems[2][1]
    assert problems[3] == (None, "not a JSON object (got list)")
    assert problems[4] == (None, "missing id")
    assert problems[5][0] == "q5" and "missing query" in problems[5][1]
    assert problems[9][0] == "q9" and "too long" in problems[9][1] and f"{MAX_QUERY_CHARS:,}" in problems[9][1]
    assert problems[10] == ("q10", "empty query")
    assert problems[12] == (None, "not a JSON object (got null)")
    assert [(d.line_number, d.id) for d in queries.duplicates] == [(6, "q1"), (8, "7")]
    assert "line 1" in queries.duplicates[0].reason


def test_question_field_and_bad_id_types(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": 1.5, "query": "x"}\n{"id": true, "query": "x"}\n{"id": "a", "question": "Why?"}\n{"id": "b", "query": 3}\n')
    queries = read_queries(path)
    assert [(i.id, i.query) for i in queries.items] == [("a", "Why?")]
    assert [p.reason for p in queries.problems] == [
        "id must be a string or an integer",
        "id must be a string or an integer",
        "'query' must be a string, got int",
    ]


def test_plan_skips_answered_retries_errors_and_writes_invalid_rows_once(tmp_path):
    out = tmp_path / "out.jsonl"
    append_jsonl(out, {"id": "q1", "query": "x", "answer": "yes", "sources": []})
    append_jsonl(out, {"id": "q11", "query": "x", "answer": None, "error": {"type": "timeout", "message": "m", "attempts": 4}})
    append_jsonl(out, {"id": "q10", "query": None, "answer": None, "error": {"type": "invalid_input", "message": "empty query", "attempts": 0}})
    with open(out, "a", encoding="utf-8") as fh:
        fh.write('{"id": "7", "query": "numeric id seven", "answ')  # torn by a crash
    plan = plan_queries(read_queries(c16_input(tmp_path)), read_output_state(out))
    assert [item.id for item in plan.todo] == ["7", "q11"]
    assert plan.retry_ids == {"q11"} and [i.id for i in plan.skipped] == ["q1"]
    assert plan.torn_tail
    assert sorted(p.id for p in plan.problems_to_write) == ["q5", "q9"]  # q10's identical row exists


def test_dry_run_counts_and_writes_nothing(tmp_path):
    out = tmp_path / "out.jsonl"
    plan = dry_run_report(c16_input(tmp_path), out)
    assert (len(plan.todo), len(plan.skipped), len(plan.duplicates), len(plan.problems)) == (3, 0, 2, 7)
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "questions_bad.jsonl"]


# -- answerers -------------------------------------------------------------------------------------
def test_extractive_answer_quotes_relevant_sentences_with_citations():
    chunks = StandInRag().chunks
    text = ExtractiveAnswerer().answer_text("Are taxi fares reimbursed?", chunks)
    assert text.startswith("Taxi fares are reimbursed at actuals. [2]")
    assert "[1]" not in text.split("[2]")[0]


def test_extractive_answer_says_plainly_when_nothing_is_relevant():
    chunks = StandInRag().chunks
    assert ExtractiveAnswerer().answer_text("quantum chromodynamics lattice", chunks) == NOTHING_FOUND
    assert ExtractiveAnswerer().answer_text("hotel", []) == NOTHING_FOUND


def test_extractive_answer_handles_devanagari():
    chunk = Chunk("hi#0", "होटल की सीमा प्रति रात 5000 रुपये है। भोजन भत्ता 800 रुपये है।", 1.0, "hi.md")
    assert ExtractiveAnswerer().answer_text("होटल की सीमा क्या है?", [chunk]).startswith("होटल की सीमा प्रति रात")


def test_grounded_prompt_numbers_chunks_and_forbids_outside_knowledge():
    messages = grounded_messages("Q?", StandInRag().chunks, 30, 1000)
    assert "only the numbered context passages" in messages[0]["content"]
    assert "[1] (source: policy.md)\nHotel stays are reimbursed up" in messages[1]["content"]
    assert "[2] (source: policy.md)" in messages[1]["content"] and "Question: Q?" in messages[1]["content"]


def test_get_answerer_follows_the_llm_provider():
    from framework.config import Settings

    assert isinstance(get_answerer(Settings(_env_file=None)), ExtractiveAnswerer)
    llm = OpenAICompatibleLLM(model="m", base_url="http://127.0.0.1:9/v1")
    answerer = get_answerer(llm=llm)
    assert isinstance(answerer, LLMAnswerer) and answerer.model == "m"


# -- the shared pacer ------------------------------------------------------------------------------
def test_pacer_spaces_requests_to_the_budget():
    async def go():
        pacer = RequestPacer(rpm=600)  # one every 0.1 s
        started = time.monotonic()
        stamps = []
        for _ in range(6):
            await pacer.acquire()
            stamps.append(time.monotonic() - started)
        return stamps

    stamps = asyncio.run(go())
    assert stamps[-1] >= 0.45 and stamps[-1] < 1.0


def test_pacer_pauses_everyone_on_a_429_then_recovers():
    async def go():
        pacer = RequestPacer(rpm=1200)
        for _ in range(10):
            await pacer.acquire()
            pacer.on_success()
        before = pacer.rate
        pacer.on_rate_limited(0.3)
        pacer.on_rate_limited(0.3)  # same burst: one cut only
        cut = pacer.rate
        started = time.monotonic()
        await pacer.acquire()
        waited = time.monotonic() - started
        for _ in range(60):
            pacer.on_success()
        return before, cut, waited, pacer.rate

    before, cut, waited, after = asyncio.run(go())
    assert waited >= 0.29
    assert cut == pytest.approx(before * 0.75, rel=0.3) and cut < before
    assert after == pytest.approx(20.0)  # back to the budget (requests per second)


# -- the OpenAI-compatible path against the fake server ---------------------------------------------
def write_questions(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps({"id": f"q{i:02d}", "query": f"Policy question number {i}?"}) + "\n" for i in range(1, n + 1)))
    return path


def llm_run(srv, tmp_path, n=8, *, timeout_s=5.0, rag=None, **options):
    llm = OpenAICompatibleLLM(model="fake-chat", base_url=srv.base_url, api_key="sk-test-123456789", max_retries=0, timeout_s=timeout_s)
    options.setdefault("backoff_s", 0.05)
    questions = write_questions(tmp_path / "questions.jsonl", n)
    out = tmp_path / "answers.jsonl"
    report = run_query_batch(questions, out, rag or StandInRag(), LLMAnswerer(llm), QueryOptions(**options))
    return report, out, {f"q{i:02d}" for i in range(1, n + 1)}


def test_llm_answers_carry_sources_model_usage(tmp_path):
    with FakeOpenAIServer() as srv:
        report, out, ids = llm_run(srv, tmp_path, n=3, top_k=2)
    assert (report.answered, report.failed) == (3, 0)
    row = rows_of(out)[0]
    assert set(row) == {"id", "query", "answer", "sources", "model", "latency_ms", "usage"}
    assert row["answer"].startswith("FAKE ANSWER") and row["model"] == "fake-chat"
    assert row["sources"] == [
        {"source": "policy.md", "chunk_id": "policy.md#0", "score": 3.2},
        {"source": "policy.md", "chunk_id": "policy.md#1", "score": 2.1},
    ]
    assert row["usage"]["total_tokens"] > 0
    prompt = srv.requests[0].json["messages"][1]["content"]
    assert "Hotel stays are reimbursed" in prompt


def test_empty_retrieval_is_a_successful_row_without_an_llm_call(tmp_path):
    with FakeOpenAIServer() as srv:
        report, out, ids = llm_run(srv, tmp_path, n=2, rag=StandInRag([]))
        assert srv.requests == []
    assert report.answered == 2
    assert {row["answer"] for row in rows_of(out)} == {NOTHING_FOUND}


def test_c17a_rate_limits_are_waited_out_by_the_whole_pool(tmp_path):
    with FakeOpenAIServer() as srv:
        srv.script(Reply.rate_limit(retry_after=1), Reply.rate_limit(retry_after=1), Reply.rate_limit(retry_after=1))
        report, out, ids = llm_run(srv, tmp_path, n=10, concurrency=4)
        statuses = srv.statuses()
        times = [r.t for r in srv.requests]
    assert report.answered == 10 and report.failed == 0 and report.rate_limited == 3
    assert statuses.count(429) == 3 and len(statuses) == 13
    for i, status in enumerate(statuses):
        if status == 429:
            assert all(t >= times[i] + 0.99 for t in times[i + 1 :]), "a request started inside Retry-After"
    assert_one_outcome_per_id(out, ids)


def test_a_429_mid_run_pauses_the_other_workers_too(tmp_path):
    with FakeOpenAIServer(latency=0.15) as srv:
        srv.script(Reply(), Reply(), Reply.rate_limit(retry_after=1))
        report, out, ids = llm_run(srv, tmp_path, n=12, concurrency=4)
        requests = list(srv.requests)
    assert report.answered == 12
    limited = next(r for r in requests if r.status == 429)
    answered_at = limited.t + 0.15  # the 429 reached the client after the server's latency
    too_early = [r for r in requests if answered_at + 0.05 < r.t < limited.t + 1.0]
    assert too_early == []


def test_c17b_quota_stops_at_the_first_question(tmp_path):
    with FakeOpenAIServer() as srv:
        srv.script(*[Reply.quota()] * 20)
        started = time.monotonic()
        report, out, ids = llm_run(srv, tmp_path, n=10, concurrency=4, retries=5)
        elapsed = time.monotonic() - started
        requests = len(srv.requests)
    assert requests <= 3 and elapsed < 5
    assert report.answered == 0 and report.not_attempted == 9
    assert report.stopped_reason.startswith("quota:") and "billing" in report.stopped_reason
    rows = rows_of(out)
    assert [(r["id"], r["error"]["type"], r["error"]["attempts"]) for r in rows] == [("q01", "quota", 1)]


def test_c18a_5xx_with_html_bodies_are_retried(tmp_path):
    pattern = [Reply.server_error(502, html=True), Reply(), Reply.server_error(503, html=False), Reply(), Reply.server_error(500, html=False), Reply()]
    with FakeOpenAIServer() as srv:
        srv.script(*pattern * 4)
        report, out, ids = llm_run(srv, tmp_path, n=8)
    assert report.answered == 8 and report.failed == 0
    assert_one_outcome_per_id(out, ids)


def test_c18b_a_hang_times_out_and_is_retried(tmp_path):
    with FakeOpenAIServer() as srv:
        srv.script(Reply(), Reply(), Reply.hang(300))
        started = time.monotonic()
        report, out, ids = llm_run(srv, tmp_path, n=8, timeout_s=1.0)
        elapsed = time.monotonic() - started
        statuses = srv.statuses()
    assert report.answered == 8 and elapsed < 10
    assert statuses.count(0) == 1  # the hung request, abandoned after 1 s


def test_c18c_always_502_fails_each_item_after_bounded_attempts_then_a_rerun_recovers(tmp_path):
    earlier = {"id": "q08", "query": "Policy question number 8?", "answer": "An earlier answer.", "sources": []}
    append_jsonl(tmp_path / "answers.jsonl", earlier)
    with FakeOpenAIServer() as srv:
        srv.script(*[Reply.server_error(502, html=True)] * 28)
        report, out, ids = llm_run(srv, tmp_path, n=8, retries=3)
        assert len(srv.requests) == 28  # 7 questions x 4 attempts; the answered one is not asked
        assert (report.answered, report.failed_rows, report.skipped) == (0, 7, 1)
        assert rows_of(out)[0] == earlier  # answers already written stay
        last = assert_one_outcome_per_id(out, ids)
        del last["q08"]
        assert {row["error"]["type"] for row in last.values()} == {"server_error"}
        assert {row["error"]["attempts"] for row in last.values()} == {4}
        assert all("HTML error page" in row["error"]["message"] for row in last.values())

        report, out, ids = llm_run(srv, tmp_path, n=8)  # the server recovered
    assert report.answered == 7 and report.skipped == 1
    last = assert_one_outcome_per_id(out, ids)
    assert all("error" not in row for row in last.values())
    assert len(rows_of(out)) == 15


@pytest.mark.parametrize(
    "reply, kind",
    [(Reply.malformed(), "malformed_response"), (Reply.content_filter("finish"), "content_filter"), (Reply.context_length(), "context_length")],
)
def test_final_errors_are_rows_and_the_run_goes_on(tmp_path, reply, kind):
    with FakeOpenAIServer() as srv:
        srv.script(reply)
        report, out, ids = llm_run(srv, tmp_path, n=4)
        assert len(srv.requests) == 4
    assert (report.answered, report.failed_rows) == (3, 1)
    last = assert_one_outcome_per_id(out, ids)
    assert last["q01"]["error"]["type"] == kind and last["q01"]["answer"] is None


def test_rpm_budget_paces_the_pool(tmp_path):
    with FakeOpenAIServer() as srv:
        report, out, ids = llm_run(srv, tmp_path, n=6, rpm=300, concurrency=4)  # one every 0.2 s
        times = sorted(r.t for r in srv.requests)
    assert report.answered == 6
    assert times[-1] - times[0] >= 0.8  # 5 gaps of 0.2 s (unpaced: a few ms), minus connection set-up jitter
