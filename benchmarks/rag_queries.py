"""Throughput of the batch queries job, through its real CLI.

    uv run python -m benchmarks.rag_queries                   # both parts
    uv run python -m benchmarks.rag_queries --part api --queries 300
    uv run python -m benchmarks.rag_queries --part offline

api: the fake OpenAI server (tests/support/fake_openai.py) limited to --limit requests per
  minute (a sliding 60 s window, like OpenAI's RPM limit) with --latency seconds per answer;
  --queries questions over a one-document store. Each configuration (a client budget of
  --rpm equal to the limit, and no budget: adaptive slow-down on 429 only) reports the
  achieved successful requests/minute over the answering phase (first to last request the
  server saw), the 429s it provoked and the failed rows. Target: >= 90% of the limit, 0 failed.
offline: the SciFact corpus (../shared/datasets/scifact) ingested once with the ingest CLI
  (cached under data/cache/bench_rag_queries/), then the 300 test queries answered by the
  extractive answerer: queries/s for the whole CLI (start-up included) and in-process. The
  dev queries' sources are scored with nDCG@10 exactly as benchmarks.rag_ingest scores
  `get_rag().query` (chunks collapsed to documents in rank order), next to that direct score.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "data" / "cache" / "bench_rag_queries"
POLICY = """# Travel policy

Hotel stays are reimbursed up to INR 5,000 per night. Taxi fares are reimbursed at actuals.
This policy answers each question by number; ask HR about anything it does not cover.
"""


def clean_env(**extra: str) -> dict[str, str]:
    prefixes = ("LLM_", "OPENAI_", "EMBEDDING_", "CHROMA_", "RAG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(ANONYMIZED_TELEMETRY="False", **extra)
    return env


def run_job(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    command = [sys.executable, "-m", "scripts.batch.batch_rag_queries", *args]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, result.returncode, result.stderr


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# -- api ---------------------------------------------------------------------------------------
def bench_api(args: argparse.Namespace, work: Path) -> list[tuple]:
    from framework.config import Settings
    from framework.rag import DocumentInput, get_rag
    from tests.support.fake_openai import FakeOpenAIServer

    store = work / "policy_store"
    with get_rag(Settings(_env_file=None), persist_dir=store, collection="policies") as rag:
        rag.add_documents([DocumentInput(source="policy.md", text=POLICY)])
    questions = work / "questions.jsonl"
    questions.write_text(
        "".join(json.dumps({"id": f"q{i:05d}", "query": f"Policy question number {i}?"}) + "\n" for i in range(args.queries)),
        encoding="utf-8",
    )
    results = []
    for label, budget in (("--rpm %d" % args.limit, ["--rpm", str(args.limit)]), ("no --rpm (adaptive)", [])):
        out = work / f"answers_{len(results)}.jsonl"
        with FakeOpenAIServer(rpm_limit=args.limit, latency=args.latency) as srv:
            env = clean_env(LLM_PROVIDER="openai", LLM_BASE_URL=srv.base_url, LLM_MODEL="fake-chat", OPENAI_API_KEY="sk-bench-000000")
            cli = ["--input", str(questions), "--output", str(out), "--persist-dir", str(store), "--collection", "policies",
                   "--log-level", "WARNING", *budget]
            wall, code, err = run_job(cli, env)
            requests = list(srv.requests)
        ok = [r.t for r in requests if r.status == 200]
        span = (max(r.t for r in requests) - min(r.t for r in requests)) if requests else 0.0
        rows = rows_of(out)
        failed = sum(1 for row in rows if row.get("error"))
        peak_window = max((sum(1 for u in ok if t <= u < t + 60) for t in ok), default=0)
        rpm = len(ok) / span * 60 if span else 0.0
        results.append((label, args.queries, len(requests), len(ok), sum(r.status == 429 for r in requests), failed,
                        code, span, wall, rpm, 100 * rpm / args.limit, peak_window))
        if code != 0:
            print(err[-2000:], file=sys.stderr)
    return results


# -- offline -----------------------------------------------------------------------------------
def scifact_store(dataset: Path) -> tuple[Path, list[dict], dict[str, str], dict[str, set[str]]]:
    from benchmarks.rag_ingest import load_dataset, write_corpus

    corpus, queries, qrels = load_dataset(dataset, "dev")
    docs = CACHE / "scifact_docs"
    if not docs.exists() or len(list(docs.iterdir())) != len(corpus):
        shutil.rmtree(docs, ignore_errors=True)
        write_corpus(corpus, docs)
    store = CACHE / "scifact_store"
    command = [sys.executable, "-m", "scripts.batch.batch_rag_ingest", "--input", str(docs), "--persist-dir", str(store),
               "--collection", "scifact", "--log-level", "WARNING"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=clean_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"ingest failed ({result.returncode}):\n{result.stderr[-2000:]}")
    print(f"ingest (cached after the first run): {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return store, corpus, queries, qrels


def doc_ranking(sources: list[dict]) -> list[str]:
    ranked: list[str] = []
    for source in sources:
        doc = Path(source["source"]).stem
        if doc not in ranked:
            ranked.append(doc)
    return ranked


def bench_offline(args: argparse.Namespace, work: Path) -> tuple[list[tuple], list[tuple]]:
    from benchmarks.rag_ingest import evaluate, rank_documents
    from framework.config import Settings
    from framework.rag import get_rag
    from framework.rag.answering import ExtractiveAnswerer
    from framework.rag.query_batch import QueryOptions, run_query_batch

    store, corpus, queries, qrels = scifact_store(args.dataset)
    test_ids = [str(json.loads(line)["_id"]) for line in (args.dataset / "queries.jsonl").open(encoding="utf-8")]
    questions = work / "scifact_queries.jsonl"
    questions.write_text("".join(json.dumps({"id": q, "query": queries[q]}) + "\n" for q in test_ids), encoding="utf-8")
    base = ["--input", str(questions), "--persist-dir", str(store), "--collection", "scifact", "--log-level", "WARNING"]

    speed = []
    for top_k in args.top_k:
        out = work / f"scifact_answers_k{top_k}.jsonl"
        wall, code, err = run_job([*base, "--output", str(out), "--top-k", str(top_k)], clean_env())
        if code != 0:
            print(err[-2000:], file=sys.stderr)
        rows = rows_of(out)
        # the same work in-process: no interpreter start-up, store opened beforehand
        out_in = work / f"scifact_answers_k{top_k}_inproc.jsonl"
        with get_rag(Settings(_env_file=None), persist_dir=store, collection="scifact") as rag:
            rag.query("warm up", top_k=1)
            started = time.perf_counter()
            run_query_batch(questions, out_in, rag, ExtractiveAnswerer(), QueryOptions(top_k=top_k))
            in_process = time.perf_counter() - started
        speed.append((top_k, len(rows), code, wall, len(rows) / wall, in_process, len(rows) / in_process))

    # quality: sources of the job vs get_rag().query as the ingest benchmark ranks it
    quality = []
    last_rows = {row["id"]: row for row in rows_of(work / f"scifact_answers_k{args.quality_top_k}.jsonl")} \
        if args.quality_top_k in args.top_k else None
    if last_rows is None:
        out = work / f"scifact_answers_k{args.quality_top_k}.jsonl"
        run_job([*base, "--output", str(out), "--top-k", str(args.quality_top_k)], clean_env())
        last_rows = {row["id"]: row for row in rows_of(out)}
    job_run = {qid: doc_ranking(last_rows[qid]["sources"]) for qid in qrels}
    with get_rag(Settings(_env_file=None), persist_dir=store, collection="scifact") as rag:
        direct_run = {qid: rank_documents(rag, queries[qid], "bm25", 400) for qid in qrels}
    job_ndcg, _ = evaluate(job_run, qrels)
    direct_ndcg, _ = evaluate(direct_run, qrels)
    differing = sum(job_run[q][:10] != direct_run[q][:10] for q in qrels)
    quality.append((args.quality_top_k, len(qrels), job_ndcg, direct_ndcg, differing))
    return speed, quality


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("api", "offline", "all"), default="all")
    parser.add_argument("--queries", type=int, default=1000, help="questions for the api part (default 1000)")
    parser.add_argument("--limit", type=int, default=600, help="the fake server's requests/minute (default 600)")
    parser.add_argument("--latency", type=float, default=0.2, help="the fake server's seconds per answer (default 0.2)")
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "datasets" / "scifact")
    parser.add_argument("--top-k", type=int, nargs="+", default=[5, 10], help="top-k values for the offline speed runs")
    parser.add_argument("--quality-top-k", type=int, default=40,
                        help="top-k of the nDCG@10 run: enough chunks to hold 10 distinct documents")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    work = Path(tempfile.mkdtemp(prefix="rag_queries_bench_"))
    command = "uv run python -m benchmarks.rag_queries " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        print(f"command: {command.strip()}; {os.cpu_count()} CPUs")
        if args.part in ("api", "all"):
            rows = bench_api(args, work)
            print()
            print(f"Fake OpenAI server: {args.limit} requests/min (sliding 60 s window), {args.latency * 1000:.0f} ms latency; "
                  f"{args.queries} queries, concurrency 4")
            print()
            print("| client budget | queries | requests | 200s | 429s | failed rows | exit | answering s | wall s | "
                  "achieved req/min | % of limit | max in any 60 s |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            for r in rows:
                print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]} | {r[7]:.1f} | {r[8]:.1f} | "
                      f"{r[9]:.0f} | {r[10]:.0f}% | {r[11]} |")
        if args.part in ("offline", "all"):
            if not (args.dataset / "corpus.jsonl").exists():
                print(f"dataset not found: {args.dataset}", file=sys.stderr)
                return 1
            speed, quality = bench_offline(args, work)
            print()
            print("Offline (extractive answerer, BM25) on SciFact: 5,183 abstracts, 300 test queries, concurrency 4")
            print()
            print("| top-k | queries | exit | CLI wall s | CLI queries/s | in-process s | in-process queries/s |")
            print("|---:|---:|---:|---:|---:|---:|---:|")
            for k, n, code, wall, qps, inproc, qps_in in speed:
                print(f"| {k} | {n} | {code} | {wall:.1f} | {qps:.1f} | {inproc:.2f} | {qps_in:.1f} |")
            print()
            print("| top-k | judged dev queries | nDCG@10 of the job's sources | nDCG@10 of get_rag().query (ingest benchmark) | queries whose top-10 docs differ |")
            print("|---:|---:|---:|---:|---:|")
            for k, n, job, direct, differing in quality:
                print(f"| {k} | {n} | {job:.4f} | {direct:.4f} | {differing} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
