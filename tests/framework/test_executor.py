from __future__ import annotations

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
    for process in processes:
        process.join(timeout=5)
        assert not process.is_alive()


def test_default_workers_is_sane():
    assert 1 <= default_workers() <= available_cpus()
