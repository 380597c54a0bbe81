"""Coffee, chai, tea, Subway, Starbucks, Cafe Coffee Day and bakery bills are meals (they used
to fall below the classifier's threshold and go to review as `other`), without pulling cab,
hotel, flight or grocery bills over to meals."""

from __future__ import annotations

import pytest

from clients.batch.categories import canonical_category
from clients.batch.classify import classify_bill
from clients.batch.extract import extract_bill
from clients.batch.policy_parser import parse_policy_text

MEALS = {
    "coffee": "Brew Point\nDate: 05/10/2024\nCappuccino 1 180.00\nTotal Rs 180.00",
    "coffee_roasters": "Third Wave Coffee Roasters\nDate: 05/10/2024\nAmericano 220.00\nTotal 220.00",
    "chai_chain": "Chai Point\nDate: 05/10/2024\nMasala chai x2 60.00\nTotal Rs 60.00",
    "tea_stall": "Ramu Tea Stall\n05/10/2024\nCutting chai 2 x 15\nTotal 30",
    "tea": "Tea Villa Cafe\nDate: 05/10/2024\nGreen tea 150.00\nTotal 150.00",
    "subway": "SUBWAY\nStore #41122\nDate: 05/10/2024\n6 inch Veggie Delite 210.00\nTotal Rs 210.00",
    "subway_footlong": "Subway\nDate 05/10/2024\nFootlong Chicken Teriyaki 1 399.00\nGST 19.95\nTotal 418.95",
    "subway_store": "SUBWAY #4411\n05/10/2024\nCombo 1 349.00\nTotal 349.00",
    "starbucks": "STARBUCKS\nTata Starbucks Pvt Ltd\n05/10/2024\nJava Chip Frappuccino 1 345.00\nTotal 345.00",
    "cafe_coffee_day": "Cafe Coffee Day\nDate: 05/10/2024\nCafe Frappe 1 170.00\nTotal 170.00",
    "ccd": "CCD\nCoffee Day Global Ltd\n05/10/2024\nLatte 150.00\nTotal 150.00",
    "bakery": "Iyengar Bakery\nDate: 05/10/2024\nVeg puff 2 x 25.00\nTotal 50.00",
    "patisserie": "Theobroma\n05/10/2024\nBrownie 1 120.00\nTotal 120.00",
    "snacks": "Sharma Snacks Corner\n05/10/2024\nSamosa 2 40.00\nTotal 40.00",
    "juice": "Fresh Juice Centre\n05/10/2024\nOrange juice 80.00\nTotal 80.00",
    "beverages": "Sri Krishna Beverages\n05/10/2024\nCold coffee 90\nTotal 90",
    "costa": "Costa Coffee\n05/10/2024\nFlat white 250\nTotal 250",
    "donuts": "Dunkin Donuts\n05/10/2024\nDonut 2 x 80\nTotal 160",
}

NOT_MEALS = {
    "cab_from_a_cafe": ("City Taxi Service\nPickup: Starbucks, Indiranagar\nDrop: Airport\nDriver: Ramesh\nFare 650.00",
                        "cab"),
    "cab_to_a_subway_station": ("Meru Cabs\nPickup: Home\nDrop: MG Road Subway Station\nTotal 300", "cab"),
    "hotel_with_tea": ("Hotel Lotus Residency\nRoom charges 2 nights 6000\nTea/Coffee 120\nCheck-in 03/10/2024\n"
                       "Total 6120", "lodging"),
    "flight_with_beverages": ("IndiGo\nPNR: X7K9QZ\nFlight 6E 2134\nBeverages 150\nTotal 5150", "travel"),
    "grocery": ("More Supermarket\nBread 45\nBiscuits 30\nRice 5kg 350\nTotal 425", "other"),
    "hardware": ("ACME Hardware\nHammer 1 250.00\nTotal 250.00", "other"),
}


@pytest.mark.parametrize("name", sorted(MEALS))
def test_cafe_tea_bakery_and_snack_bills_are_meals(name):
    category, confidence, line = classify_bill(MEALS[name])
    assert category == "meals", (name, category)
    assert confidence >= 0.5 and line in MEALS[name]
    # and the policy's own name for meals is used, as for any meals bill
    assert classify_bill(MEALS[name], ["Local Conveyance", "Meals", "Hotel"])[0] == "Meals"


@pytest.mark.parametrize("name", sorted(NOT_MEALS))
def test_other_bills_keep_their_category(name):
    text, expected = NOT_MEALS[name]
    assert classify_bill(text)[0] == expected


def test_the_bill_reader_labels_them_meals():
    bill = extract_bill(MEALS["subway"], categories=["cab", "meals", "hotel"])
    assert (bill.bill_type, str(bill.amount)) == ("meals", "210.00")


@pytest.mark.parametrize("label", ["coffee", "Cafe", "Tea Stall", "Bakery", "beverages", "snacks", "F&B", "Juice bar"])
def test_reader_labels_map_to_meals_on_the_bill_side(label):
    assert canonical_category(label, ["cab", "meals", "hotel"]) == "meals"


def test_policy_sentences_about_drinks_are_not_rules_about_meals():
    rules = parse_policy_text(
        "Meals up to Rs 1,000 per day. Alcoholic beverages are not reimbursable. Tea and coffee are not reimbursable.\n"
    )
    meals = next(c for c in rules.categories if c.id == "meals")
    assert not meals.not_reimbursable
    assert "alcohol" in rules.excluded_items
