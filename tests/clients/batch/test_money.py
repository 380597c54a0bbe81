from decimal import Decimal

import pytest

from clients.batch.money import detect_currency, find_amounts, parse_amount


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("1,05,000.50", "105000.50"),  # Indian lakh
        ("12,34,567.50", "1234567.50"),  # crore
        ("1,25,000", "125000.00"),
        ("105,000.50", "105000.50"),  # western
        ("1,000.00", "1000.00"),
        ("727,242", "727242.00"),  # a lone comma before three digits groups thousands
        ("1,234", "1234.00"),
        ("1.234,56", "1234.56"),  # European
        ("45,90", "45.90"),  # decimal comma
        ("1 234,56", "1234.56"),  # space thousands
        ("1'234.56", "1234.56"),  # apostrophe thousands
        ("Rs.346.50/-", "346.50"),
        ("Rs. 1,25,000/-", "125000.00"),
        ("₹346.50", "346.50"),
        ("INR 346.50", "346.50"),
        ("RM 12.50", "12.50"),
        ("$1,250.00", "1250.00"),
        ("€ 9,99", "9.99"),
        (".80", "0.80"),  # "RM .80" as some tills print it
        ("3.3000", "3.30"),
        ("2.200", "2.20"),  # a lone dot stays a decimal point by default
        ("-RM0.02", "-0.02"),
        ("0.02-", "-0.02"),
        ("(12.00)", "-12.00"),
        ("1,234,56", "1234.56"),  # OCR read the decimal point as a comma
        # every grouping style, with each decimal style it is printed with
        ("1,00,00,000.00", "10000000.00"),  # crore, two-digit groups all the way
        ("1,234,567.89", "1234567.89"),
        ("1.234.567,89", "1234567.89"),
        ("1 234 567,89", "1234567.89"),
        ("1 234 567.89", "1234567.89"),  # SI / Swiss: spaces and a decimal point
        ("1\u202f234\u202f567.89", "1234567.89"),  # narrow no-break spaces (typeset PDFs)
        ("1\u00a0234,56", "1234.56"),
        ("1'234'567.89", "1234567.89"),
        ("1’234.50", "1234.50"),
        ("12 34 567.50", "1234567.50"),  # lakh groups written with spaces
        # cents printed as a dash: zero cents, never a minus
        ("350.-", "350.00"),
        ("1,234.-", "1234.00"),
        ("1.234,-", "1234.00"),
        ("€ 12,–", "12.00"),
    ],
)
def test_parse_amount(token: str, expected: str) -> None:
    value = parse_amount(token)
    assert value == Decimal(expected)
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize("token", ["abc", "", "1,2,3", "12,3456", "1.2.3,4,5", "--", "/-"])
def test_parse_amount_rejects_non_amounts(token: str) -> None:
    assert parse_amount(token) is None


def test_parse_amount_european_thousand_needs_the_hint() -> None:
    assert parse_amount("1.234") == Decimal("1.23")
    assert parse_amount("1.234", decimal_comma=True) == Decimal("1234.00")


def _values(line: str) -> list[str]:
    return [str(t.value) for t in find_amounts(line)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Masala dosa 2 x 120.00    240.00", ["2.00", "120.00", "240.00"]),
        ("CGST 2.5%    8.25", ["8.25"]),  # a rate is not money
        ("GSTIN 27AAAAA0000A1Z5", []),
        ("Date: 14/03/2024 12:43", []),  # dates and times are not money
        ("INVOICE NO : 17873/102/T0253", []),
        ("1X 000005469765 6.65SR", ["6.65"]),  # tax-code suffix kept, zero-padded code dropped
        ("GL STEWED PORK 256G 6.80 SR", ["6.80"]),  # "256G" is a size
        ("TOTAL RM .01", ["0.01"]),
        ("ROUNDING: -RM0.02", ["-0.02"]),
        ("Discount -₹ 60.00", ["-60.00"]),
        ("TEL: 03-6259-6498", ["6259.00", "6498.00"]),  # no negative numbers out of hyphens
        ("Net Total 42-10 RM42.10", ["42.00", "10.00", "42.10"]),  # "10 RM" must not eat "RM42.10"
        ("Summe 45,90 EUR", ["45.90"]),
        ("Total    Rs. 1,25,000/-", ["125000.00"]),
        ("Summe EUR 1.234,-", ["1234.00"]),  # the ",-" says the dot groups thousands
        ("Total CHF 350.-", ["350.00"]),
        ("Total 1\u202f234.50", ["1234.50"]),  # a typographic space is never a column gap
        # after a currency marker, space-split groups are one number ...
        ("Total Rs 1 25 000", ["125000.00"]),
        ("Total USD 1 234 567.50", ["1234567.50"]),
        ("Total 1 234,56 €", ["1234.56"]),
        # ... elsewhere they stay apart (a quantity and a price); totals.py weighs both readings
        ("Masala dosa 2 120.00", ["2.00", "120.00"]),
    ],
)
def test_find_amounts(line: str, expected: list[str]) -> None:
    assert _values(line) == expected


def test_find_amounts_reports_markers_and_slips() -> None:
    (tok,) = find_amounts("Total Rs.346.50/-")
    assert (tok.currency, tok.slash_dash, tok.decimals) == ("INR", True, 2)
    (tok,) = find_amounts("Total    f346.50")
    assert (tok.value, tok.slip) == (Decimal("346.50"), "f")
    (tok,) = find_amounts("Total    %346.50")
    assert (tok.value, tok.slip) == (Decimal("346.50"), "%")
    (tok,) = find_amounts("Total 1,05,932.20")
    assert tok.grouped


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Total ₹346.50", "INR"),
        ("Total Rs 1,234", "INR"),
        ("Total Rs. 500", "INR"),
        ("RS. 500", "INR"),
        ("Amount INR 346.50", "INR"),
        ("Total 1,250/-", "INR"),
        ("Total RM 12.50", "MYR"),
        ("TOTAL RM42.88", "MYR"),
        ("Total $1,250.00", "USD"),
        ("Total US$ 5", "USD"),
        ("Total S$ 4.00", "SGD"),
        ("Summe 45,90 EUR", "EUR"),
        ("Total € 9,99", "EUR"),
        ("Total £12.00", "GBP"),
    ],
)
def test_detect_currency(text: str, code: str) -> None:
    assert detect_currency(text) == code


@pytest.mark.parametrize("text", ["Sub total 5.00", "FORM 5", "Terms apply", "CUSTOMERS 12"])
def test_detect_currency_none(text: str) -> None:
    assert detect_currency(text) is None


def test_detect_currency_majority_wins() -> None:
    assert detect_currency("Item RM 5.00\nItem RM 6.00\nTotal RM 11.00\nApprox $2.60") == "MYR"
