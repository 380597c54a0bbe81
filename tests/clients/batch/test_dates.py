from datetime import date

import pytest

from clients.batch.dates import find_dates, parse_date
from clients.batch.extract import bill_lines
from clients.batch.fields import pick_date


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("15/03/2018", date(2018, 3, 15)),
        ("03/03/18", date(2018, 3, 3)),
        ("23-03-2018", date(2018, 3, 23)),
        ("19-03-18", date(2018, 3, 19)),
        ("23.03.18", date(2018, 3, 23)),
        ("26 MAR 2018", date(2018, 3, 26)),
        ("02/JAN/2017", date(2017, 1, 2)),
        ("09-JAN-2017", date(2017, 1, 9)),
        ("2018-05-01", date(2018, 5, 1)),
        ("14 Mar 2024", date(2024, 3, 14)),
        ("March 14, 2024", date(2024, 3, 14)),
        ("Jan 5th, 2024", date(2024, 1, 5)),
        ("1st January 2024", date(2024, 1, 1)),
        ("14-Mar-24", date(2024, 3, 14)),
        ("26 MAR 2018 18:14", date(2018, 3, 26)),
        ("06 Jan 2018 05:21pm", date(2018, 1, 6)),
        # OCR glues the time to a four-digit year
        ("BILL DT: 03/02/201709:26:48 PM", date(2017, 2, 3)),
        ("Date :06-03-201807:24:06", date(2018, 3, 6)),
        ("TAXINV:001-1541798 03/03/18", date(2018, 3, 3)),
    ],
)
def test_parse_date_formats(token: str, expected: date) -> None:
    assert parse_date(token) == expected


@pytest.mark.parametrize("token", ["32/01/2018", "29/02/2019", "15/13/2018", "00/01/2020", "1.234.567",
                                   "TEL 03-6259-6498", "3 X 2.70 8.10", "TOTAL MAY 10.00"])
def test_rejects_impossible_or_non_dates(token: str) -> None:
    assert parse_date(token) is None


def test_date_order_for_ambiguous_dates() -> None:
    (dmy,) = find_dates("04/03/2024", "DMY")
    (mdy,) = find_dates("04/03/2024", "MDY")
    assert dmy.value == date(2024, 3, 4) and mdy.value == date(2024, 4, 3)
    assert dmy.ambiguous and mdy.ambiguous
    (us,) = find_dates("12/25/2023", "DMY")  # only one reading exists
    assert us.value == date(2023, 12, 25) and not us.ambiguous and us.proves_order == "MDY"
    (same,) = find_dates("03/03/2024")
    assert not same.ambiguous


def _pick(text: str, order: str = "DMY", ref: date | None = None):
    return pick_date(bill_lines(text), order, ref)  # type: ignore[arg-type]


def test_labelled_transaction_date_beats_due_print_and_expiry_dates() -> None:
    text = ("Printed on: 01/05/2024\nValid till 30/06/2024\nCard Exp: 31/05/28\n"
            "Bill Date: 14/03/2024\nDue date 28/03/2024\nTotal 100.00")
    dp = _pick(text)
    assert dp.hit is not None and dp.hit.value == date(2024, 3, 14)
    assert dp.hit.line == "Bill Date: 14/03/2024"
    assert dp.hit.confidence >= 0.9


def test_first_unlabelled_date_when_nothing_is_labelled() -> None:
    dp = _pick("SHOP\n14/03/18 12:52 SLIP NO.: 0040081037\nMEMBER CARD EXPIRY: 31/05/18")
    assert dp.hit is not None and dp.hit.value == date(2018, 3, 14)


def test_another_date_on_the_bill_settles_the_order() -> None:
    dp = _pick("Date: 04/03/2024\nPrinted 25/03/2024", "MDY")
    assert dp.hit is not None and dp.hit.value == date(2024, 3, 4)  # 25/03 proves day-first
    assert not dp.ambiguous


def test_ambiguous_date_is_reported() -> None:
    dp = _pick("Date: 04/03/2024")
    assert dp.hit is not None and dp.hit.value == date(2024, 3, 4) and dp.ambiguous
    dp = _pick("Date: 04/03/2024", "MDY")
    assert dp.hit is not None and dp.hit.value == date(2024, 4, 3) and dp.ambiguous


def test_future_dates_lose_to_past_ones_and_are_flagged() -> None:
    dp = _pick("Date: 14/03/2024\nNext visit 14/03/2025", ref=date(2024, 4, 1))
    assert dp.hit is not None and dp.hit.value == date(2024, 3, 14) and not dp.future
    dp = _pick("Date: 14/03/2030", ref=date(2024, 4, 1))
    assert dp.hit is not None and dp.future


def test_no_date() -> None:
    assert _pick("Total 100.00").hit is None
