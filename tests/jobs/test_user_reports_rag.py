"""Bugs a new user reported: markdown headings in extractive answers, progress bars on a
terminal, queries against a store being ingested or empty, bm25 with another embedder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import framework.progress as progress
from framework.locking import RunLock
from framework.rag.answering import NOTHING_FOUND, ExtractiveAnswerer, split_sentences
from tests.framework.rag._helpers import isolated_env, run_cli

TRAVEL_POLICY_MD = """\
# Travel policy

## Hotels
Hotel stays are reimbursed up to INR 4,000 per night.

## Meals
The meal allowance is INR 1,500 per day.
Alcohol is never reimbursed.

## Local conveyance
Taxi fares are reimbursed at actuals.

## Internet
An internet allowance of INR 1,000 per month is paid to employees working from home.
"""


class _Chunk:
    def __init__(self, text: str, source: str = "travel_policy.md") -> None:
        self.chunk_id, self.text, self.score, self.source, self.metadata = source + "#0", text, 1.0, source, {}


def queries(tmp_path: Path, store: Path, questions: list[str], *extra: str) -> tuple[int, list[dict]]:
    from scripts.batch.batch_rag_queries import BatchRagQueries

    q = tmp_path / "q.jsonl"
    q.write_text("".join(json.dumps({"id": f"q{i}", "query": text}) + "\n" for i, text in enumerate(questions)))
    out = tmp_path / "a.jsonl"
    with isolated_env(CACHE_DIR=tmp_path / "cache"):
        code = int(BatchRagQueries().run(["-i", str(q), "-o", str(out), "--persist-dir", str(store), *extra]))
    rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return code, rows


@pytest.fixture
def travel_store(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "travel_policy.md").write_text(TRAVEL_POLICY_MD, encoding="utf-8")
    assert run_cli(["--input", docs, "--persist-dir", tmp_path / "db", "--workers", "1"],
                   CACHE_DIR=tmp_path / "cache") == 0
    return tmp_path / "db"


# --- 1. the first sentence under a markdown heading -------------------------------------------


def test_headings_are_dropped_but_the_sentence_under_them_is_kept():
    sentences = split_sentences("## Hotels\nHotel stays are reimbursed up to INR 4,000 per night.\n\n"
                                "Meals\n=====\nThe meal allowance is INR 1,500 per day. Receipts are required.")
    assert sentences == ["Hotel stays are reimbursed up to INR 4,000 per night.",
                         "The meal allowance is INR 1,500 per day.", "Receipts are required."]


def test_extractive_answer_quotes_the_first_sentence_of_a_section():
    answerer = ExtractiveAnswerer()
    chunks = [_Chunk(TRAVEL_POLICY_MD)]
    assert answerer.answer_text("How much can I spend on a hotel per night?", chunks) == (
        "Hotel stays are reimbursed up to INR 4,000 per night. [1]")
    assert answerer.answer_text("Are taxi fares reimbursed at actuals?", chunks).startswith(
        "Taxi fares are reimbursed at actuals. [1]")


def test_markdown_store_answers_from_the_sentence_after_each_heading(tmp_path, travel_store):
    code, rows = queries(tmp_path, travel_store,
                         ["How much can I spend on a hotel per night?", "Are taxi fares reimbursed at actuals?"])
    assert code == 0
    answers = {row["id"]: row["answer"] for row in rows}
    assert answers["q0"].startswith("Hotel stays are reimbursed up to INR 4,000 per night. [1]")
    assert answers["q1"].startswith("Taxi fares are reimbursed at actuals. [1]")
    assert NOTHING_FOUND not in answers.values()


# --- 2. progress bars ------------------------------------------------------------------------


def test_progress_bar_is_enabled_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress.progress_enabled()
    with progress.progress_bar(total=1) as bar:
        assert not bar.disable
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    with progress.progress_bar(total=1) as bar:
        assert bar.disable


def test_a_terminal_that_reports_no_size_still_gets_a_bar(monkeypatch, capsys):
    monkeypatch.setattr(progress, "progress_enabled", lambda: True)
    monkeypatch.setattr(progress, "_size_known", lambda: False)
    with progress.progress_bar(total=2, desc="things") as bar:
        bar.update(2)
    assert "things" in capsys.readouterr().err


def test_ingest_and_queries_show_a_bar_on_a_terminal(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(progress, "progress_enabled", lambda: True)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "travel_policy.md").write_text(TRAVEL_POLICY_MD, encoding="utf-8")
    assert run_cli(["--input", docs, "--persist-dir", tmp_path / "db", "--workers", "1"],
                   CACHE_DIR=tmp_path / "cache") == 0
    err = capfd.readouterr().err
    assert "ingest:" in err and "file/s" in err
    assert " | INFO | scripts.batch.batch_rag_ingest | summary: done=1" in err  # log lines intact
    code, _ = queries(tmp_path, tmp_path / "db", ["How much can I spend on a hotel per night?"])
    assert code == 0
    err = capfd.readouterr().err
    assert "queries:" in err and "/1 " in err
    assert " | INFO | scripts.batch.batch_rag_queries | summary: done=1" in err


def test_expense_job_shows_a_bar_on_a_terminal(tmp_path, monkeypatch, capfd):
    from clients.batch.runner import ExpenseJobConfig, run
    from tests.jobs.test_batch_expense_bills import POLICY, settings_for, write_bill

    monkeypatch.setattr(progress, "progress_enabled", lambda: True)
    write_bill(tmp_path / "bills" / "EMP1_Asha_oct" / "dinner.txt", "Punjab Grill Restaurant", "10/10/2024", "800.00")
    policy = tmp_path / "policy.txt"
    policy.write_text(POLICY)
    run(ExpenseJobConfig(policy=policy, folders=tmp_path / "bills", output=tmp_path / "out" / "results.json",
                         settings=settings_for(tmp_path), workers=1))
    err = capfd.readouterr().err
    assert "bills:" in err and "/1 " in err


# --- 3. a store being ingested, or empty -----------------------------------------------------


def test_queries_refuse_a_store_that_an_ingest_is_writing(tmp_path, travel_store, capsys):
    capsys.readouterr()
    with RunLock(travel_store):
        code, rows = queries(tmp_path, travel_store, ["How much can I spend on a hotel per night?"])
    assert code == 1 and rows == []
    assert "is being written by another run" in capsys.readouterr().err
    # the check only looked: the store is free again, and a re-run answers
    code, rows = queries(tmp_path, travel_store, ["How much can I spend on a hotel per night?"])
    assert code == 0 and rows[0]["answer"].startswith("Hotel stays")


def test_queries_refuse_an_empty_store(tmp_path, capsys):
    (tmp_path / "nothing").mkdir()
    code, rows = queries(tmp_path, tmp_path / "nothing", ["How much can I spend on a hotel per night?"])
    assert code == 1 and rows == []
    assert "is empty; run batch_rag_ingest first" in capsys.readouterr().err


# --- 4. bm25 with another embedder -----------------------------------------------------------


def test_bm25_queries_work_whatever_the_configured_embedder(tmp_path, travel_store, monkeypatch):
    other = {"EMBEDDING_MODEL": "wordllama-l2_supercat-128"}
    monkeypatch.setenv("EMBEDDING_MODEL", other["EMBEDDING_MODEL"])
    from scripts.batch.batch_rag_queries import BatchRagQueries

    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"id": "q0", "query": "Are taxi fares reimbursed at actuals?"}) + "\n")
    with isolated_env(CACHE_DIR=tmp_path / "cache", **other):
        bm25 = int(BatchRagQueries().run(["-i", str(q), "-o", str(tmp_path / "a.jsonl"), "--persist-dir",
                                          str(travel_store), "--retriever", "bm25"]))
        dense = int(BatchRagQueries().run(["-i", str(q), "-o", str(tmp_path / "b.jsonl"), "--persist-dir",
                                           str(travel_store), "--retriever", "dense"]))
    assert bm25 == 0
    row = json.loads((tmp_path / "a.jsonl").read_text().splitlines()[0])
    assert row["answer"].startswith("Taxi fares are reimbursed at actuals. [1]")
    assert dense == 1  # the dense check stays
