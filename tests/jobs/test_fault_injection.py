"""Fault injection: each job's real CLI is killed with SIGKILL at >= 5 random points, re-run to
completion each time, and its final output compared with an uninterrupted run's.

- expenses: results.json byte-identical apart from its "run" block, policy_extract.json identical;
- ingest: the same chunk ids (Chroma and BM25), chunk counts per file and manifest rows;
- queries: exactly one success row per id, nothing missing, the same answers.

The seed is printed; `FAULT_SEED=<n> uv run pytest tests/jobs/test_fault_injection.py` replays
a failure, `FAULT_KILLS=20` makes a longer soak. Each kill point starts from a fresh output
folder, so the points are independent and spread over a whole run (see tests/support/kill_points.py).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.framework.rag._helpers import random_words, store_state
from tests.support.kill_points import Job, job_env, kill_rerun_compare, line_count, tree_bytes
from tests.support.outputs import without_run_block

# -- expenses ------------------------------------------------------------------------------------
POLICY = "Meals up to Rs 1,000 per day. Cab fares are reimbursed at actuals. Bills must fall within the claim month.\n"
VENDORS = ("Udupi Grand Veg Restaurant", "City Cabs Pvt Ltd", "Cafe Coffee Day", "Punjab Grill Restaurant", "Meru Cabs")


@pytest.fixture(scope="module")
def expense_input(tmp_path_factory) -> Path:
    """300 text bills in 10 employee folders (text keeps the run short; the crash paths are
    the same as for OCR'd bills: the per-bill cache, the pool, the final atomic write)."""
    root = tmp_path_factory.mktemp("expenses")
    (root / "policy.txt").write_text(POLICY, encoding="utf-8")
    rng = random.Random(7)
    for employee in range(10):
        folder = root / "bills" / f"EMP{employee:03d}_Name{employee}_oct"
        folder.mkdir(parents=True)
        for number in range(30):
            amount = f"{rng.randint(50, 2500)}.{rng.randint(0, 99):02d}"
            (folder / f"bill_{number:03d}.txt").write_text(
                f"{rng.choice(VENDORS)}\nBill No: {employee * 100 + number}\nDate: {rng.randint(1, 31):02d}/10/2024\n"
                f"Total    INR {amount}\n",
                encoding="utf-8",
            )
    return root


def test_expense_job_killed_at_random_points_gives_the_uninterrupted_results(tmp_path, expense_input):
    def job(out: Path) -> Job:
        args = ["--policy", expense_input / "policy.txt", "--folders", expense_input / "bills",
                "-o", out / "results.json", "--workers", "2"]
        return Job("scripts.batch.batch_expense_bills", args, job_env(CACHE_DIR=out / "doc_cache"))

    def compare(out: Path, reference: Path) -> None:
        assert without_run_block(out / "results.json") == without_run_block(reference / "results.json")
        assert (out / "policy_extract.json").read_bytes() == (reference / "policy_extract.json").read_bytes()
        run = json.loads((out / "results.json").read_text(encoding="utf-8"))["run"]
        assert run["bills"]["total"] == 300

    def bill_cache(out: Path) -> Path:
        return out / ".cache" / "bill_records.jsonl"

    kill_rerun_compare(tmp_path, job, lambda out: line_count(bill_cache(out)), compare, torn=bill_cache)


# -- ingest --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ingest_input(tmp_path_factory) -> Path:
    """300 documents of ~3.6 KB: with 300-character chunks about 3,300 chunks, so the run
    writes two groups (a kill can fall between them) and each group several batches."""
    folder = tmp_path_factory.mktemp("ingest") / "docs"
    folder.mkdir()
    rng = random.Random(1)
    for index in range(300):
        paragraphs = [random_words(rng, rng.randint(30, 60)) + "." for _ in range(8)]
        (folder / f"doc_{index:04d}.md").write_text(f"# doc {index}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return folder


def test_ingest_job_killed_at_random_points_gives_the_same_store(tmp_path, ingest_input):
    def job(work: Path) -> Job:
        args = ["--input", ingest_input, "--persist-dir", work / "db", "--manifest", work / "ingested.jsonl",
                "--chunk-size", "300", "--chunk-overlap", "0", "--workers", "1"]
        return Job("scripts.batch.batch_rag_ingest", args, job_env(CACHE_DIR=work / "cache"))

    def manifest_sources(work: Path) -> list[str]:
        return sorted(json.loads(line)["source"] for line in (work / "ingested.jsonl").read_text().splitlines())

    def compare(work: Path, reference: Path) -> None:
        got, want = store_state(work / "db"), store_state(reference / "db")
        assert got.consistent, "pending ids left, or the two indexes differ"
        assert got.chroma_ids == want.chroma_ids and len(got.chroma_ids) == len(want.chroma_ids)
        assert got.lexical_ids == want.lexical_ids and got.sources == want.sources
        assert manifest_sources(work) == manifest_sources(reference)  # one row per file, none lost

    kill_rerun_compare(tmp_path, job, lambda work: tree_bytes(work / "db"), compare,
                       torn=lambda work: work / "ingested.jsonl")


# -- queries -------------------------------------------------------------------------------------
QUESTIONS = 300


@pytest.fixture(scope="module")
def query_store(tmp_path_factory) -> Path:
    """A small store built once through the API (the ingest job is tested above)."""
    from framework.config import Settings
    from framework.rag import DocumentInput, get_rag

    persist = tmp_path_factory.mktemp("query_store") / "db"
    rng = random.Random(5)
    documents = [
        DocumentInput(source=f"policy_{n:02d}.md", text=f"# Policy {n}\n\n{random_words(rng, 200)}.")
        for n in range(40)
    ]
    with get_rag(Settings(_env_file=None), persist_dir=persist, collection="policies") as rag:
        rag.add_documents(documents)
    return persist


def test_queries_job_killed_at_random_points_answers_each_id_once(tmp_path, query_store):
    questions = tmp_path / "questions.jsonl"
    rng = random.Random(9)
    questions.write_text("".join(
        json.dumps({"id": f"q{i:03d}", "query": f"What does the policy say about {random_words(rng, 2)}?"}) + "\n"
        for i in range(1, QUESTIONS + 1)
    ), encoding="utf-8")

    def job(work: Path) -> Job:
        work.mkdir(parents=True, exist_ok=True)
        args = ["--input", questions, "--output", work / "answers.jsonl", "--persist-dir", query_store,
                "--collection", "policies", "--concurrency", "4"]
        return Job("scripts.batch.batch_rag_queries", args, job_env(CACHE_DIR=work / "cache"))

    def answers(work: Path) -> list[dict]:
        raw = (work / "answers.jsonl").read_text(encoding="utf-8")
        assert raw.endswith("\n")
        return [json.loads(line) for line in raw.splitlines()]

    def compare(work: Path, reference: Path) -> None:
        rows = answers(work)
        assert all("error" not in row for row in rows)
        ids = [row["id"] for row in rows]
        assert sorted(ids) == [f"q{i:03d}" for i in range(1, QUESTIONS + 1)], "duplicates or gaps"

        def content(row: dict) -> tuple:
            return row["answer"], [s["chunk_id"] for s in row["sources"]]

        assert {r["id"]: content(r) for r in rows} == {r["id"]: content(r) for r in answers(reference)}

    kill_rerun_compare(tmp_path, job, lambda work: line_count(work / "answers.jsonl"), compare,
                       torn=lambda work: work / "answers.jsonl")
