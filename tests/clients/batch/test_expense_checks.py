"""Duplicates, validations, folder names and discovery."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from clients.batch.duplicates import DuplicateCandidate, find_duplicates
from clients.batch.folders import discover_employee_folders, infer_claim_year, parse_folder_name
from clients.batch.policy_parser import parse_policy_text
from clients.batch.schemas import EmployeeContext
from clients.batch.validation import (
    check_bill_age,
    check_claim_month,
    check_client_address,
    check_employee_name,
    load_client_addresses,
)
from framework.errors import ConfigurationError
from tests.clients.batch.expense_helpers import fields

D = dt.date


def _cand(ref, sha, vendor="Cafe Coffee Day", day=D(2024, 4, 15), amount="310.00", employee="e1", number=None):
    return DuplicateCandidate(ref=ref, employee=employee, sha256=sha, readable=True, vendor=vendor, date=day,
                              amount=Decimal(amount) if amount else None, bill_number=number)


def test_duplicates_by_hash_and_by_vendor_date_amount():
    found = find_duplicates([
        _cand("e1/a.txt", "h1"),
        _cand("e1/b.txt", "h1"),  # same file
        _cand("e2/c.jpg", "h2", vendor="CAFE COFFEE DAY.", employee="e2"),  # same bill, photographed
        _cand("e1/d.txt", "h3", amount="311.00"),  # another amount
        _cand("e1/e.txt", "h4", vendor="Blue Tokai"),  # another vendor
        _cand("e1/f.txt", "h5", number="A-1"),
        _cand("e1/g.txt", "h6", number="A-2"),  # differing bill numbers: two real bills
    ])
    assert found["e1/a.txt"].check.status == "unique"
    assert found["e1/b.txt"].check.model_dump() == {"status": "duplicate", "duplicate_of": "e1/a.txt", "basis": "same_file"}
    assert found["e1/b.txt"].same_employee
    assert found["e2/c.jpg"].check.basis == "same_vendor_date_amount" and found["e2/c.jpg"].check.duplicate_of == "e1/a.txt"
    assert not found["e2/c.jpg"].same_employee
    assert found["e1/d.txt"].check.status == "unique" and found["e1/e.txt"].check.status == "unique"
    assert found["e1/f.txt"].check.status == "duplicate"  # one side has no number: same as a.txt
    assert found["e1/g.txt"].check.duplicate_of == "e1/a.txt"


def test_duplicates_need_all_three_fields():
    found = find_duplicates([_cand("a", "1", vendor=None), _cand("b", "2", vendor=None)])
    assert found["b"].check.status == "unique"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("EMP014_Asha_oct_acme", dict(emp_id="EMP014", emp_name="Asha", claim_month=10, client="acme")),
        ("EMP014_Asha", dict(emp_id="EMP014", emp_name="Asha")),
        ("emp_asha", dict(emp_name="Asha")),
        ("asha_rao_2024-10", dict(emp_name="Asha Rao", claim_month=10, claim_year=2024)),
        ("EMP-22_Ravi Kumar_october_2024_globex", dict(emp_id="EMP-22", emp_name="Ravi Kumar", claim_month=10,
                                                       claim_year=2024, client="globex")),
        ("1042_neha_sep24", dict(emp_id="1042", emp_name="Neha", claim_month=9, claim_year=2024)),
        ("EMP014_May_oct", dict(emp_id="EMP014", emp_name="May", claim_month=10)),
        ("EMP014_Asha_acme", dict(emp_id="EMP014", emp_name="Asha", client="acme")),  # a known client code
    ],
)
def test_folder_names(name, expected):
    assert parse_folder_name(name, known_clients=["acme"]).model_dump(exclude_defaults=True) == expected


def test_claim_year_comes_from_the_bills():
    ctx = parse_folder_name("EMP1_Asha_dec")
    inferred = infer_claim_year(ctx, [D(2023, 12, 30), D(2023, 12, 2), D(2024, 1, 2), None])
    assert (inferred.claim_year, inferred.claim_year_inferred) == (2023, True)
    assert infer_claim_year(ctx, []) == ctx


def test_discovery_skips_litter_and_symlinks_and_groups_loose_files(tmp_path):
    (tmp_path / "EMP1_Asha" / "sub").mkdir(parents=True)
    (tmp_path / "EMP1_Asha" / "a.txt").write_text("x")
    (tmp_path / "EMP1_Asha" / "sub" / "b.pdf").write_text("x")
    (tmp_path / "EMP1_Asha" / ".DS_Store").write_text("x")
    (tmp_path / "EMP1_Asha" / "Thumbs.db").write_text("x")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "junk").write_text("x")
    (tmp_path / "EMP1_Asha" / "link.txt").symlink_to("/etc/hostname")
    (tmp_path / "loose.txt").write_text("x")
    folders = discover_employee_folders(tmp_path, root_name="upload")
    assert [f.folder_name for f in folders] == ["EMP1_Asha", "upload"]
    assert [folders[0].relative(p) for p in folders[0].bills] == ["a.txt", "sub/b.pdf"]
    assert [p.name for p in folders[1].bills] == ["loose.txt"]


def test_claim_month_and_age():
    ctx = EmployeeContext(emp_name="Asha", claim_month=10, claim_year=2024)
    assert check_claim_month(fields(day="2024-10-31"), ctx).status == "ok"
    mismatch = check_claim_month(fields(day="2024-11-01"), ctx)
    assert (mismatch.status, mismatch.expected, mismatch.found) == ("mismatch", "2024-10", "2024-11")
    assert check_claim_month(fields(day="2024-10-01"), EmployeeContext()).status == "not_checked"
    rules = parse_policy_text("Bills older than 60 days will not be accepted.")
    old = check_bill_age(fields(day="2024-08-31"), ctx, rules)
    assert (old.status, old.age_days, old.max_days) == ("mismatch", 61, 60)
    assert check_bill_age(fields(day="2024-09-01"), ctx, rules).status == "ok"


def test_employee_name_is_fuzzy():
    ctx = EmployeeContext(emp_name="Asha")
    assert check_employee_name(fields(person_name="Ms. ASHA MENON"), ctx).status == "ok"
    assert check_employee_name(fields(person_name="Sunil Rao"), ctx).status == "mismatch"
    assert check_employee_name(fields(), ctx).status == "not_checked"
    assert check_employee_name(fields(person_name="Ravi Kumar"), EmployeeContext(emp_name="Ravi Kumr")).status == "ok"


def test_client_address_for_cab_bills(tmp_path):
    path = tmp_path / "clients.json"
    path.write_text('{"acme": ["Acme Corp, 12 MG Road, Bengaluru 560001"], "orbit": "Orbit Labs, Andheri East"}')
    addresses = load_client_addresses(path)
    ctx = EmployeeContext(emp_name="Asha", client="ACME")
    ok = check_client_address(fields(bill_type="cab", pickup="12, M.G. Road Bengaluru", drop="Airport"), ctx, "cab", addresses)
    assert ok.status == "ok" and ok.client == "acme"
    bad = check_client_address(fields(bill_type="cab", pickup="Koramangala", drop="Airport"), ctx, "cab", addresses)
    assert bad.status == "mismatch"
    assert check_client_address(fields(), ctx, "meals", addresses).status == "not_checked"
    unknown = check_client_address(fields(pickup="x"), EmployeeContext(client="zeta"), "cab", addresses)
    assert unknown.status == "not_checked" and "zeta" in unknown.note
    path.write_text("[1, 2]")
    with pytest.raises(ConfigurationError):
        load_client_addresses(path)
