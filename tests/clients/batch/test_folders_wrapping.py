"""Wrapping folders, loose non-bill files, folder names and empty-file duplicates: what a new
user's batch looked like (`t/fwrap/October claims/EMP014_.../...` read as one employee
"October Claims"; `summary.xlsx` in the wrapper -> exit 2; `readme.txt` beside it -> a fake
employee named after the ZIP; 0-byte files of different types marked duplicates)."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import pytest

from clients.batch.archive import extract_archive, members_listing, plan_archive
from clients.batch.duplicates import EMPTY_SHA256, DuplicateCandidate, find_duplicates
from clients.batch.folders import (
    NON_BILL_EXTENSIONS,
    discover_employee_folders,
    disk_listing,
    find_wrapper,
    is_non_bill_file,
    parse_folder_name,
)
from framework.documents import SUPPORTED_EXTENSIONS


def make_tree(root: Path, files: list[str]) -> Path:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"bill {name}\nTotal INR 10.00\n", encoding="utf-8")
    return root


def make_zip(path: Path, files: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name in files:
            zf.writestr(name, f"bill {name}\nTotal INR 10.00\n")
    return path


def employees(folders) -> dict[str, list[str]]:
    return {f.folder_name: [f.relative(b) for b in f.bills] for f in folders}


EMPLOYEES = ["EMP014_Asha_oct_zenith/01_cab.png", "EMP022_Ravi_oct_orbit/01_lunch.txt", "EMP031_Meera_oct/02_coffee.txt"]
THREE = {
    "EMP014_Asha_oct_zenith": ["01_cab.png"],
    "EMP022_Ravi_oct_orbit": ["01_lunch.txt"],
    "EMP031_Meera_oct": ["02_coffee.txt"],
}

# layout -> the employees (folder name -> bills) the job must see
LAYOUTS = {
    "wrapper": ([f"October claims/{f}" for f in EMPLOYEES], THREE),
    "wrapper_with_summary_xlsx_inside": (
        [f"October claims/{f}" for f in EMPLOYEES] + ["October claims/summary.xlsx"], THREE,
    ),
    "readme_beside_the_wrapper": ([f"October claims/{f}" for f in EMPLOYEES] + ["readme.txt"], THREE),
    "two_nested_wrappers": ([f"Claims/October/{f}" for f in EMPLOYEES] + ["Claims/notes.md"], THREE),
    "no_wrapper": (EMPLOYEES + ["summary.csv"], THREE),
    "wrapper_of_names_only": (
        ["claims/Asha/a.txt", "claims/Ravi/b.txt"], {"Asha": ["a.txt"], "Ravi": ["b.txt"]},
    ),
    "wrapper_of_a_single_employee": (["Oct 2024/EMP014_Asha/a.txt"], {"EMP014_Asha": ["a.txt"]}),
    # an employee with receipt subfolders stays ONE employee
    "employee_with_category_subfolders": (
        ["EMP014_Asha/cabs/a.png", "EMP014_Asha/meals/b.txt"], {"EMP014_Asha": ["cabs/a.png", "meals/b.txt"]},
    ),
    "employee_without_id_with_category_subfolders": (
        ["Asha/cabs/a.png", "Asha/meals/b.txt"], {"Asha": ["cabs/a.png", "meals/b.txt"]},
    ),
    "employee_with_month_and_vendor_subfolders": (
        ["Asha Menon - Oct 2024/Uber/a.txt", "Asha Menon - Oct 2024/Hotel stay/b.txt", "Asha Menon - Oct 2024/oct/c.txt"],
        {"Asha Menon - Oct 2024": ["Hotel stay/b.txt", "Uber/a.txt", "oct/c.txt"]},
    ),
    "employee_with_year_and_month_subfolders": (
        ["Asha/2024/oct/a.txt", "Asha/2024/nov/b.txt"], {"Asha": ["2024/nov/b.txt", "2024/oct/a.txt"]},
    ),
    "employee_with_trip_subfolders": (
        ["Asha/Mumbai/a.txt", "Asha/Pune/b.txt"], {"Asha": ["Mumbai/a.txt", "Pune/b.txt"]},
    ),
    "employee_with_loose_bills_and_subfolders": (
        ["Asha/a.txt", "Asha/Ravi_oct/b.txt", "Asha/Neha_oct/c.txt"],
        {"Asha": ["Neha_oct/c.txt", "Ravi_oct/b.txt", "a.txt"]},
    ),
    "stray_bill_inside_a_wrapper_of_emp_ids": (
        ["October claims/EMP1_Asha/a.txt", "October claims/EMP2_Ravi/b.txt", "October claims/c.pdf"],
        {"EMP1_Asha": ["a.txt"], "EMP2_Ravi": ["b.txt"], "upload": ["October claims/c.pdf"]},
    ),
    "stray_bill_beside_the_wrapper": (
        [f"October claims/{f}" for f in EMPLOYEES] + ["receipt.pdf"], {**THREE, "upload": ["receipt.pdf"]},
    ),
    "root_is_one_employee": (["a.txt", "summary.xlsx"], {"upload": ["a.txt", "summary.xlsx"]}),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_folders_and_zips_give_the_same_employees(tmp_path, layout):
    files, expected = LAYOUTS[layout]
    # --folders
    root = make_tree(tmp_path / "upload", files)
    assert employees(discover_employee_folders(root)) == expected
    # --zip: extracted as it is, unwrapped by the same rule when the folders are discovered
    archive = make_zip(tmp_path / "upload.zip", files)
    extraction = extract_archive(archive, tmp_path / "archives")
    assert extraction.issues == []
    assert employees(discover_employee_folders(extraction.root, root_name=extraction.root_name)) == expected
    # --dry-run of the ZIP: the same rule on the entry names
    plan = plan_archive(archive)
    assert {name or "upload": count for name, count in plan.folders.items()} == {
        name: len(bills) for name, bills in expected.items()
    }
    assert find_wrapper(disk_listing(root)) == plan.wrapper


def test_the_unwrap_and_the_skipped_files_are_logged(tmp_path, caplog):
    root = make_tree(tmp_path / "fwrap", [f"October claims/{f}" for f in EMPLOYEES] + ["October claims/summary.xlsx"])
    with caplog.at_level(logging.INFO, logger="clients.batch.folders"):
        found = discover_employee_folders(root)
    assert [f.folder_name for f in found] == sorted(THREE)
    assert [f.context.claim_month for f in found] == [10, 10, 10]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("'October claims' only wraps the employee folders" in m for m in infos), infos
    assert any("not bills: October claims/summary.xlsx" in m for m in warnings), warnings


def test_an_ambiguous_single_folder_is_one_employee_with_a_warning(tmp_path, caplog):
    root = make_tree(tmp_path / "t", ["Acme/Asha/a.txt", "Acme/Ravi/b.txt"])
    with caplog.at_level(logging.INFO, logger="clients.batch.folders"):
        assert list(employees(discover_employee_folders(root))) == ["Acme"]
    assert any("read as ONE employee" in r.getMessage() and "Asha, Ravi" in r.getMessage() for r in caplog.records)
    # a client code names a container: its subfolders are the employees
    assert list(employees(discover_employee_folders(root, ["acme"]))) == ["Asha", "Ravi"]


def test_a_nested_zip_counts_as_a_folder_for_the_rule(tmp_path):
    inner = make_zip(tmp_path / "EMP3_Om.zip", ["EMP3_Om/c.txt"])
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("October claims/EMP1_Asha/a.txt", "Total INR 1.00")
        zf.write(inner, "October claims/EMP3_Om.zip")
        zf.writestr("readme.md", "what is in here")
    extraction = extract_archive(archive, tmp_path / "x")
    found = employees(discover_employee_folders(extraction.root, root_name=extraction.root_name))
    assert found == {"EMP1_Asha": ["a.txt"], "EMP3_Om": ["c.txt"]}
    plan = plan_archive(archive)
    assert plan.wrapper == ("October claims",) and plan.folders == {"EMP1_Asha": 1}
    assert plan.nested == ["October claims/EMP3_Om.zip"] and plan.skipped == ["readme.md"]


def test_members_listing_matches_the_disk(tmp_path):
    files = [f"October claims/{f}" for f in EMPLOYEES] + ["readme.txt"]
    root = make_tree(tmp_path / "t", files)
    archive = make_zip(tmp_path / "t.zip", files)
    with zipfile.ZipFile(archive) as zf:
        from clients.batch.archive import ArchiveLimits, classify_members

        planned, _, _ = classify_members(zf, ArchiveLimits(), prefix="", source="t.zip", declared_budget=1 << 30)
    zip_view, disk_view = members_listing(planned), disk_listing(root)
    for parts in [(), ("October claims",), ("October claims", "EMP014_Asha_oct_zenith")]:
        assert zip_view(parts) == disk_view(parts)


@pytest.mark.parametrize(
    ("name", "non_bill"),
    [
        ("summary.xlsx", True), ("Claims.XLS", True), ("export.csv", True), ("data.json", True), ("run.log", True),
        ("readme.txt", True), ("README.md", True), ("Read Me.txt", True), ("notes.txt", True), ("README", True),
        ("receipt.txt", False), ("notes.pdf", False), ("summary.pdf", False), ("bill.heic", False),
        ("scan.jpg", False), ("invoice.docx", False), ("lunch.md", False), ("bills.zip", False),
    ],
)
def test_non_bill_files(name, non_bill):
    assert is_non_bill_file(name) is non_bill


def test_no_bill_format_is_a_non_bill_extension():
    assert not NON_BILL_EXTENSIONS & SUPPORTED_EXTENSIONS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Asha Menon - Oct 2024", dict(emp_name="Asha Menon", claim_month=10, claim_year=2024)),
        ("2024-10_EMP021_Neha", dict(emp_id="EMP021", emp_name="Neha", claim_month=10, claim_year=2024)),
        ("Oct 2024 - Asha Menon", dict(emp_name="Asha Menon", claim_month=10, claim_year=2024)),
        ("oct2024_Neha", dict(emp_name="Neha", claim_month=10, claim_year=2024)),
        ("oct_EMP021_Neha", dict(emp_id="EMP021", emp_name="Neha", claim_month=10)),
        ("2024-10_EMP021_Neha_acme", dict(emp_id="EMP021", emp_name="Neha", claim_month=10, claim_year=2024,
                                          client="acme")),
        ("Asha Menon (Oct 2024)", dict(emp_name="Asha Menon", claim_month=10, claim_year=2024)),
        ("EMP014 - Asha - oct", dict(emp_id="EMP014", emp_name="Asha", claim_month=10)),
        ("Oct 2024", dict(claim_month=10, claim_year=2024)),
        # a bare leading month name is a name; an all-digit first part stays an id
        ("May_Kumar", dict(emp_name="May Kumar")),
        ("202410_Neha", dict(emp_id="202410", emp_name="Neha")),
        # the forms that parsed before still do
        ("EMP014_Asha_oct_acme", dict(emp_id="EMP014", emp_name="Asha", claim_month=10, client="acme")),
        ("EMP-22_Ravi Kumar_october_2024_globex", dict(emp_id="EMP-22", emp_name="Ravi Kumar", claim_month=10,
                                                       claim_year=2024, client="globex")),
        ("EMP014_May_oct", dict(emp_id="EMP014", emp_name="May", claim_month=10)),
        ("EMP014_oct", dict(emp_id="EMP014", claim_month=10)),
    ],
)
def test_folder_names(name, expected):
    assert parse_folder_name(name, known_clients=["acme"]).model_dump(exclude_defaults=True) == expected


def _cand(ref: str, sha: str, *, employee: str = "e1", readable: bool = True, **fields) -> DuplicateCandidate:
    return DuplicateCandidate(ref=ref, employee=employee, sha256=sha, readable=readable, **fields)


def test_empty_and_unreadable_files_are_no_duplicates():
    found = find_duplicates([
        _cand("e1/a.pdf", EMPTY_SHA256, readable=False),
        _cand("e2/b.png", EMPTY_SHA256, employee="e2", readable=False),
        _cand("e1/c.txt", EMPTY_SHA256),  # even if a reader called it readable
        _cand("e1/d.pdf", "corrupt", readable=False),
        _cand("e2/e.pdf", "corrupt", employee="e2", readable=False),  # the same broken file twice
    ])
    assert {ref: f.check.status for ref, f in found.items()} == dict.fromkeys(found, "not_checked")
    assert all(f.check.duplicate_of is None for f in found.values())


def test_a_readable_copy_is_still_a_duplicate_after_an_unreadable_file():
    found = find_duplicates([
        _cand("e1/a.pdf", EMPTY_SHA256, readable=False),
        _cand("e1/b.txt", "h1"),
        _cand("e2/c.txt", "h1", employee="e2"),
    ])
    assert found["e1/b.txt"].check.status == "unique"
    assert found["e2/c.txt"].check.model_dump() == {"status": "duplicate", "duplicate_of": "e1/b.txt", "basis": "same_file"}
