"""The runner every batch job is built on: arguments → validation → work → exit code.

Jobs subclass `BaseBatchRunner`, declare their flags, validate them, and return a
`BatchOutcome` from `run_batch`; this class owns logging, the final summary, signals and
the mapping of outcomes to exit codes, so the three jobs behave alike.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from enum import IntEnum
from types import FrameType

from framework.errors import ConfigurationError
from framework.fileio import write_json
from framework.jsonl import append_jsonl, existing_output_ids, load_jsonl, read_jsonl, repair_torn_tail
from framework.config import get_settings
from framework.locking import LockedError, RunLock
from framework.progress import progress_bar
from framework.retry import async_retry_with_backoff, default_is_retryable, retry_with_backoff

from scripts.batch.common import UsageError, add_common_args, setup_logging

__all__ = [
    "BaseBatchRunner",
    "BatchOutcome",
    "ExitCode",
    "UsageError",
    "RunLock",
    "LockedError",
    "append_jsonl",
    "async_retry_with_backoff",
    "default_is_retryable",
    "existing_output_ids",
    "load_jsonl",
    "progress_bar",
    "read_jsonl",
    "repair_torn_tail",
    "retry_with_backoff",
    "write_json",
]


class ExitCode(IntEnum):
    SUCCESS = 0
    USAGE = 1  # bad flags, missing input, invalid settings, output locked by another run
    PARTIAL = 2  # some items failed
    TOTAL = 3  # nothing could be done (every item failed, or the run crashed)
    INTERRUPTED = 130  # Ctrl-C / SIGTERM, after flushing what was done


@dataclass
class BatchOutcome:
    """What a job did, counted per item. `skipped` are items done by an earlier run."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    stopped_reason: str | None = None  # the run stopped early (e.g. API quota exhausted)
    details: dict[str, object] = field(default_factory=dict)

    def exit_code(self) -> ExitCode:
        if self.failed == 0 and self.stopped_reason is None:
            return ExitCode.SUCCESS
        # "total" means nothing could be done: a re-run whose good items were all done
        # earlier (skipped) and where one bad item still fails is a partial failure
        if self.done == 0 and self.skipped == 0:
            return ExitCode.TOTAL
        return ExitCode.PARTIAL


class _ArgumentParser(argparse.ArgumentParser):
    """argparse exits 2 on bad flags; our contract says usage errors exit 1."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


class _Interrupted(Exception):
    pass


class BaseBatchRunner:
    #: shown in --help and used as the logger name
    name: str = "batch"
    description: str = ""
    epilog: str | None = None

    def __init__(self) -> None:
        self.log = logging.getLogger(f"scripts.batch.{self.name}")

    # -- hooks for jobs ---------------------------------------------------------------
    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the job's flags (call `add_common_args` for the shared ones)."""
        add_common_args(parser)

    def validate_args(self, args: argparse.Namespace) -> None:
        """Raise `UsageError` for a missing input or a bad flag combination."""

    def run_batch(self, args: argparse.Namespace) -> BatchOutcome:
        raise NotImplementedError

    def dry_run(self, args: argparse.Namespace) -> BatchOutcome | None:
        """Report what would be done, writing nothing. Return None if the job has no dry run."""
        return None

    # -- machinery -----------------------------------------------------------------------
    def build_parser(self) -> argparse.ArgumentParser:
        parser = _ArgumentParser(
            prog=f"python -m scripts.batch.{self.name}",
            description=self.description,
            epilog=self.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        self.add_arguments(parser)
        return parser

    def parse_args(self, argv: list[str] | None = None) -> argparse.Namespace:
        return self.build_parser().parse_args(argv)

    def run(self, argv: list[str] | None = None) -> int:
        started = time.monotonic()
        try:
            args = self.parse_args(argv)
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            print(f"run 'python -m scripts.batch.{self.name} --help' for usage", file=sys.stderr)
            return ExitCode.USAGE
        try:
            setup_logging(args.log_level, getattr(args, "log_file", None))
        except ConfigurationError as exc:  # an unwritable --log-file; stderr logging is set up
            self.log.error("%s", exc)
            return ExitCode.USAGE
        previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        outcome = BatchOutcome()
        try:
            get_settings()  # invalid settings: one line and exit 1 before anything else
            self.validate_args(args)
            if getattr(args, "dry_run", False):
                # a dry run predicts the real run, exit code included: its outcome counts what
                # would be done and what would fail
                outcome = self.dry_run(args) or BatchOutcome()
                self._summary(outcome, started, dry_run=True)
                return outcome.exit_code()
            outcome = self.run_batch(args)
        except (ConfigurationError, LockedError) as exc:
            self.log.error("%s", exc)
            return ExitCode.USAGE
        except (KeyboardInterrupt, _Interrupted):
            # the job never returned its counts, so a done=0 line would lie: say what is known
            self.log.warning(
                "summary: interrupted after %.1fs; finished items are saved and a re-run resumes from them",
                time.monotonic() - started,
            )
            return ExitCode.INTERRUPTED
        except Exception:
            self.log.exception("the run failed")
            return ExitCode.TOTAL
        finally:
            signal.signal(signal.SIGTERM, previous)
        if outcome.stopped_reason:
            self.log.error("run stopped early: %s", outcome.stopped_reason)
        self._summary(outcome, started)
        return outcome.exit_code()

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        # unwinds like Ctrl-C so `finally` blocks flush outputs and release locks
        raise _Interrupted()

    def _summary(self, outcome: BatchOutcome, started: float, dry_run: bool = False) -> None:
        elapsed = time.monotonic() - started
        handled = outcome.done + outcome.failed
        rate = handled / elapsed if elapsed > 0 else 0.0
        prefix = "dry run: " if dry_run else ""
        # the summary is the run's result: shown even when --log-level hides INFO, yet logged
        # as INFO (an ERROR line would trip log alerts on a good run). The record is built at
        # INFO and handed to the handlers directly, past the level check; `setup_logging`
        # gives handlers no level of their own, so they all write it.
        record = self.log.makeRecord(
            self.log.name,
            logging.INFO,
            __file__,
            0,
            "%ssummary: done=%d skipped=%d failed=%d elapsed=%.1fs rate=%.2f items/s",
            (prefix, outcome.done, outcome.skipped, outcome.failed, elapsed, rate),
            None,
        )
        self.log.handle(record)

    @classmethod
    def main(cls) -> None:
        sys.exit(int(cls().run()))
