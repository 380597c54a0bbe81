"""A printed total that the bill's own arithmetic contradicts may not decide the claim.

"Sub Total 310.00 / GST 15.50 / Grand Total Rs. 1,325.50": the subtotal and the tax add up to
325.50, so the grand total may have been altered. Unless a payment line or the items confirm it,
the amount goes to review at low confidence; when another total printed on the bill is the one
the arithmetic confirms, that one is read.
"""

from decimal import Decimal

import pytest

from clients.batch.bill import FLAG_LOW_CONFIDENCE_AMOUNT
from clients.batch.extract import extract_bill
from clients.batch.totals import _Book, collect_entries

from tests.clients.batch.expense_helpers import decided_amount as _decided_on


# --- the two reported bills ------------------------------------------------------------------

TEXT_BILL = """Hotel Annapurna
Date: 12/10/2024
Room 1 night 310.00
Sub Total 310.00
GST 5% 15.50
Grand Total Rs. 1,325.50"""

OCR_IMAGE = """CAFE COFFEE SPOT
Bill No: 4411
12/10/2024 13:05
Sub Total 200.00
GST 10.00
GRAND TOTAL Rs. 1,210.00
Thank you visit again"""


@pytest.mark.parametrize(("text", "printed"), [
    pytest.param(TEXT_BILL, "1325.50", id="text-bill"),
    pytest.param(OCR_IMAGE, "1210.00", id="ocr-image"),
])
def test_a_total_the_arithmetic_contradicts_goes_to_review(text: str, printed: str) -> None:
    bill = extract_bill(text)
    assert bill.amount == Decimal(printed)  # the reviewer is shown what the bill says
    assert FLAG_LOW_CONFIDENCE_AMOUNT in bill.flags
    assert bill.confidence("amount") <= 0.4
    assert _decided_on(text) is None


def test_the_total_the_arithmetic_confirms_is_preferred() -> None:
    text = "Hotel Annapurna\nDate: 12/10/2024\nSub Total 310.00\nGST 5% 15.50\nTotal 325.50\nGrand Total Rs. 1,325.50"
    bill = extract_bill(text)
    assert bill.amount == Decimal("325.50")
    assert bill.evidence["amount"].source_line == "Total 325.50"
    assert _decided_on(text) == Decimal("325.50")


# --- what still confirms a total -------------------------------------------------------------

BASE = "Cafe Madras\nDate: 12/10/2024\n"


@pytest.mark.parametrize(("body", "amount"), [
    pytest.param("Sub Total 310.00\nGST 5% 15.50\nGrand Total Rs. 325.50", "325.50", id="adds-up"),
    pytest.param("Sub Total 310.00\nGST 5% 15.50\nGrand Total Rs. 326.00", "326.00", id="rounded-to-the-rupee"),
    pytest.param("Sub Total 500.00\nCGST 2.5% 12.50\nSGST 2.5% 12.50\nGrand Total Rs. 525.00", "525.00",
                 id="cgst-sgst"),
    pytest.param("Sub Total 1,000.00\nService Charge 10% 100.00\nGST 5% 55.00\nTotal Rs. 1,155.00", "1155.00",
                 id="service-charge"),
    pytest.param("Sub Total 500.00\nDiscount 50.00\nGST 22.50\nTotal Rs. 472.50", "472.50", id="discount"),
    pytest.param("Sub Total 98.11\nGST 6% 5.89\nRounding -0.02\nTotal Rs. 103.98", "103.98", id="rounding-line"),
    pytest.param("Sub Total 100.00\nGST 6% 5.66\nTotal Rs. 100.00", "100.00", id="tax-already-included"),
    pytest.param("Sub Total 310.00\nGST 5% 15.50\nGrand Total Rs. 1,325.50\nCash 1,325.50", "1325.50",
                 id="payment-line-confirms"),
    pytest.param("Thali 1,000.00\nLassi 325.50\nSub Total 310.00\nGST 5% 15.50\nGrand Total Rs. 1,325.50",
                 "1325.50", id="items-confirm"),
    pytest.param("Sub Total 1,000.00\nCGST 25.00\nSGST 25.00\nPacking 20.00\nGrand Total Rs. 1,070.00", "1070.00",
                 id="unlabelled-line-between-subtotal-and-total"),
    pytest.param("Sub Total 1,000.00\nService Charge 10% 100.00\nGST 5% 55.00\nTotal Rs. 1,155.00", "1155.00",
                 id="service-charge-is-not-change"),
])
def test_a_total_with_confirming_evidence_is_decided(body: str, amount: str) -> None:
    text = BASE + body
    bill = extract_bill(text)
    assert bill.amount == Decimal(amount)
    assert FLAG_LOW_CONFIDENCE_AMOUNT not in bill.flags
    assert _decided_on(text) == Decimal(amount)


def test_a_repeated_total_is_no_confirmation() -> None:
    """Writing the forged figure twice does not make the subtotal and tax add up to it."""
    text = BASE + "Sub Total 310.00\nGST 5% 15.50\nGrand Total Rs. 1,325.50\nAmount Due Rs. 1,325.50"
    assert _decided_on(text) is None


def test_an_arithmetic_confirmed_other_reading_still_wins() -> None:
    """A rupee sign read as a "2": the shorter number is the one the arithmetic confirms."""
    bill = extract_bill(BASE + "Sub Total 310.00\nGST 15.50\nTotal 2325.50")
    assert bill.amount == Decimal("325.50") and "rupee_sign_misread" in bill.flags
    assert FLAG_LOW_CONFIDENCE_AMOUNT not in bill.flags


def test_no_verdict_without_a_subtotal_and_a_tax_or_charge() -> None:
    """Only a bill that shows the pieces of its total can contradict it."""
    book = _Book.of(collect_entries(["Sub Total 310.00", "Grand Total Rs. 1,325.50"]))
    assert not book.contradicts(Decimal("1325.50"))
    book = _Book.of(collect_entries(["GST 15.50", "Grand Total Rs. 1,325.50"]))
    assert not book.contradicts(Decimal("1325.50"))
    book = _Book.of(collect_entries(["Sub Total 310.00", "GST 15.50", "Grand Total Rs. 1,325.50"]))
    assert book.contradicts(Decimal("1325.50")) and not book.contradicts(Decimal("325.50"))


def test_a_note_on_the_bill_cannot_refute_its_total() -> None:
    """Prose lines are not the bill's arithmetic: a sentence quoting figures may not move the total."""
    text = BASE + "Thali 325.50\nTotal Rs. 325.50\nNote: the subtotal was 100.00 and the tax was 10.00 as agreed."
    bill = extract_bill(text)
    assert bill.amount == Decimal("325.50") and FLAG_LOW_CONFIDENCE_AMOUNT not in bill.flags
