import pytest

from clients.batch.classify import canonical_category, classify_bill


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Uber\nThanks for riding, Arjun\nTotal ₹ 412.37", "cab"),
        ("Ola\nCRN 1234567890\nRide Date: 02/04/2024\nTotal Bill ₹ 228.00", "cab"),
        ("Rapido\nBike Taxi\nTotal Amount ₹ 98.00", "cab"),
        ("City Taxi Service\nPickup: MG Road\nDrop: Airport\nFare 450.00", "cab"),
        ("Swiggy\nOrder ID: 1678\nItem Total ₹ 520.00", "meals"),
        ("zomato\nOrder #4455\nGrand Total ₹ 381.85", "meals"),
        ("Annapoorna Restaurant, Coimbatore\nMeals thali 2 x 350.00 700.00\nGrand Total 1,180.00", "meals"),
        ("Starbucks Coffee\nCaffe Latte 1 310.00\nTotal 310.00", "meals"),
        ("INDIAN OIL\nProduct: PETROL\nRate (Rs/L): 102.86\nVolume (L): 24.30\nAmount: 2500.00", "fuel"),
        ("HIGH FIVE ENTERPRISE\n43.40 LITRE PUMP # 11\nFUELSAVE 95 RM 95.48", "fuel"),
        ("SECURE PARKING CORPORATION S/B\nENTRY TIME : 14:59\nPARKING FEE RM 0.94", "parking"),
        ("Hotel Sagar Residency, Pune\nRoom 5 nights x 21,186.44\nTotal Rs. 1,25,000/-", "lodging"),
        ("IndiGo\nPNR: X7K9QZ\nFlight 6E 2134 BLR-DEL\nBoarding pass", "travel"),
        ("IRCTC\nTrain 12627 Karnataka Exp\nPassenger: A Kumar", "travel"),
        ("ACME Hardware\nHammer 1 250.00\nTotal 250.00", "other"),
    ],
)
def test_builtin_categories(text: str, category: str) -> None:
    got, confidence, line = classify_bill(text)
    assert got == category
    assert 0.0 <= confidence <= 1.0
    if category != "other":
        assert line is not None and line in text


def test_brand_is_the_evidence_line() -> None:
    category, confidence, line = classify_bill("Thanks for riding with Uber\nTotal 250.00")
    assert category == "cab" and line == "Thanks for riding with Uber" and confidence > 0.6


def test_policy_category_aliases() -> None:
    assert canonical_category("Local Conveyance") == "cab"
    assert canonical_category("Meals") == "meals"
    assert canonical_category("Hotel Stay") == "lodging"
    assert canonical_category("Fuel") == "fuel"
    assert canonical_category("Internet") is None


def test_policy_names_are_used_when_they_map_to_one_builtin() -> None:
    policy = ["Local Conveyance", "Meals", "Internet"]
    assert classify_bill("Uber\nTrip fare ₹ 120.00", policy)[0] == "Local Conveyance"
    assert classify_bill("Swiggy\nOrder Total ₹ 300", policy)[0] == "Meals"


def test_policy_category_without_builtin_counterpart_competes_with_its_words() -> None:
    text = "ACT Fibernet\nBroadband plan 100 Mbps\nInternet charges for March\nTotal ₹ 1,179.00"
    assert classify_bill(text, ["Meals", "Internet"])[0] == "Internet"
    assert classify_bill(text)[0] == "other"


def test_indian_hotel_restaurant_name_is_meals_not_lodging():
    # C20's meal bill: "Hotel Saravana Bhavan" is a restaurant chain; "Bhavan" outweighs "Hotel"
    category, _, _ = classify_bill("Hotel Saravana Bhavan\nDate: 13/04/2024\nTotal    INR 420.00")
    assert category == "meals"
    lodging, _, _ = classify_bill("Hotel Taj\nRoom 203\nCheck-in 12/04/2024\nNights 2\nTotal 9000.00")
    assert lodging == "lodging"
