"""OCR quality, speed and memory on the SROIE dev receipts, per engine and per pool layout.

    uv run python benchmarks/ocr_receipts.py                      # everything (~40 min on 2 cores)
    uv run python benchmarks/ocr_receipts.py --limit 10 --no-layouts
    uv run python benchmarks/ocr_receipts.py --engines rapidocr --layouts 1x2,2x1

Per engine (each in a fresh process, so peak RSS is that engine's): receipts are read one
after the other, each twice, alternating: once with the engine called directly on the file,
once through `DocumentProcessor.extract` (cache off). Reported: median / p95 seconds per
receipt through `extract`, the extract/direct time ratio, peak RSS, the share of receipts
whose ground-truth total and date appear in the OCR text (case and whitespace ignored), and
CER = (S + D) / N against the transcripts (insertions are not errors: the reference
transcripts are truncated at commas, so OCR legitimately reads more than they hold).

Per layout (workers x engine threads, default engine): the 60 receipts through
`LocalProcessExecutor.map_unordered`, wall time including worker start and model load,
seconds per receipt, and the peak RSS of each worker (sampled every 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO / ".." / "shared" / "datasets" / "sroie-dev"
_SPACES = re.compile(r"\s+")


# -- metrics ----------------------------------------------------------------------------
def squash(text: str) -> str:
    return _SPACES.sub("", text).lower()


def cer_without_insertions(reference: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions, reference length) on whitespace-collapsed, case-folded
    text: the SROIE transcripts are annotated in capitals whatever the receipt prints."""
    from rapidfuzz.distance import Levenshtein

    ref = _SPACES.sub(" ", reference).strip().upper()
    hyp = _SPACES.sub(" ", hypothesis).strip().upper()
    errors = sum(1 for op in Levenshtein.editops(ref, hyp) if op.tag in ("replace", "delete"))
    return errors, len(ref)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def receipts(dataset: Path, limit: int | None) -> list[Path]:
    images = sorted((dataset / "images").glob("*.jpg"))
    return images[:limit] if limit else images


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # tesseract runs as a child
    return max(own, children) / 1024


# -- one engine, sequential (runs in its own process) ------------------------------------
def _direct_call(engine_name: str, engine, image: Path) -> None:
    if engine_name == "rapidocr":
        engine.raw(str(image))
    else:
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}  # as TesseractEngine runs it
        subprocess.run([engine.binary, str(image), "stdout"], capture_output=True, check=False, env=env)


def run_engine(engine_name: str, dataset: Path, limit: int | None) -> dict:
    from framework.config import Settings
    from framework.documents import DocumentProcessor
    from framework.documents.ocr import get_ocr_engine

    settings = Settings(OCR_ENGINE=engine_name)
    processor = DocumentProcessor(settings, use_cache=False)
    engine = get_ocr_engine(engine_name, processor.ocr.threads)
    images = receipts(dataset, limit)
    # Warm-up on one receipt so model load and first-run allocation are not timed.
    _direct_call(engine_name, engine, images[0])
    processor.extract(images[0])

    rows = []
    for index, image in enumerate(images):
        timings = {}
        order = ("direct", "extract") if index % 2 == 0 else ("extract", "direct")
        text = ""
        for which in order:
            start = time.perf_counter()
            if which == "direct":
                _direct_call(engine_name, engine, image)
            else:
                document = processor.extract(image)
                text = document.text
            timings[which] = time.perf_counter() - start
        label = json.loads((dataset / "labels" / f"{image.stem}.json").read_text(encoding="utf-8"))
        transcript = (dataset / "ocr" / f"{image.stem}.txt").read_text(encoding="utf-8")
        errors, length = cer_without_insertions(transcript, text)
        rows.append({
            "id": image.stem,
            "direct_s": timings["direct"],
            "extract_s": timings["extract"],
            "total_found": squash(label["total"]) in squash(text),
            "date_found": squash(label["date"]) in squash(text),
            "cer_errors": errors,
            "cer_length": length,
        })
    extract = [r["extract_s"] for r in rows]
    direct = [r["direct_s"] for r in rows]
    return {
        "engine": engine_name,
        "version": getattr(engine, "version", "?"),
        "threads": getattr(engine, "threads", processor.ocr.threads),
        "receipts": len(rows),
        "median_s": statistics.median(extract),
        "p95_s": percentile(extract, 0.95),
        "direct_median_s": statistics.median(direct),
        "ratio_total": sum(extract) / sum(direct),
        "ratio_median": statistics.median(r["extract_s"] / r["direct_s"] for r in rows),
        "peak_rss_mb": peak_rss_mb(),
        "total_share": sum(r["total_found"] for r in rows) / len(rows),
        "date_share": sum(r["date_found"] for r in rows) / len(rows),
        "cer": sum(r["cer_errors"] for r in rows) / max(1, sum(r["cer_length"] for r in rows)),
        "misses": [r["id"] for r in rows if not (r["total_found"] and r["date_found"])],
    }


# -- one pool layout (runs in its own process) ---------------------------------------------
_processor = None


def _extract_in_worker(path: str) -> tuple[str, float]:
    global _processor
    if _processor is None:
        from framework.documents import DocumentProcessor

        _processor = DocumentProcessor(use_cache=False)
    start = time.perf_counter()
    document = _processor.extract(path)
    return document.text, time.perf_counter() - start


class _RssSampler(threading.Thread):
    """Peak RSS per process (this one and its pool workers), sampled every 50 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        import psutil

        self.me = psutil.Process()
        self.peaks: dict[int, int] = {}
        self.total_peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stopped.wait(0.05):
            total = 0
            for proc in [self.me, *self.me.children(recursive=True)]:
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.peaks[proc.pid] = max(self.peaks.get(proc.pid, 0), rss)
            self.total_peak = max(self.total_peak, total)


def run_layout(workers: int, threads: int, dataset: Path, limit: int | None) -> dict:
    os.environ["OCR_THREADS"] = str(threads)  # read by get_settings() here and in the workers
    from framework.executor import LocalProcessExecutor

    images = [str(p) for p in receipts(dataset, limit)]
    sampler = _RssSampler()
    sampler.start()
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    latencies = []
    failures = 0
    with LocalProcessExecutor(workers=workers) as executor:
        for _, result in executor.map_unordered(_extract_in_worker, images):
            if isinstance(result, BaseException):
                failures += 1
            else:
                latencies.append(result[1])
    wall = time.perf_counter() - start
    sampler.stopped.set()
    sampler.join()
    me = os.getpid()
    worker_peaks = [v for pid, v in sampler.peaks.items() if pid != me]
    return {
        "workers": workers,
        "threads": threads,
        "receipts": len(images),
        "failures": failures,
        "wall_s": wall,
        "s_per_receipt": wall / len(images),
        "median_latency_s": statistics.median(latencies) if latencies else float("nan"),
        "cpu_s": _cpu_seconds() - cpu_before,
        "peak_rss_per_worker_mb": (max(worker_peaks) if worker_peaks else sampler.peaks.get(me, 0)) / 2**20,
        "peak_rss_total_mb": sampler.total_peak / 2**20,
    }


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


# -- coordinator -------------------------------------------------------------------------------
def _in_subprocess(args: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, cwd=REPO, check=False,
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"benchmark child failed ({done.returncode}):\n{done.stderr[-3000:]}")


def _print_engines(results: list[dict]) -> None:
    print("\n## OCR quality and speed per engine (sequential, one receipt at a time)\n")
    print("| engine | threads | receipts | median s | p95 s | direct median s | extract/direct | peak RSS MB | total found | date found | CER |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['engine']} {r['version']} | {r['threads']} | {r['receipts']} | {r['median_s']:.2f} | {r['p95_s']:.2f} "
            f"| {r['direct_median_s']:.2f} | {r['ratio_total']:.2f} (median {r['ratio_median']:.2f}) "
            f"| {r['peak_rss_mb']:.0f} | {r['total_share']:.0%} | {r['date_share']:.0%} | {r['cer']:.3f} |"
        )
    for r in results:
        if r["misses"]:
            print(f"\n{r['engine']}: total or date missed on {', '.join(r['misses'])}")


def _print_layouts(results: list[dict]) -> None:
    print("\n## Pool layouts, default engine (workers x engine threads)\n")
    print("| workers x threads | wall s | s / receipt | median latency s | CPU s | peak RSS per worker MB | peak RSS all MB |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['workers']} x {r['threads']} | {r['wall_s']:.1f} | {r['s_per_receipt']:.2f} | {r['median_latency_s']:.2f} "
            f"| {r['cpu_s']:.0f} | {r['peak_rss_per_worker_mb']:.0f} | {r['peak_rss_total_mb']:.0f} |"
        )
    best = min(results, key=lambda r: r["wall_s"])
    print(f"\nfastest: {best['workers']} worker(s) x {best['threads']} thread(s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--limit", type=int, default=None, help="only the first N receipts")
    parser.add_argument("--engines", default="", help="comma list (default: every installed engine)")
    parser.add_argument("--layouts", default="", help="workers x threads list, e.g. 1x2,2x1 (default: all for this CPU count)")
    parser.add_argument("--rounds", type=int, default=1, help="run the layouts N times round-robin; keep each one's fastest")
    parser.add_argument("--no-layouts", action="store_true")
    parser.add_argument("--no-engines", action="store_true")
    parser.add_argument("--_engine", help=argparse.SUPPRESS)
    parser.add_argument("--_layout", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    dataset = args.dataset.resolve()

    if args._engine:
        print(json.dumps(run_engine(args._engine, dataset, args.limit)))
        return 0
    if args._layout:
        workers, threads = (int(x) for x in args._layout.split("x"))
        print(json.dumps(run_layout(workers, threads, dataset, args.limit)))
        return 0

    if not (dataset / "images").is_dir():
        print(f"dataset not found: {dataset}", file=sys.stderr)
        return 2
    from framework.documents.ocr import available_engines
    from framework.executor import available_cpus

    limit_args = ["--dataset", str(dataset)] + (["--limit", str(args.limit)] if args.limit else [])
    if not args.no_engines:
        engines = [e for e in args.engines.split(",") if e] or available_engines()
        results = []
        for engine in engines:
            print(f"running engine {engine} ...", file=sys.stderr, flush=True)
            results.append(_in_subprocess(["--_engine", engine, *limit_args]))
        _print_engines(results)
    if not args.no_layouts:
        cpus = available_cpus()
        layouts = [x for x in args.layouts.split(",") if x] or sorted(
            {f"1x{cpus}", "1x1", f"{cpus}x1", f"{cpus}x{cpus}", *(f"{w}x{max(1, cpus // w)}" for w in range(1, cpus + 1))}
        )
        # Round-robin, best wall time per layout: other load on a shared machine only ever
        # slows a run down, so the fastest of N interleaved runs is the least disturbed one.
        runs: dict[str, list[dict]] = {layout: [] for layout in layouts}
        for round_number in range(args.rounds):
            for layout in layouts:
                print(f"round {round_number + 1}: layout {layout} ...", file=sys.stderr, flush=True)
                runs[layout].append(_in_subprocess(["--_layout", layout, *limit_args]))
        _print_layouts([min(found, key=lambda r: r["wall_s"]) for found in runs.values()])
        if args.rounds > 1:
            print("\nall runs (wall s): " + "; ".join(
                f"{layout}: " + ", ".join(f"{r['wall_s']:.0f}" for r in found) for layout, found in runs.items()
            ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
