"""Faults a new user found in the expense job, each pinned by the general rule it broke."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from clients.batch.archive import extract_archive, plan_archive
from clients.batch.bill_reader import ReaderOptions, separate_page_bills
from clients.batch.engine import decide_batch
from clients.batch.folders import discover_employee_folders
from clients.batch.policy_parser import parse_policy_text
from clients.batch.dry_run import describe
from clients.batch.runner import ExpenseJobConfig, own_paths, run
from framework.config import Settings
from tests.clients.batch.expense_helpers import category_of as _cat
from tests.clients.batch.expense_helpers import fields, item


# --- 1. every currency the bill reader knows ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cid", "currency", "limit"),
    [
        ("Meals: up to RM 30 per day.", "meals", "MYR", "30.00"),
        ("Parking up to MYR 10 per day.", "parking", "MYR", "10.00"),
        ("Meals up to 40 EUR per day.", "meals", "EUR", "40.00"),
        ("Meals up to €40 per day.", "meals", "EUR", "40.00"),
        ("Meals up to £25 per day.", "meals", "GBP", "25.00"),
        ("Meals up to S$ 50 per day.", "meals", "SGD", "50.00"),
        ("Meals up to AED 100 per day.", "meals", "AED", "100.00"),
        ("Meals up to Rs 500 per day.", "meals", "INR", "500.00"),
    ],
)
def test_policy_amounts_in_any_known_currency_are_read(text, cid, currency, limit):
    rules = parse_policy_text(text)
    assert _cat(rules, cid).per_day_limit == Decimal(limit)
    assert rules.currency == currency
    assert rules.warnings == []


def test_lowercase_rm_inside_words_is_not_a_currency():
    rules = parse_policy_text("Meals: after a form 10 submission, up to INR 300 per day.")
    assert _cat(rules, "meals").per_day_limit == Decimal("300.00")
    assert rules.currency == "INR"


def test_a_limit_whose_amount_cannot_be_read_is_warned_not_dropped():
    rules = parse_policy_text("Meals: up to XYZ 30 per day.")
    assert any("could not be read" in w and "XYZ 30" in w for w in rules.warnings)


# --- 2. Markdown sections end at the next heading; general rules stay general ----------------

SECTIONS = """## Meals
Meals up to INR 500 per day.
## Parking
Parking fees are covered.
## Other
- Alcohol is not reimbursable.
- Bills older than 60 days will not be accepted.
"""


def test_a_new_heading_ends_the_previous_section():
    rules = parse_policy_text(SECTIONS)
    parking = rules.category("parking")
    assert parking is None or (not parking.not_reimbursable and parking.sources == ["Parking fees are covered."])
    assert _cat(rules, "meals").sources == ["Meals up to INR 500 per day."]
    assert rules.excluded_items == ["alcohol"] and rules.max_bill_age_days == 60
    decided = decide_batch([item("f/parking.txt", fields("80.00", bill_type="parking"))], rules)
    assert decided["f/parking.txt"].decision != "REJECTED"


def test_colon_heading_without_category_also_ends_the_section():
    rules = parse_policy_text("Parking:\n- up to INR 100 per day\n\nGeneral:\n- Bills older than 30 days are not accepted.\n")
    parking = _cat(rules, "parking")
    assert parking.per_day_limit == Decimal("100.00") and not parking.not_reimbursable
    assert rules.max_bill_age_days == 30


def test_a_category_is_banned_only_by_a_sentence_naming_it():
    rules = parse_policy_text("## Laundry\nLaundry is not reimbursable.\n## Parking\nNot accepted without a receipt.\n")
    assert _cat(rules, "laundry").not_reimbursable
    assert rules.category("parking") is None or not rules.category("parking").not_reimbursable


# --- 3. a title naming the whole policy makes no category -------------------------------------


@pytest.mark.parametrize("title", ["Acme India Travel Policy", "Travel and Expense Policy", "# Travel Policy"])
def test_a_policy_title_creates_no_category(title):
    rules = parse_policy_text(f"{title}\nDaily allowance up to INR 900 per day.\nFlights at actuals.\n")
    assert rules.category("travel") is None
    assert [c.id for c in rules.categories] == ["flight"]
    assert any("without a category" in w for w in rules.warnings)


# --- 4. each rule keeps its own currency -------------------------------------------------------


def test_mixed_currency_policy_keeps_each_rules_currency():
    rules = parse_policy_text(
        "Meals up to USD 50 per day. Hotels up to USD 200 per night. Taxi: up to EUR 40 per bill."
    )
    assert rules.currency == "USD"
    cab = _cat(rules, "cab")
    assert cab.per_bill_limit == Decimal("40.00") and cab.currency == "EUR"
    assert _cat(rules, "meals").currency is None  # the policy's own currency
    decided = decide_batch(
        [
            item("f/taxi_eur.txt", fields("30.00", bill_type="cab", currency="EUR")),
            item("f/taxi_usd.txt", fields("30.00", bill_type="cab", currency="USD")),
            item("f/meal_usd.txt", fields("30.00", bill_type="meals", currency="USD")),
        ],
        rules,
    )
    assert decided["f/taxi_eur.txt"].decision == "APPROVED"
    assert decided["f/taxi_usd.txt"].decision == "NEEDS_REVIEW"
    assert decided["f/taxi_usd.txt"].rule_ids == ["general.currency"]
    assert decided["f/meal_usd.txt"].decision == "APPROVED"


# --- 5 and 7: job level -----------------------------------------------------------------------


def _settings(tmp_path: Path) -> Settings:
    return Settings(CACHE_DIR=tmp_path / "doc_cache", LLM_PROVIDER="offline")


def _results(path: Path) -> dict[str, dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {f"{f['folder_name']}/{r['file_name']}": r for f in data["folders"] for r in f["results"]}


def test_the_jobs_input_files_inside_the_folders_root_are_not_bills(tmp_path):
    root = tmp_path / "bills"
    (root / "EMP1_Asha_oct").mkdir(parents=True)
    (root / "EMP1_Asha_oct" / "meal.txt").write_text("Cafe Roma\nDate: 05/10/2024\nTotal INR 300.00\n")
    policy = root / "policy.txt"
    policy.write_text("Meals up to Rs 1,000 per day.\n")
    rules_file = root / "extra_rules.txt"
    rules_file.write_text("Receipts are mandatory.\n")
    addresses = root / "clients.json"
    addresses.write_text(json.dumps({"acme": ["1 MG Road"]}))
    config = ExpenseJobConfig(policy=policy, policy_rules=rules_file, client_addresses=addresses, folders=root,
                              output=root / "results.json", settings=_settings(tmp_path), workers=1)
    result = run(config)
    assert list(_results(result.results_path)) == ["EMP1_Asha_oct/meal.txt"]
    # the dry run counts what the run reads: neither the inputs nor the outputs now in the root
    assert (root / "results.json").exists() and (root / "policy_extract.json").exists()
    lines, total = describe(folders=root, zip_path=None, own_files=own_paths(config)[0], own_dirs=own_paths(config)[1])
    assert total == 1 and "  EMP1_Asha_oct: 1 bill(s)" in lines[1], lines
    # what it used to count (the JSON files are skipped now anyway: not bills, outside the employee folders)
    assert describe(folders=root, zip_path=None)[1] == 3  # policy.txt and extra_rules.txt were counted


def _pages(*texts: str) -> SimpleNamespace:
    return SimpleNamespace(pages=[SimpleNamespace(number=n, text=t) for n, t in enumerate(texts, 1)])


def test_pages_with_their_own_totals_are_several_bills():
    options = ReaderOptions(settings=Settings(LLM_PROVIDER="offline"))
    two = _pages("Uber\nTrip on 03/11/2024\nTotal Rs 450", "Ola\nRide on 04/11/2024\nTotal: Rs 380")
    assert [(n, a) for n, a, _ in separate_page_bills(two, options)] == [(1, Decimal("450.00")), (2, Decimal("380.00"))]
    # one bill over two pages: the first page has only line items, the second the total
    one = _pages("Hotel Lotus\nRoom charges\n01/11/2024 Room Rs 3000", "Taxes Rs 500\nGrand total Rs 6500")
    assert separate_page_bills(one, options) == []
    # the same total and date repeated on every page is one bill
    repeated = _pages("Uber\n03/11/2024\nTotal Rs 450", "Uber\n03/11/2024\nTotal Rs 450")
    assert separate_page_bills(repeated, options) == []


def test_a_pdf_holding_two_receipts_goes_to_review(tmp_path):
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.set_font("helvetica", size=12)
    for lines in (["Uber", "Trip date: 03/11/2024", "Total Rs 450"], ["Ola", "Ride date: 04/11/2024", "Total Rs 380"]):
        pdf.add_page()
        for line in lines:
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    folder = tmp_path / "bills" / "EMP1_Asha_nov"
    folder.mkdir(parents=True)
    pdf.output(str(folder / "cabs.pdf"))
    policy = tmp_path / "policy.txt"
    policy.write_text("Cab fares are reimbursed at actuals.\n")
    result = run(ExpenseJobConfig(policy=policy, folders=tmp_path / "bills", output=tmp_path / "out" / "results.json",
                                  settings=_settings(tmp_path), workers=1))
    bill = _results(result.results_path)["EMP1_Asha_nov/cabs.pdf"]
    assert bill["decision"] == "NEEDS_REVIEW"
    assert "general.multiple_bills" in bill["rule_ids"] and "several bills" in bill["reason"]


# --- 6. a nested zip beside the employee folders does not stop unwrapping ----------------------


def test_wrapper_folder_with_a_nested_zip_is_still_unwrapped(tmp_path):
    inner = tmp_path / "EMP3_Om.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("EMP3_Om/c.txt", "Total INR 3.00")
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("October claims/EMP1_Asha/a.txt", "Total INR 1.00")
        zf.writestr("October claims/EMP2_Ravi/b.txt", "Total INR 2.00")
        zf.write(inner, "October claims/EMP3_Om.zip")
        zf.writestr("October claims/.DS_Store", "junk")
    result = extract_archive(archive, tmp_path / "x")
    assert result.issues == []
    # the extraction keeps the archive's layout; the discovery unwraps (folders.find_wrapper)
    found = discover_employee_folders(result.root, root_name=result.root_name)
    assert [f.folder_name for f in found] == ["EMP1_Asha", "EMP2_Ravi", "EMP3_Om"]
    assert [found[2].relative(b) for b in found[2].bills] == ["c.txt"]
    assert set(plan_archive(archive).folders) >= {"EMP1_Asha", "EMP2_Ravi"}


def test_an_approval_threshold_alone_pays_bills_below_it_and_reviews_those_above():
    rules = parse_policy_text("Taxi fares above Rs 2,000 per trip require approval.")
    cab = _cat(rules, "cab")
    assert cab.actuals and cab.approval_above == Decimal("2000.00")
    assert any("only has an approval threshold" in w for w in rules.warnings)
    d = decide_batch([item("f/a.txt", fields("780.00", bill_type="cab")),
                      item("f/b.txt", fields("2400.00", "2024-10-06", bill_type="cab"))], rules)
    assert d["f/a.txt"].decision == "APPROVED" and d["f/a.txt"].approved_amount == Decimal("780.00")
    assert d["f/b.txt"].decision == "NEEDS_REVIEW" and "cab.approval_above" in d["f/b.txt"].rule_ids


def test_conditional_limits_keep_the_lowest_and_say_so():
    rules = parse_policy_text("Hotel: INR 5,000 per night in metro cities and INR 3,000 per night in other cities.")
    assert _cat(rules, "hotel").per_day_limit == Decimal("3000.00")
    assert any("the lowest is used" in w and "hotel.per_day_limit" in w for w in rules.warnings), rules.warnings
