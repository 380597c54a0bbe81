"""The typed result of reading one bill: what it says, how sure we are, and where it said it.

Every extracted field carries a `FieldEvidence` (confidence 0..1 and the source line) under the
field's name in `evidence`, so a reviewer or the policy engine can see why a value was taken and
the engine can send low-confidence bills to review instead of deciding on them.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Flags the reader may raise; the policy engine keys review decisions off these names.
FLAG_AMOUNT_NOT_FOUND = "amount_not_found"
FLAG_LOW_CONFIDENCE_AMOUNT = "low_confidence_amount"
FLAG_DATE_NOT_FOUND = "date_not_found"
FLAG_AMBIGUOUS_DATE = "ambiguous_date"
FLAG_FUTURE_DATE = "future_date"
FLAG_CURRENCY_ASSUMED = "currency_assumed"
FLAG_RUPEE_SIGN_MISREAD = "rupee_sign_misread"  # a leading 2/7/f/% was dropped from the total
FLAG_VENDOR_NOT_FOUND = "vendor_not_found"
FLAG_EMPTY_TEXT = "empty_text"

BILL_FIELDS = ("bill_type", "amount", "currency", "date", "vendor", "bill_number", "person_name",
               "pickup", "drop", "distance_km")


class FieldEvidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    confidence: float = Field(ge=0.0, le=1.0)
    source_line: str | None = None


class Bill(BaseModel):
    bill_type: str = "other"
    amount: Decimal | None = None
    currency: str | None = None
    date: datetime.date | None = None
    vendor: str | None = None
    bill_number: str | None = None
    person_name: str | None = None
    pickup: str | None = None
    drop: str | None = None
    distance_km: Decimal | None = None
    evidence: dict[str, FieldEvidence] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)
    extractor: str = ""

    @field_validator("amount", "distance_km")
    @classmethod
    def _two_places(cls, v: Decimal | None) -> Decimal | None:
        return None if v is None else Decimal(v).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @field_validator("currency")
    @classmethod
    def _iso_code(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip().upper()
        if len(v) != 3 or not v.isalpha():
            raise ValueError(f"currency must be an ISO 4217 code like 'INR', got {v!r}")
        return v

    def confidence(self, field: str) -> float:
        """The confidence of one field; 0.0 when it was not found."""
        ev = self.evidence.get(field)
        return ev.confidence if ev is not None else 0.0
