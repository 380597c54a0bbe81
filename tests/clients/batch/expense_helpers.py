"""Builders for the expense job's unit tests (typed records without reading any file)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from clients.batch.engine import EngineInput
from clients.batch.schemas import (
    BillRecord,
    ExclusionHit,
    ExtractedFields,
    FieldEvidence,
    ItemError,
    Validation,
)


def fields(
    amount: str | None = "100.00",
    day: str | None = "2024-10-05",
    *,
    bill_type: str = "meals",
    currency: str = "INR",
    vendor: str | None = "Vendor",
    flags: tuple[str, ...] = (),
    **extra,
) -> ExtractedFields:
    evidence = {}
    if amount is not None:
        evidence["amount"] = FieldEvidence(confidence=0.9, source_line=f"Total {amount}")
    if day is not None:
        evidence["date"] = FieldEvidence(confidence=0.9, source_line=f"Date {day}")
    return ExtractedFields(
        bill_type=bill_type,
        amount=Decimal(amount) if amount is not None else None,
        currency=currency,
        date=dt.date.fromisoformat(day) if day else None,
        vendor=vendor,
        evidence=evidence,
        flags=list(flags),
        extractor="test",
        **extra,
    )


def item(
    ref: str,
    f: ExtractedFields | None,
    *,
    employee: str = "emp1",
    category: str | None = None,
    validation: Validation | None = None,
    error: ItemError | None = None,
    exclusions: list[ExclusionHit] | None = None,
    same_employee_duplicate: bool = False,
) -> EngineInput:
    record = BillRecord(key=ref, sha256=ref, fields=f, error=error, exclusions=exclusions or [])
    folder, _, file_name = ref.partition("/")
    return EngineInput(
        ref=ref,
        employee=employee,
        folder_name=folder,
        file_name=file_name or ref,
        record=record,
        category=category if category is not None else (f.bill_type if f else None),
        validation=validation or Validation(),
        duplicate_same_employee=same_employee_duplicate,
    )


#: The engine's review threshold for a field's confidence.
REVIEW_CONFIDENCE = 0.5


def decided_amount(text: str):
    """The amount a claim would be decided on: None when the bill goes to review for its amount."""
    from clients.batch.bill import FLAG_LOW_CONFIDENCE_AMOUNT
    from clients.batch.extract import extract_bill

    bill = extract_bill(text)
    if bill.amount is None or FLAG_LOW_CONFIDENCE_AMOUNT in bill.flags or bill.confidence("amount") < REVIEW_CONFIDENCE:
        return None
    return bill.amount


def category_of(rules, cid: str):
    """The rule of category `cid`, failing with the ids the policy has when it is missing."""
    rule = rules.category(cid)
    assert rule is not None, f"no {cid!r} in {[c.id for c in rules.categories]}"
    return rule
