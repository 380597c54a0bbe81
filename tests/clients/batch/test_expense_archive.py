"""Safe ZIP extraction: traversal, symlinks, bombs (declared and lying headers), nesting."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

from clients.batch.archive import ArchiveLimits, extract_archive, plan_archive
from clients.batch.folders import discover_employee_folders
from framework.errors import ConfigurationError
from tests.support.zips import lie_about_size, patch_headers

CASES = Path(__file__).resolve().parents[2] / "fixtures" / "cases"
C20 = CASES / "C20_zip_path_traversal"
C22 = CASES / "C22_zip_bomb_and_nested"


def _evil_files(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        found.extend(p for p in root.rglob("evil_*"))
    return found


def test_c20_traversal_symlink_and_absolute_entries_are_refused(tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # a relative ../ would land next to the cwd
    dest = work / "out" / ".cache" / "archives"
    result = extract_archive(C20 / "bills_traversal.zip", dest)
    by_name = {issue.name: issue.type for issue in result.issues}
    assert by_name == {
        "../../evil_parent.txt": "unsafe_archive_path",
        "/tmp/evil_absolute.txt": "unsafe_archive_path",
        "C:/Windows/Temp/evil_drive.txt": "unsafe_archive_path",
        "emp_ravi/../../../evil_deep.txt": "unsafe_archive_path",
        "emp_ravi\\..\\..\\evil_backslash.txt": "unsafe_archive_path",
        "emp_asha/link_to_passwd": "symlink_in_archive",
    }
    files = sorted(p.relative_to(result.root).as_posix() for p in result.root.rglob("*") if p.is_file() or p.is_symlink())
    assert files == [".archive_report.json", "emp_asha/cab_receipt.txt", "emp_ravi/meal_receipt.txt"]
    assert not any(p.is_symlink() for p in result.root.rglob("*"))
    assert _evil_files(tmp_path) == []
    assert not Path("/tmp/evil_absolute.txt").exists()


def test_c22_bomb_refused_from_the_declared_size_and_the_rest_extracted(tmp_path):
    result = extract_archive(C22 / "bomb.zip", tmp_path)
    assert [(i.type, i.name) for i in result.issues] == [("archive_limit_exceeded", "emp_x/receipt_scan.png")]
    assert (result.root / "emp_x" / "cab_receipt.txt").exists()
    assert not (result.root / "emp_x" / "receipt_scan.png").exists()
    used = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert used < 100_000


def test_ratio_limit_refuses_a_small_bomb(tmp_path):
    archive = tmp_path / "ratio.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("emp/zeros.png", b"\0" * (3 * 1024 * 1024))
        zf.writestr("emp/ok.txt", "Total INR 10.00")
    result = extract_archive(archive, tmp_path / "x")
    assert [(i.type, i.name) for i in result.issues] == [("archive_limit_exceeded", "emp/zeros.png")]
    assert "compresses" in result.issues[0].message


def test_lying_header_is_stopped_by_the_byte_counter(tmp_path):
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("emp/scan.png", b"\0" * (2 * 1024 * 1024))
        zf.writestr("emp/ok.txt", "Total INR 10.00")
    lie_about_size(archive, "emp/scan.png", 1000)
    assert zipfile.ZipFile(archive).getinfo("emp/scan.png").file_size == 1000
    result = extract_archive(archive, tmp_path / "x")
    assert [i.name for i in result.issues] == ["emp/scan.png"]
    assert result.issues[0].type in {"archive_limit_exceeded", "corrupt_archive_member"}
    assert not (result.root / "emp" / "scan.png").exists()  # the partial file is removed
    assert (result.root / "emp" / "ok.txt").exists()


def test_total_budget_is_shared_by_all_entries(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        for n in range(5):
            zf.writestr(f"emp/{n}.txt", b"x" * 1000)
    result = extract_archive(archive, tmp_path / "x", ArchiveLimits(max_total_bytes=2500))
    assert sorted(p.name for p in (result.root / "emp").iterdir()) == ["0.txt", "1.txt"]
    assert [i.type for i in result.issues] == ["archive_limit_exceeded"] * 3


def test_nested_zip_expanded_one_level(tmp_path):
    result = extract_archive(C22 / "nested.zip", tmp_path)
    assert result.issues == []
    files = sorted(p.relative_to(result.root).as_posix() for p in result.root.rglob("*.txt"))
    assert files == ["emp_neha/cab_receipt.txt", "emp_om/meal_receipt.txt"]  # wrapper folder unwrapped
    assert not list(result.root.rglob("*.zip"))


def test_deeply_nested_zip_stops_at_the_depth_limit(tmp_path):
    result = extract_archive(C22 / "deeply_nested.zip", tmp_path)
    assert [(i.type, i.name) for i in result.issues] == [("nested_archive", "level4.zip/level3.zip")]
    assert "1 level" in result.issues[0].message
    deeper = extract_archive(C22 / "deeply_nested.zip", tmp_path / "deep", ArchiveLimits(max_depth=10))
    assert deeper.issues == [] and list(deeper.root.rglob("cab_receipt.txt"))


def test_hidden_macosx_skipped_and_wrapper_folder_unwrapped(tmp_path):
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("October claims/EMP1_Asha/a.txt", "Total INR 1.00")
        zf.writestr("October claims/EMP2_Ravi/b.txt", "Total INR 2.00")
        zf.writestr("__MACOSX/October claims/EMP1_Asha/._a.txt", "junk")
        zf.writestr("October claims/.DS_Store", "junk")
    result = extract_archive(archive, tmp_path / "x")
    assert result.issues == []
    assert sorted(p.name for p in result.root.iterdir() if not p.name.startswith(".")) == ["October claims"]
    # the wrapper is unwrapped when the employee folders are discovered (folders.find_wrapper)
    found = discover_employee_folders(result.root, root_name=result.root_name)
    assert [f.folder_name for f in found] == ["EMP1_Asha", "EMP2_Ravi"]
    assert plan_archive(archive).folders == {"EMP1_Asha": 1, "EMP2_Ravi": 1}


def test_special_files_and_encrypted_entries(tmp_path):
    archive = tmp_path / "special.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        fifo = zipfile.ZipInfo("emp/pipe")
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        zf.writestr(fifo, b"")
        zf.writestr("emp/locked.txt", b"xxxx")
        zf.writestr("emp/ok.txt", "Total INR 5.00")
    patch_headers(archive, "emp/locked.txt", local_offset=6, central_offset=8, fmt="<H", value=lambda bits: bits | 0x1)
    with zipfile.ZipFile(archive) as zf:
        assert zf.getinfo("emp/locked.txt").flag_bits & 0x1
    result = extract_archive(archive, tmp_path / "x")
    assert {(i.type, i.name) for i in result.issues} == {
        ("unsafe_archive_path", "emp/pipe"), ("encrypted_archive_member", "emp/locked.txt"),
    }


def test_finished_extraction_is_reused_and_partial_ones_discarded(tmp_path):
    first = extract_archive(C22 / "nested.zip", tmp_path)
    stale = tmp_path / f".{first.root.name}.partial-999999"
    stale.mkdir()
    again = extract_archive(C22 / "nested.zip", tmp_path)
    assert again.reused and again.root == first.root and again.files == first.files
    os.remove(first.root / ".archive_report.json")  # as if killed before completion
    third = extract_archive(C22 / "nested.zip", tmp_path)
    assert not third.reused and not stale.exists()


def test_plan_reads_the_directory_only(tmp_path):
    plan = plan_archive(C20 / "bills_traversal.zip")
    assert plan.folders == {"emp_asha": 1, "emp_ravi": 1}
    assert len(plan.issues) == 6
    assert plan_archive(C22 / "nested.zip").nested == ["emp_neha.zip"]


def test_not_a_zip_is_a_usage_error(tmp_path):
    bad = tmp_path / "bills.zip"
    bad.write_text("not a zip")
    with pytest.raises(ConfigurationError):
        extract_archive(bad, tmp_path / "x")
