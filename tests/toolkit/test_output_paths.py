"""The shared output-path check, the --log-file check, the summary's level and the dry run's
exit code: the machinery all three jobs get from scripts/batch/common.py and base.py."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import pytest

from scripts.batch.base import BaseBatchRunner, BatchOutcome, ExitCode, UsageError
from scripts.batch.common import OutputPath, add_common_args, check_output_path, check_output_paths, setup_logging

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"),
                                reason="/sys and /proc are Linux pseudo file systems")
not_root = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --- check_output_path ------------------------------------------------------------------------


def test_a_writable_new_path_gets_its_folders_and_no_probe_is_left(tmp_path):
    check_output_path(tmp_path / "a" / "b" / "results.json", "-o/--output")
    assert _tree(tmp_path) == ["a", "a/b"]  # the run needs the folders; the probe file is gone


def test_a_dry_run_writes_nothing(tmp_path):
    check_output_path(tmp_path / "a" / "b" / "results.json", "-o/--output", dry_run=True)
    check_output_path(tmp_path / "store", "--persist-dir", folder=True, dry_run=True)
    assert _tree(tmp_path) == []


def test_an_existing_file_is_kept_as_it_is(tmp_path):
    target = tmp_path / "answers.jsonl"
    target.write_text('{"id": 1}\n')
    before = target.stat()
    check_output_path(target, "--output")
    assert target.read_text() == '{"id": 1}\n' and target.stat().st_mtime_ns == before.st_mtime_ns
    assert _tree(tmp_path) == ["answers.jsonl"]


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_folder_given_as_a_file_is_refused(tmp_path, dry_run):
    with pytest.raises(UsageError) as info:
        check_output_path(tmp_path, "-o/--output", dry_run=dry_run)
    assert str(info.value) == f"-o/--output: cannot write {tmp_path}: it is a folder; give a file name"


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_file_in_the_way_is_refused(tmp_path, dry_run):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError, match=r"^--csv: cannot write .*afile/sub/x\.csv: .*afile is a file, not a folder$"):
        check_output_path(tmp_path / "afile" / "sub" / "x.csv", "--csv", dry_run=dry_run)
    with pytest.raises(UsageError, match="it is a file, not a folder"):
        check_output_path(tmp_path / "afile", "--persist-dir", folder=True, dry_run=dry_run)
    assert _tree(tmp_path) == ["afile"]


@linux_only
@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/sys/results.json", "cannot create files in /sys"),
        ("/proc/nope/results.json", "cannot create the folder /proc/nope"),
        ("/proc/x.csv", "cannot create files in /proc"),
    ],
)
def test_pseudo_file_systems_are_refused_even_for_root(path, reason):
    with pytest.raises(UsageError) as info:
        check_output_path(path, "-o/--output")
    message = str(info.value)
    assert message.startswith(f"-o/--output: cannot write {path}: {reason}") and "\n" not in message


@linux_only
def test_a_folder_that_cannot_be_created_is_refused():
    with pytest.raises(UsageError, match=r"^--persist-dir: cannot write /sys/chroma: cannot create the folder /sys/chroma"):
        check_output_path("/sys/chroma", "--persist-dir", folder=True)


def test_when_one_output_is_refused_the_folders_made_for_the_others_are_removed(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError, match="^--csv: "):
        check_output_paths(
            [OutputPath("-o/--output", tmp_path / "new" / "deep" / "results.json"),
             OutputPath("--csv", None),  # a flag not given
             OutputPath("--csv", tmp_path / "afile" / "x.csv")],
        )
    assert _tree(tmp_path) == ["afile"]


@not_root
def test_a_read_only_folder_is_refused_in_both_modes(tmp_path):
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        for dry_run in (False, True):
            with pytest.raises(UsageError, match="-o/--output: cannot write"):
                check_output_path(locked / "results.json", "-o/--output", dry_run=dry_run)
    finally:
        locked.chmod(0o755)


# --- the runner: --log-file, the summary, the dry run's exit code --------------------------------


class _Job(BaseBatchRunner):
    name = "toy_job"

    def __init__(self, outcome: BatchOutcome | None = None, dry: BatchOutcome | None = None) -> None:
        super().__init__()
        self.outcome = outcome or BatchOutcome(done=1)
        self.dry = dry or BatchOutcome(done=1)
        self.worked = False

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_common_args(parser, output=True)

    def validate_args(self, args: argparse.Namespace) -> None:
        if args.output is not None:
            check_output_path(args.output, "-o/--output", dry_run=args.dry_run)

    def dry_run(self, args: argparse.Namespace) -> BatchOutcome:
        return self.dry

    def run_batch(self, args: argparse.Namespace) -> BatchOutcome:
        self.worked = True
        return self.outcome


@pytest.fixture(autouse=True)
def _restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


@linux_only
@pytest.mark.parametrize("log_file", ["/sys/x.log", "/proc/nope/x.log"])
def test_an_unwritable_log_file_is_a_one_line_usage_error(log_file, capsys):
    job = _Job()
    assert job.run(["--log-file", log_file]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err and not job.worked
    [line] = err.strip().splitlines()
    assert " | ERROR | scripts.batch.toy_job | --log-file: cannot write " + log_file in line


def test_a_log_file_that_is_a_folder_is_a_usage_error(tmp_path, capsys):
    assert _Job().run(["--log-file", str(tmp_path)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert f"--log-file: cannot write {tmp_path}: it is a folder" in err and "Traceback" not in err


def test_setup_logging_turns_an_os_error_into_a_usage_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(logging, "FileHandler", refuse)
    with pytest.raises(UsageError, match=r"^--log-file: cannot write .*run\.log: Permission denied$"):
        setup_logging("INFO", tmp_path / "run.log")
    assert logging.getLogger().handlers  # stderr logging is in place to report it


def test_an_unwritable_output_stops_before_any_work(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    job = _Job()
    assert job.run(["-o", str(tmp_path / "afile" / "out.json")]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "-o/--output: cannot write" in err and "afile is a file, not a folder" in err and "Traceback" not in err
    assert not job.worked


@pytest.mark.parametrize("level", ["ERROR", "WARNING", "INFO"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_the_summary_is_always_shown_at_info(tmp_path, capsys, level, dry_run):
    log_file = tmp_path / "run.log"
    argv = ["--log-level", level, "--log-file", str(log_file)] + (["--dry-run"] if dry_run else [])
    assert _Job().run(argv) == ExitCode.SUCCESS
    for text in (log_file.read_text(), capsys.readouterr().err):
        [summary] = [line for line in text.splitlines() if "summary:" in line]
        parts = summary.split(" | ")
        assert len(parts) == 4 and parts[1] == "INFO" and parts[2] == "scripts.batch.toy_job"
        assert parts[3].startswith("dry run: summary: " if dry_run else "summary: ")
        assert "| ERROR |" not in text
    assert logging.getLogger().getEffectiveLevel() == getattr(logging, level)  # the level itself is untouched


def test_an_error_level_run_still_hides_info_lines(tmp_path, capsys):
    class _Chatty(_Job):
        def run_batch(self, args):
            self.log.info("progress detail")
            return BatchOutcome(done=1)

    assert _Chatty().run(["--log-level", "ERROR"]) == ExitCode.SUCCESS
    err = capsys.readouterr().err
    assert "progress detail" not in err and "summary: done=1" in err


@pytest.mark.parametrize(
    ("dry", "expected"),
    [
        (BatchOutcome(done=3), ExitCode.SUCCESS),
        (BatchOutcome(done=0, skipped=4), ExitCode.SUCCESS),
        (BatchOutcome(done=2, failed=1), ExitCode.PARTIAL),
        (BatchOutcome(done=0, failed=2), ExitCode.TOTAL),
    ],
)
def test_a_dry_run_exits_as_the_run_it_predicts(dry, expected, capsys):
    job = _Job(dry=dry)
    assert job.run(["--dry-run"]) == expected
    assert not job.worked
    assert f"dry run: summary: done={dry.done} skipped={dry.skipped} failed={dry.failed}" in capsys.readouterr().err
