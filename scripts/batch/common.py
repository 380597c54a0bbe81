"""Arguments, settings overrides and logging shared by the three batch jobs."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from framework.config import get_settings

LOG_FORMAT = "%(asctime)s | %(levelname)s | %(name)s | %(message)s"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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
        group.add_argument("--input", "-i", type=Path, required=True, help=input_help)
    if output:
        group.add_argument("--output", "-o", type=Path, required=output_required, help=output_help)
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
            help="worker processes for text extraction and OCR (default: measured best for this machine)",
        )
    if dry_run:
        group.add_argument("--dry-run", action="store_true", help="report what would be done; write nothing")
    group.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="log verbosity (default INFO)"
    )
    group.add_argument("--log-file", type=Path, help="also write the log to this file")


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


class _RedactSecrets(logging.Filter):
    """Keep API keys out of every log line, including messages of third-party errors."""

    _PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{6})[A-Za-z0-9_\-]+|(Bearer\s+)[A-Za-z0-9_\-\.]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        secret = get_settings().api_key
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
    """`timestamp | level | logger_name | message` on stderr, and in `log_file` when given."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(LOG_FORMAT)
    redact = _RedactSecrets()
    stream = _TqdmAwareHandler(sys.stderr) if sys.stderr.isatty() else logging.StreamHandler(sys.stderr)
    handlers: list[logging.Handler] = [stream]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redact)
        root.addHandler(handler)
    root.setLevel(level.upper())
    # chatty libraries stay at WARNING unless we debug
    for noisy in ("httpx", "httpcore", "chromadb", "urllib3", "onnxruntime", "RapidOCR", "filelock"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)
