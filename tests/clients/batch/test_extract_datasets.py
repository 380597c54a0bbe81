"""Checks against data outside the repo: skipped cleanly when ../shared is absent.

- SROIE dev transcripts (fast, `dataset` marker): field accuracy must stay near what
  `benchmarks/expense_sroie.py --text-source transcript` reports.
- The C23/C24 bill images through the real OCR (`slow` marker; fixtures are in the repo).
"""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from clients.batch.extract import extract_bill

REPO = Path(__file__).resolve().parents[3]
SROIE = REPO.parent / "shared" / "datasets" / "sroie-dev"
CASES = REPO / "tests" / "fixtures" / "cases"


@pytest.mark.dataset
@pytest.mark.skipif(not (SROIE / "labels").is_dir(), reason="sroie-dev dataset not present")
def test_sroie_transcripts_accuracy() -> None:
    from benchmarks.expense_sroie import label_date, label_total
    from rapidfuzz import fuzz

    labels = sorted((SROIE / "labels").glob("*.json"))
    total = dates = vendor = 0
    for path in labels:
        label = json.loads(path.read_text("utf-8"))
        bill = extract_bill((SROIE / "ocr" / f"{path.stem}.txt").read_text("utf-8"), default_currency="MYR")
        total += bill.amount == label_total(label["total"])
        dates += bill.date == label_date(label["date"])
        vendor += bool(bill.vendor) and fuzz.token_set_ratio(bill.vendor.lower(), label["company"].lower()) >= 90
    n = len(labels)
    assert total / n >= 0.93 and dates / n >= 0.97 and vendor / n >= 0.93, (total, dates, vendor, n)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["C23_amount_tokens_inr", "C24_total_vs_subtotal"])
def test_case_images_through_ocr(case: str) -> None:
    documents = pytest.importorskip("framework.documents")
    processor = documents.DocumentProcessor(use_cache=False)
    folder = CASES / case
    truth = json.loads((folder / "case.json").read_text("utf-8"))["truth"]
    for image in sorted((folder / "input" / "bills").rglob("*.png")):
        text = processor.extract(image).text
        bill = extract_bill(text)
        want = truth[image.name]
        assert bill.amount == (None if want["amount"] is None else Decimal(want["amount"])), image.name
        assert bill.date == date.fromisoformat(want["date"]), image.name
        if "currency" in want:
            assert bill.currency == want["currency"], image.name
