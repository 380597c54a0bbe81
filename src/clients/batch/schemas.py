"""Typed records of the expense job: the policy, the employee folder, one bill's fields, its
validation and its decision, and the summaries.

Money is `Decimal` everywhere (rounded to two places by `money2`); dates are `datetime.date`;
JSON is produced only at the edge (`output.py`).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# One evidence type for the reader and the job's record (confidence 0..1 and the source line).
from clients.batch.bill import FieldEvidence

Decision = Literal["APPROVED", "REJECTED", "NEEDS_REVIEW"]
Status = Literal["processed", "failed"]
CheckStatus = Literal["ok", "mismatch", "not_checked"]

CENT = Decimal("0.01")


def money2(value: Decimal | int | str | None) -> Decimal | None:
    """Round a money amount to two places (half up), keeping None as None."""
    if value is None:
        return None
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- policy --------------------------------------------------------------------------------


class CategoryRule(BaseModel):
    """What the policy says about one expense category. Limits are in `PolicyRules.currency`."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(description="short snake_case name, e.g. cab, meals, hotel")
    label: str = Field("", description="the category as the policy names it")
    per_bill_limit: Decimal | None = Field(None, description="maximum reimbursed for one bill")
    per_day_limit: Decimal | None = Field(None, description="maximum per calendar day (also 'per night')")
    per_month_limit: Decimal | None = Field(None, description="maximum per calendar month")
    per_km_rate: Decimal | None = Field(None, description="amount per kilometre travelled")
    actuals: bool = Field(False, description="reimbursed at actuals (the amount on the bill)")
    whichever_is_lower: bool = Field(False, description="'actuals or X, whichever is lower'")
    requires_approval: bool = Field(False, description="needs prior approval: always reviewed")
    approval_above: Decimal | None = Field(None, description="bills above this amount need approval")
    not_reimbursable: bool = Field(False, description="the policy excludes this category")
    day_unit: Literal["day", "night"] = "day"
    currency: str | None = Field(
        None, description="ISO 4217 code of this category's limits when it differs from the policy's currency"
    )
    sources: list[str] = Field(default_factory=list, description="policy sentences this rule came from")


class PolicyRules(BaseModel):
    model_config = ConfigDict(extra="ignore")

    currency: str = Field("INR", description="ISO 4217 code the limits are expressed in")
    categories: list[CategoryRule] = Field(default_factory=list)
    receipts_required: bool = False
    bills_in_claim_month: bool = Field(False, description="bills must be dated within the claim month")
    max_bill_age_days: int | None = Field(None, description="bills older than this are not reimbursed")
    excluded_items: list[str] = Field(default_factory=list, description="e.g. alcohol, tobacco")
    general_sources: list[str] = Field(default_factory=list)
    parser: str = Field("", description="which reader produced these rules")
    warnings: list[str] = Field(default_factory=list)

    def category(self, category_id: str | None) -> CategoryRule | None:
        if not category_id:
            return None
        for rule in self.categories:
            if rule.id == category_id:
                return rule
        return None


# --- employee folders ----------------------------------------------------------------------


class EmployeeContext(BaseModel):
    model_config = ConfigDict(frozen=True)

    emp_id: str | None = None
    emp_name: str | None = None
    claim_month: int | None = Field(None, ge=1, le=12)
    claim_year: int | None = None
    claim_year_inferred: bool = Field(False, description="the year came from the bill dates")
    client: str | None = None

    @property
    def employee_key(self) -> str:
        """Caps are counted per employee: by id when the folder names one."""
        return (self.emp_id or self.emp_name or "").lower()


# --- one bill ------------------------------------------------------------------------------


class ItemError(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: str
    message: str


class ExclusionHit(BaseModel):
    """A policy-excluded item (alcohol, tobacco ...) named on a line of the bill."""

    model_config = ConfigDict(frozen=True)

    item: str
    term: str
    source_line: str
    amount: Decimal | None = None


class ExtractedFields(BaseModel):
    """The bill reader's answer in the job's own stable shape (mirrors `clients.batch.bill.Bill`)."""

    bill_type: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    date: dt.date | None = None
    vendor: str | None = None
    bill_number: str | None = None
    person_name: str | None = None
    pickup: str | None = None
    drop: str | None = None
    distance_km: Decimal | None = None
    nights: int | None = Field(None, description="nights of a hotel stay, when the bill prints them")
    evidence: dict[str, FieldEvidence] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)
    extractor: str = ""

    def confidence(self, field: str) -> float | None:
        ev = self.evidence.get(field)
        return ev.confidence if ev else None


class DocumentInfo(BaseModel):
    file_type: str = ""
    pages: int = 0
    methods: list[str] = Field(default_factory=list)
    ocr_confidence: float | None = None


class BillRecord(BaseModel):
    """What the per-bill worker returns and the cache stores: everything that depends on the
    bill alone. Decisions that depend on other bills are made later, by the coordinator."""

    key: str
    sha256: str
    reader: str = ""
    document: DocumentInfo = Field(default_factory=DocumentInfo)
    fields: ExtractedFields | None = None
    exclusions: list[ExclusionHit] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    error: ItemError | None = None
    cacheable: bool = True


class NameCheck(BaseModel):
    status: CheckStatus = "not_checked"
    expected: str | None = None
    found: str | None = None
    score: float | None = None


class ClaimMonthCheck(BaseModel):
    status: CheckStatus = "not_checked"
    expected: str | None = None
    found: str | None = None
    alternative: str | None = Field(
        None, description="an ambiguous date (05/10) read the other way round falls in the claim month"
    )


class AgeCheck(BaseModel):
    status: CheckStatus = "not_checked"
    age_days: int | None = None
    max_days: int | None = None


class AddressCheck(BaseModel):
    status: CheckStatus = "not_checked"
    client: str | None = None
    matched_address: str | None = None
    score: float | None = None
    note: str | None = None


class DuplicateCheck(BaseModel):
    status: Literal["unique", "duplicate", "not_checked"] = "not_checked"
    duplicate_of: str | None = None
    basis: Literal["same_file", "same_vendor_date_amount"] | None = None


class Validation(BaseModel):
    claim_month: ClaimMonthCheck = Field(default_factory=ClaimMonthCheck)
    bill_age: AgeCheck = Field(default_factory=AgeCheck)
    employee_name: NameCheck = Field(default_factory=NameCheck)
    client_address: AddressCheck = Field(default_factory=AddressCheck)
    duplicate: DuplicateCheck = Field(default_factory=DuplicateCheck)
    category: str | None = Field(None, description="the policy category this bill falls under (null: none)")


class BillDecision(BaseModel):
    decision: Decision
    reason: str
    rule_ids: list[str] = Field(default_factory=list)
    claimed_amount: Decimal | None = None
    approved_amount: Decimal | None = None


class BillResult(BaseModel):
    file_name: str
    sha256: str
    status: Status
    bill_type: str | None
    extracted: ExtractedFields | None
    document: DocumentInfo
    exclusions: list[ExclusionHit] = Field(default_factory=list)
    validation: Validation
    decision: BillDecision
    error: ItemError | None = None
    warnings: list[str] = Field(default_factory=list)


class Summary(BaseModel):
    approved: int = 0
    rejected: int = 0
    needs_review: int = 0
    failed: int = 0
    total: int = 0
    currency: str = "INR"
    claimed_amount: Decimal = Decimal("0.00")
    approved_amount: Decimal = Decimal("0.00")

    def add(self, result: BillResult) -> None:
        self.total += 1
        if result.status == "failed":
            self.failed += 1
        elif result.decision.decision == "APPROVED":
            self.approved += 1
        elif result.decision.decision == "REJECTED":
            self.rejected += 1
        else:
            self.needs_review += 1
        same_currency = result.extracted is not None and result.extracted.currency == self.currency
        if same_currency and result.decision.claimed_amount is not None:
            self.claimed_amount = money2(self.claimed_amount + result.decision.claimed_amount)
        if same_currency and result.decision.approved_amount is not None:
            self.approved_amount = money2(self.approved_amount + result.decision.approved_amount)

    def merge(self, other: "Summary") -> None:
        self.approved += other.approved
        self.rejected += other.rejected
        self.needs_review += other.needs_review
        self.failed += other.failed
        self.total += other.total
        self.claimed_amount = money2(self.claimed_amount + other.claimed_amount)
        self.approved_amount = money2(self.approved_amount + other.approved_amount)


class FolderResult(BaseModel):
    folder_name: str
    employee_context: EmployeeContext
    results: list[BillResult]
    summary: Summary


class RunIssue(BaseModel):
    """A refused input that is not a bill (an unsafe ZIP entry, a nested archive too deep)."""

    model_config = ConfigDict(frozen=True)

    type: str
    name: str
    message: str
    source: str = ""


class RunSummary(Summary):
    folders: int = 0
    errors: int = Field(0, description="refused inputs that are not bills (see the 'errors' list)")
