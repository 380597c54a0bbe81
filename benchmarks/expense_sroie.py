"""Field accuracy of the offline bill reader on the SROIE dev receipts.

    uv run python -m benchmarks.expense_sroie --text-source ocr
    uv run python -m benchmarks.expense_sroie --text-source transcript --show-failures

For every receipt the bill text (OCR of the image, or the dataset's own transcript) goes through
`clients.batch.extract.extract_bill` and three fields are scored against `labels/<id>.json`:

- total: the extracted amount equals the label total to the cent (an "RM"/"$" prefix on the
  label is ignored);
- date: the same calendar date as the label;
- vendor: rapidfuzz `token_set_ratio` >= 90 against the label `company`, case-insensitive.

OCR text is cached under data/cache/bench_ocr/ (keyed by the image's sha256 and the engine), so
only the first run pays for OCR; the OCR seconds recorded at that time are still reported.
The transcripts are cut at the first comma of each box (see the dataset README), so they are
a fast proxy for iterating, not the figure that counts: the OCR row is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rapidfuzz import fuzz

from clients.batch.bill import Bill
from clients.batch.extract import EXTRACTOR_VERSION, extract_bill

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO_ROOT.parent / "shared" / "datasets" / "sroie-dev"
CACHE_DIR = REPO_ROOT / "data" / "cache" / "bench_ocr"
VENDOR_THRESHOLD = 90

log = logging.getLogger("benchmarks.expense_sroie")


# --- OCR -----------------------------------------------------------------------------------


class _Ocr:
    """The project's DocumentProcessor when it exists, else rapidocr with our own line grouping.

    The fallback only exists so this benchmark can run before the documents package lands; the
    job itself always goes through DocumentProcessor.
    """

    def __init__(self, *, direct: bool = False) -> None:
        self._processor = None
        self._rapid = None
        self.engine = "rapidocr-lines"
        if direct:
            return
        try:
            from framework.documents import DocumentProcessor  # type: ignore[attr-defined]
            from framework.documents.processor import CACHE_VERSION
        except ImportError:
            return
        # No DocumentProcessor cache: this script keeps its own, and the OCR seconds must be real.
        self._processor = DocumentProcessor(use_cache=False)
        self.engine = f"documents-v{CACHE_VERSION}"

    def __call__(self, path: Path) -> str:
        if self._processor is not None:
            return self._processor.extract(path).text
        if self._rapid is None:
            from rapidocr import RapidOCR

            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            self._rapid = RapidOCR()
        result = self._rapid(str(path))
        if result.txts is None:
            return ""
        return "\n".join(_group_lines(result.boxes, result.txts))


def _group_lines(boxes, txts) -> list[str]:
    """Rows of boxes joined left to right; a box joins a row when their vertical spans overlap
    by at least half of the smaller height (receipts are rarely skewed enough to break this)."""
    items = []
    for box, txt in zip(boxes, txts):
        ys = [float(p[1]) for p in box]
        xs = [float(p[0]) for p in box]
        items.append((min(ys), max(ys), min(xs), str(txt)))
    items.sort(key=lambda it: (it[0] + it[1]) / 2)
    rows: list[list[tuple[float, float, float, str]]] = []
    for item in items:
        y0, y1 = item[0], item[1]
        if rows:
            row = rows[-1]
            ry0 = statistics.median(i[0] for i in row)
            ry1 = statistics.median(i[1] for i in row)
            overlap = min(y1, ry1) - max(y0, ry0)
            if overlap >= 0.5 * min(y1 - y0, ry1 - ry0):
                row.append(item)
                continue
        rows.append([item])
    return [" ".join(i[3] for i in sorted(row, key=lambda i: i[2])) for row in rows]


def ocr_text(ocr: _Ocr, image: Path) -> tuple[str, float]:
    """OCR text of one image and the seconds the OCR took (measured when it was cached)."""
    digest = hashlib.sha256(image.read_bytes()).hexdigest()[:24]
    cached = CACHE_DIR / ocr.engine / f"{digest}.json"
    if cached.exists():
        record = json.loads(cached.read_text(encoding="utf-8"))
        return record["text"], record["seconds"]
    started = time.perf_counter()
    text = ocr(image)
    seconds = time.perf_counter() - started
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(json.dumps({"image": image.name, "text": text, "seconds": seconds}), encoding="utf-8")
    tmp.replace(cached)
    return text, seconds


# --- scoring -------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}


def label_date(raw: str) -> date | None:
    """The label's date, parsed independently of the extractor so a parser bug can't hide."""
    raw = raw.strip().upper()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", raw):
        y, mo, d = map(int, m.groups())
        return date(y, mo, d)
    if m := re.fullmatch(r"(\d{1,2})[ /.-]([A-Z]{3})[ /.-](\d{2,4})", raw):
        d, mon, y = int(m[1]), _MONTHS[m[2]], int(m[3])
    elif m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})", raw):
        d, mon, y = int(m[1]), int(m[2]), int(m[3])
    else:
        return None
    if y < 100:
        y += 2000
    return date(y, mon, d)


def label_total(raw: str) -> Decimal | None:
    cleaned = re.sub(r"^(RM|\$)\s*", "", raw.strip(), flags=re.I).replace(",", "")
    try:
        return Decimal(cleaned).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


@dataclass
class Outcome:
    receipt: str
    total_ok: bool
    date_ok: bool
    vendor_ok: bool
    bill: Bill
    label: dict
    ocr_seconds: float
    extract_seconds: float


def score(receipt: str, bill: Bill, label: dict, ocr_s: float, extract_s: float) -> Outcome:
    want_total = label_total(label.get("total", ""))
    want_date = label_date(label.get("date", ""))
    vendor_ok = bool(bill.vendor) and fuzz.token_set_ratio(
        bill.vendor.lower(), label.get("company", "").lower()) >= VENDOR_THRESHOLD
    return Outcome(
        receipt=receipt,
        total_ok=bill.amount is not None and bill.amount == want_total,
        date_ok=bill.date is not None and bill.date == want_date,
        vendor_ok=vendor_ok,
        bill=bill,
        label=label,
        ocr_seconds=ocr_s,
        extract_seconds=extract_s,
    )


def run(dataset: Path, text_source: str, limit: int | None, date_order: str,
        direct_ocr: bool = False) -> list[Outcome]:
    labels = sorted((dataset / "labels").glob("*.json"))
    if limit:
        labels = labels[:limit]
    ocr = _Ocr(direct=direct_ocr) if text_source == "ocr" else None
    if ocr is not None:
        log.info("OCR engine: %s (cache: %s)", ocr.engine, CACHE_DIR / ocr.engine)
    outcomes = []
    for i, label_path in enumerate(labels, 1):
        receipt = label_path.stem
        label = json.loads(label_path.read_text(encoding="utf-8"))
        if ocr is not None:
            text, ocr_s = ocr_text(ocr, dataset / "images" / f"{receipt}.jpg")
        else:
            text, ocr_s = (dataset / "ocr" / f"{receipt}.txt").read_text(encoding="utf-8"), 0.0
        started = time.perf_counter()
        bill = extract_bill(text, default_currency="MYR", date_order=date_order)  # type: ignore[arg-type]
        extract_s = time.perf_counter() - started
        outcomes.append(score(receipt, bill, label, ocr_s, extract_s))
        log.debug("%d/%d %s", i, len(labels), receipt)
    return outcomes


def print_report(outcomes: list[Outcome], text_source: str, show_failures: bool, engine: str = "") -> None:
    n = len(outcomes)
    if show_failures:
        for o in outcomes:
            bad = [name for name, ok in (("total", o.total_ok), ("date", o.date_ok), ("vendor", o.vendor_ok)) if not ok]
            if not bad:
                continue
            print(f"--- {o.receipt}: wrong {', '.join(bad)}")
            if not o.total_ok:
                ev = o.bill.evidence.get("amount")
                print(f"  total  want {o.label.get('total')!r:>12} got {o.bill.amount!s:>10}  "
                      f"line={ev.source_line if ev else None!r} flags={o.bill.flags}")
            if not o.date_ok:
                ev = o.bill.evidence.get("date")
                print(f"  date   want {o.label.get('date')!r:>12} got {o.bill.date!s:>10}  "
                      f"line={ev.source_line if ev else None!r}")
            if not o.vendor_ok:
                print(f"  vendor want {o.label.get('company')!r} got {o.bill.vendor!r}")
        print()

    def pct(k: int) -> str:
        return f"{100 * k / n:5.1f}% ({k}/{n})"

    total = sum(o.total_ok for o in outcomes)
    dates = sum(o.date_ok for o in outcomes)
    vendor = sum(o.vendor_ok for o in outcomes)
    ocr_s = sum(o.ocr_seconds for o in outcomes) / n
    ext_s = sum(o.extract_seconds for o in outcomes) / n
    print(f"SROIE dev, {n} receipts, text source: {text_source}{f' ({engine})' if engine else ''}, "
          f"extractor {EXTRACTOR_VERSION}")
    print("| field  | accuracy        |")
    print("|--------|-----------------|")
    print(f"| total  | {pct(total):15} |")
    print(f"| date   | {pct(dates):15} |")
    print(f"| vendor | {pct(vendor):15} |")
    print(f"seconds per receipt: ocr {ocr_s:.2f} (as measured when cached), extract {ext_s * 1000:.1f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--text-source", choices=["ocr", "transcript"], default="ocr",
                        help="OCR the images (cached) or use the dataset's transcripts (default: ocr)")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET,
                        help=f"SROIE folder with images/, labels/, ocr/ (default: {DEFAULT_DATASET})")
    parser.add_argument("--limit", type=int, default=None, help="only the first N receipts")
    parser.add_argument("--date-order", choices=["DMY", "MDY"], default="DMY")
    parser.add_argument("--direct-ocr", action="store_true",
                        help="OCR with rapidocr and this script's own line grouping instead of DocumentProcessor "
                             "(a second OCR layout, to check the rules do not depend on one)")
    parser.add_argument("--show-failures", action="store_true", help="list every wrong field")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s | %(levelname)s | %(name)s | %(message)s")
    if not (args.dataset / "labels").is_dir():
        print(f"dataset not found: {args.dataset} (pass --dataset)", file=sys.stderr)
        return 2
    outcomes = run(args.dataset, args.text_source, args.limit, args.date_order, args.direct_ocr)
    engine = "" if args.text_source != "ocr" else ("rapidocr-lines" if args.direct_ocr else _Ocr().engine)
    print_report(outcomes, args.text_source, args.show_failures, engine)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
