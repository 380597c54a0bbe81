"""BaseBatchRunner maps what happened to the documented exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

import pytest

from framework.errors import ConfigurationError
from framework.locking import LockedError
from scripts.batch.base import BaseBatchRunner, BatchOutcome, ExitCode, UsageError
from scripts.batch.common import add_common_args


class _Job(BaseBatchRunner):
    name = "toy_job"

    def __init__(self, outcome: BatchOutcome | None = None, error: BaseException | None = None) -> None:
        super().__init__()
        self.outcome = outcome or BatchOutcome()
        self.error = error
        self.dry_run_called = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_common_args(parser, input=True)

    def validate_args(self, args: argparse.Namespace) -> None:
        if not args.input.exists():
            raise UsageError(f"input not found: {args.input}")

    def dry_run(self, args: argparse.Namespace) -> BatchOutcome:
        self.dry_run_called = True
        return BatchOutcome(skipped=3)

    def run_batch(self, args: argparse.Namespace) -> BatchOutcome:
        if self.error is not None:
            raise self.error
        return self.outcome


@pytest.fixture
def existing(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("x")
    return str(path)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (BatchOutcome(done=5), ExitCode.SUCCESS),
        (BatchOutcome(done=0, skipped=7), ExitCode.SUCCESS),
        (BatchOutcome(done=4, failed=1), ExitCode.PARTIAL),
        (BatchOutcome(done=0, failed=3), ExitCode.TOTAL),
        (BatchOutcome(done=0, skipped=2, failed=1), ExitCode.PARTIAL),
        (BatchOutcome(done=2, stopped_reason="quota exhausted"), ExitCode.PARTIAL),
        (BatchOutcome(done=0, stopped_reason="quota exhausted"), ExitCode.TOTAL),
    ],
)
def test_outcomes_map_to_exit_codes(existing, outcome, expected):
    assert _Job(outcome).run(["--input", existing]) == expected


def test_missing_input_is_a_one_line_usage_error(tmp_path, capsys):
    code = _Job().run(["--input", str(tmp_path / "nope.txt")])
    assert code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "input not found" in err
    assert "Traceback" not in err


def test_invalid_settings_are_one_line_and_exit_1(existing, capsys, monkeypatch):
    from framework.config import get_settings

    monkeypatch.setenv("RAG_CHUNK_SIZE", "abc")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secretsecretsecret")
    monkeypatch.setenv("LLM_PROVIDER", "bogus")
    get_settings.cache_clear()
    try:
        code = _Job(BatchOutcome(done=1)).run(["--input", existing])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "Traceback" not in err and "pydantic" not in err
    lines = [line for line in err.splitlines() if "invalid setting" in line]
    assert len(lines) == 1 and "RAG_CHUNK_SIZE='abc'" in lines[0] and "LLM_PROVIDER='bogus'" in lines[0]
    assert "secretsecret" not in err


@pytest.mark.parametrize("flags", [["--input", ""], ["--input", "   "]])
def test_an_empty_path_is_a_usage_error_not_the_current_folder(flags, capsys):
    assert _Job(BatchOutcome(done=1)).run(flags) == ExitCode.USAGE
    assert "an empty path is not allowed" in capsys.readouterr().err


def test_bad_flag_exits_1_not_argparse_2(capsys):
    assert _Job().run(["--no-such-flag"]) == ExitCode.USAGE
    assert "Traceback" not in capsys.readouterr().err


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as info:
        _Job().run(["--help"])
    assert info.value.code == 0
    assert "--log-level" in capsys.readouterr().out


@pytest.mark.parametrize("error", [ConfigurationError("embedder mismatch"), LockedError("locked by pid 1")])
def test_configuration_and_lock_errors_exit_1(existing, error):
    assert _Job(error=error).run(["--input", existing]) == ExitCode.USAGE


def test_crash_exits_3_with_traceback_in_log(existing, tmp_path):
    log_file = tmp_path / "run.log"
    code = _Job(error=RuntimeError("boom")).run(["--input", existing, "--log-file", str(log_file)])
    assert code == ExitCode.TOTAL
    text = log_file.read_text()
    assert "Traceback" in text and "RuntimeError: boom" in text


def test_dry_run_calls_dry_run_and_exits_0(existing):
    job = _Job(error=RuntimeError("run_batch must not be called"))
    assert job.run(["--input", existing, "--dry-run"]) == ExitCode.SUCCESS
    assert job.dry_run_called


def test_summary_line_and_log_format(existing, tmp_path):
    log_file = tmp_path / "run.log"
    _Job(BatchOutcome(done=2, skipped=1, failed=1)).run(["--input", existing, "--log-file", str(log_file)])
    lines = log_file.read_text().splitlines()
    summary = [line for line in lines if "summary:" in line]
    assert len(summary) == 1
    parts = summary[0].split(" | ")
    assert len(parts) == 4
    assert parts[1] == "INFO" and parts[2] == "scripts.batch.toy_job"
    assert "done=2 skipped=1 failed=1" in parts[3] and "items/s" in parts[3]


def test_summary_shown_even_at_warning_level(existing, tmp_path):
    log_file = tmp_path / "run.log"
    _Job(BatchOutcome(done=1)).run(["--input", existing, "--log-level", "warning", "--log-file", str(log_file)])
    assert "summary:" in log_file.read_text()


class _SlowJob(_Job):
    def run_batch(self, args):
        self.outcome.done = 1
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
        import time

        time.sleep(5)
        return self.outcome


def test_sigterm_exits_130(existing):
    assert _SlowJob().run(["--input", existing]) == ExitCode.INTERRUPTED


def test_api_key_is_redacted_from_logs(existing, tmp_path, monkeypatch):
    from framework.config import get_settings

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdefghijklmnopqrstuvwxyz")
    get_settings.cache_clear()
    try:
        log_file = tmp_path / "run.log"

        class _Leaky(_Job):
            def run_batch(self, args):
                logging.getLogger("x").error("request failed with key sk-test-abcdefghijklmnopqrstuvwxyz")
                return BatchOutcome(done=1)

        _Leaky().run(["--input", existing, "--log-file", str(log_file)])
        text = log_file.read_text()
        assert "abcdefghijklmnopqrstuvwxyz" not in text
        assert "***" in text
    finally:
        get_settings.cache_clear()


def test_short_dummy_key_does_not_mangle_logs(existing, tmp_path, monkeypatch):
    # local servers (Ollama, vLLM) accept any key, e.g. "x": redacting it would eat every "x"
    from framework.config import get_settings

    monkeypatch.setenv("OPENAI_API_KEY", "x")
    get_settings.cache_clear()
    try:
        log_file = tmp_path / "run.log"

        class _Chatty(_Job):
            def run_batch(self, args):
                logging.getLogger("x").error("quota exhausted, fix this")
                return BatchOutcome(done=1)

        _Chatty().run(["--input", existing, "--log-file", str(log_file)])
        assert "quota exhausted, fix this" in log_file.read_text()
    finally:
        get_settings.cache_clear()
