"""batch_rag_ingest safety: one store per input folder, --cleanup full on an empty input,
symlinks, the manifest after a cleanup, stale chunks kept by --cleanup none, the removed
count, --extensions checked up front, and one log line per file not indexed."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.framework.rag._helpers import run_cli, store_state, stored_text, write_policy_docs

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \| [A-Z]+ \| [\w.]+ \| ")


def ingest(tmp_path: Path, *extra: object, input_dir: Path | None = None, db: str = "db") -> int:
    argv = ["--input", input_dir or tmp_path / "docs", "--persist-dir", tmp_path / db, "--workers", "1", *extra]
    return run_cli(argv)


def recorded_input(db: Path, collection: str = "documents") -> str | None:
    conn = sqlite3.connect(str(db / "rag_index" / f"{collection}.sqlite3"))
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'input_dir'").fetchone()
    finally:
        conn.close()
    return row[0] if row else None


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    return write_policy_docs(tmp_path / "docs")


# -- 1. one store, one input folder ---------------------------------------------------------------
def test_a_second_folder_is_refused_before_any_work(tmp_path, docs, capsys):
    assert ingest(tmp_path) == 0
    assert recorded_input(tmp_path / "db") == str(docs.resolve())
    before = store_state(tmp_path / "db")
    other = tmp_path / "other"
    other.mkdir()
    (other / "meals.txt").write_text("Another team's meals file: 99 INR.\n")
    capsys.readouterr()
    for extra in ((), ("--dry-run",), ("--cleanup", "full")):
        assert ingest(tmp_path, *extra, input_dir=other) == 1, extra
        err = capsys.readouterr().err
        [line] = [line for line in err.splitlines() if "ERROR" in line]
        assert str(docs.resolve()) in line and str(other.resolve()) in line
        assert "--collection" in line and "--persist-dir" in line and "--input-moved" in line
        assert "Traceback" not in err
    after = store_state(tmp_path / "db")
    assert after.chroma_ids == before.chroma_ids and after.sources == before.sources
    assert "1200 INR" in stored_text(tmp_path / "db", "meals.txt")
    assert recorded_input(tmp_path / "db") == str(docs.resolve())
    # another collection (or store) for the other folder is fine
    assert ingest(tmp_path, "--collection", "other-docs", input_dir=other) == 0


def test_the_same_folder_spelled_otherwise_is_accepted(tmp_path, docs, monkeypatch):
    assert ingest(tmp_path) == 0
    monkeypatch.chdir(docs / "policies")
    assert run_cli(["--input", "..", "--persist-dir", tmp_path / "db", "--workers", "1"]) == 0
    link = tmp_path / "docs-link"
    link.symlink_to(docs, target_is_directory=True)
    assert ingest(tmp_path, input_dir=link) == 0  # resolved: the same folder


def test_input_moved_records_the_new_folder(tmp_path, docs, capsys):
    assert ingest(tmp_path) == 0
    before = store_state(tmp_path / "db")
    moved = docs.rename(tmp_path / "documents-2024")
    capsys.readouterr()
    assert ingest(tmp_path, input_dir=moved) == 1
    assert ingest(tmp_path, "--input-moved", "--dry-run", input_dir=moved) == 0  # a dry run records nothing
    assert recorded_input(tmp_path / "db") == str(docs.resolve())
    capsys.readouterr()
    assert ingest(tmp_path, "--input-moved", input_dir=moved) == 0
    assert "done=0 skipped=3 failed=0" in capsys.readouterr().err  # a move keeps size and mtime: nothing re-read
    assert recorded_input(tmp_path / "db") == str(moved.resolve())
    assert store_state(tmp_path / "db").chroma_ids == before.chroma_ids
    assert ingest(tmp_path, input_dir=moved) == 0  # recorded: no flag needed any more
    assert ingest(tmp_path, input_dir=docs.parent / "docs-missing") == 1  # usage error (not found)


def test_a_store_without_a_recorded_folder_or_without_files_adopts_the_current_one(tmp_path, docs):
    assert ingest(tmp_path) == 0
    conn = sqlite3.connect(str(tmp_path / "db" / "rag_index" / "documents.sqlite3"))
    with conn:
        conn.execute("DELETE FROM meta WHERE key = 'input_dir'")  # a store from before the change
    conn.close()
    other = tmp_path / "other"
    other.mkdir()
    (other / "visa.txt").write_text("Visa fees are reimbursed.\n")
    assert ingest(tmp_path, input_dir=other) == 0
    assert recorded_input(tmp_path / "db") == str(other.resolve())

    empty = tmp_path / "empty"
    empty.mkdir()
    assert ingest(tmp_path, input_dir=empty, db="db2") == 0  # a store with no file yet
    assert recorded_input(tmp_path / "db2") == str(empty.resolve())
    assert ingest(tmp_path, input_dir=docs, db="db2") == 0  # nothing to overwrite: adopted
    assert recorded_input(tmp_path / "db2") == str(docs.resolve())


def test_cleanup_full_refuses_to_empty_the_store(tmp_path, docs, capsys):
    assert ingest(tmp_path) == 0
    before = store_state(tmp_path / "db")
    # the report's case: another, empty folder: refused as another folder
    empty = tmp_path / "empty"
    empty.mkdir()
    assert ingest(tmp_path, "--cleanup", "full", input_dir=empty) == 1
    # the same folder, emptied (an unmounted share), or one extension that matches nothing
    docs.rename(tmp_path / "away")
    docs.mkdir()
    capsys.readouterr()
    for extra in (("--cleanup", "full"), ("--cleanup", "full", "--dry-run")):
        assert ingest(tmp_path, *extra) == 1
        err = capsys.readouterr().err
        [line] = [line for line in err.splitlines() if "ERROR" in line]
        assert "--cleanup full refused" in line and "all 3 indexed file(s)" in line and "Traceback" not in err
    docs.rmdir()
    (tmp_path / "away").rename(docs)
    assert ingest(tmp_path, "--cleanup", "full", "--extensions", ".pdf") == 1
    after = store_state(tmp_path / "db")
    assert after.chroma_ids == before.chroma_ids and after.sources == before.sources
    # an incremental run over an empty folder deletes nothing anyway, so it is not refused
    assert ingest(tmp_path, "--extensions", ".pdf") == 0
    # emptied but for one unreadable file: still nothing to keep the store for
    docs.rename(tmp_path / "away")
    docs.mkdir()
    (docs / "empty.txt").write_bytes(b"")
    capsys.readouterr()
    assert ingest(tmp_path, "--cleanup", "full") == 1
    assert "--cleanup full refused" in capsys.readouterr().err
    assert store_state(tmp_path / "db").chroma_ids == before.chroma_ids
    shutil.rmtree(docs)
    (tmp_path / "away").rename(docs)
    # an empty store is no loss
    empty_store_input = tmp_path / "nothing"
    empty_store_input.mkdir()
    assert ingest(tmp_path, "--cleanup", "full", input_dir=empty_store_input, db="db2") == 0
    assert ingest(tmp_path, "--cleanup", "full", input_dir=empty_store_input, db="db2") == 0


# -- 2. symlinks --------------------------------------------------------------------------------------
def test_symlinks_are_followed_only_inside_the_input(tmp_path, docs, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the password file of this machine\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "more.txt").write_text("A folder outside the input.\n")
    (docs / "passwd.txt").symlink_to(secret)
    (docs / "alias.txt").symlink_to(docs / "meals.txt")  # inside: followed
    (docs / "dangling.txt").symlink_to(docs / "gone.txt")
    (docs / "linked-folder").symlink_to(outside, target_is_directory=True)
    (docs / "ignored.csv").symlink_to(secret)  # not a wanted extension: not even reported

    assert ingest(tmp_path, "--dry-run") == 2
    out = capsys.readouterr().out
    assert "refuse  passwd.txt (symlink [symlink_outside_input]" in out and "refuse  dangling.txt" in out

    assert ingest(tmp_path) == 2  # some files not indexed, like any other refused file
    err = capsys.readouterr().err
    sources = store_state(tmp_path / "db").sources
    assert set(sources) == {"alias.txt", "hotels.md", "meals.txt", "policies/cabs.txt"}
    assert "password" not in json.dumps([stored_text(tmp_path / "db", s) for s in sources])
    summary = err[err.index("2 file(s) not indexed:"):]
    assert f"passwd.txt: symlink [symlink_outside_input]: a link to {secret.resolve()}, outside --input" in summary
    assert "dangling.txt: symlink [dangling_symlink]: a link to" in summary and "does not exist" in summary
    assert "linked-folder is a symlink to a folder" in err and "more.txt" not in json.dumps(sources)
    assert "ignored.csv" not in err


def test_a_link_repointed_outside_is_removed_by_cleanup_full(tmp_path, docs, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("Outside the input folder.\n")
    link = docs / "link.txt"
    link.symlink_to(docs / "meals.txt")
    assert ingest(tmp_path) == 0
    link.unlink()
    link.symlink_to(secret)
    capsys.readouterr()
    assert ingest(tmp_path) == 2
    err = capsys.readouterr().err
    assert "link.txt: symlink [symlink_outside_input]" in err and "until a --cleanup full run" in err
    assert ingest(tmp_path, "--cleanup", "full") == 2
    assert "link.txt" not in store_state(tmp_path / "db").sources


# -- 3. the manifest ------------------------------------------------------------------------------------
def test_a_manifest_path_is_skipped_only_while_the_store_holds_it(tmp_path, docs, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    manifest = tmp_path / "ingested.jsonl"
    assert run_cli(["--input", "docs", "--persist-dir", "db", "--workers", "1", "--manifest", "ingested.jsonl"]) == 0
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    # absolute paths, through the resolved --input, whatever the spelling or working directory
    assert sorted(r["path"] for r in rows) == sorted(str(p.resolve()) for p in docs.rglob("*.*"))

    monkeypatch.chdir(docs / "policies")
    capsys.readouterr()
    assert ingest(tmp_path, "--manifest", manifest) == 0
    assert "done=0 skipped=3" in capsys.readouterr().err and len(manifest.read_text().splitlines()) == 3

    # removed by --cleanup full, then back: indexed again, with a new manifest row
    away = (docs / "hotels.md").rename(tmp_path / "hotels.md")
    assert ingest(tmp_path, "--manifest", manifest, "--cleanup", "full") == 0
    assert "hotels.md" not in store_state(tmp_path / "db").sources
    away.rename(docs / "hotels.md")
    capsys.readouterr()
    assert ingest(tmp_path, "--manifest", manifest) == 0
    assert "done=1 skipped=2" in capsys.readouterr().err
    assert "hotels.md" in store_state(tmp_path / "db").sources
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert [r["source"] for r in rows].count("hotels.md") == 2 and len(rows) == 4
    assert ingest(tmp_path, "--manifest", manifest) == 0  # listed and held: skipped, nothing appended
    assert len(manifest.read_text().splitlines()) == 4


def test_relative_rows_of_an_older_manifest_still_match(tmp_path, docs, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    manifest = tmp_path / "ingested.jsonl"
    assert ingest(tmp_path, "--manifest", manifest) == 0
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    manifest.write_text("".join(json.dumps({**r, "path": os.path.relpath(r["path"])}) + "\n" for r in rows))
    (docs / "meals.txt").write_text("Meals: changed, but listed in the manifest.\n")
    capsys.readouterr()
    assert run_cli(["--input", "docs", "--persist-dir", "db", "--workers", "1", "--manifest", manifest]) == 0
    assert "done=0 skipped=3" in capsys.readouterr().err
    assert len(manifest.read_text().splitlines()) == 3


# -- 4. stale chunks kept by --cleanup none ------------------------------------------------------------
@pytest.mark.parametrize("later", ["incremental", "full"])
def test_chunks_kept_by_cleanup_none_are_removed_by_a_later_run(tmp_path, docs, capsys, later):
    assert ingest(tmp_path) == 0
    (docs / "meals.txt").write_text("Meals are reimbursed up to 1500 INR per day from April.\n")
    assert ingest(tmp_path, "--cleanup", "none") == 0
    kept = store_state(tmp_path / "db")
    assert len(kept.lexical_ids) == 4 and kept.consistent
    assert "1200" in stored_text(tmp_path / "db", "meals.txt") and "1500" in stored_text(tmp_path / "db", "meals.txt")
    assert ingest(tmp_path, "--cleanup", "none") == 0  # none again: still kept
    assert len(store_state(tmp_path / "db").lexical_ids) == 4

    capsys.readouterr()
    assert ingest(tmp_path, "--dry-run", "--cleanup", later) == 0
    assert "remove  1 stale chunk(s) of 1 file(s) kept by --cleanup none" in capsys.readouterr().out
    assert ingest(tmp_path, "--cleanup", later) == 0
    err = capsys.readouterr().err
    assert "done=0 skipped=3" in err and "0 chunk(s) written, 1 removed" in err
    cleaned = store_state(tmp_path / "db")
    assert cleaned.consistent and len(cleaned.chroma_ids) == 3 and cleaned.sources["meals.txt"] == 1
    assert "1200" not in stored_text(tmp_path / "db", "meals.txt")
    assert ingest(tmp_path, input_dir=docs, db="fresh") == 0
    assert cleaned.chroma_ids == store_state(tmp_path / "fresh").chroma_ids


def test_versions_and_chunk_settings_kept_by_cleanup_none(tmp_path, docs, capsys):
    original = (docs / "meals.txt").read_text()
    assert ingest(tmp_path) == 0
    (docs / "meals.txt").write_text("Meals: a second version, 1300 INR.\n")
    assert ingest(tmp_path, "--cleanup", "none") == 0
    (docs / "meals.txt").write_text(original)  # back to the first version: its chunk is current again
    assert ingest(tmp_path, "--cleanup", "none") == 0
    assert ingest(tmp_path, "--cleanup", "none", "--chunk-size", "20", "--chunk-overlap", "0") == 0
    assert len(store_state(tmp_path / "db").lexical_ids) > 5
    capsys.readouterr()
    assert ingest(tmp_path, "--chunk-size", "20", "--chunk-overlap", "0") == 0
    assert "done=0 skipped=3" in capsys.readouterr().err
    state = store_state(tmp_path / "db")
    assert ingest(tmp_path, "--chunk-size", "20", "--chunk-overlap", "0", input_dir=docs, db="fresh") == 0
    fresh = store_state(tmp_path / "fresh")
    assert state.consistent and state.chroma_ids == fresh.chroma_ids and state.sources == fresh.sources
    assert "1300" not in stored_text(tmp_path / "db", "meals.txt")


# -- 5. the removed count --------------------------------------------------------------------------------
def test_removed_count_includes_the_chunks_of_earlier_versions(tmp_path, docs, capsys):
    assert ingest(tmp_path) == 0
    (docs / "meals.txt").write_text("Meals are reimbursed up to 1500 INR per day from April.\n")
    capsys.readouterr()
    assert ingest(tmp_path) == 0
    assert "added 0, updated 1, deleted 0 file(s); 1 chunk(s) written, 1 removed" in capsys.readouterr().err
    before = store_state(tmp_path / "db").lexical_ids
    assert ingest(tmp_path, "--chunk-size", "20", "--chunk-overlap", "0") == 0
    after = store_state(tmp_path / "db").lexical_ids
    removed = len(before - after)
    assert removed == 3
    assert f"updated 3, deleted 0 file(s); {len(after)} chunk(s) written, {removed} removed" in capsys.readouterr().err
    (docs / "hotels.md").unlink()
    assert ingest(tmp_path, "--chunk-size", "20", "--chunk-overlap", "0", "--cleanup", "full") == 0
    gone = len(after - store_state(tmp_path / "db").lexical_ids)
    assert f"deleted 1 file(s); 0 chunk(s) written, {gone} removed" in capsys.readouterr().err


# -- 6. --extensions checked up front --------------------------------------------------------------------
def test_unsupported_extensions_exit_1_before_anything(tmp_path, docs, capsys):
    assert ingest(tmp_path, "--extensions", ".csv,.json,.py,.exe,.rtf,.doc") == 1
    err = capsys.readouterr().err
    [line] = [line for line in err.splitlines() if "ERROR" in line]
    assert ".csv, .json, .py, .exe, .rtf, .doc cannot be indexed" in line
    assert "supported: " in line and ".docx" in line and ".pdf" in line and ".txt" in line
    assert ingest(tmp_path, "--extensions", ".txt,.xyz") == 1
    assert ".xyz cannot be indexed" in capsys.readouterr().err
    assert not (tmp_path / "db").exists()  # refused before the store was created


def test_supported_extensions_match_the_document_readers(tmp_path, docs):
    from framework.documents import SUPPORTED_EXTENSIONS as READERS
    from framework.rag.ingest import DEFAULT_EXTENSIONS, SUPPORTED_EXTENSIONS, normalize_extensions

    assert SUPPORTED_EXTENSIONS == READERS and set(DEFAULT_EXTENSIONS) <= READERS
    assert normalize_extensions("TXT, md,.markdown") == (".txt", ".md", ".markdown")
    assert ingest(tmp_path, "--extensions", "md,TXT") == 0
    assert set(store_state(tmp_path / "db").sources) == {"hotels.md", "meals.txt", "policies/cabs.txt"}


# -- 7. one log line per file not indexed ---------------------------------------------------------------
def test_each_file_not_indexed_is_one_prefixed_log_line(tmp_path, docs, capsys):
    (docs / "empty.txt").write_bytes(b"")
    (docs / "blank.md").write_text("   \n\n")
    assert ingest(tmp_path) == 2
    err = capsys.readouterr().err
    tail = err[err.rindex("\n", 0, err.index("2 file(s) not indexed:")) + 1:].splitlines()
    assert tail and all(LOG_LINE.match(line) for line in tail), tail
    assert any("|   blank.md: no_text" in line for line in tail)
    assert any("|   empty.txt: empty [empty_file]" in line for line in tail)


# -- 8. documentation ---------------------------------------------------------------------------------------
def test_docs_mention_rechunking_and_input_moved(capsys):
    import framework.rag.ingest as ingest_module
    from tests.framework.rag._helpers import REPO

    with pytest.raises(SystemExit):
        run_cli(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--input-moved" in help_text and "re-chunks and re-embeds every file" in help_text
    assert "re-chunks and re-embeds" in " ".join(ingest_module.__doc__.split())
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### batch_rag_ingest"):readme.index("### batch_rag_queries")]
    assert "--input-moved" in section


def test_the_dry_run_reports_empty_and_too_large_files_as_the_run_does(tmp_path, docs, capsys, monkeypatch):
    (docs / "empty.txt").write_bytes(b"")
    (docs / "big.txt").write_text("a" * 5000)
    monkeypatch.setenv("MAX_FILE_BYTES", "4000")
    capsys.readouterr()
    assert ingest(tmp_path, "--dry-run") == 2
    out = capsys.readouterr()
    assert "refuse  empty.txt (empty [empty_file]" in out.out and "refuse  big.txt (too_large" in out.out
    assert "summary: done=3 skipped=0 failed=2" in out.err
    assert ingest(tmp_path) == 2
    assert "summary: done=3 skipped=0 failed=2" in capsys.readouterr().err
