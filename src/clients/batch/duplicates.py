"""Duplicate bills across the whole batch.

Two bills are the same when their files are byte-identical (same sha256), or when they show
the same vendor, date and amount (and no differing bill numbers). The first bill in the
batch's order (employee folder, date, file name) is the original; later ones point at it.

A file that could not be read, or is empty (0 bytes), is no duplicate of anything and no
original for anything: empty files of any type share one sha256, and two unreadable copies
say nothing about a claim. They are `not_checked` (their own error decides them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rapidfuzz import fuzz

from clients.batch.schemas import DuplicateCheck

VENDOR_MATCH_THRESHOLD = 90.0
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # of b""


@dataclass(frozen=True)
class DuplicateCandidate:
    ref: str  # "folder/file", how the result names the original
    employee: str
    sha256: str
    readable: bool
    vendor: str | None = None
    date: date | None = None
    amount: Decimal | None = None
    bill_number: str | None = None


@dataclass(frozen=True)
class DuplicateFinding:
    check: DuplicateCheck
    same_employee: bool


def _vendor_key(vendor: str) -> str:
    return re.sub(r"[^a-z0-9]", "", vendor.lower())


def _norm_number(number: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (number or "").lower())


def find_duplicates(candidates: list[DuplicateCandidate]) -> dict[str, DuplicateFinding]:
    """`candidates` in batch order -> finding per ref (every ref gets one)."""
    findings: dict[str, DuplicateFinding] = {}
    first_by_hash: dict[str, DuplicateCandidate] = {}
    by_day_amount: dict[tuple[date, Decimal], list[DuplicateCandidate]] = {}
    for cand in candidates:
        if not cand.readable or cand.sha256 == EMPTY_SHA256:
            findings[cand.ref] = DuplicateFinding(DuplicateCheck(status="not_checked"), same_employee=False)
            continue
        original = first_by_hash.get(cand.sha256)
        if original is not None:
            findings[cand.ref] = DuplicateFinding(
                DuplicateCheck(status="duplicate", duplicate_of=original.ref, basis="same_file"),
                same_employee=original.employee == cand.employee,
            )
            continue
        first_by_hash[cand.sha256] = cand
        if cand.vendor is None or cand.date is None or cand.amount is None:
            findings[cand.ref] = DuplicateFinding(DuplicateCheck(status="unique"), same_employee=False)
            continue
        match = None
        for earlier in by_day_amount.get((cand.date, cand.amount), []):
            a, b = _norm_number(earlier.bill_number), _norm_number(cand.bill_number)
            if a and b and a != b:
                continue
            same_vendor = _vendor_key(earlier.vendor or "") == _vendor_key(cand.vendor)
            if same_vendor or fuzz.ratio(_vendor_key(earlier.vendor or ""), _vendor_key(cand.vendor)) >= VENDOR_MATCH_THRESHOLD:
                match = earlier
                break
        if match is not None:
            findings[cand.ref] = DuplicateFinding(
                DuplicateCheck(status="duplicate", duplicate_of=match.ref, basis="same_vendor_date_amount"),
                same_employee=match.employee == cand.employee,
            )
            continue
        by_day_amount.setdefault((cand.date, cand.amount), []).append(cand)
        findings[cand.ref] = DuplicateFinding(DuplicateCheck(status="unique"), same_employee=False)
    return findings
