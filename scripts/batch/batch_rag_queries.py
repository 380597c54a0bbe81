"""Answer a JSONL file of questions from the vector store: queries JSONL -> answers JSONL.

The work lives in `framework.rag.query_batch`; this file declares the flags, checks them and
maps the run's report to an exit code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from framework.config import get_settings
from framework.rag.query_batch import MAX_QUERY_CHARS, QueryOptions, check_store, dry_run_report, run_query_batch

from scripts.batch.base import BaseBatchRunner, BatchOutcome, ExitCode, RunLock, UsageError
from scripts.batch.common import add_common_args, apply_framework_overrides, check_output_path, path_arg, positive_int

EPILOG = f"""\
examples:
  python -m scripts.batch.batch_rag_queries --input queries.jsonl --output answers.jsonl
  python -m scripts.batch.batch_rag_queries -i q.jsonl -o out.jsonl --model gpt-4o --top-k 6 --retries 3
  python -m scripts.batch.batch_rag_queries -i q.jsonl -o out.jsonl --dry-run

input: one JSON object per line, {{"id": ..., "query": ...}} ("question" works too). Ids
  are compared and written as strings; a repeated id is answered once (later lines are
  reported). Lines that are not objects, lack an id or a query, or whose query is longer
  than {MAX_QUERY_CHARS:,} characters are reported with their line number; those with an id
  get an error row (type invalid_input), written once.
output (appended, one line per answer): {{"id","query","answer","sources","model","latency_ms",
  "usage"}} or {{"id","query","answer":null,"error":{{"type","message","attempts"}}}}. Re-running
  skips answered ids and retries ids that only have errors; the last row of an id wins.
answers: offline (the default) quotes the most relevant retrieved sentences with [n]
  citations; with an LLM (--model, LLM_PROVIDER=openai, LLM_BASE_URL, OPENAI_API_KEY) the
  model answers from the retrieved chunks only, citing them. "model" says what answered:
  the LLM's model, "offline-extractive", or "none" (nothing retrieved, no model asked).
retries: --retries N bounds every retry of a question, whatever the error (429 rate limit,
  5xx, timeout, connection error): at most N+1 attempts, then an error row that the next
  run asks again. A 429 also pauses the whole pool for its Retry-After.
store checks, before any question (dry run too): the store must exist and hold chunks, no
  ingest may be writing it, and for dense/hybrid the configured embedder (EMBEDDING_PROVIDER,
  EMBEDDING_MODEL) must be the one that built it; bm25 uses no embedder.
exit codes: 0 all answered, 1 usage error, output locked, or a store that an ingest is
  writing, that is empty or missing, or that another embedder built, 2 some failed, 3 nothing
  answered now or before (or the run crashed; an exhausted quota stops the run), 130
  interrupted.
"""


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


class BatchRagQueries(BaseBatchRunner):
    name = "batch_rag_queries"
    description = "Answer questions from a JSONL file with the RAG store; resumable, rate-limit aware."
    epilog = EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_common_args(
            parser,
            input=True,
            output=True,
            output_required=True,
            model=True,
            retries=True,
            input_help="questions, JSONL",
            output_help="answers, JSONL (appended to; re-runs resume)",
        )
        job = parser.add_argument_group("retrieval and throughput")
        job.add_argument("--top-k", type=positive_int, default=5, help="chunks retrieved per question (default 5)")
        job.add_argument("--persist-dir", type=path_arg, help="vector store folder (default CHROMA_PERSIST_DIR)")
        job.add_argument("--collection", help="collection name (default CHROMA_COLLECTION)")
        job.add_argument(
            "--retriever", choices=("bm25", "dense", "hybrid"),
            help="bm25 (keywords, no embedder), dense (embeddings) or hybrid (both, fused); default RAG_RETRIEVER (bm25 unless set)",
        )
        job.add_argument("--concurrency", type=positive_int, default=4, help="questions in flight (default 4)")
        job.add_argument("--rpm", type=positive_float, help="client-side budget of LLM requests per minute")
        job.add_argument("--timeout", type=positive_float, help="seconds before an LLM request is abandoned (default LLM_TIMEOUT_S)")

    def validate_args(self, args: argparse.Namespace) -> None:
        if not args.input.is_file():
            raise UsageError(f"--input {args.input} is not a file")
        if args.output.resolve() == args.input.resolve():
            raise UsageError("--output must not be the input file")
        check_output_path(args.output, "-o/--output", dry_run=args.dry_run)
        apply_framework_overrides(
            args.model,
            {
                "LLM_TIMEOUT_S": args.timeout,
                "CHROMA_PERSIST_DIR": args.persist_dir,
                "CHROMA_COLLECTION": args.collection,
                "RAG_RETRIEVER": args.retriever,
            },
        )

    def dry_run(self, args: argparse.Namespace) -> BatchOutcome:
        from framework.rag import get_rag

        # the real run's store checks, touching nothing: a dry run must not pass a store the
        # run would refuse
        with get_rag(get_settings(), persist_dir=args.persist_dir, collection=args.collection) as rag:
            check_store(rag, args.retriever, dry_run=True)
        RunLock(args.output).check_free()  # another run appending to the same output
        plan = dry_run_report(args.input, args.output, logger=self.log)
        # counted as the run would count: the questions it would ask are done (unless the
        # API fails them), the invalid lines failed
        return BatchOutcome(done=len(plan.todo), skipped=len(plan.skipped), failed=len(plan.problems))

    def run_batch(self, args: argparse.Namespace) -> BatchOutcome:
        from framework.llm import get_llm
        from framework.rag import get_rag
        from framework.rag.answering import get_answerer

        settings = get_settings()
        options = QueryOptions(
            top_k=args.top_k, concurrency=args.concurrency, rpm=args.rpm, retries=args.retries, retriever=args.retriever
        )
        with RunLock(args.output):
            rag = get_rag(settings, persist_dir=args.persist_dir, collection=args.collection)
            check_store(rag, args.retriever)  # before any question: exit 1, nothing written
            # the job retries itself, pacing the whole pool; the client must not retry too
            llm = get_llm(settings.model_copy(update={"llm_max_retries": 0}))
            answerer = get_answerer(settings, llm=llm)
            self.log.info("answering with %s (%s), top-k %d", answerer.model, llm.provider, args.top_k)
            report = run_query_batch(args.input, args.output, rag, answerer, options, logger=self.log)
        stopped = report.stopped_reason
        if stopped:
            stopped += f"; {report.not_attempted} question(s) not asked, a re-run continues with them"
        if report.rate_limited:
            self.log.info("the API rate-limited %d request(s); the pool slowed down accordingly", report.rate_limited)
        return BatchOutcome(
            done=report.answered,
            skipped=report.skipped,
            failed=report.failed,
            stopped_reason=stopped,
            details={"duplicates": report.duplicates, "rate_limited": report.rate_limited},
        )


if __name__ == "__main__":
    BatchRagQueries.main()
