"""Checks of one bill against its employee folder and the policy: claim month, bill age,
the employee's name (fuzzy) and, for cab bills, the client's address (fuzzy).

Each check returns a small record with `status` ok / mismatch / not_checked and what it
compared, so a reviewer sees why; the engine turns mismatches into decisions.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import date
from pathlib import Path

from rapidfuzz import fuzz

from framework.errors import ConfigurationError

from clients.batch.schemas import (
    AddressCheck,
    AgeCheck,
    ClaimMonthCheck,
    EmployeeContext,
    ExtractedFields,
    NameCheck,
    PolicyRules,
)

NAME_MATCH_THRESHOLD = 80.0
ADDRESS_MATCH_THRESHOLD = 70.0
_TITLES = re.compile(r"\b(?:mr|mrs|ms|miss|dr|shri|smt|sri|kumari|prof)\b\.?", re.IGNORECASE)


def load_client_addresses(path: Path) -> dict[str, list[str]]:
    """`{"acme": ["12 MG Road, Bengaluru", ...], ...}` (a single string is one address)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"--client-addresses {path}: cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"--client-addresses {path}: expected an object of client code -> list of addresses")
    result: dict[str, list[str]] = {}
    for code, addresses in data.items():
        if isinstance(addresses, str):
            addresses = [addresses]
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ConfigurationError(f"--client-addresses {path}: client {code!r} must map to a list of addresses")
        result[str(code)] = [a for a in addresses if a.strip()]
    return result


def _month_label(year: int | None, month: int) -> str:
    return f"{year:04d}-{month:02d}" if year else calendar.month_abbr[month]


def check_claim_month(fields: ExtractedFields | None, context: EmployeeContext) -> ClaimMonthCheck:
    if context.claim_month is None:
        return ClaimMonthCheck()
    expected = _month_label(context.claim_year, context.claim_month)
    if fields is None or fields.date is None:
        return ClaimMonthCheck(expected=expected)
    found = _month_label(fields.date.year, fields.date.month)
    if _in_claim_month(fields.date, context):
        return ClaimMonthCheck(status="ok", expected=expected, found=found)
    alternative = None
    if "ambiguous_date" in fields.flags and fields.date.day <= 12:
        swapped = date(fields.date.year, fields.date.day, fields.date.month)
        if _in_claim_month(swapped, context):
            alternative = swapped.isoformat()
    return ClaimMonthCheck(status="mismatch", expected=expected, found=found, alternative=alternative)


def _in_claim_month(day: date, context: EmployeeContext) -> bool:
    return day.month == context.claim_month and (context.claim_year is None or day.year == context.claim_year)


def claim_reference_date(context: EmployeeContext) -> date | None:
    """Bill age is measured at the end of the claim month (not today, so a re-run next year
    decides the same)."""
    if context.claim_month is None or context.claim_year is None:
        return None
    last = calendar.monthrange(context.claim_year, context.claim_month)[1]
    return date(context.claim_year, context.claim_month, last)


def check_bill_age(fields: ExtractedFields | None, context: EmployeeContext, rules: PolicyRules) -> AgeCheck:
    if rules.max_bill_age_days is None:
        return AgeCheck()
    reference = claim_reference_date(context)
    if fields is None or fields.date is None or reference is None:
        return AgeCheck(max_days=rules.max_bill_age_days)
    age = (reference - fields.date).days
    status = "mismatch" if age > rules.max_bill_age_days else "ok"
    return AgeCheck(status=status, age_days=age, max_days=rules.max_bill_age_days)


def _normalize_name(text: str) -> str:
    text = _TITLES.sub(" ", text.lower())
    return " ".join(re.sub(r"[^a-z\s]", " ", text).split())


def check_employee_name(fields: ExtractedFields | None, context: EmployeeContext) -> NameCheck:
    """Only when the bill names a person and the folder names the employee."""
    if fields is None or not fields.person_name or not context.emp_name:
        return NameCheck(expected=context.emp_name, found=fields.person_name if fields else None)
    expected, found = _normalize_name(context.emp_name), _normalize_name(fields.person_name)
    if not expected or not found:
        return NameCheck(expected=context.emp_name, found=fields.person_name)
    score = round(float(fuzz.token_set_ratio(expected, found)), 1)
    status = "ok" if score >= NAME_MATCH_THRESHOLD else "mismatch"
    return NameCheck(status=status, expected=context.emp_name, found=fields.person_name, score=score)


def _normalize_address(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9\s]", " ", text.lower()).split())


def check_client_address(
    fields: ExtractedFields | None,
    context: EmployeeContext,
    category: str | None,
    client_addresses: dict[str, list[str]] | None,
) -> AddressCheck:
    """For cab bills: the pickup or the drop should be one of the client's addresses."""
    if client_addresses is None or category != "cab" or fields is None:
        return AddressCheck()
    if not context.client:
        return AddressCheck(note="the folder name gives no client")
    lookup = {code.lower(): (code, addresses) for code, addresses in client_addresses.items()}
    if context.client.lower() not in lookup:
        return AddressCheck(client=context.client, note=f"client {context.client!r} is not in --client-addresses")
    code, addresses = lookup[context.client.lower()]
    places = [p for p in (fields.pickup, fields.drop) if p]
    if not places:
        return AddressCheck(client=code, note="the bill shows no pickup or drop")
    best_score, best_address = 0.0, None
    for place in places:
        for address in addresses:
            score = float(fuzz.token_set_ratio(_normalize_address(place), _normalize_address(address)))
            if score > best_score:
                best_score, best_address = score, address
    status = "ok" if best_score >= ADDRESS_MATCH_THRESHOLD else "mismatch"
    return AddressCheck(status=status, client=code, matched_address=best_address, score=round(best_score, 1))
