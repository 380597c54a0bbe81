"""One writer per output file or store.

A second run that points at the same output fails fast with the holder's pid, host and
command line, instead of interleaving lines or waiting minutes on SQLite's busy timeout.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

from filelock import FileLock, Timeout


class LockedError(RuntimeError):
    """Another run holds the lock."""


class RunLock:
    """`with RunLock(target): ...` holds `<target>.lock`, or `<dir>/.lock` when the target is a
    folder (`folder=True`, or an existing folder). An output file named without an extension
    (`-o results`) is still a file: the caller says what it locks, nothing is guessed.

    The lock is an OS-level lock (flock), so a killed holder releases it automatically;
    the holder's identity is written beside it only to make the error message useful.
    """

    def __init__(self, target: str | Path, *, timeout: float = 0.5, folder: bool = False) -> None:
        target = Path(target)
        self.target = target
        if folder or target.is_dir():
            self.lock_path = target / ".lock"
        else:
            self.lock_path = target.with_name(target.name + ".lock")
        self.info_path = self.lock_path.with_name(self.lock_path.name + ".holder")
        self._lock = FileLock(str(self.lock_path), timeout=timeout)
        self._timeout = timeout

    def holder(self) -> str:
        try:
            info = json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "another run (holder unknown)"
        return (
            f"pid {info.get('pid')} on {info.get('host')} since {info.get('since')}"
            f" ({info.get('command', '')})"
        )

    def locked_error(self, holder: str) -> LockedError:
        return LockedError(
            f"{self.target} is locked by another run: {holder}. Wait for it to finish, or point this run elsewhere."
        )

    def check_free(self) -> None:
        """What `acquire` would refuse, said without taking the lock (for dry runs)."""
        holder = self.peek()
        if holder is not None:
            raise self.locked_error(holder)

    def peek(self) -> str | None:
        """Who holds the lock now, or None when it is free, without taking it or creating
        anything (a dry run writes nothing): a shared, non-blocking flock on the existing
        lock file. Where flock is missing (Windows) the lock is taken and let go at once."""
        if not self.lock_path.exists():
            return None  # never locked, so nobody holds it now
        try:
            import fcntl
        except ImportError:
            fcntl = None
        if fcntl is None:
            try:
                self.acquire()
            except LockedError:
                return self.holder()
            self.release()
            return None
        fd = os.open(self.lock_path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    return self.holder()
                raise
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def acquire(self) -> None:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=self._timeout)
        except Timeout:
            raise self.locked_error(self.holder()) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "command": " ".join(sys.argv)[:300],
        }
        try:
            self.info_path.write_text(json.dumps(info), encoding="utf-8")
        except OSError:
            pass

    def release(self) -> None:
        try:
            self.info_path.unlink()
        except OSError:
            pass
        self._lock.release()

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
