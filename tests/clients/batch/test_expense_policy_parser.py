"""The offline policy parser on the sentences expense policies are written in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clients.batch.policy_parser import parse_policy_text, split_sentences
from tests.clients.batch.expense_helpers import category_of as _cat


@pytest.mark.parametrize(
    ("sentence", "cid", "attr", "expected"),
    [
        ("Meals up to INR 1,200 per day.", "meals", "per_day_limit", "1200.00"),
        ("Meals: up to Rs 1,500 per day.", "meals", "per_day_limit", "1500.00"),
        ("Food allowance of ₹1,50,000 per month.", "meals", "per_month_limit", "150000.00"),
        ("Hotels up to INR 30,000 per night.", "hotel", "per_day_limit", "30000.00"),
        ("Hotel accommodation: ₹3,500/night in metro cities.", "hotel", "per_day_limit", "3500.00"),
        ("Mobile phone bills reimbursed up to Rs 1000/- per month.", "phone", "per_month_limit", "1000.00"),
        ("Own vehicle: Rs 9 per km.", "mileage", "per_km_rate", "9.00"),
        ("Taxi fares: maximum Rs. 500 per trip.", "cab", "per_bill_limit", "500.00"),
        ("Breakfast is capped at INR 250/- per meal.", "meals", "per_bill_limit", "250.00"),
        ("Internet: monthly limit of Rs 800.", "internet", "per_month_limit", "800.00"),
        ("Lodging up to 2.5 lakh per month.", "hotel", None, None),  # no currency marker: not read
        ("Meals up to INR 2,000 daily.", "meals", "per_day_limit", "2000.00"),
        ("Daily meal allowance: Rs 600", "meals", "per_day_limit", "600.00"),
        ("Fuel: INR 3,000 monthly.", "fuel", "per_month_limit", "3000.00"),
        ("Meals up to 1,200 INR per day.", "meals", "per_day_limit", "1200.00"),
    ],
)
def test_limits_and_periods(sentence, cid, attr, expected):
    rules = parse_policy_text(sentence)
    if attr is None:
        assert rules.category(cid) is None or all(
            getattr(rules.category(cid), a) is None for a in ("per_bill_limit", "per_day_limit", "per_month_limit")
        )
        return
    assert getattr(_cat(rules, cid), attr) == Decimal(expected)


def test_actuals_or_cap_whichever_is_lower_with_per_km():
    rules = parse_policy_text("Cab: Rs 12 per km, actuals or INR 6000/- per month whichever is lower.")
    cab = _cat(rules, "cab")
    assert cab.per_km_rate == Decimal("12.00")
    assert cab.per_month_limit == Decimal("6000.00")
    assert cab.actuals and cab.whichever_is_lower
    assert cab.sources == ["Cab: Rs 12 per km, actuals or INR 6000/- per month whichever is lower."]


def test_two_categories_in_one_sentence_get_their_own_amounts():
    rules = parse_policy_text("Meals up to Rs. 500 per meal and hotels up to ₹3,500 per night.")
    assert _cat(rules, "meals").per_bill_limit == Decimal("500.00")
    assert _cat(rules, "meals").per_day_limit is None
    assert _cat(rules, "hotel").per_day_limit == Decimal("3500.00")
    assert _cat(rules, "hotel").day_unit == "night"


def test_flags_shared_by_a_list_of_categories():
    rules = parse_policy_text("Flights and trains at actuals. Foreign travel at actuals with approval.")
    assert _cat(rules, "flight").actuals and _cat(rules, "train").actuals
    foreign = _cat(rules, "foreign_travel")
    assert foreign.actuals and foreign.requires_approval
    assert not _cat(rules, "flight").requires_approval


def test_general_rules():
    text = (
        "Alcohol and tobacco are not reimbursable. Original bills are mandatory.\n"
        "Bills must fall within the claim month. Bills older than 60 days will not be accepted."
    )
    rules = parse_policy_text(text)
    assert rules.excluded_items == ["alcohol", "tobacco"]
    assert rules.receipts_required and rules.bills_in_claim_month
    assert rules.max_bill_age_days == 60
    assert rules.categories == []  # no category invented from "alcohol"


def test_exclusion_inside_a_category_sentence_does_not_ban_the_category():
    rules = parse_policy_text("Meals up to Rs 800 per day, excluding alcohol.")
    meals = _cat(rules, "meals")
    assert meals.per_day_limit == Decimal("800.00") and not meals.not_reimbursable
    assert rules.excluded_items == ["alcohol"]


def test_category_not_reimbursable_and_approval_threshold():
    rules = parse_policy_text("Laundry is not reimbursable. Cab fares above Rs 5,000 need prior approval.")
    assert _cat(rules, "laundry").not_reimbursable
    cab = _cat(rules, "cab")
    assert cab.approval_above == Decimal("5000.00")
    assert not cab.requires_approval and cab.per_bill_limit is None


def test_headings_bullets_and_wrapped_lines():
    text = (
        "TRAVEL & EXPENSE POLICY\n\n"
        "Meals\n"
        "- daily limit: INR 800\n"
        "- receipts are mandatory\n\n"
        "3. Hotel stay up to INR 4,000\n"
        "per night in metro cities.\n"
        "Submission: bills must be submitted within 2 months.\n"
    )
    rules = parse_policy_text(text)
    assert _cat(rules, "meals").per_day_limit == Decimal("800.00")
    assert _cat(rules, "hotel").per_day_limit == Decimal("4000.00")
    assert rules.receipts_required
    assert rules.max_bill_age_days == 60


def test_unplaced_amounts_are_reported_not_guessed():
    rules = parse_policy_text("Anything else up to Rs 300 per day.")
    assert rules.categories == []
    assert any("without a category" in w for w in rules.warnings)


def test_title_line_naming_a_category_makes_no_rule():
    rules = parse_policy_text("Zenith Consulting - Travel and Expense Policy (2024)\nMeals up to Rs 500 per day.")
    assert [c.id for c in rules.categories] == ["meals"]


def test_currency_of_the_policy():
    rules = parse_policy_text("Meals up to USD 50 per day. Hotels up to USD 200 per night.")
    assert rules.currency == "USD"
    assert parse_policy_text("No amounts here.", default_currency="EUR").currency == "EUR"


def test_sentence_split_keeps_rs_dot_and_decimals():
    sentences = [s for s, _ in split_sentences("Meals up to Rs. 12.50 per km. Hotels at actuals.")]
    assert sentences == ["Meals up to Rs. 12.50 per km.", "Hotels at actuals."]


def test_stricter_of_two_limits_wins():
    rules = parse_policy_text("Meals up to Rs 1,000 per day. Meals: maximum INR 800 per day for juniors.")
    assert _cat(rules, "meals").per_day_limit == Decimal("800.00")


def test_a_table_names_its_currency_once_in_the_header():
    # how DocumentProcessor renders a .docx table (C08): " | " between cells, a nested table's
    # title on its own line; the currency is only in the header
    text = (
        "Acme Travel Policy v3\n\nCategory | Limit (INR)\nHotel | 4,000 per night\nMeals | 1,200 per day\n"
        "Local travel\nAirport taxi | 1,500 per trip\n\nVisa fees 2,000 are reimbursed."
    )
    rules = parse_policy_text(text)
    limits = {c.id: (c.per_day_limit, c.day_unit, c.per_bill_limit) for c in rules.categories}
    assert limits == {
        "hotel": (Decimal("4000.00"), "night", None),
        "meals": (Decimal("1200.00"), "day", None),
        "cab": (None, "day", Decimal("1500.00")),
    }
    # after the table (a blank line) a bare number is not money any more: no visa rule
    assert rules.currency == "INR" and rules.warnings == []


def test_a_table_cell_with_its_own_currency_is_left_alone():
    rules = parse_policy_text("Item | Limit (INR)\nHotel | USD 200 per night\nMeals | 1,000 per day")
    assert [(c.id, c.per_day_limit) for c in rules.categories] == [("hotel", Decimal("200.00")), ("meals", Decimal("1000.00"))]
    assert rules.warnings == ["the policy mixes currencies ['INR', 'USD']; each category's limits keep their own currency"]
    assert {c.id: c.currency for c in rules.categories} == {"hotel": "USD", "meals": None}
