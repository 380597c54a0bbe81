"""Atomic JSON writes and the one-writer lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from framework.fileio import write_json
from framework.locking import LockedError, RunLock

REPO = Path(__file__).resolve().parents[2]


def test_write_json_is_stable_and_complete(tmp_path):
    path = tmp_path / "out" / "results.json"
    write_json(path, {"b": 1, "a": [1, 2]})
    first = path.read_bytes()
    write_json(path, {"a": [1, 2], "b": 1})
    assert path.read_bytes() == first
    assert json.loads(first) == {"a": [1, 2], "b": 1}
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "results.json"
    write_json(path, {"ok": True})

    class Unserializable:
        def __str__(self):
            raise RuntimeError("cannot serialise")

    with pytest.raises(RuntimeError):
        write_json(path, {"bad": Unserializable()})
    assert json.loads(path.read_text()) == {"ok": True}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


_REWRITER = """
import sys
from framework.fileio import write_json
path = sys.argv[1]
i = 0
while True:
    write_json(path, {"n": i, "rows": ["x" * 100] * 5000})
    i += 1
"""


def test_kill_9_during_rewrites_never_leaves_a_half_written_file(tmp_path):
    path = tmp_path / "results.json"
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _REWRITER, str(path)], cwd=REPO)
        time.sleep(1.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        data = json.loads(path.read_text())  # parses: old or new, never a mix
        assert len(data["rows"]) == 5000


_HOLDER = """
import sys, time
from framework.locking import RunLock
with RunLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(30)
"""


def test_second_holder_fails_fast_naming_the_first(tmp_path):
    target = tmp_path / "answers.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(target)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(LockedError) as info:
            RunLock(target).acquire()
        assert time.monotonic() - started < 5
        assert f"pid {proc.pid}" in str(info.value)
    finally:
        proc.kill()
        proc.wait()
    # a killed holder releases the lock (flock), so the next run may go on
    with RunLock(target):
        pass


def test_lock_on_a_folder(tmp_path):
    store = tmp_path / "chroma_db"
    with RunLock(store, folder=True):
        assert (store / ".lock").exists()
        with pytest.raises(LockedError, match="locked by another run"):
            RunLock(store).acquire()  # an existing folder is a folder target without saying so


def test_an_output_file_without_an_extension_stays_a_file(tmp_path):
    target = tmp_path / "out" / "results"
    with RunLock(target):
        assert not target.exists() and (tmp_path / "out" / "results.lock").exists()


def test_peek_names_the_holder_without_taking_the_lock_or_creating_files(tmp_path):
    target = tmp_path / "out" / "answers.jsonl"
    assert RunLock(target).peek() is None and not (tmp_path / "out").exists()  # nothing created
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(target)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        assert f"pid {proc.pid}" in RunLock(target).peek()
        with pytest.raises(LockedError, match="locked by another run"):
            RunLock(target).check_free()
    finally:
        proc.kill()
        proc.wait()
    assert RunLock(target).peek() is None  # the killed holder's lock is free
    RunLock(target).check_free()
