"""batch_rag_ingest as separate processes: kill -9 and resume, two writers at once, and an
OpenAI-compatible embedder that rate-limits, runs out of quota or changes its dimension."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.framework.rag._helpers import (
    REPO,
    run_cli,
    run_subprocess,
    store_state,
    subprocess_env,
    write_big_manual,
    write_corpus,
)
from tests.support.fake_openai import FakeOpenAIServer, Reply
from tests.support.kill_points import Job, fault_seed, kill_group
from tests.support.kill_points import start as start_job


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """60 small files and a ~5 MB manual that yields more chunks than one Chroma batch."""
    folder = tmp_path_factory.mktemp("corpus")
    write_corpus(folder / "small", 60)
    write_big_manual(folder / "big_manual_8000_paragraphs.txt")
    return folder


def start(argv: list) -> subprocess.Popen:
    return start_job(Job("scripts.batch.batch_rag_ingest", argv, subprocess_env()), capture=True)


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert path.exists(), f"the run never created {path.name}"


def test_kill_9_during_ingest_then_rerun_equals_an_uninterrupted_run(tmp_path, corpus):
    reference_dir = tmp_path / "reference"
    started = time.monotonic()
    done = run_subprocess(["--input", corpus, "--persist-dir", reference_dir], timeout=300)
    full_time = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-2000:]
    reference = store_state(reference_dir)
    assert reference.consistent and reference.sources["big_manual_8000_paragraphs.txt"] > 5461

    seed = fault_seed()
    rng = random.Random(seed)
    killed_dir = tmp_path / "killed"
    kills = 0
    for how in ("SIGTERM", "SIGKILL", "SIGKILL"):
        process = start(["--input", corpus, "--persist-dir", killed_dir])
        if how == "SIGTERM":
            # once the run has begun (before that, SIGTERM just ends the interpreter)
            wait_for(killed_dir / ".lock.holder", process)
            time.sleep(rng.uniform(0.0, full_time * 0.5))
        else:
            time.sleep(rng.uniform(0.3, max(0.6, full_time * 0.9)))
        running = process.poll() is None
        kills += running
        if how == "SIGTERM":
            # Ctrl-C's twin: stop taking files, drop the group in flight, release the lock
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=60)
            finally:
                kill_group(process)
            assert process.returncode == (130 if running else 0), f"seed {seed}"
        else:
            kill_group(process)
    resumed = run_subprocess(["--input", corpus, "--persist-dir", killed_dir], timeout=300)
    assert resumed.returncode == 0, f"seed {seed}: {resumed.stderr[-2000:]}"
    state = store_state(killed_dir)
    assert kills >= 1, f"seed {seed}: every run finished before its kill"
    assert state.chroma_ids == reference.chroma_ids, f"seed {seed}"
    assert state.lexical_ids == reference.lexical_ids and state.sources == reference.sources, f"seed {seed}"
    assert state.consistent, f"seed {seed}"


def test_a_second_concurrent_ingest_fails_fast(tmp_path, corpus):
    persist, manifest = tmp_path / "db", tmp_path / "ingested.jsonl"
    first = start(["--input", corpus, "--persist-dir", persist, "--manifest", manifest])
    try:
        wait_for(persist / ".lock.holder", first)
        began = time.monotonic()
        second = run_subprocess(["--input", corpus, "--persist-dir", persist], timeout=60)
        assert time.monotonic() - began < 10
        assert second.returncode == 1
        assert "store" in second.stderr and "is locked by another run" in second.stderr
        assert f"pid {first.pid}" in second.stderr and "Traceback" not in second.stderr
        # the dry run is refused the same way, without taking the lock
        dry = run_subprocess(["--input", corpus, "--persist-dir", persist, "--dry-run"], timeout=60)
        assert dry.returncode == 1 and "is locked by another run" in dry.stderr, dry.stderr[-2000:]
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-2000:]
    finally:
        if first.poll() is None:
            kill_group(first)
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(rows) == 61 and store_state(persist).consistent


def _openai_env(server: FakeOpenAIServer) -> dict:
    return {"EMBEDDING_PROVIDER": "openai", "EMBEDDING_BASE_URL": server.base_url, "EMBEDDING_MODEL": "fake-embed"}


def _small_input(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "meals.txt").write_text("Meals up to 1200 INR per day.\n")
    (folder / "policy.txt").write_text("Hotel stays are capped at 4000 INR per night.\n")
    return folder


def test_rate_limit_is_retried_after_retry_after(tmp_path):
    docs = _small_input(tmp_path)
    with FakeOpenAIServer(embedding_dim=8) as server:
        server.script(Reply.rate_limit(retry_after=1))
        code = run_cli(["--input", docs, "--persist-dir", tmp_path / "db", "--workers", "1"], **_openai_env(server))
        statuses = [r.status for r in server.requests]
        times = [r.t for r in server.requests]
    assert code == 0
    assert statuses[0] == 429 and set(statuses[1:]) == {200}
    assert times[1] - times[0] >= 1.0
    assert store_state(tmp_path / "db").consistent


def test_insufficient_quota_stops_the_run_at_once(tmp_path, capsys):
    docs = _small_input(tmp_path)
    with FakeOpenAIServer(embedding_dim=8) as server:
        server.script(Reply.quota(), Reply.quota(), Reply.quota())
        code = run_cli(["--input", docs, "--persist-dir", tmp_path / "db", "--workers", "1"], **_openai_env(server))
        requests = len(server.requests)
    err = capsys.readouterr().err
    assert code == 3  # nothing could be done
    assert requests == 1  # no retry can bring credit back
    assert "quota" in err and "stopped" in err and "Traceback" not in err


def test_server_errors_fail_the_files_not_the_run(tmp_path, capsys):
    docs = _small_input(tmp_path)
    with FakeOpenAIServer(embedding_dim=8) as server:
        server.script(Reply.server_error(502), Reply.server_error(502))
        argv = ["--input", docs, "--persist-dir", tmp_path / "db", "--workers", "1", "--retries", "1"]
        code = run_cli(argv, **_openai_env(server))
    err = capsys.readouterr().err
    assert code == 3 and "embedding_server_error" in err and "meals.txt" in err and "Traceback" not in err
    with FakeOpenAIServer(embedding_dim=8) as server:  # the next run indexes them
        assert run_cli(argv, **_openai_env(server)) == 0
    assert set(store_state(tmp_path / "db").sources) == {"meals.txt", "policy.txt"}


def test_c13_a_embedder_dimension_change_is_refused(tmp_path, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("meals.txt", "policy.txt"):
        (docs / name).write_bytes((REPO / "tests/fixtures/cases/C13_store_preflight_and_lock/input" / name).read_bytes())
    argv = ["--input", docs, "--persist-dir", tmp_path / "db", "--workers", "1"]
    with FakeOpenAIServer(embedding_dim=384) as server:
        assert run_cli(argv, **_openai_env(server)) == 0
    before = store_state(tmp_path / "db")
    assert before.identity["embedder_dimension"] == 384
    capsys.readouterr()
    # First the case as written (the same input again, nothing to embed): still refused, or a
    # wrong server would only surface on the day a new file arrives. Then with a new file:
    # refused before it is embedded.
    for new_file in (None, docs / "new.txt"):
        if new_file is not None:
            new_file.write_text("A new file.\n")
        with FakeOpenAIServer(embedding_dim=1536) as server:
            assert run_cli(argv, **_openai_env(server)) == 1
            assert [r.json["input"] for r in server.requests] == [["dimension probe"]]  # nothing else embedded
        err = capsys.readouterr().err
        assert "openai:fake-embed (384 dims)" in err and "openai:fake-embed (1536 dims)" in err
    assert run_cli(argv) == 1  # the offline default against the same store
    assert "offline:wordllama" in capsys.readouterr().err
    after = store_state(tmp_path / "db")
    assert after.chroma_ids == before.chroma_ids and after.sources == before.sources


@pytest.mark.skipif(shutil.which("chroma", path=str(Path(sys.executable).parent)) is None, reason="no chroma CLI")
def test_a_chroma_server_holds_the_vectors(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [shutil.which("chroma", path=str(Path(sys.executable).parent)), "run", "--path", str(tmp_path / "server"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        env = {"CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": port}
        docs = _small_input(tmp_path)
        assert run_cli(["--input", docs, "--persist-dir", tmp_path / "local", "--workers", "1"], **env) == 0
        assert not (tmp_path / "local" / "chroma.sqlite3").exists()  # vectors went to the server
        from framework.rag import get_rag
        from tests.framework.rag._helpers import isolated_env, make_settings

        with isolated_env(**env):
            settings = make_settings(tmp_path, CHROMA_HOST="127.0.0.1", CHROMA_PORT=port)
            with get_rag(settings, persist_dir=tmp_path / "local") as rag:
                hits = rag.query("hotel per night", top_k=1, retriever="dense")
                assert [h.source for h in hits] == ["policy.txt"] and rag.store.chroma.count() == 2
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
