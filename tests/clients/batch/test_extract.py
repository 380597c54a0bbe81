"""extract_bill end to end on bill texts: the C23/C24 cases, Indian cab/food/fuel bills, receipts."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from clients.batch.bill import Bill, FieldEvidence
from clients.batch.extract import EXTRACTOR_VERSION, extract_bill

CASES = Path(__file__).resolve().parents[2] / "fixtures" / "cases"
C23 = CASES / "C23_amount_tokens_inr"
C24 = CASES / "C24_total_vs_subtotal"


def _dec(s: str | None) -> Decimal | None:
    return None if s is None else Decimal(s)


# --- C23: amount tokens in Indian and other formats ------------------------------------------

C23_VARIANTS = [json.loads(line) for line in (C23 / "input" / "ocr_text_variants.jsonl").read_text("utf-8").splitlines()
                if line.strip()]


@pytest.mark.parametrize("variant", C23_VARIANTS, ids=[v["id"] for v in C23_VARIANTS])
def test_c23_ocr_text_variants(variant: dict) -> None:
    bill = extract_bill(variant["ocr_text"])
    assert bill.amount == _dec(variant["expect_amount"])
    if "expect_currency" in variant:
        assert bill.currency == variant["expect_currency"]
    if "expect_flag" in variant:
        assert variant["expect_flag"] in bill.flags


def test_c23_inflated_total_is_never_kept_without_corroboration() -> None:
    bill = extract_bill("Cafe Madras\nDate: 14/03/2024\nTotal    2346.50")
    assert bill.amount is None
    assert "low_confidence_amount" in bill.flags
    assert bill.evidence["amount"].source_line == "Total 2346.50"  # the reviewer sees what was read
    assert bill.evidence["amount"].confidence < 0.5


def test_c23_corroborated_slip_is_repaired_and_flagged() -> None:
    (variant,) = [v for v in C23_VARIANTS if v["id"] == "rupee_as_7"]
    bill = extract_bill(variant["ocr_text"])
    assert bill.amount == Decimal("346.50")
    assert "rupee_sign_misread" in bill.flags
    assert bill.evidence["amount"].source_line == "Total 7346.50"


def test_rupee_slip_is_only_considered_for_rupee_bills() -> None:
    # A ringgit bill "Total 2346.50" is just 2346.50.
    bill = extract_bill("Kedai Runcit\nDate: 14/03/2024\nTotal    2346.50", default_currency="MYR")
    assert bill.amount == Decimal("2346.50") and bill.currency == "MYR"
    # A rupee bill whose total line shows its currency was not misread.
    bill = extract_bill("Cafe Madras\nTotal Rs. 2346.50")
    assert bill.amount == Decimal("2346.50")
    # Corroborated by the payment line.
    bill = extract_bill("Cafe Madras\nTotal 2346.50\nCash 2500.00\nChange 153.50")
    assert bill.amount == Decimal("2346.50")


C23_OCR = json.loads((C23 / "ocr_text.json").read_text("utf-8"))
C23_TRUTH = json.loads((C23 / "case.json").read_text("utf-8"))["truth"]


@pytest.mark.parametrize("name", sorted(C23_TRUTH))
def test_c23_images_as_ocr_read_them(name: str) -> None:
    truth = C23_TRUTH[name]
    bill = extract_bill(C23_OCR[name])
    assert bill.amount == Decimal(truth["amount"])
    assert bill.currency == truth["currency"]
    assert bill.date == date.fromisoformat(truth["date"])


# --- C24: grand total vs subtotal, qty, savings, tendered, change -----------------------------

C24_OCR = json.loads((C24 / "ocr_text.json").read_text("utf-8"))
C24_TRUTH = json.loads((C24 / "case.json").read_text("utf-8"))["truth"]

GRAND_TOTAL = """Annapoorna Restaurant, Coimbatore
Date: 18/04/2024
Total Qty: 3
Meals thali 2 x 350.00            700.00
Sweet lassi 1 x 300.00            300.00
Sub Total                       1,000.00
CGST 9%                            90.00
SGST 9%                            90.00
Total Savings                      50.00
Grand Total                     1,180.00
Cash Tendered                   1,200.00
Change Due                         20.00"""

CUT_OFF = """Annapoorna Restaurant, Coimbatore
Date: 18/04/2024
Total Qty: 3
Meals thali 2 x 350.00            700.00
Sweet lassi 1 x 300.00            300.00
Sub Total                       1,000.00"""

TWO_LINES = """Annapoorna Restaurant, Coimbatore
Date: 19/04/2024
Meals thali 2 x 350.00            700.00
Sweet lassi 1 x 300.00            300.00
Sub Total                       1,000.00
GST 18%                           180.00
TOTAL
                                1,180.00"""


@pytest.mark.parametrize(("name", "text"), [
    ("grand_total_after_tax.png", GRAND_TOTAL),
    ("cut_off_no_total.png", CUT_OFF),
    ("total_label_and_amount_on_two_lines.png", TWO_LINES),
])
def test_c24_typed_texts(name: str, text: str) -> None:
    truth = C24_TRUTH[name]
    bill = extract_bill(text)
    assert bill.amount == _dec(truth["amount"])
    assert bill.date == date.fromisoformat(truth["date"])
    if truth["amount"] is None:
        assert "amount_not_found" in bill.flags
        assert "amount" not in bill.evidence  # nothing was summed into an invented total


@pytest.mark.parametrize("name", sorted(C24_TRUTH))
def test_c24_images_as_ocr_read_them(name: str) -> None:
    truth = C24_TRUTH[name]
    bill = extract_bill(C24_OCR[name])
    assert bill.amount == _dec(truth["amount"])
    assert bill.date == date.fromisoformat(truth["date"])


def test_c24_grand_total_evidence() -> None:
    bill = extract_bill(GRAND_TOTAL)
    ev = bill.evidence["amount"]
    assert ev.source_line == "Grand Total 1,180.00"
    assert ev.confidence >= 0.9  # label, arithmetic (1000 + 90 + 90) and payment (1200 - 20) agree
    assert bill.bill_type == "meals"
    assert bill.vendor == "Annapoorna Restaurant, Coimbatore"


@pytest.mark.parametrize(("text", "expected"), [
    ("Shop\nSubtotal 100.00\nTax 5.00\nTotal 105.00\nTotal Tax 5.00", "105.00"),
    ("Shop\nItems 3\nTotal 45.00\nTip 5.00\nAmount charged 50.00", "50.00"),
    ("Shop\nTOTAL 81.00\nTENDER\nVISA 100.00\nCHANGE 19.00", "81.00"),
    ("Shop\nTotal Saving 0.00 Total 81.00", "81.00"),  # two label/amount pairs on one OCR line
    ("Shop\nITEM COUNT 2 CHANGE AMT 37.75\nSUB-TOTAL 12.25\nTOTAL SALES INCL GST 12.25\nCASH 50.00", "12.25"),
    # a tax summary table after the totals has its own TOTAL row
    ("Shop\nTOTAL : 127.20\nCASH : 127.20\nGST SUMMARY\nSR 6.00 120.00 7.20\nTOTAL : 120.00 7.20", "127.20"),
    # rounding: the rounded figure is what is paid
    ("Shop\nTOTAL SALES (INCLUSIVE GST) RM 98.89\nROUNDING ADJUSTMENT RM .01\nROUNDING RM 98.90\n"
     "CREDIT RM 98.90", "98.90"),
    # OCR read the decimal points of a receipt font as other marks
    ("Shop\nSUB-TOTAL 7.00\nROUNDING -0.02\nTOTAL 7=40\nCASH 8-00\nCHANGE 0:60", "7.40"),
    # no total label, but tendered minus change equals a printed amount
    ("Shop\n1 VEGETABLES 16.00\nSUBTOTAL : 33.80\nTL :RM 33.80\nCASH 50.00\nCASH CHANGE 16.20", "33.80"),
])
def test_total_picking(text: str, expected: str) -> None:
    assert extract_bill(text, default_currency="MYR").amount == Decimal(expected)


@pytest.mark.parametrize(("text", "expected", "currency"), [
    # each grouping style on a whole bill, not just on one token
    pytest.param("Taj Hotel\nDate: 05/04/2024\nGrand Total ₹ 1,23,45,678.00", "12345678.00", "INR", id="crore"),
    pytest.param("Taj Hotel\nDate: 05/04/2024\nNet Amount: 10,00,000", "1000000.00", "INR", id="lakh-no-cents"),
    pytest.param("Dhaba\nDate: 05/04/2024\nTotal Rupees 2,45,000.00 only", "245000.00", "INR", id="rupees-word"),
    pytest.param("Dhaba\nDate: 05/04/2024\nTotal Rs 1 25 000", "125000.00", "INR", id="lakh-spaces"),
    pytest.param("Walmart\nDate: 04/05/2024\nTOTAL $1,234,567.89", "1234567.89", "USD", id="western"),
    pytest.param("Autohaus\nDatum: 05.04.2024\nGesamtbetrag 1.234.567,89 EUR", "1234567.89", "EUR", id="european"),
    pytest.param("Gasthaus\nDatum: 05.04.2024\nSumme EUR 1.234,-", "1234.00", "EUR", id="european-dash-cents"),
    pytest.param("Brasserie\nDate: 05/04/2024\nTotal TTC 1 234,56 €", "1234.56", "EUR", id="french-spaces"),
    pytest.param("Hotel Bern\nDate: 05.04.2024\nTotal CHF 1'234.50", "1234.50", "CHF", id="swiss-apostrophe"),
    pytest.param("Hotel Bern\nDate: 05.04.2024\nTotal CHF 350.-", "350.00", "CHF", id="swiss-dash-cents"),
    pytest.param("Hotel Bern\nDate: 05/04/2024\nTotal USD 1 234.50", "1234.50", "USD", id="spaces-after-currency"),
    pytest.param("Hotel Bern\nDate: 05/04/2024\nTotal 1\u00a0234.50", "1234.50", "INR", id="no-break-space"),
    # space groups without a currency mark: the reading the arithmetic confirms
    pytest.param("Hotel\nDate: 05/04/2024\nSub Total 1 000 000.00\nGST 18% 180 000.00\nGrand Total 1 180 000.00",
                 "1180000.00", "INR", id="spaces-confirmed-by-the-taxes"),
])
def test_every_grouping_style_on_a_bill(text: str, expected: str, currency: str) -> None:
    bill = extract_bill(text)
    assert (bill.amount, bill.currency) == (Decimal(expected), currency)
    assert "low_confidence_amount" not in bill.flags


@pytest.mark.parametrize("text", [
    pytest.param("Cafe\nDate: 05/04/2024\nTotal 3 180.00", id="count-or-thousands"),  # 3,180.00, or 3 items for 180.00?
    pytest.param("Hotel\nDate: 05/04/2024\nTotal 1 234 567.50", id="spaces-unconfirmed"),
    pytest.param("Hotel\nDate: 05/04/2024\nRoom 1 200.00\nTax 34.50\nTotal 1 234.50", id="both-readings-add-up"),
    pytest.param("Autohaus\nDatum: 05.04.2024\nGesamt: 2.500 EUR", id="three-decimals-eur"),  # 2.50 or 2,500?
    pytest.param("Shop\nDate: 04/05/2024\nTotal $1.234", id="three-decimals-usd"),
])
def test_an_amount_that_reads_two_ways_goes_to_review(text: str) -> None:
    """Nothing on these bills says which reading is meant: neither number may decide the claim."""
    bill = extract_bill(text)
    assert bill.amount is None and "low_confidence_amount" in bill.flags
    assert bill.evidence["amount"].source_line  # the reviewer is shown the line


def test_item_lines_are_never_summed_into_a_total() -> None:
    bill = extract_bill("Shop\nTea 2 x 10.00 20.00\nCoffee 1 x 30.00 30.00")
    assert bill.amount is None and "amount_not_found" in bill.flags


# --- Indian bills ----------------------------------------------------------------------------

UBER = """Uber
Thanks for riding, Arjun
Here's your receipt for the ride on 14 March 2024.
Total ₹ 412.37
Trip fare ₹ 380.12
Subtotal ₹ 380.12
Booking fee ₹ 12.00
Tolls, Surcharges, and Fees ₹ 20.25
Paid by UPI ₹ 412.37
You rode with Ramesh
4.82 kilometres | 24 min
UberGo
10:42 AM
12, MG Road, Ashok Nagar, Bengaluru, Karnataka 560001
11:06 AM
Kempegowda International Airport, Devanahalli, Bengaluru 560300"""

OLA = """Ola
CRN 1234567890
Invoice
Customer Name: Priya Sharma
Ride Date: 02/04/2024
Pickup: Koramangala 5th Block, Bengaluru
Drop: Indiranagar 100 Feet Road, Bengaluru
Distance: 7.4 km
Ride Time: 28 min
Base Fare ₹ 100.00
Distance Fare (7.4 km @ ₹12/km) ₹ 88.80
Ride Time Fare ₹ 28.00
Taxes ₹ 10.84
Total Bill (rounded) ₹ 228.00"""

RAPIDO = """Rapido
Bike Taxi
Ride ID: RD17098765432
Date: 20 Mar 2024, 09:15 AM
Captain: Suresh K
Customer: Rahul Verma
Pickup Location
HSR Layout Sector 2, Bengaluru
Drop Location
Electronic City Phase 1, Bengaluru
Distance 11.2 km
Ride Fare ₹ 96.00
Platform Fee ₹ 2.00
Total Amount ₹ 98.00"""

SWIGGY = """Swiggy
Order ID: 167890123456
Order placed at: 14 Mar 2024 08:12 PM
Delivered to: Arjun Mehta
Restaurant: Meghana Foods, Koramangala
Item Total ₹ 520.00
Delivery partner fee ₹ 35.00
Platform fee ₹ 5.00
GST and Restaurant Charges ₹ 31.50
Order Total ₹ 591.50
Paid via UPI"""

ZOMATO = """zomato
Order #4455667788
Restaurant: Burger Singh
Customer: Neha Gupta
Date: 2024-03-15 13:45
Paneer Burger x 2 ₹ 298.00
Fries ₹ 99.00
Subtotal ₹ 397.00
Taxes ₹ 19.85
Delivery charge ₹ 25.00
Discount -₹ 60.00
Grand Total ₹ 381.85"""

FUEL = """INDIAN OIL
COCO Koramangala
Receipt No: 004512
Date: 16/03/2024 Time: 18:42
Nozzle No: 3
Product: PETROL
Rate (Rs/L): 102.86
Volume (L): 24.30
Amount: 2500.00
Vehicle No: KA01AB1234
Thank you! Visit again"""


@pytest.mark.parametrize(("text", "expected"), [
    (UBER, dict(bill_type="cab", amount="412.37", currency="INR", date=date(2024, 3, 14), vendor="Uber",
                person_name="Arjun", pickup="12, MG Road, Ashok Nagar, Bengaluru, Karnataka 560001",
                drop="Kempegowda International Airport, Devanahalli, Bengaluru 560300", distance_km="4.82")),
    (OLA, dict(bill_type="cab", amount="228.00", currency="INR", date=date(2024, 4, 2), vendor="Ola",
               bill_number="1234567890", person_name="Priya Sharma", pickup="Koramangala 5th Block, Bengaluru",
               drop="Indiranagar 100 Feet Road, Bengaluru", distance_km="7.40")),
    (RAPIDO, dict(bill_type="cab", amount="98.00", date=date(2024, 3, 20), vendor="Rapido",
                  bill_number="RD17098765432", person_name="Rahul Verma", pickup="HSR Layout Sector 2, Bengaluru",
                  drop="Electronic City Phase 1, Bengaluru", distance_km="11.20")),
    (SWIGGY, dict(bill_type="meals", amount="591.50", date=date(2024, 3, 14), vendor="Swiggy",
                  bill_number="167890123456", person_name="Arjun Mehta")),
    (ZOMATO, dict(bill_type="meals", amount="381.85", date=date(2024, 3, 15), vendor="Zomato",
                  bill_number="4455667788", person_name="Neha Gupta")),
    (FUEL, dict(bill_type="fuel", amount="2500.00", currency="INR", date=date(2024, 3, 16), vendor="Indian Oil",
                bill_number="004512")),
], ids=["uber", "ola", "rapido", "swiggy", "zomato", "fuel"])
def test_indian_bills(text: str, expected: dict) -> None:
    bill = extract_bill(text)
    for field, want in expected.items():
        got = getattr(bill, field)
        if field in ("amount", "distance_km"):
            want = Decimal(want)
        assert got == want, field
        assert field in bill.evidence, field
        line = bill.evidence[field].source_line
        assert line is None or all(part in text for part in line.split(" ") if part), field


def test_driver_is_not_the_rider() -> None:
    assert extract_bill(RAPIDO).person_name == "Rahul Verma"  # not "Suresh K", the captain
    assert extract_bill(UBER).person_name == "Arjun"  # not Ramesh, who drove


def test_fuel_total_is_checked_against_rate_times_volume() -> None:
    bill = extract_bill(FUEL)
    assert bill.evidence["amount"].confidence >= 0.6
    assert "low_confidence_amount" not in bill.flags


# --- vendors ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "vendor"), [
    ("3180301\nSECURE PARKING\nCORPORATION S/B\nRIVERWALK VILLAGE\nTEL NO: 1300881698", "SECURE PARKING CORPORATION S/B"),
    ("POPULAR BOOK\nCO. (M) SDN BHD\n(CO. NO. 113825-W)\nNO 8. JALAN 7/118B", "POPULAR BOOK CO. (M) SDN BHD"),
    ("B.I.G.\nBEN'S INDEPENDENT GROCER\nBENS INDEPENDENT GROCER SDN. BHD\n(913144-A)\nLOT 6",
     "BENS INDEPENDENT GROCER SDN. BHD"),
    ("GARDENIA BAKERIES (KL) SDN BHD (139386 X)\nLOT 3\n40300 SHAH ALAM", "GARDENIA BAKERIES (KL) SDN BHD"),
    ("31\n**TAX INVOICE**\nKECHARA OASIS\nKECHARA VEGETARIAN RESTAURANT S/B\n(835643-A)",
     "KECHARA VEGETARIAN RESTAURANT S/B"),
    ("GERBANG ALAF RESTAURANTS SDN BHD\n(65351-M)\nLICENSEE OF MCDONALD'S\nLEVEL 6", "GERBANG ALAF RESTAURANTS SDN BHD"),
    ("SANYU STATIONERY SHOP\nNO. 31G&33G\n40170 SETIA ALAM\nTAX INVOICE\nOWNED BY :\nSANYU SUPPLY SDN BHD (1135772-K)",
     "SANYU STATIONERY SHOP"),
    ("MUN HENG ELECTRICAL &\nHARDWARE SUPPLY\n(ROC:001960460-U)\nGST ID NO: 000372871168",
     "MUN HENG ELECTRICAL & HARDWARE SUPPLY"),
    ("**ROYALTEA**\n(1237365-V)\nGST NO :000000241664", "ROYALTEA"),
    ("TAX INVOICE\nPLATINUM RACKING SDN BHD\n(PLAT MART)\n752173-W", "PLATINUM RACKING SDN BHD"),
    ("Cafe Madras, Matunga\nGSTIN 27AAAAA0000A1Z5\nDate: 14/03/2024\nTotal 346.50", "Cafe Madras, Matunga"),
    ("Tax Invoice\nSri Krishna Sweets Pvt Ltd\nGSTIN: 33AAACS1234F1Z5\nBill No: 123", "Sri Krishna Sweets Pvt Ltd"),
    ("Order summary\nPaid to Starbucks India\nTotal 310.00", "Starbucks"),
])
def test_vendor(text: str, vendor: str) -> None:
    bill = extract_bill(text)
    assert bill.vendor == vendor
    assert bill.evidence["vendor"].source_line in text


def test_vendor_not_found() -> None:
    bill = extract_bill("Total: 1,00,000.00")
    assert bill.vendor is None and "vendor_not_found" in bill.flags


# --- other fields ----------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "number"), [
    ("INVOICE NO : SS3-154439", "SS3-154439"),
    ("Bill No: 00015258 / 10P01", "00015258"),
    ("RECEIPT #: CS00032256 DATE: 21/03/2018", "CS00032256"),
    ("TAX INVOICE NO : 152164 COUNTER :006", "152164"),
    ("Order ID: 167890123456", "167890123456"),
    ("CRN 1234567890", "1234567890"),
])
def test_bill_number(line: str, number: str) -> None:
    assert extract_bill(f"Shop\n{line}\nTotal 10.00").bill_number == number


def test_bill_number_is_not_a_date_or_a_word() -> None:
    bill = extract_bill("Shop\nBILL DT: 03/02/2017 09:26:48 PM\nBill To : SUCI ALAM JAYA TRANSPORT\nTotal 10.00")
    assert bill.bill_number is None


def test_distance_in_miles_and_tariff_terms() -> None:
    assert extract_bill("Taxi\nTrip distance: 3.0 mi\nFare 12.00").distance_km == Decimal("4.83")
    bill = extract_bill("Taxi\nRate ₹ 12 per km, first 2 km free\nDistance: 9.6 km\nFare 120.00")
    assert bill.distance_km == Decimal("9.60")


def test_from_to_only_on_rides() -> None:
    ride = extract_bill("City Taxi\nFrom: Andheri East, Mumbai\nTo: Bandra West, Mumbai\nFare 450.00")
    assert (ride.pickup, ride.drop) == ("Andheri East, Mumbai", "Bandra West, Mumbai")
    invoice = extract_bill("ACME Hardware\nTo: Priya Traders, Pune\nTotal 450.00")
    assert invoice.pickup is None and invoice.drop is None


# --- the contract ----------------------------------------------------------------------------

def test_bill_contract() -> None:
    bill = extract_bill(GRAND_TOTAL)
    assert isinstance(bill, Bill)
    assert bill.extractor == EXTRACTOR_VERSION
    assert bill.amount == Decimal("1180.00") and bill.amount.as_tuple().exponent == -2
    assert set(bill.evidence) <= {"bill_type", "amount", "currency", "date", "vendor", "bill_number",
                                  "person_name", "pickup", "drop", "distance_km"}
    for ev in bill.evidence.values():
        assert isinstance(ev, FieldEvidence) and 0.0 <= ev.confidence <= 1.0
    with pytest.raises(ValidationError):
        bill.evidence["amount"].confidence = 0.1  # type: ignore[misc]
    assert "currency_assumed" in bill.flags  # the bill prints no currency
    again = Bill.model_validate_json(bill.model_dump_json())
    assert again == bill


def test_currency_must_be_iso() -> None:
    with pytest.raises(ValidationError):
        Bill(currency="Rs.")


def test_empty_text() -> None:
    bill = extract_bill("  \n\n ")
    assert bill.amount is None and bill.date is None and bill.bill_type == "other"
    assert {"empty_text", "amount_not_found", "date_not_found"} <= set(bill.flags)


def test_deterministic() -> None:
    assert extract_bill(UBER) == extract_bill(UBER)


def test_date_order_option() -> None:
    text = "Shop\nDate: 04/03/2024\nTotal 10.00"
    assert extract_bill(text).date == date(2024, 3, 4)
    assert extract_bill(text, date_order="MDY").date == date(2024, 4, 3)
    assert "ambiguous_date" in extract_bill(text).flags


def test_reference_date_flags_future_bills() -> None:
    bill = extract_bill("Shop\nDate: 14/03/2030\nTotal 10.00", reference_date=date(2024, 4, 1))
    assert "future_date" in bill.flags


def test_hotel_folio_total_is_the_bill_not_the_balance_after_advance() -> None:
    folio = ("The Leela Palace\nGuest Name: Mr. Vikram Rao\nBill No: F-88231\n"
             "Room Charges 2 nights @ 9,500.00     19,000.00\nCGST 6%    1,140.00\nSGST 6%    1,140.00\n"
             "Total    21,280.00\nLess: Advance    10,000.00\nBalance Payable    11,280.00")
    bill = extract_bill(folio)
    assert (bill.amount, bill.bill_type, bill.person_name, bill.bill_number) == (
        Decimal("21280.00"), "lodging", "Vikram Rao", "F-88231")


def test_a_lone_fee_is_the_total_but_a_lone_item_line_is_not() -> None:
    parking = extract_bill("Phoenix Marketcity\nParking Receipt\nEntry: 14-03-2024 10:05\nParking Fee: Rs. 120/-")
    assert parking.amount == Decimal("120.00") and parking.bill_type == "parking"
    cut = extract_bill("Annapoorna Restaurant\nDate: 18/04/2024\nMeals thali 2 x 350.00    700.00")
    assert cut.amount is None and "amount_not_found" in cut.flags


def test_handwritten_cab_bill() -> None:
    bill = extract_bill("Sharma Travels\nCab bill\nDate 5/3/24\nFrom: Pune Station\nTo: Hinjewadi Phase 2\n"
                        "Km: 24\nAmount Rs 650/-")
    assert (bill.bill_type, bill.amount, bill.date) == ("cab", Decimal("650.00"), date(2024, 3, 5))
    assert (bill.pickup, bill.drop, bill.distance_km) == ("Pune Station", "Hinjewadi Phase 2", Decimal("24.00"))
    assert "ambiguous_date" in bill.flags


def test_indian_gst_bill_with_round_off_and_hsn_summary() -> None:
    text = ("HOTEL SARAVANA BHAVAN\nNo. 21, Anna Salai, Chennai 600002\nGSTIN: 33AAACH1234K1Z9\n"
            "Bill No: 4521   Table: 12   Date: 15-03-2024 13:40\nMini Tiffin     2     180.00  360.00\n"
            "Filter Coffee   2      45.00   90.00\nSub Total    450.00\nCGST @2.5%    11.25\nSGST @2.5%    11.25\n"
            "Round Off    -0.50\nNet Amount    472.00\nHSN/SAC Summary\nTaxable 450.00 CGST 11.25 SGST 11.25 Total 22.50")
    bill = extract_bill(text)
    assert (bill.amount, bill.bill_type, bill.vendor, bill.bill_number, bill.date) == (
        Decimal("472.00"), "meals", "HOTEL SARAVANA BHAVAN", "4521", date(2024, 3, 15))
