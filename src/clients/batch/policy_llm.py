"""The LLM policy reader: policy text -> the same `PolicyRules` the offline parser gives.

The LLM fills a JSON schema mirroring `PolicyRules` (amounts as numbers, which models write
more reliably than decimal strings); `complete_json` validates the answer and re-asks on
invalid output. The answer is then checked here (known category ids, non-negative limits, an
ISO currency); anything unusable raises `PolicyLLMError` and `load_policy` falls back to the
offline parser with a warning.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, Field

from clients.batch.categories import CATEGORY_SYNONYMS, canonical_category
from clients.batch.schemas import CategoryRule, PolicyRules, money2

log = logging.getLogger(__name__)

#: Part of the cache key of an LLM's policy reading: bumped when the prompt or schema changes.
PROMPT_VERSION = 2  # 2: per-category currency


class PolicyLLMError(RuntimeError):
    """The LLM's answer could not be used."""


class LLMCategory(BaseModel):
    id: str = Field(description="category id, e.g. cab, meals, hotel, fuel, flight, train, phone, internet")
    label: str = Field("", description="the category as the policy names it")
    per_bill_limit: float | None = Field(None, description="maximum per bill, in the policy currency")
    per_day_limit: float | None = Field(None, description="maximum per day (or per night for hotels)")
    per_month_limit: float | None = None
    per_km_rate: float | None = None
    actuals: bool = Field(False, description="reimbursed at actuals")
    whichever_is_lower: bool = Field(False, description="'actuals or X, whichever is lower'")
    requires_approval: bool = False
    approval_above: float | None = Field(None, description="bills above this amount need approval")
    not_reimbursable: bool = False
    day_unit: Literal["day", "night"] = "day"
    currency: str | None = Field(None, description="ISO 4217 code of this category's amounts when they differ from the policy currency")
    source: str = Field("", description="the policy sentence this rule comes from, verbatim")


class LLMPolicy(BaseModel):
    currency: str = Field("INR", description="ISO 4217 code the limits are written in")
    categories: list[LLMCategory] = Field(default_factory=list)
    receipts_required: bool = False
    bills_in_claim_month: bool = False
    max_bill_age_days: int | None = None
    excluded_items: list[str] = Field(default_factory=list, description="e.g. alcohol, tobacco")


_SYSTEM = (
    "You turn a company's expense policy into JSON rules. Use only what the policy states; leave a field "
    "null or false when the policy does not say it. Amounts are plain numbers in the policy's currency "
    "(INR 6000/- -> 6000; ₹1,50,000 -> 150000); a category whose amounts are in another currency gives its "
    "ISO code in its own `currency`. Use these category ids where they fit: "
    + ", ".join(sorted(CATEGORY_SYNONYMS))
    + ". Answer with the JSON object only."
)


def _amount(value: float | None, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PolicyLLMError(f"{what} is not a number: {value!r}") from None
    if amount < 0 or not amount.is_finite():
        raise PolicyLLMError(f"{what} must be a non-negative number, got {value!r}")
    return money2(amount)


def _iso_currency(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise PolicyLLMError(f"{what} {value!r} is not an ISO 4217 code")
    return code


def to_policy_rules(answer: LLMPolicy, *, parser: str) -> PolicyRules:
    currency = _iso_currency(answer.currency, "currency") or "INR"
    merged: dict[str, CategoryRule] = {}
    for cat in answer.categories:
        cid = canonical_category(cat.id or cat.label)
        if not cid:
            continue
        own = _iso_currency(cat.currency, f"{cid}.currency")
        own = None if own == currency else own  # as the offline parser: set only when it differs
        rule = merged.get(cid)
        if rule is None:
            rule = merged[cid] = CategoryRule(id=cid, label=cat.label or cid.replace("_", " "), currency=own)
        elif rule.currency != own:
            # two entries of one category in different currencies: their limits cannot be compared
            raise PolicyLLMError(f"category {cid!r} has limits in several currencies ({rule.currency or currency}, {own or currency})")
        for attr in ("per_bill_limit", "per_day_limit", "per_month_limit"):
            value = _amount(getattr(cat, attr), f"{cid}.{attr}")
            if value is not None:
                current = getattr(rule, attr)
                setattr(rule, attr, value if current is None else min(current, value))
        rule.per_km_rate = _amount(cat.per_km_rate, f"{cid}.per_km_rate") or rule.per_km_rate
        rule.approval_above = _amount(cat.approval_above, f"{cid}.approval_above") or rule.approval_above
        rule.actuals |= cat.actuals
        rule.whichever_is_lower |= cat.whichever_is_lower
        rule.requires_approval |= cat.requires_approval
        rule.not_reimbursable |= cat.not_reimbursable
        if cat.day_unit == "night":
            rule.day_unit = "night"
        if cat.source and cat.source not in rule.sources:
            rule.sources.append(cat.source)
    if not merged:
        raise PolicyLLMError("the answer lists no expense categories")
    age = answer.max_bill_age_days
    if age is not None and age <= 0:
        raise PolicyLLMError(f"max_bill_age_days must be positive, got {age}")
    items = sorted({i.strip().lower() for i in answer.excluded_items if i and i.strip()})
    return PolicyRules(
        currency=currency,
        categories=[merged[k] for k in sorted(merged)],
        receipts_required=answer.receipts_required,
        bills_in_claim_month=answer.bills_in_claim_month,
        max_bill_age_days=age,
        excluded_items=items,
        parser=parser,
    )


def parse_policy_with_llm(llm: Any, text: str, *, retries: int = 2) -> PolicyRules:
    """Ask the LLM for the rules; raise PolicyLLMError / ProviderError when that fails."""
    from framework.llm import complete_json

    messages = [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": f"<policy>\n{text[:60000]}\n</policy>"},
    ]
    answer = complete_json(llm, messages, LLMPolicy, retries=retries)
    model = getattr(llm, "model", None) or "llm"
    return to_policy_rules(answer, parser=f"llm:{model}")
