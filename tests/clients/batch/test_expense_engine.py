"""The deterministic engine: caps across bills in date order, review triggers, exclusions."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal

from clients.batch.engine import decide_batch
from clients.batch.policy_parser import parse_policy_text
from clients.batch.schemas import (
    ClaimMonthCheck,
    DuplicateCheck,
    ExclusionHit,
    ItemError,
    NameCheck,
    Validation,
)
from tests.clients.batch.expense_helpers import fields, item

POLICY = parse_policy_text(
    "Meals up to Rs 1,000 per day. Cab: actuals or INR 2,000/- per month, whichever is lower.\n"
    "Hotels up to INR 4,000 per night. Own vehicle: Rs 10 per km. Flights at actuals with prior approval.\n"
    "Bills must fall within the claim month. Alcohol is not reimbursable. Laundry is not reimbursable.\n"
)


def test_per_day_cap_applies_in_date_order_not_file_order():
    items = [
        item("f/c.txt", fields("700.00", "2024-10-05")),  # same day, later file name
        item("f/a.txt", fields("600.00", "2024-10-05")),
        item("f/b.txt", fields("300.00", "2024-10-04")),  # an earlier day, decided first
    ]
    d = decide_batch(items, POLICY)
    assert d["f/b.txt"].approved_amount == Decimal("300.00")
    assert d["f/a.txt"].approved_amount == Decimal("600.00")
    assert d["f/c.txt"].decision == "APPROVED" and d["f/c.txt"].approved_amount == Decimal("400.00")
    assert d["f/c.txt"].claimed_amount == Decimal("700.00")
    assert "meals.per_day" in d["f/c.txt"].rule_ids and "600.00 already approved" in d["f/c.txt"].reason


def test_day_used_up_rejects_and_consumes_nothing():
    items = [item("f/a.txt", fields("1000.00", "2024-10-05")), item("f/b.txt", fields("50.00", "2024-10-05"))]
    d = decide_batch(items, POLICY)
    assert d["f/b.txt"].decision == "REJECTED" and d["f/b.txt"].approved_amount == Decimal("0.00")


def test_month_total_never_exceeds_the_cap_whatever_the_input_order():
    rng = random.Random(7)
    items = []
    for n in range(40):
        day = f"2024-10-{rng.randint(1, 28):02d}"
        items.append(item(f"f/cab{n:02d}.txt", fields(f"{rng.randint(50, 400)}.{rng.randint(0, 99):02d}", day, bill_type="cab")))
    for attempt in range(3):
        rng.shuffle(items)
        d = decide_batch(items, POLICY)
        approved = sum((x.approved_amount or Decimal(0)) for x in d.values())
        assert approved == Decimal("2000.00")
        if attempt == 0:
            first = {k: v.model_dump() for k, v in d.items()}
        else:
            assert {k: v.model_dump() for k, v in d.items()} == first  # order of input does not matter


def test_caps_are_per_employee_and_per_month():
    items = [
        item("a/1.txt", fields("1500.00", "2024-10-05", bill_type="cab"), employee="a"),
        item("a/2.txt", fields("1500.00", "2024-10-06", bill_type="cab"), employee="a"),
        item("a/3.txt", fields("1500.00", "2024-11-01", bill_type="cab"), employee="a"),
        item("b/1.txt", fields("1500.00", "2024-10-05", bill_type="cab"), employee="b"),
    ]
    d = decide_batch(items, POLICY)
    assert d["a/2.txt"].approved_amount == Decimal("500.00")  # 1,500 + 500 = the month's 2,000
    assert "whichever is lower" in d["a/2.txt"].reason
    assert d["a/3.txt"].approved_amount == Decimal("1500.00")  # a new month
    assert d["b/1.txt"].approved_amount == Decimal("1500.00")  # another employee


def test_hotel_nights_multiply_the_per_night_limit_and_fill_the_ledger():
    stay = fields("10080.00", "2024-10-14", bill_type="hotel", nights=2)
    next_day = fields("3000.00", "2024-10-15", bill_type="hotel")
    d = decide_batch([item("f/stay.pdf", stay), item("f/extra.pdf", next_day)], POLICY)
    assert d["f/stay.pdf"].approved_amount == Decimal("8000.00")
    assert d["f/extra.pdf"].decision == "REJECTED"  # 15 Oct is already covered by the stay


def test_a_hotel_bill_above_one_night_without_a_night_count_goes_to_review():
    d = decide_batch([item("f/long.pdf", fields("13500.00", "2024-10-23", bill_type="hotel")),
                      item("f/short.pdf", fields("3500.00", "2024-10-25", bill_type="hotel"))], POLICY)
    assert d["f/long.pdf"].decision == "NEEDS_REVIEW" and "how many nights" in d["f/long.pdf"].reason
    assert d["f/short.pdf"].decision == "APPROVED" and d["f/short.pdf"].approved_amount == Decimal("3500.00")


def test_per_km_rate_caps_by_distance():
    from decimal import Decimal as D

    d = decide_batch(
        [item("f/a.txt", fields("500.00", bill_type="mileage", distance_km=D("30.0"))),
         item("f/b.txt", fields("500.00", bill_type="mileage"))],
        POLICY,
    )
    assert d["f/a.txt"].approved_amount == Decimal("300.00") and "mileage.per_km" in d["f/a.txt"].rule_ids
    assert d["f/b.txt"].decision == "NEEDS_REVIEW" and "distance" in d["f/b.txt"].reason


def test_review_triggers():
    cases = {
        "f/noamount": fields(None, flags=("amount_not_found",)),
        "f/lowamount": fields("999.00", flags=("low_confidence_amount",)),
        "f/nodate": fields("100.00", None, flags=("date_not_found",)),
        "f/eur": fields("100.00", currency="EUR"),
        "f/unknown": fields("100.00", bill_type="other"),
        "f/flight": fields("9000.00", bill_type="flight"),
        "f/gadget": fields("100.00", bill_type="electronics"),
    }
    d = decide_batch([item(k, v, category=v.bill_type if v.bill_type in ("meals", "flight") else None)
                      for k, v in cases.items()], POLICY)
    assert {k: v.decision for k, v in d.items()} == {k: "NEEDS_REVIEW" for k in cases}
    assert d["f/noamount"].reason == "Amount not found on the bill." and d["f/noamount"].claimed_amount is None
    assert d["f/lowamount"].claimed_amount is None  # a misread total is never counted
    assert "prior approval" in d["f/flight"].reason
    assert "'electronics'" in d["f/gadget"].reason


def test_unreadable_bill_is_review_with_its_error():
    d = decide_batch([item("f/x.jpg", None, error=ItemError(type="truncated_image", message="cut short"))], POLICY)
    assert d["f/x.jpg"].decision == "NEEDS_REVIEW" and "truncated_image" in d["f/x.jpg"].reason
    assert d["f/x.jpg"].rule_ids == ["general.readable"]


def test_rejections():
    month = Validation(claim_month=ClaimMonthCheck(status="mismatch", expected="2024-10", found="2024-11"))
    dup = Validation(duplicate=DuplicateCheck(status="duplicate", duplicate_of="f/a.txt", basis="same_file"))
    d = decide_batch(
        [
            item("f/month.txt", fields("100.00", "2024-11-02"), validation=month),
            item("f/dup.txt", fields("100.00"), validation=dup),
            item("f/laundry.txt", fields("100.00", bill_type="laundry")),
        ],
        POLICY,
    )
    assert d["f/month.txt"].decision == "REJECTED" and d["f/month.txt"].rule_ids == ["general.claim_month"]
    assert d["f/dup.txt"].decision == "REJECTED" and "f/a.txt" in d["f/dup.txt"].reason
    assert d["f/laundry.txt"].decision == "REJECTED" and d["f/laundry.txt"].rule_ids == ["laundry.not_reimbursable"]


def test_claim_month_without_policy_rule_goes_to_review():
    lenient = parse_policy_text("Meals up to Rs 1,000 per day.")
    month = Validation(claim_month=ClaimMonthCheck(status="mismatch", expected="2024-10", found="2024-11"))
    d = decide_batch([item("f/a.txt", fields("100.00", "2024-11-02"), validation=month)], lenient)
    assert d["f/a.txt"].decision == "NEEDS_REVIEW"


def test_other_persons_name_and_cross_employee_lookalike_go_to_review():
    name = Validation(employee_name=NameCheck(status="mismatch", expected="Asha", found="Sunil Rao", score=20))
    look = Validation(duplicate=DuplicateCheck(status="duplicate", duplicate_of="b/x.txt", basis="same_vendor_date_amount"))
    d = decide_batch([item("f/a.txt", fields("100.00"), validation=name), item("f/b.txt", fields("100.00"), validation=look)], POLICY)
    assert d["f/a.txt"].decision == "NEEDS_REVIEW" and "Sunil Rao" in d["f/a.txt"].reason
    assert d["f/b.txt"].decision == "NEEDS_REVIEW"
    d = decide_batch([item("f/b.txt", fields("100.00"), validation=look, same_employee_duplicate=True)], POLICY)
    assert d["f/b.txt"].decision == "REJECTED"


def test_excluded_items_are_deducted_or_sent_to_review():
    beer = ExclusionHit(item="alcohol", term="beer", source_line="Beer 2 x 350.00  700.00", amount=Decimal("700.00"))
    vague = ExclusionHit(item="alcohol", term="bar", source_line="Bar counter", amount=None)
    d = decide_batch(
        [
            item("f/dinner.jpg", fields("900.00", "2024-10-01"), exclusions=[beer]),
            item("f/pub.jpg", fields("700.00", "2024-10-02"), exclusions=[beer]),
            item("f/vague.jpg", fields("500.00", "2024-10-03"), exclusions=[vague]),
        ],
        POLICY,
    )
    assert d["f/dinner.jpg"].approved_amount == Decimal("200.00") and "alcohol" in d["f/dinner.jpg"].reason
    assert d["f/pub.jpg"].decision == "REJECTED"
    assert d["f/vague.jpg"].decision == "NEEDS_REVIEW"


def test_reviewed_and_rejected_bills_consume_no_cap():
    name = Validation(employee_name=NameCheck(status="mismatch", expected="A", found="B", score=0))
    d = decide_batch(
        [item("f/a.txt", fields("900.00", "2024-10-05"), validation=name), item("f/b.txt", fields("900.00", "2024-10-05"))],
        POLICY,
    )
    assert d["f/b.txt"].approved_amount == Decimal("900.00")


def test_every_decision_names_its_rules():
    d = decide_batch([item(f"f/{n}.txt", fields("100.00", f"2024-10-{n:02d}")) for n in range(1, 10)], POLICY)
    per_rule = defaultdict(int)
    for decision in d.values():
        assert decision.rule_ids and decision.reason
        for rule in decision.rule_ids:
            per_rule[rule] += 1
    assert per_rule["meals.per_day"] == 9


def test_ambiguous_date_outside_the_claim_month_goes_to_review_not_rejection():
    from clients.batch.schemas import EmployeeContext
    from clients.batch.validation import check_claim_month

    ctx = EmployeeContext(claim_month=10, claim_year=2024)
    may = fields("100.00", "2024-05-10", flags=("ambiguous_date",))
    nov = fields("100.00", "2024-11-03", flags=("ambiguous_date",))  # March 11 is not October either
    items = [item("f/may.txt", may, validation=Validation(claim_month=check_claim_month(may, ctx))),
             item("f/nov.txt", nov, validation=Validation(claim_month=check_claim_month(nov, ctx)))]
    d = decide_batch(items, POLICY)
    assert d["f/may.txt"].decision == "NEEDS_REVIEW" and "2024-10-05" in d["f/may.txt"].reason
    assert d["f/nov.txt"].decision == "REJECTED"
