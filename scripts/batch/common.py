"""Arguments, settings overrides and logging shared by the three batch jobs."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from framework.config import get_settings
from framework.errors import ConfigurationError

LOG_FORMAT = "%(asctime)s | %(levelname)s | %(name)s | %(message)s"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class UsageError(ConfigurationError):
    """Raised by `validate_args` (or argparse) for a problem the user can fix by re-running
    with other arguments. (Defined here so the shared checks below can raise it; jobs import
    it from `scripts.batch.base`.)"""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def path_arg(value: str) -> Path:
    """argparse type of every path flag: an empty value (an unset shell variable) must be a
    usage error, not the current folder."""
    if not value.strip():
        raise argparse.ArgumentTypeError("an empty path is not allowed (an unset variable?)")
    return Path(value)


def add_common_args(
    parser: argparse.ArgumentParser,
    *,
    input: bool = False,
    output: bool = False,
    model: bool = False,
    retries: bool = False,
    workers: bool = False,
    dry_run: bool = True,
    input_help: str = "input file or folder",
    output_help: str = "output file",
    output_required: bool = False,
    retries_default: int = 3,
) -> None:
    """Add the flags every job shares; each job opts in to the ones it uses."""
    group = parser.add_argument_group("common options")
    if input:
        group.add_argument("--input", "-i", type=path_arg, required=True, help=input_help)
    if output:
        group.add_argument("--output", "-o", type=path_arg, required=output_required, help=output_help)
    if model:
        group.add_argument(
            "--model",
            help="LLM model name; switches LLM_PROVIDER to 'openai' (any OpenAI-compatible "
            "endpoint, see LLM_BASE_URL) unless LLM_PROVIDER is set",
        )
    if retries:
        group.add_argument(
            "--retries",
            type=non_negative_int,
            default=retries_default,
            help=f"retries per item on rate limits, timeouts and 5xx (default {retries_default})",
        )
    if workers:
        group.add_argument(
            "--workers",
            type=positive_int,
            default=None,
            help="worker processes for text extraction and OCR (default: one per CPU core, capped by free memory)",
        )
    if dry_run:
        group.add_argument("--dry-run", action="store_true", help="report what would be done; write nothing")
    group.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="log verbosity (default INFO)"
    )
    group.add_argument("--log-file", type=path_arg, help="also write the log to this file")


def apply_framework_overrides(model: str | None = None, env_overrides: Mapping[str, object | None] | None = None) -> None:
    """Turn CLI flags into settings: set the environment, then drop the cached settings so the
    next `get_settings()` sees them. `None` values are left alone."""
    if model:
        os.environ["LLM_MODEL"] = model
        # a model name only means something to a real provider
        os.environ.setdefault("LLM_PROVIDER", "openai")
    for key, value in (env_overrides or {}).items():
        if value is not None:
            os.environ[key] = str(value)
    get_settings.cache_clear()


@dataclass(frozen=True)
class OutputPath:
    """An output of the job, named by its flag: a file it writes or, with `folder`, a folder
    it writes into. A `path` of None (a flag not given) is not checked."""

    flag: str
    path: Path | str | None
    folder: bool = False


def check_output_paths(outputs: Iterable[OutputPath], *, dry_run: bool = False) -> None:
    """Refuse, before any work, an output the run could not write: raise `UsageError` with one
    line naming the flag, the path and the reason.

    A file path must not be a folder, a folder path must not be a file, and every existing
    ancestor must be a folder. Outside a dry run the check really tries, because `os.access`
    answers yes to root even on /sys, /proc or a read-only mount: it creates the missing
    folders (the run needs them anyway), creates and deletes a probe file in the folder, and
    opens an existing file for appending without writing to it. When one output fails, the
    folders created for the others are removed again, so a refused run leaves nothing behind.

    A dry run writes nothing, so it checks only permissions (`os.access`) and read-only
    mounts: weaker, as a real run may still refuse a path that a dry run passed."""
    created: list[Path] = []
    try:
        for output in outputs:
            if output.path is not None:
                _check_output(output, dry_run, created)
    except UsageError:
        for folder in reversed(created):  # deepest first; rmdir removes only empty folders
            try:
                folder.rmdir()
            except OSError:
                pass
        raise


def check_output_path(path: Path | str, flag: str, *, folder: bool = False, dry_run: bool = False) -> None:
    """`check_output_paths` for one output."""
    check_output_paths([OutputPath(flag, path, folder)], dry_run=dry_run)


def _check_output(output: OutputPath, dry_run: bool, created: list[Path]) -> None:
    path = Path(output.path)

    def fail(reason: str) -> None:
        raise UsageError(f"{output.flag}: cannot write {path}: {reason}")

    # os.path's checks say False where pathlib's raise (say, a folder we may not enter): the
    # attempt below then names the real reason
    if output.folder:
        if os.path.exists(path) and not os.path.isdir(path):
            fail("it is a file, not a folder")
        target_dir = path
    else:
        if os.path.isdir(path):
            fail("it is a folder; give a file name")
        target_dir = path.parent
    missing: list[Path] = []
    existing = target_dir.absolute()
    while not os.path.exists(existing) and existing != existing.parent:
        missing.append(existing)
        existing = existing.parent
    if not os.path.isdir(existing):
        fail(f"{existing} is a file, not a folder")

    if dry_run:
        if not os.access(existing, os.W_OK | os.X_OK):
            fail(f"the folder {existing} is not writable")
        try:
            read_only = bool(os.statvfs(existing).f_flag & getattr(os, "ST_RDONLY", 0))
        except (OSError, AttributeError):
            read_only = False
        if read_only:
            fail(f"{existing} is on a read-only file system")
        if not output.folder and os.path.isfile(path) and not os.access(path, os.W_OK):
            fail("the file is not writable")
        return

    for folder in reversed(missing):  # shallowest first
        try:
            folder.mkdir()
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to remove
        except OSError as exc:
            fail(f"cannot create the folder {folder}: {exc.strerror or exc}")
        created.append(folder)
    try:
        fd, probe = tempfile.mkstemp(dir=target_dir, prefix=".write-check-", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        fail(f"cannot create files in {target_dir}: {exc.strerror or exc}")
    if not output.folder and os.path.isfile(path):
        try:
            with open(path, "ab"):
                pass
        except OSError as exc:
            fail(f"the file cannot be opened for writing: {exc.strerror or exc}")


class _RedactSecrets(logging.Filter):
    """Keep API keys out of every log line, including messages of third-party errors."""

    _PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{6})[A-Za-z0-9_\-]+|(Bearer\s+)[A-Za-z0-9_\-\.]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        try:
            secret = get_settings().api_key
        except ConfigurationError:  # invalid settings are reported once, by the runner
            secret = os.environ.get("OPENAI_API_KEY")
        redacted = self._PATTERN.sub(lambda m: (m.group(1) or m.group(2)) + "***", message)
        # a short key ("x" for a local server) would mangle every word that contains it
        if secret and len(secret) >= 8:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class _TqdmAwareHandler(logging.StreamHandler):
    """Write through tqdm when a bar is on screen, so log lines don't tear the bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # logging must never raise
            self.handleError(record)


def setup_logging(level: str = "INFO", log_file: Path | str | None = None) -> None:
    """`timestamp | level | logger_name | message` on stderr, and in `log_file` when given.

    Handlers carry no level of their own: the root logger's level filters. A log file that
    cannot be written raises `UsageError` (one line naming --log-file) once the stderr handler
    is in place, so the caller can log it there and exit 1."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(LOG_FORMAT)
    redact = _RedactSecrets()

    def install(handler: logging.Handler) -> None:
        handler.setFormatter(formatter)
        handler.addFilter(redact)
        root.addHandler(handler)

    install(_TqdmAwareHandler(sys.stderr) if sys.stderr.isatty() else logging.StreamHandler(sys.stderr))
    root.setLevel(level.upper())
    # chatty libraries stay at WARNING unless we debug
    for noisy in ("httpx", "httpcore", "chromadb", "urllib3", "onnxruntime", "RapidOCR", "filelock"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)
    if log_file:
        # the log file is written even by a dry run, so the check may really try
        check_output_path(log_file, "--log-file")
        try:
            file_handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--log-file: cannot write {log_file}: {exc.strerror or exc}") from None
        install(file_handler)
