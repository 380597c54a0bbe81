"""The small executor interface per-item work goes through (a local process pool today).

`map_unordered(fn, items)` yields `(item, result)` as items finish, where `result` is either
what `fn` returned or the exception it raised: one bad item is one error value, never a dead
batch. A worker that dies outright (segfault, OOM kill) breaks a process pool for everything
in flight; the items that were running are then retried one at a time in a fresh pool, so only
the item that really kills a worker is reported as failed.

Workers ignore SIGINT: Ctrl-C reaches the coordinator, which stops submitting, terminates the
workers (dropping the items in flight) and re-raises KeyboardInterrupt.

Workers log like their coordinator: a spawned process starts with no logging set up, so the
coordinator's stderr and log-file handlers (format, level, filters such as secret redaction)
are rebuilt in each worker; otherwise a worker's warnings would reach stderr bare, unredacted,
and never the log file.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

_CPU_BUDGET_ENV = "FRAMEWORK_CPU_BUDGET"
# Measured on the 60 SROIE receipts (benchmarks/ocr_receipts.py --layouts): one OCR worker
# per core, each engine single-threaded, beats fewer workers with more threads each, because
# PP-OCR's many small ops scale poorly across threads. See the issue #3 report for the table.
_CORES_PER_OCR_WORKER = 1
# Peak RSS of one OCR worker on receipts and 300-dpi pages (RapidOCR, measured ~1.2 GB).
_MEMORY_PER_OCR_WORKER = 1.5 * 2**30


def available_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def cpu_budget() -> int:
    """CPUs this process may keep busy: its share when it is a pool worker, else all of them.
    Engines with internal thread pools (onnxruntime, OpenCV, Tesseract) size themselves by it."""
    raw = os.environ.get(_CPU_BUDGET_ENV)
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            pass
    return available_cpus()


def default_workers() -> int:
    """Workers for OCR-heavy batches: one per core (measured fastest), fewer if memory is short."""
    workers = max(1, available_cpus() // _CORES_PER_OCR_WORKER)
    try:
        import psutil

        by_memory = int(psutil.virtual_memory().available // _MEMORY_PER_OCR_WORKER)
        workers = max(1, min(workers, by_memory))
    except Exception:  # psutil missing or unsupported platform: trust the CPU count
        pass
    return workers


# (where: "stderr" or a log file path, formatter, filters, level) per handler of the root logger
_HandlerSetup = tuple[str, logging.Formatter | None, tuple[Any, ...], int]
_LogSetup = tuple[int, tuple[_HandlerSetup, ...], tuple[tuple[str, int], ...]]


def _capture_log_setup() -> _LogSetup | None:
    """The coordinator's logging, in a form a spawned worker can rebuild (None: nothing set up)."""
    root = logging.getLogger()
    handlers: list[_HandlerSetup] = []
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler):
            where = handler.baseFilename
        elif isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stderr, sys.__stderr__):
            where = "stderr"
        else:
            continue  # pytest's capture and other in-memory handlers stay in the coordinator
        handlers.append((where, handler.formatter, tuple(handler.filters), handler.level))
    if not handlers:
        return None
    levels = tuple(
        (name, logger.level) for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET
    )
    setup: _LogSetup = (root.level, tuple(handlers), levels)
    try:
        pickle.dumps(setup)
    except Exception:  # a filter that cannot travel: keep the format and levels, drop filters
        setup = (root.level, tuple((w, f, (), lv) for w, f, _, lv in handlers), levels)
    return setup


def _apply_log_setup(setup: _LogSetup | None) -> None:
    if setup is None:
        return
    root_level, handlers, levels = setup
    root = logging.getLogger()
    for where, formatter, filters, level in handlers:
        handler: logging.Handler = (
            logging.StreamHandler(sys.stderr) if where == "stderr" else logging.FileHandler(where, encoding="utf-8")
        )
        handler.setFormatter(formatter)
        handler.setLevel(level)
        for item in filters:
            handler.addFilter(item)
        root.addHandler(handler)
    root.setLevel(root_level)
    for name, level in levels:
        logging.getLogger(name).setLevel(level)


def _die_with_parent(parent_pid: int | None) -> None:
    """A `kill -9` of the coordinator must not leave workers (each ~1 GB with an OCR model)
    running for ever: ask Linux to SIGKILL this worker when its parent dies."""
    if parent_pid is None or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _worker_bootstrap(
    cpus: int,
    initializer: Callable[..., Any] | None,
    initargs: tuple,
    log_setup: _LogSetup | None = None,
    parent_pid: int | None = None,
) -> None:
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ[_CPU_BUDGET_ENV] = str(cpus)
    _apply_log_setup(log_setup)
    if initializer is not None:
        initializer(*initargs)


class LocalProcessExecutor:
    def __init__(
        self,
        workers: int | None = None,
        initializer: Callable[..., Any] | None = None,
        initargs: tuple = (),
        *,
        max_in_flight: int | None = None,
        mp_context: str = "spawn",
    ) -> None:
        self.workers = default_workers() if workers is None else max(1, int(workers))
        self.initializer = initializer
        self.initargs = tuple(initargs)
        # Bounded submission keeps memory flat for huge item lists and makes Ctrl-C prompt.
        self.max_in_flight = max_in_flight or self.workers * 2
        # spawn: a forked child would inherit onnxruntime / OpenMP thread state and can hang.
        self._context = multiprocessing.get_context(mp_context)
        self._pool: ProcessPoolExecutor | None = None
        self._local_ready = False

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> LocalProcessExecutor:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.shutdown(kill=exc_type is not None)

    def shutdown(self, *, kill: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            _terminate(pool)
        else:
            pool.shutdown(wait=True, cancel_futures=True)

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        cpus = max(1, available_cpus() // workers)
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=self._context,
            initializer=_worker_bootstrap,
            initargs=(cpus, self.initializer, self.initargs, _capture_log_setup(), os.getpid()),
        )

    # -- work ------------------------------------------------------------------------
    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R | BaseException]]:
        if self.workers <= 1:
            yield from self._map_in_process(fn, items)
            return
        try:
            yield from self._map_in_pool(fn, items)
        except BaseException:
            # KeyboardInterrupt, GeneratorExit (caller stopped early) or a bug here: drop the
            # items in flight rather than waiting for them.
            self.shutdown(kill=True)
            raise

    def _map_in_process(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R | BaseException]]:
        if not self._local_ready and self.initializer is not None:
            self.initializer(*self.initargs)
        self._local_ready = True
        for item in items:
            try:
                result: R | BaseException = fn(item)
            except Exception as exc:  # per-item failure is data; KeyboardInterrupt is not caught
                result = exc
            yield item, result

    def _map_in_pool(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R | BaseException]]:
        source = iter(items)
        suspects: deque[T] = deque()  # in flight when a worker died: rerun one at a time
        in_flight: dict[Future, T] = {}
        exhausted = False
        while True:
            if self._pool is None:
                self._pool = self._new_pool(self.workers)
            isolating = bool(suspects)
            limit = 1 if isolating else self.max_in_flight
            while len(in_flight) < limit:
                if suspects:
                    item = suspects.popleft()
                elif isolating or exhausted:
                    break
                else:
                    try:
                        item = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                in_flight[self._pool.submit(fn, item)] = item
            if not in_flight:
                return
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken: list[T] = []
            for future in done:
                item = in_flight.pop(future)
                exc = future.exception()
                if isinstance(exc, BrokenProcessPool):
                    broken.append(item)
                elif exc is not None:
                    yield item, exc
                else:
                    yield item, future.result()
            if broken:
                broken.extend(in_flight.values())
                in_flight.clear()
                _terminate(self._pool)
                self._pool = None
                if isolating:
                    # Alone in the pool and it still died: this item is the culprit.
                    culprit, innocent = broken[0], broken[1:]
                    suspects.extendleft(reversed(innocent))
                    log.warning("a worker process died while processing %r", culprit)
                    yield culprit, BrokenProcessPool(
                        "the worker process died while processing this item (crash or out of memory)"
                    )
                else:
                    log.warning("a worker process died; rerunning %d in-flight item(s) one at a time", len(broken))
                    suspects.extend(broken)


def _terminate(pool: ProcessPoolExecutor) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
