"""Shared helpers for the RAG and ingest tests: isolated settings, CLI runs, store inspection."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from framework.config import Settings, get_settings

REPO = Path(__file__).resolve().parents[3]
CASES = REPO / "tests" / "fixtures" / "cases"
# Variables that would leak a developer's configuration into a test run.
_PREFIXES = ("RAG_", "CHROMA_", "EMBEDDING_", "LLM_", "OPENAI_", "OCR_")


def make_settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, CHROMA_PERSIST_DIR=tmp_path / "db", CACHE_DIR=tmp_path / "cache", **values)


@contextmanager
def isolated_env(**values: object):
    """The CLI writes its flags into os.environ (apply_framework_overrides): undo that."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(_PREFIXES):
            del os.environ[key]
    os.environ.update({k: str(v) for k, v in values.items()})
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def run_cli(argv: list[str], **env: object) -> int:
    """The real CLI, in this process (fast): returns its exit code."""
    from scripts.batch.batch_rag_ingest import BatchRagIngest

    with isolated_env(**env):
        return int(BatchRagIngest().run([str(a) for a in argv]))


def subprocess_env(**values: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    env["ANONYMIZED_TELEMETRY"] = "False"
    env.update({k: str(v) for k, v in values.items()})
    return env


def cli_command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "scripts.batch.batch_rag_ingest", *[str(a) for a in argv]]


def run_subprocess(argv: list[str], timeout: float = 120, **env: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_command(argv), cwd=REPO, env=subprocess_env(**env), capture_output=True, text=True, timeout=timeout
    )


@dataclass
class StoreState:
    chroma_ids: set[str]
    lexical_ids: set[str]
    pending: list[str]
    sources: dict[str, int]  # source -> recorded chunk count
    identity: dict | None

    @property
    def consistent(self) -> bool:
        return self.chroma_ids == self.lexical_ids and not self.pending and sum(self.sources.values()) == len(self.lexical_ids)


def store_state(persist_dir: Path, collection: str = "documents") -> StoreState:
    """Everything both indexes hold, read straight from Chroma and SQLite."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    db = persist_dir / "rag_index" / f"{collection}.sqlite3"
    conn = sqlite3.connect(str(db))
    try:
        lexical = {row[0] for row in conn.execute("SELECT chunk_id FROM chunks")}
        pending = [row[0] for row in conn.execute("SELECT chunk_id FROM pending")]
        sources = dict(conn.execute("SELECT source, chunk_count FROM files"))
    finally:
        conn.close()
    client = chromadb.PersistentClient(path=str(persist_dir), settings=ChromaSettings(anonymized_telemetry=False))
    try:
        try:
            collection_ = client.get_collection(collection, embedding_function=None)
        except Exception:
            return StoreState(set(), lexical, pending, sources, None)
        ids: set[str] = set()
        offset = 0
        while True:
            page = collection_.get(include=[], limit=5000, offset=offset)
            ids.update(page["ids"])
            if len(page["ids"]) < 5000:
                break
            offset += 5000
        identity = {k: v for k, v in (collection_.metadata or {}).items() if k.startswith("embedder_")}
        return StoreState(ids, lexical, pending, sources, identity)
    finally:
        client.close()


@dataclass
class StoredChunk:
    chunk_id: str
    text: str
    metadata: dict


def stored_chunks(persist_dir: Path, collection: str = "documents") -> dict[str, list[StoredChunk]]:
    """What the store holds for each source, in chunk order (the text lives in the BM25 table;
    Chroma holds only vectors and the same metadata)."""
    import json

    conn = sqlite3.connect(str(persist_dir / "rag_index" / f"{collection}.sqlite3"))
    try:
        rows = conn.execute("SELECT source, chunk_id, text, metadata FROM chunks ORDER BY source, chunk_index").fetchall()
    finally:
        conn.close()
    out: dict[str, list[StoredChunk]] = {}
    for source, chunk_id, text, metadata in rows:
        out.setdefault(source, []).append(StoredChunk(chunk_id, text, json.loads(metadata)))
    return out


def stored_text(persist_dir: Path, source: str, collection: str = "documents") -> str:
    return "\n".join(chunk.text for chunk in stored_chunks(persist_dir, collection).get(source, []))


def tree_snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every file under a folder, to prove nothing was written."""
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


_WORDS = (
    "city laundry policy luggage tips visa flight exception airport toll fuel taxi manager meal hotel mileage "
    "receipt claim audit parking approval day night advance rate limit"
).split()


def random_words(rng: random.Random, count: int) -> str:
    """`count` words of expense-policy vocabulary: text that BM25 and the embedder can tell apart."""
    return " ".join(rng.choice(_WORDS) for _ in range(count))


def write_big_manual(path: Path, paragraphs: int = 8000, seed: int = 11) -> None:
    """Like C11's 5 MB manual (paragraphs of 590-700 characters), generated instead of shipped."""
    rng = random.Random(seed)
    parts = []
    for number in range(paragraphs):
        target = rng.randint(590, 700)
        words = [f"Section {number // 10}.{number % 10}:"]
        length = len(words[0])
        while length < target:
            word = rng.choice(_WORDS)
            words.append(word)
            length += len(word) + 1
        parts.append(" ".join(words) + ".")
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def write_corpus(folder: Path, count: int, prefix: str = "doc") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(count)
    paths = []
    for index in range(count):
        words = random_words(rng, rng.randint(40, 160))
        path = folder / f"{prefix}_{index:04d}.md"
        path.write_text(f"# {prefix} {index}\n\nTopic {index}: {words}.\n", encoding="utf-8")
        paths.append(path)
    return paths


def write_policy_docs(folder: Path) -> Path:
    """Three small policy documents in two folders: the ingest tests' usual corpus."""
    (folder / "policies").mkdir(parents=True)
    (folder / "hotels.md").write_text("# Hotels\n\nHotel stays are capped at 4000 INR per night.\n")
    (folder / "meals.txt").write_text("Meals are reimbursed up to 1200 INR per day.\n")
    (folder / "policies" / "cabs.txt").write_text("Airport cabs need manager approval above 2000 INR.\n")
    return folder
