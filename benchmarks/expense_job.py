"""The whole expense job against OCR alone, on the SROIE dev receipts.

    uv run python -m benchmarks.expense_job                 # 60 receipts, 2 rounds
    uv run python -m benchmarks.expense_job --rounds 3 --limit 20

The receipts are copied into one employee folder and two programs run, each as a fresh
subprocess timed from start to exit (interpreter start-up, imports and model loading included
on both sides):

- "OCR alone": `DocumentProcessor.extract` of every receipt through `LocalProcessExecutor`
  with the job's default worker count, nothing else;
- "whole job": `python -m scripts.batch.batch_expense_bills --policy examples/expense/policy.txt
  --folders <tmp> -o <tmp>/results.json --force` into an empty output folder, so no cache of
  any kind is used: policy parsing, OCR, extraction, validation, decisions, results.json.

The two alternate round by round (so a noisy neighbour hits both), and the table gives every
round plus the ratio of the fastest of each. The target is whole job <= 1.3x OCR alone.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO.parent / "shared" / "datasets" / "sroie-dev"
POLICY = REPO / "examples" / "expense" / "policy.txt"
TARGET_RATIO = 1.3

# Run in a child so the OCR side pays the same start-up as the job does.
_OCR_ALONE = """
import sys
from framework.documents import DocumentProcessor
from framework.executor import LocalProcessExecutor

_processor = None

def extract(path):
    global _processor
    if _processor is None:
        _processor = DocumentProcessor(use_cache=False)
    return len(_processor.extract(path).text)

if __name__ == "__main__":
    paths = sys.argv[1:]
    failures = 0
    with LocalProcessExecutor() as executor:
        for _, result in executor.map_unordered(extract, paths):
            failures += isinstance(result, BaseException)
    print(failures)
"""


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def run_ocr_alone(images: list[Path], work: Path, env: dict[str, str]) -> float:
    script = work / "ocr_alone.py"
    script.write_text(_OCR_ALONE, encoding="utf-8")
    seconds, done = _timed([sys.executable, str(script), *map(str, images)], env)
    if done.returncode != 0 or done.stdout.strip() != "0":
        raise RuntimeError(f"OCR alone failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    return seconds


def run_whole_job(bills: Path, work: Path, env: dict[str, str], round_no: int) -> tuple[float, dict]:
    out_dir = work / f"job_{round_no}"
    shutil.rmtree(out_dir, ignore_errors=True)
    command = [
        sys.executable, "-m", "scripts.batch.batch_expense_bills", "--policy", str(POLICY),
        "--folders", str(bills), "-o", str(out_dir / "results.json"), "--force", "--log-level", "WARNING",
    ]
    seconds, done = _timed(command, env)
    if done.returncode not in (0, 2):
        raise RuntimeError(f"job failed ({done.returncode}):\n{done.stderr[-3000:]}")
    summary = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))["summary"]
    return seconds, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--limit", type=int, default=None, help="only the first N receipts")
    parser.add_argument("--rounds", type=int, default=2, help="alternate OCR alone and the job N times")
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temp folder, removed)")
    args = parser.parse_args(argv)

    images = sorted((args.dataset / "images").glob("*.jpg"))[: args.limit]
    if not images:
        print(f"no receipts under {args.dataset / 'images'}", file=sys.stderr)
        return 2
    work = args.keep or Path(tempfile.mkdtemp(prefix="expense_job_bench_"))
    bills = work / "bills" / "EMP001_Bench_Receipts"
    shutil.rmtree(bills.parent, ignore_errors=True)
    bills.mkdir(parents=True)
    for image in images:
        shutil.copyfile(image, bills / image.name)  # the job does not follow symlinks

    env = dict(os.environ)
    env["CACHE_DIR"] = str(work / "cache")  # nothing shared with the repo's data/cache
    from framework.executor import default_workers

    print(f"{len(images)} receipts, {os.cpu_count()} CPUs, {default_workers()} worker(s), "
          f"{args.rounds} round(s); command: uv run python -m benchmarks.expense_job", file=sys.stderr)
    rows = []
    summary: dict = {}
    try:
        for round_no in range(1, args.rounds + 1):
            ocr_s = run_ocr_alone(images, work, env)
            job_s, summary = run_whole_job(bills.parent, work, env, round_no)
            rows.append((round_no, ocr_s, job_s))
            print(f"round {round_no}: OCR alone {ocr_s:.1f} s, whole job {job_s:.1f} s", file=sys.stderr, flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    print("\n| round | receipts | OCR alone s | whole job s | s / receipt (job) | job / OCR |")
    print("|---|---:|---:|---:|---:|---:|")
    for round_no, ocr_s, job_s in rows:
        print(f"| {round_no} | {len(images)} | {ocr_s:.1f} | {job_s:.1f} | {job_s / len(images):.2f} | {job_s / ocr_s:.2f} |")
    best_ocr = min(r[1] for r in rows)
    best_job = min(r[2] for r in rows)
    ratio = best_job / best_ocr
    print(f"| fastest | {len(images)} | {best_ocr:.1f} | {best_job:.1f} | {best_job / len(images):.2f} | **{ratio:.2f}** |")
    print(f"\njob decisions: approved {summary.get('approved')}, rejected {summary.get('rejected')}, "
          f"needs review {summary.get('needs_review')}, failed {summary.get('failed')}")
    print(f"target: whole job <= {TARGET_RATIO}x OCR alone -> {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
