"""The offline policy parser with conditional limits (grade, city), travel abroad in another
currency, and yearly limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clients.batch.policy_parser import PARSER_NAME, parse_policy_text
from clients.batch.schemas import PolicyRules
from tests.clients.batch.expense_helpers import category_of as _cat

CONDITIONS = "several limits of one kind, the lowest is used (conditions not modelled)"


def _no_category_warnings(rules: PolicyRules) -> list[str]:
    return [w for w in rules.warnings if w.startswith("amount without a category")]


def test_parser_version_was_bumped():
    assert PARSER_NAME == "offline-policy-parser/3"


@pytest.mark.parametrize(
    ("text", "cid", "attr", "expected", "conflict"),
    [
        (
            "Meals: Grade A employees up to Rs 2,000 per day; Grade B employees up to Rs 1,000 per day.",
            "meals", "per_day_limit", "1000.00", "meals.per_day_limit: 1000.00 of 2000.00 and 1000.00",
        ),
        (
            "Hotels: INR 5,000 per night in metro cities; INR 3,000 per night elsewhere.",
            "hotel", "per_day_limit", "3000.00", "hotel.per_day_limit: 3000.00 of 5000.00 and 3000.00",
        ),
        (
            "Cab: up to Rs 800 per trip for grade C, Rs 1,500 for grade D.",
            "cab", "per_bill_limit", "800.00", "cab.per_bill_limit: 800.00 of 800.00 and 1500.00",
        ),
        (  # the same with ";" between the grades
            "Cab: Rs 800 per trip for grade C; Rs 1,500 for grade D.",
            "cab", "per_bill_limit", "800.00", "cab.per_bill_limit: 800.00 of 800.00 and 1500.00",
        ),
        (  # a "Category:" line: its later sentences restating the limit are the category's
            "3. Hotels: INR 5,000 per night in metro cities. INR 3,000 per night elsewhere.",
            "hotel", "per_day_limit", "3000.00", "hotel.per_day_limit: 3000.00 of 5000.00 and 3000.00",
        ),
        (  # a condition label of its own ("Grade B:") is still a condition
            "Meals: up to Rs 1,500 per day; Grade B: up to Rs 1,000 per day.",
            "meals", "per_day_limit", "1000.00", "meals.per_day_limit: 1000.00 of 1500.00 and 1000.00",
        ),
        (  # bullets under a heading (already handled before: kept)
            "Meals\n- Grade A: up to Rs 2,000 per day\n- Grade B: up to Rs 1,000 per day",
            "meals", "per_day_limit", "1000.00", "meals.per_day_limit: 1000.00 of 2000.00 and 1000.00",
        ),
    ],
)
def test_a_conditional_clause_keeps_the_lower_limit_of_its_category(text, cid, attr, expected, conflict):
    rules = parse_policy_text(text)
    assert [c.id for c in rules.categories] == [cid]
    assert getattr(_cat(rules, cid), attr) == Decimal(expected)
    assert f"{CONDITIONS}: {conflict}" in rules.warnings
    assert _no_category_warnings(rules) == []


def test_the_conditional_clause_is_a_source_of_its_category():
    rules = parse_policy_text("Hotels: INR 5,000 per night in metro cities; INR 3,000 per night elsewhere.")
    assert _cat(rules, "hotel").sources == ["Hotels: INR 5,000 per night in metro cities;", "INR 3,000 per night elsewhere."]
    assert _cat(rules, "hotel").day_unit == "night"


@pytest.mark.parametrize(
    "text",
    [
        # a separate sentence on a line not led by "Category:" is not glued to the category
        "Meals up to Rs 1,500 per day. Rs 1,000 per day for trainees.",
        # a clause with a topic label of its own
        "Meals: up to Rs 1,500 per day; Gifts: up to Rs 1,000 per bill.",
        # a clause setting another kind of limit is not a condition on the meals limit
        "Meals: up to Rs 1,500 per day; Visa fees up to Rs 1,000 per bill.",
        # the next line
        "Meals: up to Rs 1,500 per day.\nRs 1,000 per day for trainees.",
    ],
)
def test_a_clause_starting_a_new_topic_is_not_glued_to_the_category_before_it(text):
    rules = parse_policy_text(text)
    meals = _cat(rules, "meals")
    assert (meals.per_day_limit, meals.per_bill_limit) == (Decimal("1500.00"), None)
    assert len(meals.sources) == 1
    assert len(_no_category_warnings(rules)) == 1
    assert not any(w.startswith(CONDITIONS) for w in rules.warnings)


def test_a_clause_naming_its_own_category_is_that_categorys():
    rules = parse_policy_text("Meals: up to Rs 1,500 per day; Hotels up to INR 3,000 per night.")
    assert _cat(rules, "meals").per_day_limit == Decimal("1500.00")
    assert _cat(rules, "hotel").per_day_limit == Decimal("3000.00")
    assert rules.warnings == []


def test_a_general_rule_after_a_semicolon_is_not_the_categorys():
    rules = parse_policy_text("Meals: up to Rs 1,500 per day; Alcohol is not reimbursable.")
    meals = _cat(rules, "meals")
    assert meals.sources == ["Meals: up to Rs 1,500 per day;"] and not meals.not_reimbursable
    assert rules.excluded_items == ["alcohol"]


# --- travel abroad ----------------------------------------------------------------------------

DOMESTIC = "Meals: up to Rs 1,500 per day.\nHotels: up to INR 4,000 per night.\n"


def test_an_international_travel_line_does_not_touch_the_domestic_hotel_rule():
    rules = parse_policy_text(DOMESTIC + "International travel: hotels up to USD 150 per night.")
    hotel = _cat(rules, "hotel")
    assert (hotel.per_day_limit, hotel.currency, hotel.requires_approval) == (Decimal("4000.00"), None, False)
    assert hotel.sources == ["Hotels: up to INR 4,000 per night."]
    foreign = _cat(rules, "foreign_travel")
    assert (foreign.per_day_limit, foreign.currency, foreign.day_unit) == (Decimal("150.00"), "USD", "night")
    assert rules.currency == "INR"
    assert rules.warnings == ["the policy mixes currencies ['INR', 'USD']; each category's limits keep their own currency"]


@pytest.mark.parametrize(
    "line",
    [
        "Overseas travel: meals up to USD 60 per day.",
        "For foreign trips, meals are reimbursed up to USD 60 per day.",
        "Meals abroad up to USD 60 per day.",
    ],
)
def test_a_sentence_about_travel_abroad_is_the_foreign_travel_rule(line):
    rules = parse_policy_text(DOMESTIC + line)
    meals = _cat(rules, "meals")
    assert (meals.per_day_limit, meals.currency, meals.requires_approval) == (Decimal("1500.00"), None, False)
    assert line not in meals.sources
    foreign = _cat(rules, "foreign_travel")
    assert (foreign.per_day_limit, foreign.currency) == (Decimal("60.00"), "USD")


def test_lines_under_an_international_travel_heading_are_the_foreign_travel_rule():
    rules = parse_policy_text(
        "International travel:\n- Hotels up to USD 150 per night\n\nHotels:\n- up to INR 4,000 per night\n"
        "Meals up to Rs 1,500 per day."
    )
    assert (_cat(rules, "hotel").per_day_limit, _cat(rules, "hotel").currency) == (Decimal("4000.00"), None)
    assert (_cat(rules, "foreign_travel").per_day_limit, _cat(rules, "foreign_travel").currency) == (
        Decimal("150.00"), "USD")


def test_home_currency_amounts_in_a_sentence_about_abroad_stay_with_their_category():
    rules = parse_policy_text("Hotels up to INR 4,000 per night in India and USD 150 per night abroad.")
    assert (_cat(rules, "hotel").per_day_limit, _cat(rules, "hotel").currency) == (Decimal("4000.00"), None)
    assert (_cat(rules, "foreign_travel").per_day_limit, _cat(rules, "foreign_travel").currency) == (
        Decimal("150.00"), "USD")


def test_limits_in_two_currencies_are_never_compared():
    rules = parse_policy_text("Meals: INR 1,500 per day or USD 40 per day.\nHotels up to INR 4,000 per night.")
    meals = _cat(rules, "meals")
    # not min(1500, 40): the INR limit is kept for INR bills, a USD bill goes to review (currency)
    assert (meals.per_day_limit, meals.currency, meals.requires_approval) == (Decimal("1500.00"), None, False)
    assert (
        "category 'meals' has limits in several currencies ['INR', 'USD']; its INR limits are used "
        "(not per_day_limit USD 40.00); its bills in other currencies go to review"
    ) in rules.warnings
    assert not any(w.startswith(CONDITIONS) for w in rules.warnings)


def test_a_category_only_in_a_foreign_currency_keeps_it():
    rules = parse_policy_text(
        DOMESTIC + "Flights up to INR 9,000 per trip.\nTaxi: up to EUR 40 per trip; EUR 60 per trip at night."
    )
    assert rules.currency == "INR"
    cab = _cat(rules, "cab")
    assert (cab.per_bill_limit, cab.currency) == (Decimal("40.00"), "EUR")
    assert f"{CONDITIONS}: cab.per_bill_limit: 40.00 of 40.00 and 60.00" in rules.warnings


# --- yearly limits ----------------------------------------------------------------------------


def test_a_yearly_limit_without_a_known_category_is_warned_as_yearly():
    rules = parse_policy_text("Training: up to INR 20,000 per year.")
    assert rules.categories == []
    assert rules.warnings == ["yearly limits are not enforced: 'Training: up to INR 20,000 per year.'"]


@pytest.mark.parametrize(
    "text",
    [
        "Meals: up to Rs 1,500 per day.\nTraining: up to INR 20,000 per year.",
        "Meals: up to Rs 1,500 per day; Training up to INR 20,000 per year.",
        "Meals: up to Rs 1,500 per day. INR 20,000 per year for training.",
        "Meals:\n- up to Rs 1,500 per day\n- Training: up to INR 20,000 per year",
        "## Meals\nUp to Rs 1,500 per day.\nINR 20,000 per annum for conferences.",
    ],
)
def test_a_yearly_sentence_is_never_another_categorys_source(text):
    rules = parse_policy_text(text)
    meals = _cat(rules, "meals")
    assert meals.per_day_limit == Decimal("1500.00")
    assert len(meals.sources) == 1 and "year" not in meals.sources[0] and "annum" not in meals.sources[0]
    assert [w for w in rules.warnings if not w.startswith("yearly limits are not enforced")] == []
    assert len(rules.warnings) == 1


def test_a_yearly_limit_of_a_named_category_is_warned_once():
    rules = parse_policy_text("Meals up to Rs 1,500 per day and INR 50,000 per year.")
    assert _cat(rules, "meals").per_day_limit == Decimal("1500.00")
    assert rules.warnings == ["yearly limits are not enforced: 'Meals up to Rs 1,500 per day and INR 50,000 per year.'"]
