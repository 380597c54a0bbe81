"""The batch queries job: questions JSONL in, answers JSONL out, resumable at any moment.

Input: one JSON object per line with `id` and `query` (or `question`). BOM, CRLF, blank
lines and a missing final newline are fine. Rules, applied per line and reported with the
line number:
- ids are compared as strings (`7` and `"7"` are the same id) and written as strings;
- the first line with an id decides: later lines with the same id are duplicates, reported
  and ignored, so every id is answered at most once;
- a line that is not a JSON object, or has no usable id, cannot be written back: it is
  reported only. A line with an id but no usable query (missing, not a string, blank, longer
  than MAX_QUERY_CHARS) gets an `invalid_input` error row, without any API call.

Output (append-only, one whole line per row, fsync'd): a success row
`{"id","query","answer","sources":[{"source","chunk_id","score"}],"model","latency_ms","usage"}`
or an error row `{"id","query","answer":null,"error":{"type","message","attempts"}}`.
The last row of an id is its answer. Ids with a success row are never asked again; ids with
only error rows are asked again on the next run; an identical `invalid_input` row is not
written twice. A torn last line (a crash mid-write) is cut and its id redone.

Throughput: an asyncio pool of `concurrency` workers. Requests to a remote LLM share one
`framework.pacing.RequestPacer`: an optional requests-per-minute budget, and on a 429 the whole pool pauses
for the server's Retry-After and slows down, then speeds up again with each success. The
first request goes alone, so a wrong key or an exhausted quota costs one request, not one
per worker. `retries` bounds every retry of a question, whatever the error (429 rate
limits, 5xx, timeouts, connection errors): at most `retries + 1` attempts, then an error row
that the next run asks again. Other errors are final for their row; quota, auth and
not-found errors stop the run.

Before the first question, `check_store` refuses (exit 1, nothing written) a store that is
missing or empty, that an ingest is writing, or whose recorded embedder is not the
configured one (dense and hybrid only: BM25 uses no embedder); a dry run runs the same
checks without writing anything, not even a lock file.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from framework.embeddings.base import EmbedderIdentity
from framework.errors import ConfigurationError, ProviderError
from framework.jsonl import append_jsonl, read_jsonl, repair_torn_tail
from framework.locking import LockedError, RunLock
from framework.pacing import RequestPacer
from framework.progress import progress_bar
from framework.rag.answering import Answer, Answerer
from framework.retry import async_retry_with_backoff

if TYPE_CHECKING:
    from framework.rag import RetrievedChunk

log = logging.getLogger(__name__)

#: Longer "queries" are pasted documents, not questions; they are refused before any call.
MAX_QUERY_CHARS = 8000
INVALID_INPUT = "invalid_input"


# -- input ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueryItem:
    id: str
    query: str
    line_number: int


@dataclass(frozen=True)
class InputProblem:
    line_number: int
    reason: str
    id: str | None = None  # known: the problem can be written as an error row

    def describe(self) -> str:
        who = f" (id {self.id!r})" if self.id is not None else ""
        return f"line {self.line_number}{who}: {self.reason}"


@dataclass
class QueryInput:
    items: list[QueryItem] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    duplicates: list[InputProblem] = field(default_factory=list)


def _id_of(record: dict) -> str | None:
    value = record.get("id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    return text or None


def _query_problem(record: dict) -> tuple[str | None, str | None]:
    """(query, None) when usable, else (None, reason)."""
    key = "query" if "query" in record else "question"
    value = record.get(key)
    if value is None:
        return None, "missing query (expected a 'query' or 'question' field)"
    if not isinstance(value, str):
        return None, f"'{key}' must be a string, got {type(value).__name__}"
    text = value.strip()
    if not text:
        return None, "empty query"
    if len(text) > MAX_QUERY_CHARS:
        return None, f"query too long ({len(text):,} characters; the limit is {MAX_QUERY_CHARS:,})"
    return text, None


def read_queries(path: str | Path) -> QueryInput:
    result = QueryInput()
    raw = read_jsonl(path)
    result.problems.extend(InputProblem(p.line_number, p.reason) for p in raw.problems)
    first_line: dict[str, int] = {}
    for record in raw.records:
        number, value = record.line_number, record.value
        if not isinstance(value, dict):
            kind = "null" if value is None else type(value).__name__
            result.problems.append(InputProblem(number, f"not a JSON object (got {kind})"))
            continue
        item_id = _id_of(value)
        if item_id is None:
            raw_id = value.get("id")
            if raw_id in (None, ""):
                reason = "missing id"
            elif isinstance(raw_id, str):
                reason = "id is blank"
            else:
                reason = "id must be a string or an integer"
            result.problems.append(InputProblem(number, reason))
            continue
        if item_id in first_line:
            result.duplicates.append(
                InputProblem(number, f"duplicate id (first seen on line {first_line[item_id]}); ignored", item_id)
            )
            continue
        first_line[item_id] = number
        query, reason = _query_problem(value)
        if reason:
            result.problems.append(InputProblem(number, reason, item_id))
        else:
            result.items.append(QueryItem(item_id, query, number))
    result.problems.sort(key=lambda p: p.line_number)
    return result


# -- what earlier runs wrote -------------------------------------------------------------------
@dataclass
class OutputState:
    answered: set[str] = field(default_factory=set)
    last_error: dict[str, dict] = field(default_factory=dict)  # ids with error rows only
    torn_tail: bool = False


#: Unreadable output lines are warned about one by one up to this many, then counted.
_MAX_OUTPUT_WARNINGS = 20


def read_output_state(path: str | Path, *, logger: logging.Logger = log) -> OutputState:
    """What earlier runs wrote. Lines that are not rows of this job (not JSON, not an object
    with an id: a hand edit, another tool's output) are ignored with a warning naming their
    line numbers; the run goes on, and their ids (if any) count as not answered."""
    state = OutputState()
    raw = read_jsonl(path, torn_tail_is_unwritten=True)
    state.torn_tail = raw.torn_tail
    unreadable = [(p.line_number, p.reason) for p in raw.problems]
    for record in raw.records:
        row = record.value
        if not isinstance(row, dict) or row.get("id") is None:
            what = "has no id" if isinstance(row, dict) else "is not a JSON object"
            unreadable.append((record.line_number, f"the row {what}"))
            continue
        row_id = str(row["id"])
        error = row.get("error")
        if error:
            if row_id not in state.answered:
                state.last_error[row_id] = error if isinstance(error, dict) else {"message": str(error)}
        else:
            state.answered.add(row_id)
            state.last_error.pop(row_id, None)
    if unreadable:
        unreadable.sort()
        for number, reason in unreadable[:_MAX_OUTPUT_WARNINGS]:
            logger.warning("output %s line %d is not an answer row (%s); ignored", path, number, reason)
        if len(unreadable) > _MAX_OUTPUT_WARNINGS:
            logger.warning(
                "output %s: %d more unreadable lines ignored (lines %s)", path,
                len(unreadable) - _MAX_OUTPUT_WARNINGS,
                ", ".join(str(number) for number, _ in unreadable[_MAX_OUTPUT_WARNINGS:][:50])
                + (", ..." if len(unreadable) > _MAX_OUTPUT_WARNINGS + 50 else ""),
            )
    return state


@dataclass
class QueryPlan:
    todo: list[QueryItem]
    retry_ids: set[str]  # in todo because earlier rows were errors
    skipped: list[QueryItem]  # answered by an earlier run
    problems: list[InputProblem]
    problems_to_write: list[InputProblem]
    duplicates: list[InputProblem]
    torn_tail: bool


def plan_queries(queries: QueryInput, state: OutputState) -> QueryPlan:
    todo = [item for item in queries.items if item.id not in state.answered]
    writable = []
    for problem in queries.problems:
        if problem.id is None or problem.id in state.answered:
            continue  # an error row would shadow the earlier answer
        previous = state.last_error.get(problem.id) or {}
        if previous.get("type") == INVALID_INPUT and previous.get("message") == problem.reason:
            continue  # reported again, written once
        writable.append(problem)
    return QueryPlan(
        todo=todo,
        retry_ids={item.id for item in todo if item.id in state.last_error},
        skipped=[item for item in queries.items if item.id in state.answered],
        problems=queries.problems,
        problems_to_write=writable,
        duplicates=queries.duplicates,
        torn_tail=state.torn_tail,
    )


# -- the store, before the first question -----------------------------------------------------
def _store_holder(persist_dir: Path, *, dry_run: bool) -> str | None:
    """Who holds the store's one-writer lock (an ingest writing it), or None when it is free.
    The real run takes the lock and lets it go at once; a dry run only looks (`RunLock.peek`)."""
    if not persist_dir.is_dir():
        return None
    probe = RunLock(persist_dir, timeout=0, folder=True)
    if dry_run:
        return probe.peek()
    try:
        probe.acquire()
    except LockedError:
        return probe.holder()
    probe.release()
    return None


def check_store(rag: Any, retriever: str | None = None, *, dry_run: bool = False) -> int:
    """Refuse, before the first question, a store that every answer would come out wrong from;
    returns its number of chunks. The same checks run in a dry run, which writes nothing.

    - an ingest is writing it (LockedError): answers would miss what it has not written yet;
    - it is missing or holds no chunks (ConfigurationError): every answer would be "nothing
      found", saved as done for good;
    - dense and hybrid only: the configured embedder is not the one recorded for the
      collection (ConfigurationError). Provider and model are compared without any request
      (the dimension too when both are known), so an unreachable or wrong embedding server
      costs nothing. BM25 uses no embedder: any configured one is fine.
    """
    from framework.rag.lexical import LexicalIndex
    from framework.rag.records import RecordStore
    from framework.rag.vector_store import embedder_mismatch_message

    persist_dir = Path(rag.persist_dir)
    holder = _store_holder(persist_dir, dry_run=dry_run)
    if holder is not None:
        raise LockedError(
            f"the RAG store at {persist_dir} is being written by another run ({holder}); "
            "wait for the ingest to finish, then ask again"
        )
    store = rag.store
    if dry_run:
        conn = store.snapshot()  # read-only, creates no file (not even -wal/-shm)
    else:
        conn = store.reader() if store.exists() else None
    try:
        count = LexicalIndex(conn).count() if conn is not None else 0
        stored = RecordStore(conn).stored_identity() if conn is not None and count else None
    finally:
        if dry_run and conn is not None:
            conn.close()
    if count == 0:
        missing = "" if conn is not None else " (no index there: check --persist-dir and --collection)"
        raise ConfigurationError(
            f"the store {persist_dir} (collection {rag.collection!r}) is empty; run batch_rag_ingest first{missing}"
        )
    retriever = retriever or rag.settings.rag_retriever
    if retriever != "bm25" and stored is not None:
        configured = EmbedderIdentity.of(rag.embedder, resolve_dimension=False)
        if stored.conflicts_with(configured):
            raise ConfigurationError(
                embedder_mismatch_message(rag.collection, stored, configured)
                + " (--retriever bm25 uses no embedder.)"
            )
    return count


# -- rows ------------------------------------------------------------------------------------
def success_row(item: QueryItem, answer: Answer, chunks: Sequence["RetrievedChunk"], latency_ms: float) -> dict:
    return {
        "id": item.id,
        "query": item.query,
        "answer": answer.text,
        "sources": [
            # significant digits, not decimals: BM25 scores on a small store are ~1e-6
            {"source": chunk.source, "chunk_id": chunk.chunk_id, "score": float(f"{chunk.score:.6g}")} for chunk in chunks
        ],
        "model": answer.model,
        "latency_ms": round(latency_ms, 1),
        "usage": answer.usage,
    }


def error_row(item_id: str, query: str | None, kind: str, message: str, attempts: int) -> dict:
    return {
        "id": item_id,
        "query": query,
        "answer": None,
        "error": {"type": kind, "message": message, "attempts": attempts},
    }


# -- the run -----------------------------------------------------------------------------------
@dataclass
class QueryOptions:
    top_k: int = 5
    concurrency: int = 4
    rpm: float | None = None
    retries: int = 3  # per question, any retryable error (429 included): at most retries + 1 attempts
    retriever: str | None = None
    backoff_s: float = 1.0


@dataclass
class QueryRunReport:
    answered: int = 0
    failed_rows: int = 0  # error rows written for questions that were asked
    skipped: int = 0
    invalid: int = 0  # input lines that could not be asked (written or reported only)
    duplicates: int = 0
    not_attempted: int = 0  # left for the next run because the run stopped early
    rate_limited: int = 0
    stopped_reason: str | None = None
    elapsed_s: float = 0.0

    @property
    def failed(self) -> int:
        return self.failed_rows + self.invalid


class QueryBatch:
    """One run over a planned input; see the module docstring."""

    def __init__(
        self,
        rag: Any,
        answerer: Answerer,
        output: str | Path,
        options: QueryOptions,
        *,
        log: logging.Logger = log,
    ) -> None:
        self.rag = rag
        self.answerer = answerer
        self.output = Path(output)
        self.options = options
        self.log = log
        self.pacer = RequestPacer(options.rpm, logger=log) if answerer.uses_network else None
        self.report = QueryRunReport()
        self._stop_reason: str | None = None
        self._probe_done = asyncio.Event()
        self._probe_claimed = False

    def write(self, row: dict) -> None:
        append_jsonl(self.output, row)

    # one attempt = retrieval (kept once it worked) + the answer
    async def _attempt(self, item: QueryItem, chunks_box: list) -> tuple[Answer, Sequence["RetrievedChunk"]]:
        if not chunks_box:
            chunks = await asyncio.to_thread(
                self.rag.query, item.query, top_k=self.options.top_k, retriever=self.options.retriever
            )
            chunks_box.append(list(chunks))
        chunks = chunks_box[0]
        if self.pacer is not None:
            await self.pacer.acquire()
        try:
            answer = await self.answerer.answer(item.query, chunks)
        except ProviderError as error:
            if error.kind == "rate_limit" and self.pacer is not None:
                self.pacer.on_rate_limited(error.retry_after)
            raise
        if self.pacer is not None:
            self.pacer.on_success()
        return answer, chunks

    async def answer_item(self, item: QueryItem) -> dict:
        started = time.monotonic()
        attempts = {"all": 0}
        chunks_box: list = []

        async def attempt() -> tuple[Answer, Sequence["RetrievedChunk"]]:
            attempts["all"] += 1
            return await self._attempt(item, chunks_box)

        def retry_allowed(exc: BaseException) -> bool:
            # rate limits count like any other retry: `--retries N` means N + 1 attempts at most
            # (the pacer still pauses the whole pool for the Retry-After of each 429)
            return isinstance(exc, ProviderError) and exc.retryable and not self._stop_reason

        try:
            answer, chunks = await async_retry_with_backoff(
                attempt,
                max_attempts=max(0, self.options.retries) + 1,
                initial_delay=self.options.backoff_s,
                is_retryable=retry_allowed,
                log=self.log,
            )
        except ConfigurationError:
            raise  # the store or the settings are wrong for every row: end the run (exit 1)
        except ProviderError as error:
            if error.fatal and not self._stop_reason:
                self._stop_reason = f"{error.kind}: {error.message}"
            self.log.warning("%s: %s after %d attempt(s)", item.id, error, attempts["all"])
            return error_row(item.id, item.query, error.kind, error.message, attempts["all"])
        except Exception as error:  # a bug or a broken store must not end the other rows
            self.log.debug("%s failed", item.id, exc_info=True)
            self.log.warning("%s: unexpected %s: %s", item.id, type(error).__name__, error)
            return error_row(item.id, item.query, "internal_error", f"{type(error).__name__}: {error}", attempts["all"])
        return success_row(item, answer, chunks, (time.monotonic() - started) * 1000.0)

    async def _wait_for_probe(self) -> None:
        """The first request goes alone: a bad key or an empty quota must cost one request."""
        if self.pacer is None or self._probe_done.is_set():
            return
        if not self._probe_claimed:
            self._probe_claimed = True
            return
        await self._probe_done.wait()

    async def _worker(self, queue: deque[QueryItem], bar: Any) -> None:
        while queue and not self._stop_reason:
            await self._wait_for_probe()
            if not queue or self._stop_reason:
                self._probe_done.set()  # never leave the others waiting on a probe that won't run
                return
            item = queue.popleft()
            try:
                row = await self.answer_item(item)
            finally:
                self._probe_done.set()
            self.write(row)
            if row.get("error"):
                self.report.failed_rows += 1
            else:
                self.report.answered += 1
            bar.update(1)

    async def run_items(self, items: Sequence[QueryItem]) -> None:
        queue = deque(items)
        with progress_bar(total=len(items), desc="queries", unit="query") as bar:
            workers = [asyncio.create_task(self._worker(queue, bar)) for _ in range(max(1, self.options.concurrency))]
            try:
                await asyncio.gather(*workers)
            finally:
                for task in workers:
                    task.cancel()
        self.report.not_attempted = len(queue)
        self.report.stopped_reason = self._stop_reason
        if self.pacer is not None:
            self.report.rate_limited = self.pacer.rate_limited


def log_plan(plan: QueryPlan, logger: logging.Logger) -> None:
    for problem in plan.problems:
        logger.warning("input %s", problem.describe())
    for duplicate in plan.duplicates:
        logger.warning("input %s", duplicate.describe())
    if plan.torn_tail:
        logger.warning("the output ends in a torn line from an interrupted run; that question is asked again")


async def _run(plan: QueryPlan, batch: QueryBatch, close: Callable[[], Any] | None) -> None:
    try:
        await batch.run_items(plan.todo)
    finally:
        if close is not None:
            await close()


def run_query_batch(
    input_path: str | Path,
    output_path: str | Path,
    rag: Any,
    answerer: Answerer,
    options: QueryOptions | None = None,
    *,
    logger: logging.Logger = log,
) -> QueryRunReport:
    """Answer every new question of `input_path` into `output_path`. The caller holds the
    output's RunLock."""
    options = options or QueryOptions()
    started = time.monotonic()
    output = Path(output_path)
    plan = plan_queries(read_queries(input_path), read_output_state(output, logger=logger))
    log_plan(plan, logger)
    repair_torn_tail(output)
    for problem in plan.problems_to_write:
        append_jsonl(output, error_row(problem.id, None, INVALID_INPUT, problem.reason, 0))
    logger.info(
        "%d questions to ask (%d retried after earlier errors), %d already answered, %d invalid lines, %d duplicates",
        len(plan.todo), len(plan.retry_ids), len(plan.skipped), len(plan.problems), len(plan.duplicates),
    )
    batch = QueryBatch(rag, answerer, output, options, log=logger)
    close = getattr(getattr(answerer, "llm", None), "aclose", None)
    try:
        asyncio.run(_run(plan, batch, close))
    except BaseException:
        # the caller only sees the exception; what this run saved is worth a line
        logger.warning(
            "stopped after %d answers and %d error rows in this run; a re-run continues", batch.report.answered,
            batch.report.failed_rows,
        )
        raise
    report = batch.report
    report.skipped = len(plan.skipped)
    report.invalid = len(plan.problems)
    report.duplicates = len(plan.duplicates)
    report.elapsed_s = time.monotonic() - started
    return report


def dry_run_report(input_path: str | Path, output_path: str | Path, *, logger: logging.Logger = log) -> QueryPlan:
    """What a run would do; reads both files, writes nothing."""
    plan = plan_queries(read_queries(input_path), read_output_state(output_path, logger=logger))
    log_plan(plan, logger)
    new = len(plan.todo) - len(plan.retry_ids)
    logger.info(
        "dry run: %d new, %d to retry (only errors so far), %d done, %d duplicated, %d malformed or invalid",
        new, len(plan.retry_ids), len(plan.skipped), len(plan.duplicates), len(plan.problems),
    )
    return plan
