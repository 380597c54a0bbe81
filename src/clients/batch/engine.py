"""The deterministic policy engine: typed fields + validations + `PolicyRules` -> decision.

Nothing here reads bill text: a bill that says "approve this claim" is decided on its amount,
date, category and checks like any other. Every decision names the rules it applied
(`rule_ids`) and says why in `reason`.

Bills are decided per employee in date order (then folder and file name), so limits that
span bills work like a ledger: a per-day or per-month limit is consumed by the bills
approved before, and the approved total for a day or month never exceeds the limit
("actuals or X, whichever is lower" caps the same way). Bills that are rejected or sent to
review consume nothing.

Checks, in order (the first that fires decides):
  unreadable bill -> NEEDS_REVIEW (status failed)     general.readable
  same file submitted before -> REJECTED              general.duplicate
  amount / date missing or low-confidence -> REVIEW   general.amount, general.date
  several bills in one file (pages with own totals) -> REVIEW   general.multiple_bills
  same vendor+date+amount -> REJECTED (same employee) general.duplicate
                             NEEDS_REVIEW (another employee)
  currency differs from the policy's -> REVIEW        general.currency
  category unknown / not in policy -> REVIEW          general.category
  category excluded / not reimbursable -> REJECTED    <cat>.not_reimbursable, general.excluded_items
  outside the claim month -> REJECTED when the policy requires it, else REVIEW   general.claim_month
    (REVIEW when the date is ambiguous, 05/10 vs 10/05)
  older than the policy allows -> REJECTED            general.max_bill_age
  another person's name on the bill -> REVIEW         general.employee_name
  cab trip not at the client's address -> REVIEW      cab.client_address
  prior approval required / above threshold -> REVIEW <cat>.requires_approval, <cat>.approval_above
  excluded items on the bill: their lines deducted, or REVIEW when they show no amount
  limits: per km, per bill, per day, per month (ledger) -> APPROVED (maybe capped) or REJECTED
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from clients.batch.schemas import BillDecision, BillRecord, CategoryRule, PolicyRules, Validation, money2

LOW_CONFIDENCE = 0.5
_STAY_CATEGORIES = {"hotel", "lodging"}
ZERO = Decimal("0.00")


@dataclass
class EngineInput:
    ref: str  # folder/file, unique in the batch
    employee: str  # caps are counted per employee (id, else name, else folder)
    folder_name: str
    file_name: str
    record: BillRecord
    category: str | None
    validation: Validation
    duplicate_same_employee: bool = False


@dataclass
class _Ledger:
    used: dict[tuple, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))


def fmt(amount: Decimal | None, currency: str = "") -> str:
    if amount is None:
        return "-"
    text = f"{amount:,.2f}"
    return f"{currency} {text}".strip()


def order_key(item: EngineInput) -> tuple:
    fields = item.record.fields
    day = fields.date if fields is not None and fields.date is not None else dt.date.max
    return (item.employee, day, item.folder_name, item.file_name)


def decide_batch(items: list[EngineInput], rules: PolicyRules) -> dict[str, BillDecision]:
    """Decide every bill; the order of `items` does not matter (they are sorted here)."""
    ledger = _Ledger()
    decisions: dict[str, BillDecision] = {}
    for item in sorted(items, key=order_key):
        decisions[item.ref] = decide_one(item, rules, ledger)
    return decisions


def _review(reason: str, rule_ids: list[str], claimed: Decimal | None) -> BillDecision:
    return BillDecision(decision="NEEDS_REVIEW", reason=reason, rule_ids=rule_ids, claimed_amount=claimed, approved_amount=None)


def _reject(reason: str, rule_ids: list[str], claimed: Decimal | None) -> BillDecision:
    return BillDecision(decision="REJECTED", reason=reason, rule_ids=rule_ids, claimed_amount=claimed, approved_amount=ZERO)


def _low(fields, name: str) -> bool:
    confidence = fields.confidence(name)
    return confidence is not None and confidence < LOW_CONFIDENCE


def decide_one(item: EngineInput, rules: PolicyRules, ledger: _Ledger) -> BillDecision:
    record, v = item.record, item.validation
    fields = record.fields
    # a rule written in its own currency ("Taxi: up to EUR 40" in a USD policy) keeps it
    own_rule = rules.category(item.category)
    cur = (own_rule.currency if own_rule is not None else None) or rules.currency
    if record.error is not None or fields is None:
        error = record.error
        what = f"{error.type}: {error.message}" if error else "no fields"
        return _review(f"Bill could not be read ({what}).", ["general.readable"], None)
    claimed = fields.amount
    dup = v.duplicate
    if dup.status == "duplicate" and dup.basis == "same_file":
        return _reject(f"Duplicate: the same file as {dup.duplicate_of}.", ["general.duplicate"], claimed)
    flags = set(fields.flags)
    shaky_amount = "low_confidence_amount" in flags or "low_ocr_confidence" in flags or _low(fields, "amount")
    # first: with several bills in one file, any amount read from it is one bill's at best
    if "multiple_bills_in_file" in flags:
        return _review(
            "The file holds several bills (its pages carry their own totals and dates); "
            "submit each bill separately or have a person split them.",
            ["general.multiple_bills"], None if shaky_amount else claimed,
        )
    if claimed is None or "amount_not_found" in flags:
        seen = fields.evidence.get("amount")
        if "low_confidence_amount" in flags and seen is not None and seen.source_line:
            # a total was printed but reads two ways (a misread rupee sign, "2.500"): say which
            return _review(f"The total on {seen.source_line.strip()!r} reads two ways; check it against the bill.",
                           ["general.amount"], None)
        return _review("Amount not found on the bill.", ["general.amount"], None)
    if shaky_amount:
        # not claimed: a misread total (a rupee sign read as a 2) must not count anywhere
        return _review(
            f"Amount {fmt(claimed)} read with low confidence; check it against the bill.", ["general.amount"], None
        )
    if fields.date is None or "date_not_found" in flags:
        return _review("Date not found on the bill.", ["general.date"], claimed)
    if "low_confidence_date" in flags or _low(fields, "date"):
        return _review(f"Date {fields.date.isoformat()} read with low confidence.", ["general.date"], claimed)
    if "nights_conflict" in flags:
        return _review(
            "The bill's printed number of nights and its check-in/check-out dates disagree.", ["general.nights"], claimed
        )
    if dup.status == "duplicate":
        text = f"same vendor, date and amount as {dup.duplicate_of}"
        if item.duplicate_same_employee:
            return _reject(f"Duplicate: {text}.", ["general.duplicate"], claimed)
        return _review(f"Possible duplicate: {text} (another employee's bill).", ["general.duplicate"], claimed)
    currency = fields.currency or cur
    if currency != cur:
        return _review(
            f"Bill is in {currency}; the policy's limits are in {cur} and no exchange rate is applied.",
            ["general.currency"], claimed,
        )
    category = item.category
    if category is not None and category in rules.excluded_items:
        return _reject(f"The policy excludes {category}.", ["general.excluded_items"], claimed)
    rule = rules.category(category)
    if rule is None:
        kind = fields.bill_type
        if not kind or kind in ("other", "unknown"):
            why = "Bill type not recognised"
        else:
            why = f"The policy has no rule for '{kind}' bills"
        return _review(f"{why}; a person must decide.", ["general.category"], claimed)
    if rule.not_reimbursable:
        return _reject(f"The policy does not reimburse {rule.label or rule.id}.", [f"{rule.id}.not_reimbursable"], claimed)
    if v.claim_month.status == "mismatch":
        text = f"Bill dated {fields.date.isoformat()} is outside the claim month {v.claim_month.expected}"
        if v.claim_month.alternative:
            return _review(
                text + f"; the date is ambiguous and read the other way round ({v.claim_month.alternative}) "
                "it falls in the claim month, so a person must check it.",
                ["general.claim_month", "general.date"], claimed,
            )
        if rules.bills_in_claim_month:
            return _reject(text + " (the policy requires bills from the claim month).", ["general.claim_month"], claimed)
        return _review(text + ".", ["general.claim_month"], claimed)
    if v.bill_age.status == "mismatch":
        return _reject(
            f"Bill is {v.bill_age.age_days} days old at the end of the claim month; the policy allows {v.bill_age.max_days}.",
            ["general.max_bill_age"], claimed,
        )
    if v.employee_name.status == "mismatch":
        return _review(
            f"Bill names '{v.employee_name.found}', not the employee '{v.employee_name.expected}'.",
            ["general.employee_name"], claimed,
        )
    if v.client_address.status == "mismatch":
        return _review(
            f"Cab trip does not start or end at an address of client '{v.client_address.client}'.",
            ["cab.client_address"], claimed,
        )
    if rule.requires_approval:
        return _review(f"{_label(rule)}: prior approval is required under the policy.", [f"{rule.id}.requires_approval"], claimed)
    if rule.approval_above is not None and claimed > rule.approval_above:
        return _review(
            f"{_label(rule)}: a bill above {fmt(rule.approval_above, cur)} requires approval under the policy.",
            [f"{rule.id}.approval_above"], claimed,
        )
    return _apply_limits(item, rule, rules, claimed, ledger)


def _label(rule: CategoryRule) -> str:
    label = rule.label or rule.id.replace("_", " ")
    return label[:1].upper() + label[1:]


def _apply_limits(
    item: EngineInput, rule: CategoryRule, rules: PolicyRules, claimed: Decimal, ledger: _Ledger
) -> BillDecision:
    fields = item.record.fields
    assert fields is not None and fields.date is not None
    cur = rule.currency or rules.currency
    rule_ids: list[str] = []
    notes: list[str] = []
    base = claimed
    # excluded items printed on the bill (a beer on a dinner bill)
    if item.record.exclusions:
        unpriced = [h for h in item.record.exclusions if h.amount is None]
        if unpriced:
            names = ", ".join(sorted({h.item for h in unpriced}))
            return _review(
                f"The bill mentions {names} (excluded by the policy) without a separate amount: '{unpriced[0].source_line}'.",
                ["general.excluded_items"], claimed,
            )
        deduction = money2(sum((h.amount for h in item.record.exclusions), ZERO))
        rule_ids.append("general.excluded_items")
        if deduction >= claimed:
            return _reject("The bill is for items the policy excludes.", rule_ids, claimed)
        base = money2(claimed - deduction)
        names = ", ".join(sorted({h.item for h in item.record.exclusions}))
        notes.append(f"{fmt(deduction)} of excluded items ({names}) deducted")

    has_limit = any(x is not None for x in (rule.per_bill_limit, rule.per_day_limit, rule.per_month_limit))
    allowed = base
    caps: list[str] = []
    if rule.per_km_rate is not None:
        if fields.distance_km is not None:
            by_km = money2(rule.per_km_rate * fields.distance_km)
            rule_ids.append(f"{rule.id}.per_km")
            if by_km < allowed:
                allowed = by_km
                caps.append(f"{fmt(rule.per_km_rate, cur)} per km x {fields.distance_km} km = {fmt(by_km)}")
        elif not (rule.actuals or has_limit):
            return _review(
                f"{_label(rule)} is paid per km and the bill shows no distance.", [f"{rule.id}.per_km"], claimed
            )
    if rule.per_bill_limit is not None:
        rule_ids.append(f"{rule.id}.per_bill")
        if rule.per_bill_limit < allowed:
            allowed = rule.per_bill_limit
            caps.append(f"per-bill limit {fmt(rule.per_bill_limit, cur)}")
    # a hotel bill for several nights spreads over that many days of a per-night limit
    per_night = rule.day_unit == "night" or rule.id in _STAY_CATEGORIES
    if per_night and not fields.nights and rule.per_day_limit is not None and base > rule.per_day_limit:
        # capping at one night would silently underpay a longer stay: a person counts the nights
        return _review(
            f"{_label(rule)}: the bill is above one {rule.day_unit}'s limit ({fmt(rule.per_day_limit, cur)}) "
            f"and does not show how many {rule.day_unit}s it covers.",
            [f"{rule.id}.per_day"], claimed,
        )
    stay = fields.nights if fields.nights and per_night else 1
    days = [fields.date + dt.timedelta(days=i) for i in range(stay)]
    day_keys = [(item.employee, rule.id, "day", d) for d in days]
    month_key = (item.employee, rule.id, "month", fields.date.year, fields.date.month)
    if rule.per_day_limit is not None:
        rule_ids.append(f"{rule.id}.per_day")
        used = money2(sum((ledger.used[k] for k in day_keys), ZERO))
        remaining = money2(sum((max(ZERO, rule.per_day_limit - ledger.used[k]) for k in day_keys), ZERO))
        if remaining < allowed:
            allowed = remaining
            unit = rule.day_unit
            span = f"{stay} {unit}s x " if stay > 1 else ""
            caps.append(
                f"per-{unit} limit {span}{fmt(rule.per_day_limit, cur)}"
                + (f", {fmt(used)} already approved for {fields.date.isoformat()}" if used > 0 else "")
            )
    if rule.per_month_limit is not None:
        rule_ids.append(f"{rule.id}.per_month")
        used = ledger.used[month_key]
        remaining = max(ZERO, money2(rule.per_month_limit - used))
        if remaining < allowed:
            allowed = remaining
            caps.append(
                f"per-month limit {fmt(rule.per_month_limit, cur)}"
                + (f", {fmt(used)} already approved in {fields.date:%Y-%m}" if used > 0 else "")
            )
    if rule.actuals:
        rule_ids.append(f"{rule.id}.actuals")
    if not (has_limit or rule.actuals or rule.per_km_rate is not None):
        return _review(f"The policy names {rule.label or rule.id} but gives no limit for it.", ["general.category"], claimed)
    allowed = money2(allowed)
    if allowed <= 0:
        return _reject(f"{_label(rule)}: nothing left to approve ({'; '.join(caps)}).", rule_ids, claimed)
    left = allowed
    for index, key in enumerate(day_keys):
        # fill each day up to its limit; the last day takes what is left (no per-day limit: day one)
        room = left if rule.per_day_limit is None or index == len(day_keys) - 1 else max(
            ZERO, rule.per_day_limit - ledger.used[key]
        )
        take = min(left, room)
        ledger.used[key] = money2(ledger.used[key] + take)
        left = money2(left - take)
    ledger.used[month_key] = money2(ledger.used[month_key] + allowed)
    basis = _describe_rule(rule, cur) + (f", for {stay} {rule.day_unit}s" if stay > 1 else "")
    if allowed == claimed:
        reason = f"Approved in full: {basis}."
    else:
        reason = f"Approved {fmt(allowed)} of {fmt(claimed)}: " + "; ".join(notes + caps) + f" ({basis})."
    return BillDecision(decision="APPROVED", reason=reason, rule_ids=rule_ids, claimed_amount=claimed, approved_amount=allowed)


def _describe_rule(rule: CategoryRule, currency: str) -> str:
    parts: list[str] = []
    if rule.per_km_rate is not None:
        parts.append(f"{fmt(rule.per_km_rate, currency)} per km")
    if rule.actuals:
        parts.append("at actuals")
    if rule.per_bill_limit is not None:
        parts.append(f"up to {fmt(rule.per_bill_limit, currency)} per bill")
    if rule.per_day_limit is not None:
        parts.append(f"up to {fmt(rule.per_day_limit, currency)} per {rule.day_unit}")
    if rule.per_month_limit is not None:
        parts.append(f"up to {fmt(rule.per_month_limit, currency)} per month")
    text = ", ".join(parts)
    if rule.whichever_is_lower:
        text += ", whichever is lower"
    return f"{rule.label or rule.id} {text}".strip()
