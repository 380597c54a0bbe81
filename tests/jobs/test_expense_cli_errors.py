"""The expense CLI's user mistakes, as a new user hit them (subprocess, as a user runs it):
unwritable outputs are one-line usage errors before any bill is read; the summary stays INFO
at --log-level ERROR; the log file is never a bill; the dry run predicts the real run's exit
code and message; usage errors write no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
POLICY = "Meals up to Rs 1,000 per day. Cab fares are reimbursed at actuals. Bills must fall within the claim month.\n"

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.isdir("/proc/self"),
                                reason="/sys and /proc are Linux pseudo file systems")


def cli(tmp_path: Path, *args: object) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_", "EMBEDDING_"))}
    env.update(PYTHONPATH=str(REPO), CACHE_DIR=str(tmp_path / "doc_cache"), PYTHONUNBUFFERED="1",
               OUTPUT_DIR=str(tmp_path / "default_out"))
    return subprocess.run(
        [sys.executable, "-m", "scripts.batch.batch_expense_bills", *map(str, args)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
    )


@pytest.fixture
def job(tmp_path: Path) -> dict[str, Path]:
    policy = tmp_path / "policy.txt"
    policy.write_text(POLICY, encoding="utf-8")
    bills = tmp_path / "bills"
    (bills / "EMP1_Asha_oct").mkdir(parents=True)
    (bills / "EMP1_Asha_oct" / "lunch.txt").write_text(
        "Cafe Roma\nBill No: 12\nDate: 05/10/2024\nTotal    INR 300.00\n", encoding="utf-8"
    )
    return {"policy": policy, "bills": bills, "out": tmp_path / "out" / "results.json"}


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if " | ERROR | " in line]


def assert_one_line_usage_error(proc: subprocess.CompletedProcess, *expected: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = error_lines(proc)
    for text in expected:
        assert text in line, line


# --- 1. unwritable outputs --------------------------------------------------------------------


@linux_only
@pytest.mark.parametrize(
    ("flag", "path", "reason"),
    [
        ("-o", "/sys/results.json", "Permission denied"),
        ("-o", "/proc/nope/results.json", "cannot create the folder /proc/nope"),
        ("--csv", "/proc/x.csv", "cannot create files in /proc"),
        ("--log-file", "/sys/x.log", "Permission denied"),
    ],
)
def test_pseudo_file_system_outputs_are_refused_before_any_bill_is_read(tmp_path, job, flag, path, reason):
    args = ["--policy", job["policy"], "--folders", job["bills"], "-o", job["out"], flag, path]
    if flag == "-o":
        args = ["--policy", job["policy"], "--folders", job["bills"], flag, path]
    proc = cli(tmp_path, *args)
    label = {"-o": "-o/--output"}.get(flag, flag)
    assert_one_line_usage_error(proc, f"{label}: cannot write {path}: ", reason)
    assert "summary:" not in proc.stderr  # nothing was processed
    assert not (tmp_path / "out").exists() and not (tmp_path / "doc_cache").exists()


def test_an_output_below_a_regular_file_is_refused(tmp_path, job):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "afile").write_text("x")
    proc = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", "t/afile/results.json")
    assert_one_line_usage_error(proc, "-o/--output: cannot write t/afile/results.json: ", "afile is a file, not a folder")
    proc = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", job["out"],
               "--csv", "t/afile/rows.csv", "--dry-run")
    assert_one_line_usage_error(proc, "--csv: cannot write t/afile/rows.csv: ")
    assert not (tmp_path / "out").exists()


def test_an_output_that_is_a_folder_is_refused(tmp_path, job):
    proc = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", job["bills"])
    assert_one_line_usage_error(proc, f"-o/--output: cannot write {job['bills']}: it is a folder")


def test_a_good_csv_and_log_file_in_new_folders_work(tmp_path, job):
    proc = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", job["out"],
               "--csv", tmp_path / "csv" / "rows.csv", "--log-file", tmp_path / "logs" / "run.log")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "csv" / "rows.csv").is_file() and "summary: done=1" in (tmp_path / "logs" / "run.log").read_text()
    leftovers = [p for p in tmp_path.rglob(".write-check-*")]
    assert leftovers == []


# --- 2. the summary at --log-level ERROR ------------------------------------------------------


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_good_run_at_error_level_logs_no_error_line(tmp_path, job, dry_run):
    log_file = tmp_path / "run.log"
    proc = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", job["out"],
               "--log-level", "ERROR", "--log-file", log_file, *(["--dry-run"] if dry_run else []))
    assert proc.returncode == 0, proc.stderr
    for text in (proc.stderr, log_file.read_text()):
        assert "| ERROR |" not in text
        [summary] = [line for line in text.splitlines() if "summary:" in line]
        parts = summary.split(" | ")
        assert len(parts) == 4 and parts[1] == "INFO" and parts[2] == "scripts.batch.batch_expense_bills"
        assert "done=1 skipped=0 failed=0" in parts[3]


# --- 3. the log file inside the bills folder --------------------------------------------------


@pytest.mark.parametrize("where", ["EMP1_Asha_oct/run.log", "run.txt"])
def test_the_log_file_inside_the_bills_folder_is_not_a_bill(tmp_path, job, where):
    log_file = job["bills"] / where
    dry = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", job["out"], "--log-file", log_file,
              "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "total: 1 bill(s)" in dry.stdout
    proc = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", job["out"], "--log-file", log_file)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(job["out"].read_text(encoding="utf-8"))
    names = [f"{f['folder_name']}/{r['file_name']}" for f in results["folders"] for r in f["results"]]
    assert names == ["EMP1_Asha_oct/lunch.txt"]
    assert log_file.is_file()


# --- 4 and 5. the dry run predicts the run; usage errors write nothing ------------------------


def test_an_empty_bills_folder_fails_alike_in_the_dry_run_and_the_run(tmp_path, job):
    empty = tmp_path / "empty"
    empty.mkdir()
    dry = cli(tmp_path, "--policy", job["policy"], "--folders", empty, "-o", job["out"], "--dry-run")
    real = cli(tmp_path, "--policy", job["policy"], "--folders", empty, "-o", job["out"])
    message = f"no bill files found in {empty} (expected one subfolder per employee)"
    assert_one_line_usage_error(dry, message)
    assert_one_line_usage_error(real, message)
    assert error_lines(dry)[0].split(" | ")[-1] == error_lines(real)[0].split(" | ")[-1]
    # the run wrote no output: only the lock file is left
    assert sorted(p.name for p in job["out"].parent.iterdir()) == ["results.json.lock"]


def test_a_zip_that_is_not_a_zip_fails_alike_in_the_dry_run_and_the_run(tmp_path, job):
    fake = tmp_path / "bills.zip"
    fake.write_text("not a zip")
    dry = cli(tmp_path, "--policy", job["policy"], "--zip", fake, "-o", job["out"], "--dry-run")
    assert_one_line_usage_error(dry, "is not a ZIP archive")
    assert not job["out"].parent.exists()
    real = cli(tmp_path, "--policy", job["policy"], "--zip", fake, "-o", job["out"])
    assert_one_line_usage_error(real, "is not a ZIP archive")
    assert sorted(p.name for p in job["out"].parent.iterdir()) == ["results.json.lock"]


def test_an_unreadable_policy_writes_no_output(tmp_path, job):
    policy = tmp_path / "policy.pdf"
    policy.write_bytes(b"\x00\x01binary, not a pdf" * 50)
    real = cli(tmp_path, "--policy", policy, "--folders", job["bills"], "-o", job["out"])
    assert_one_line_usage_error(real, "cannot read the policy")
    assert sorted(p.name for p in job["out"].parent.iterdir()) == ["results.json.lock"]


def test_refused_zip_entries_fail_the_dry_run_as_they_fail_the_run(tmp_path, job):
    archive = tmp_path / "bills.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("EMP1_Asha_oct/lunch.txt", (job["bills"] / "EMP1_Asha_oct" / "lunch.txt").read_text())
        zf.writestr("../evil.txt", "outside")
    dry = cli(tmp_path, "--policy", job["policy"], "--zip", archive, "-o", job["out"], "--dry-run")
    assert dry.returncode == 2, dry.stderr
    assert "refused ../evil.txt: unsafe_archive_path" in dry.stdout
    assert "dry run: summary: done=1 skipped=0 failed=1" in dry.stderr
    assert not job["out"].parent.exists()
    real = cli(tmp_path, "--policy", job["policy"], "--zip", archive, "-o", job["out"])
    assert real.returncode == 2, real.stderr
    assert "summary: done=1 skipped=0 failed=1" in real.stderr


def test_a_zip_of_refused_entries_only_is_a_total_failure_in_both(tmp_path, job):
    archive = tmp_path / "bills.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../evil.txt", "outside")
    dry = cli(tmp_path, "--policy", job["policy"], "--zip", archive, "-o", job["out"], "--dry-run")
    real = cli(tmp_path, "--policy", job["policy"], "--zip", archive, "-o", job["out"])
    assert dry.returncode == real.returncode == 3, (dry.stderr, real.stderr)


def test_outputs_may_not_overwrite_the_runs_inputs(tmp_path, job):
    policy_before = job["policy"].read_bytes()
    bill = job["bills"] / "EMP1_Asha_oct" / "lunch.txt"
    bill_before = bill.read_bytes()
    for flags, expected in [
        (["-o", job["policy"]], "is this run's --policy file"),
        (["-o", job["out"], "--csv", job["policy"]], "is this run's --policy file"),
        (["-o", bill], "is a bill in --folders"),
    ]:
        proc = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], *flags)
        assert_one_line_usage_error(proc, expected)
    assert job["policy"].read_bytes() == policy_before and bill.read_bytes() == bill_before


def test_a_lock_file_left_beside_an_earlier_output_is_not_a_bill(tmp_path, job):
    inside = job["bills"] / "out.json"
    assert cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", inside).returncode == 0
    assert inside.with_name("out.json.lock").exists()  # filelock leaves it (harmless)
    proc = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", job["out"])
    assert proc.returncode == 0, proc.stderr
    results = json.loads(job["out"].read_text())
    assert [r["file_name"] for f in results["folders"] for r in f["results"]] == ["lunch.txt"]


def test_a_dry_run_on_an_output_another_run_holds_exits_1_like_the_run(tmp_path, job):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom framework.locking import RunLock\n"
         "with RunLock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(30)\n", str(job["out"])],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO / "src")}, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        for extra in ([], ["--dry-run"]):
            proc = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", job["out"], *extra)
            assert_one_line_usage_error(proc, "locked by another run", f"pid {holder.pid}")
    finally:
        holder.kill()
        holder.wait()


def test_the_dry_run_counts_bills_certain_to_fail_as_the_run_does(tmp_path, job):
    folder = job["bills"] / "EMP1_Asha_oct"
    (folder / "tracker.csv").write_text("a,b\n", encoding="utf-8")
    (folder / "empty.png").write_bytes(b"")
    dry = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", job["out"], "--dry-run")
    real = cli(tmp_path, "--policy", job["policy"], "--folders", job["bills"], "-o", job["out"])
    assert dry.returncode == real.returncode == 2, (dry.stderr, real.stderr)
    assert "will fail: tracker.csv: unsupported_extension: .csv" in dry.stdout
    assert "will fail: empty.png: empty: empty_file" in dry.stdout
    assert "summary: done=1 skipped=0 failed=2" in dry.stderr and "summary: done=1 skipped=0 failed=2" in real.stderr
