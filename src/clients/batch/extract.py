"""Bill text -> `Bill`, offline and deterministic.

    text -> lines -> category -> date -> amounts (total) -> currency -> vendor -> number,
    person, route, distance -> Bill (every field with confidence and source line, plus flags)

The function is pure (no I/O, no globals written), so the job can run it in a process pool and
cache it by the bill's hash and `EXTRACTOR_VERSION`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Literal

from clients.batch.bill import (
    FLAG_AMBIGUOUS_DATE,
    FLAG_AMOUNT_NOT_FOUND,
    FLAG_CURRENCY_ASSUMED,
    FLAG_DATE_NOT_FOUND,
    FLAG_EMPTY_TEXT,
    FLAG_FUTURE_DATE,
    FLAG_VENDOR_NOT_FOUND,
    Bill,
    FieldEvidence,
)
from clients.batch.classify import canonical_category, classify_bill
from clients.batch.fields import find_bill_number, find_distance, find_person_name, find_route, pick_date
from clients.batch.money import detect_currency
from clients.batch.totals import read_total
from clients.batch.vendors import guess_vendor

# Bump whenever extraction behaviour changes: it is part of the cache key of every bill.
EXTRACTOR_VERSION = "offline-rules/4"


# No-break, narrow no-break, thin and figure spaces between digit groups are thousands
# separators ("1 234.50"), never the gap between a quantity and a price.
_TYPOGRAPHIC_GROUP = re.compile(r"(?<=\d)[\u00a0\u202f\u2009\u2007](?=\d{3}(?!\d))")


def bill_lines(text: str) -> list[str]:
    """Non-empty lines, NFKC-normalised (OCR emits full-width colons and odd spaces); a
    typographic space inside a number survives as U+202F, so the number stays one token."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\u202f".join(unicodedata.normalize("NFKC", part) for part in _TYPOGRAPHIC_GROUP.split(text))
    lines = []
    for raw in text.split("\n"):
        line = re.sub(r"[ \t\u00a0]+", " ", raw).strip()
        if line:
            lines.append(line)
    return lines


def _uses_decimal_comma(lines: list[str]) -> bool:
    """True when the bill writes cents after a comma ("45,90", "1.234,56")."""
    joined = " ".join(lines)
    comma = len(re.findall(r"(?<![\d,.])\d{1,3}(?:\.\d{3})*,\d{2}(?![\d,.])", joined))
    dot = len(re.findall(r"(?<![\d,.])\d{1,3}(?:,\d{3})*\.\d{2}(?![\d,.])", joined))
    dot += len(re.findall(r"(?<![\d,.])\d{4,}\.\d{2}(?![\d,.])", joined))
    return comma > dot


def _evidence(confidence: float, line: str | None) -> FieldEvidence:
    return FieldEvidence(confidence=round(max(0.0, min(1.0, confidence)), 3), source_line=line)


def extract_bill(
    text: str,
    *,
    default_currency: str = "INR",
    date_order: Literal["DMY", "MDY"] = "DMY",
    categories: Sequence[str] = (),
    reference_date: date | None = None,
) -> Bill:
    """Read one bill's text (OCR lines, PDF text or a .txt) into a `Bill`.

    `default_currency` is used, and flagged "currency_assumed", when the bill names none.
    `date_order` reads dates like 04/03/2024 when nothing on the bill settles the order.
    `categories` are the policy's category names (see `classify_bill`). `reference_date` (the
    claim or run date) lets dates after it count against a candidate and be flagged.
    """
    lines = bill_lines(text or "")
    evidence: dict[str, FieldEvidence] = {}
    flags: list[str] = []
    if not lines:
        return Bill(
            bill_type="other",
            currency=None,
            evidence={"bill_type": _evidence(0.0, None)},
            flags=[FLAG_EMPTY_TEXT, FLAG_AMOUNT_NOT_FOUND, FLAG_DATE_NOT_FOUND],
            extractor=EXTRACTOR_VERSION,
        )
    joined = "\n".join(lines)

    bill_type, type_conf, type_line = classify_bill(joined, categories)
    evidence["bill_type"] = _evidence(type_conf, type_line)

    dp = pick_date(lines, date_order, reference_date)
    if dp.hit is None:
        flags.append(FLAG_DATE_NOT_FOUND)
    else:
        evidence["date"] = _evidence(dp.hit.confidence, dp.hit.line)
        if dp.ambiguous:
            flags.append(FLAG_AMBIGUOUS_DATE)
        if dp.future:
            flags.append(FLAG_FUTURE_DATE)

    doc_currency = detect_currency(joined)
    rupee_context = (doc_currency or default_currency.upper()) == "INR"
    total = read_total(lines, decimal_comma=_uses_decimal_comma(lines), masks=dp.spans, rupee_context=rupee_context)
    flags.extend(total.flags)
    if total.amount is not None or total.source_line is not None:
        evidence["amount"] = _evidence(total.confidence, total.source_line)

    currency, currency_line, currency_conf = None, None, 0.0
    if total.currency:
        currency, currency_line, currency_conf = total.currency, total.source_line, 0.95
    elif total.source_line and (line_cur := detect_currency(total.source_line)):
        currency, currency_line, currency_conf = line_cur, total.source_line, 0.9
    elif doc_currency:
        currency_line = next((ln for ln in lines if detect_currency(ln) == doc_currency), None)
        currency, currency_conf = doc_currency, 0.8
    else:
        currency, currency_conf = default_currency.upper(), 0.5
        flags.append(FLAG_CURRENCY_ASSUMED)
    evidence["currency"] = _evidence(currency_conf, currency_line)

    vendor = guess_vendor(lines)
    if vendor is None:
        flags.append(FLAG_VENDOR_NOT_FOUND)
    else:
        evidence["vendor"] = _evidence(vendor.confidence, vendor.line)

    number = find_bill_number(lines)
    person = find_person_name(lines)
    kind = canonical_category(bill_type) or bill_type
    pickup, drop = find_route(lines, allow_from_to=kind in ("cab", "travel"))
    distance = find_distance(lines) if kind in ("cab", "travel", "fuel", "other") or pickup or drop else None
    for name, hit in (("bill_number", number), ("person_name", person), ("pickup", pickup), ("drop", drop),
                      ("distance_km", distance)):
        if hit is not None:
            evidence[name] = _evidence(hit.confidence, hit.line)

    return Bill(
        bill_type=bill_type,
        amount=total.amount,
        currency=currency,
        date=dp.hit.value if dp.hit else None,
        vendor=vendor.name if vendor else None,
        bill_number=number.value if number else None,
        person_name=person.value if person else None,
        pickup=pickup.value if pickup else None,
        drop=drop.value if drop else None,
        distance_km=distance.value if distance else None,
        evidence=evidence,
        flags=flags,
        extractor=EXTRACTOR_VERSION,
    )
