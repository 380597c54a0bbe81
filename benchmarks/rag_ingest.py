"""RAG ingest speed, memory and retrieval quality on SciFact (the real job path).

    uv run python -m benchmarks.rag_ingest                      # chunked + whole, dev half
    uv run python -m benchmarks.rag_ingest --modes chunked --split train
    uv run python -m benchmarks.rag_ingest --keep /tmp/scifact_bench   # keep corpus and stores

Each SciFact document is written as one Markdown file (`# title`, blank line, abstract) into a
temp folder, then `python -m scripts.batch.batch_rag_ingest` runs as a subprocess, twice: the
first run is timed (files/s, chunks/s, peak RSS of the whole process tree, workers included),
the second run has nothing to do and must take under 5% of the first. Retrieval quality is
`get_rag().query` per judged query, its chunks collapsed to documents in rank order, scored
with nDCG@10 and Recall@100 against qrels/<split>.tsv.

"chunked" uses the default chunking (RAG_CHUNK_SIZE / RAG_CHUNK_OVERLAP); "whole" sets the
chunk size above the longest document so each document is one chunk.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

DATASET = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "scifact"
ROOT = Path(__file__).resolve().parents[1]


def load_dataset(folder: Path, split: str) -> tuple[list[dict], dict[str, str], dict[str, set[str]]]:
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    queries: dict[str, str] = {}
    for name in ("queries.jsonl", "queries_train.jsonl"):
        path = folder / name
        if path.exists():
            for line in path.open(encoding="utf-8"):
                row = json.loads(line)
                queries[str(row["_id"])] = row["text"]
    qrels: dict[str, set[str]] = {}
    with (folder / "qrels" / f"{split}.tsv").open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            qid, did, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels.setdefault(qid, set()).add(did)
    return corpus, queries, qrels


def write_corpus(corpus: list[dict], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for doc in corpus:
        (folder / f"{doc['_id']}.md").write_text(f"# {doc['title']}\n\n{doc['text']}\n", encoding="utf-8")


class TreeRss:
    """Peak resident memory of a process and all its children, sampled every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self.peak_main = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                main = self.process.memory_info().rss
                total = main
                for child in self.process.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
                self.peak_main = max(self.peak_main, main)
            except psutil.Error:
                pass
            self._stop.wait(0.05)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, int, TreeRss, str]:
    command = [sys.executable, "-m", "scripts.batch.batch_rag_ingest", *args]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeRss(process.pid) as rss:
        out, err = process.communicate()
    elapsed = time.perf_counter() - started
    return elapsed, process.returncode, rss, err


def evaluate(run: dict[str, list[str]], qrels: dict[str, set[str]]) -> tuple[float, float]:
    ndcg, recall = [], []
    for qid, relevant in qrels.items():
        ranked = run.get(qid, [])
        dcg = sum(1 / math.log2(i + 2) for i, doc in enumerate(ranked[:10]) if doc in relevant)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), 10)))
        ndcg.append(dcg / ideal)
        recall.append(len(set(ranked[:100]) & relevant) / len(relevant))
    return sum(ndcg) / len(ndcg), sum(recall) / len(recall)


def rank_documents(rag, text: str, retriever: str, depth: int) -> list[str]:
    docs: list[str] = []
    seen: set[str] = set()
    for hit in rag.query(text, top_k=depth, retriever=retriever):
        doc = Path(hit.source).stem
        if doc not in seen:
            seen.add(doc)
            docs.append(doc)
            if len(docs) >= 100:
                break
    return docs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DATASET)
    parser.add_argument("--split", default="dev", help="qrels file: dev (default) or train")
    parser.add_argument("--modes", default="chunked,whole")
    parser.add_argument("--retrievers", default="bm25,dense,hybrid")
    parser.add_argument("--dense-weights", default="0.3,1.0", help="hybrid RRF weights of the dense ranking to score")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temp folder, removed)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents (smoke test)")
    args = parser.parse_args(argv)

    if not (args.dataset / "corpus.jsonl").exists():
        print(f"dataset not found: {args.dataset}", file=sys.stderr)
        return 1
    corpus, queries, qrels = load_dataset(args.dataset, args.split)
    if args.limit:
        corpus = corpus[: args.limit]
    work = args.keep or Path(tempfile.mkdtemp(prefix="rag_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    docs_dir = work / "docs"
    if not docs_dir.exists() or len(list(docs_dir.iterdir())) != len(corpus):
        shutil.rmtree(docs_dir, ignore_errors=True)
        write_corpus(corpus, docs_dir)
    longest = max(len(d["title"]) + len(d["text"]) for d in corpus) + 100

    sys.path.insert(0, str(ROOT / "src"))
    from framework.config import Settings
    from framework.rag import get_rag

    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "CHROMA_", "EMBEDDING_"))}
    env["ANONYMIZED_TELEMETRY"] = "False"
    # An installed program runs from compiled bytecode; this sandbox sets PYTHONDONTWRITEBYTECODE,
    # which would charge every run ~0.8 s of compiling. Caches go to the work folder, not the repo.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    subprocess.run(
        [sys.executable, "-c", "import chromadb, wordllama, framework.documents, framework.rag.ingest, "
         "scripts.batch.batch_rag_ingest"], cwd=ROOT, env=env, check=True,
    )
    speed_rows, quality_rows = [], []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        persist = work / f"store_{mode}"
        shutil.rmtree(persist, ignore_errors=True)
        cli = ["--input", str(docs_dir), "--persist-dir", str(persist), "--collection", "scifact", "--log-level", "WARNING"]
        if mode == "whole":
            cli += ["--chunk-size", str(longest), "--chunk-overlap", "0"]
        if args.workers:
            cli += ["--workers", str(args.workers)]
        first, code1, rss, err1 = run_cli(cli, env)
        if code1 != 0:
            print(err1[-3000:], file=sys.stderr)
            print(f"first ingest exited {code1}", file=sys.stderr)
            return 1
        second, code2, rss2, err2 = run_cli(cli, env)
        settings = Settings(_env_file=None)
        rag = get_rag(settings, persist_dir=persist, collection="scifact")
        chunks = rag.count()
        # the no-op run measured in-process too, without interpreter start-up and imports
        from framework.rag.chunking import ChunkingConfig
        from framework.rag.ingest import IngestOptions, RagIngest

        chunking = ChunkingConfig(size=longest, overlap=0) if mode == "whole" else ChunkingConfig.from_settings(settings)
        options = IngestOptions(input_dir=docs_dir, persist_dir=persist, collection="scifact", chunking=chunking)
        t0 = time.perf_counter()
        noop = RagIngest(options, settings, echo=lambda line: None).run()
        in_process = time.perf_counter() - t0
        assert noop.done == 0 and noop.skipped == len(corpus), noop
        speed_rows.append(
            (mode, len(corpus), chunks, first, len(corpus) / first, chunks / first, second, 100 * second / first,
             in_process, rss.peak / 2**20, rss.peak_main / 2**20, code2)
        )
        rag.close()

        for retriever in [r.strip() for r in args.retrievers.split(",") if r.strip()]:
            weights = [float(w) for w in args.dense_weights.split(",")] if retriever == "hybrid" else [None]
            for weight in weights:
                overrides = {"RAG_HYBRID_DENSE_WEIGHT": weight} if weight is not None else {}
                settings = Settings(_env_file=None, **overrides)
                rag = get_rag(settings, persist_dir=persist, collection="scifact")
                depth = 100 if mode == "whole" else 400
                started = time.perf_counter()
                run = {qid: rank_documents(rag, queries[qid], retriever, depth) for qid in qrels}
                per_query = (time.perf_counter() - started) / len(qrels) * 1000
                ndcg, recall = evaluate(run, qrels)
                name = retriever if weight is None else f"hybrid (dense weight {weight:g})"
                quality_rows.append((mode, name, ndcg, recall, per_query))
                rag.close()

    print()
    print(f"SciFact: {len(corpus)} documents, {len(qrels)} judged {args.split} queries; "
          f"{os.cpu_count()} CPUs; command: uv run python -m benchmarks.rag_ingest {' '.join(argv or sys.argv[1:])}")
    print()
    print("| mode | files | chunks | first run s | files/s | chunks/s | re-run s (CLI) | re-run % | re-run s (in-process) | peak RSS tree MB | peak RSS main MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in speed_rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} | {row[3]:.1f} | {row[4]:.0f} | {row[5]:.0f} | {row[6]:.2f} | {row[7]:.1f}% | "
              f"{row[8]:.2f} | {row[9]:.0f} | {row[10]:.0f} |")
    print()
    print("| mode | retriever | nDCG@10 | Recall@100 | ms/query |")
    print("|---|---|---:|---:|---:|")
    for mode, name, ndcg, recall, ms in quality_rows:
        print(f"| {mode} | {name} | {ndcg:.3f} | {recall:.3f} | {ms:.1f} |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
