from __future__ import annotations

import logging
import os
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

from framework.executor import LocalProcessExecutor, available_cpus, cpu_budget, default_workers


# Worker functions live at module level so spawned workers can import them.
def square(n: int) -> int:
    if n == 3:
        raise ValueError("three is bad")
    return n * n


def die_on_seven(n: int) -> int:
    if n == 7:
        os._exit(13)  # a hard crash, as a segfault or an OOM kill would look
    return n


def report_pid_and_budget(_: int) -> tuple[int, int, str]:
    return os.getpid(), cpu_budget(), os.environ.get("INIT_MARK", "")


def mark_initialised(value: str) -> None:
    os.environ["INIT_MARK"] = value


def slow(n: int) -> int:
    time.sleep(0.3)
    return n


def warn(n: int) -> int:
    logging.getLogger("framework.documents").warning("item %d: page reduced sk-abcdef0123456789secret", n)
    return n


class _Redact(logging.Filter):
    """A filter like the jobs' secret redaction: it must run in the workers too."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = record.getMessage().replace("0123456789secret", "***"), None
        return True


def test_workers_log_like_the_coordinator(tmp_path):
    log_file = tmp_path / "run.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s | %(name)s | %(message)s"))
    handler.addFilter(_Redact())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with LocalProcessExecutor(workers=2) as executor:
            assert sorted(n for _, n in executor.map_unordered(warn, range(4))) == [0, 1, 2, 3]
    finally:
        root.removeHandler(handler)
        handler.close()
    lines = sorted(log_file.read_text(encoding="utf-8").splitlines())
    assert lines == [f"WARNING | framework.documents | item {n}: page reduced sk-abcdef***" for n in range(4)]


def test_in_process_when_one_worker():
    with LocalProcessExecutor(workers=1) as executor:
        results = dict(executor.map_unordered(square, range(5)))
    assert results[4] == 16 and isinstance(results[3], ValueError)
    assert executor._pool is None  # no pool was ever started


def test_in_process_runs_initializer_once():
    calls = []
    executor = LocalProcessExecutor(workers=1, initializer=calls.append, initargs=("x",))
    list(executor.map_unordered(square, [1, 2]))
    list(executor.map_unordered(square, [4]))
    assert calls == ["x"]


def test_pool_returns_results_and_exceptions_as_values():
    with LocalProcessExecutor(workers=2) as executor:
        results = dict(executor.map_unordered(square, range(8)))
    assert sorted(results) == list(range(8))
    assert isinstance(results[3], ValueError) and "three" in str(results[3])
    assert results[7] == 49


def test_pool_survives_a_dead_worker_and_blames_only_the_culprit():
    with LocalProcessExecutor(workers=2) as executor:
        results = dict(executor.map_unordered(die_on_seven, range(12)))
    assert sorted(results) == list(range(12))
    assert isinstance(results[7], BrokenProcessPool)
    assert all(results[n] == n for n in range(12) if n != 7)


def test_workers_get_a_cpu_share_and_the_initializer():
    with LocalProcessExecutor(workers=2, initializer=mark_initialised, initargs=("ready",)) as executor:
        rows = [result for _, result in executor.map_unordered(report_pid_and_budget, range(6))]
    assert all(mark == "ready" for _, _, mark in rows)
    assert all(budget == max(1, available_cpus() // 2) for _, budget, _ in rows)
    assert os.getpid() not in {pid for pid, _, _ in rows}


def test_stopping_early_terminates_the_workers():
    executor = LocalProcessExecutor(workers=2)
    iterator = executor.map_unordered(slow, range(20))
    next(iterator)
    pool = executor._pool
    processes = list(pool._processes.values())
    with pytest.raises(KeyboardInterrupt):
        try:
            next(iterator)
            raise KeyboardInterrupt  # as if Ctrl-C arrived while the caller handled a result
        finally:
            iterator.close()
    assert executor._pool is None
    # join() returns once the worker's pipe closes, which can be a moment before the OS
    # reaps it; poll until the deadline instead of asserting right after one join
    deadline = time.monotonic() + 5
    for process in processes:
        process.join(timeout=5)
        while process.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not process.is_alive()


def test_default_workers_is_sane():
    assert 1 <= default_workers() <= available_cpus()


_ORPHAN_PARENT = r"""
import os, sys, time
from framework.executor import LocalProcessExecutor

def slow(x):
    os.write(1, f"{os.getpid()}\n".encode())  # one write: two workers share the pipe
    time.sleep(60)
    return x

if __name__ == "__main__":
    with LocalProcessExecutor(workers=2) as ex:
        for _ in ex.map_unordered(slow, [1, 2]):
            pass
"""


def test_workers_die_when_the_coordinator_is_killed(tmp_path):
    # kill -9 of a job must not leave its (memory-hungry) workers running
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = tmp_path / "parent.py"
    script.write_text(_ORPHAN_PARENT)
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, str(script)], cwd=repo, stdout=subprocess.PIPE, text=True)
    workers = [int(proc.stdout.readline()) for _ in range(2)]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]
        time.sleep(0.1)
    assert alive == [], f"workers still running after the coordinator died: {alive}"
