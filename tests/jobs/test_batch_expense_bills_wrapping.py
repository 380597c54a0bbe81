"""A wrapping folder around the employee folders (`t/fwrap/October claims/EMP014_.../...`):
the job used to read it as ONE employee "October Claims" (no claim month, limits pooled across
people, names checked against "October Claims"); a `summary.xlsx` inside the wrapper made the
ZIP run exit 2 and a `readme.txt` beside it made a fake employee. Now the bundled examples,
wrapped, decide exactly as unwrapped. Also: 0-byte files are not duplicates of each other."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from clients.batch.runner import ExpenseJobConfig, run
from framework.config import Settings
from tests.jobs.test_batch_expense_bills_examples import EXPECTED

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "expense"


@pytest.fixture(scope="module")
def doc_cache(tmp_path_factory) -> Path:
    """One documents-layer cache for the module: the example scans are OCR'd once."""
    return tmp_path_factory.mktemp("doc_cache")


def _wrapped_examples(tmp_path: Path) -> Path:
    root = tmp_path / "t" / "fwrap"
    wrapper = root / "October claims"
    shutil.copytree(EXAMPLES / "bills", wrapper)
    (wrapper / "summary.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    (root / "readme.txt").write_text("October claims of the Bengaluru team.\n", encoding="utf-8")
    return root


def _config(tmp_path: Path, cache: Path, out: str, **source) -> ExpenseJobConfig:
    return ExpenseJobConfig(
        policy=EXAMPLES / "policy.txt", output=tmp_path / out / "results.json",
        client_addresses=EXAMPLES / "client_addresses.json",
        settings=Settings(CACHE_DIR=cache, LLM_PROVIDER="offline"), workers=1, **source,
    )


def _decisions(results_path: Path) -> tuple[dict, dict]:
    data = json.loads(results_path.read_text(encoding="utf-8"))
    got = {
        f"{f['folder_name']}/{r['file_name']}": (r["decision"], r["claimed_amount"], r["approved_amount"], r["rule_ids"][0])
        for f in data["folders"] for r in f["results"]
    }
    return got, data


def test_a_wrapped_batch_decides_like_the_unwrapped_one_from_folders_and_from_a_zip(tmp_path, doc_cache, caplog):
    root = _wrapped_examples(tmp_path)
    with caplog.at_level("INFO", logger="clients.batch.folders"):
        result = run(_config(tmp_path, doc_cache, "out", folders=root))
    got, data = _decisions(result.results_path)
    assert got == EXPECTED
    assert result.bills_failed == 0 and result.issues == [] and data["errors"] == []
    assert {f["folder_name"]: f["employee_context"]["claim_month"] for f in data["folders"]} == {
        "EMP014_Asha_oct_zenith": 10, "EMP022_Ravi_oct_orbit": 10, "EMP031_Meera_oct": 10,
    }
    messages = [r.getMessage() for r in caplog.records]
    assert any("'October claims' only wraps the employee folders" in m for m in messages), messages
    assert any("October claims/summary.xlsx" in m and "readme.txt" in m for m in messages), messages

    archive = tmp_path / "october.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(root).as_posix())
    # (the same output folder: the bills are not read again, the ZIP's layout is what is tested)
    result = run(_config(tmp_path, doc_cache, "out", zip=archive))
    got, data = _decisions(result.results_path)
    assert got == EXPECTED  # no fake "october" employee for readme.txt, no failed summary.xlsx
    assert result.bills_failed == 0 and data["errors"] == []


def test_the_cli_exits_0_on_a_wrapped_folder(tmp_path, doc_cache):
    root = _wrapped_examples(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLM_", "OPENAI_", "EMBEDDING_"))}
    env.update(PYTHONPATH=str(REPO), CACHE_DIR=str(doc_cache), PYTHONUNBUFFERED="1")
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.batch.batch_expense_bills", "--policy", str(EXAMPLES / "policy.txt"),
         "--folders", str(root), "-o", str(tmp_path / "out" / "results.json")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "only wraps the employee folders" in proc.stderr + proc.stdout
    data = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert sorted(f["folder_name"] for f in data["folders"]) == sorted({k.split("/")[0] for k in EXPECTED})


def test_empty_files_of_different_types_are_not_duplicates(tmp_path):
    bills = tmp_path / "bills"
    for name in ["EMP1_Asha_oct/scan.pdf", "EMP1_Asha_oct/photo.png", "EMP2_Ravi_oct/receipt.jpg"]:
        (bills / name).parent.mkdir(parents=True, exist_ok=True)
        (bills / name).write_bytes(b"")
    (bills / "EMP2_Ravi_oct" / "lunch.txt").write_text("Cafe Roma\nDate: 05/10/2024\nTotal INR 300.00\n")
    policy = tmp_path / "policy.txt"
    policy.write_text("Meals up to Rs 1,000 per day.\n")
    result = run(ExpenseJobConfig(policy=policy, folders=bills, output=tmp_path / "out" / "results.json",
                                  settings=Settings(CACHE_DIR=tmp_path / "doc_cache", LLM_PROVIDER="offline"), workers=1))
    data = json.loads(result.results_path.read_text(encoding="utf-8"))
    by_name = {f"{f['folder_name']}/{r['file_name']}": r for f in data["folders"] for r in f["results"]}
    for name in ["EMP1_Asha_oct/scan.pdf", "EMP1_Asha_oct/photo.png", "EMP2_Ravi_oct/receipt.jpg"]:
        bill = by_name[name]
        assert bill["status"] == "failed" and bill["error"] is not None, bill
        assert bill["validation"]["duplicate"] == {"status": "not_checked", "duplicate_of": None, "basis": None}
        assert "general.duplicate" not in bill["rule_ids"] and "Duplicate" not in bill["reason"]
    assert by_name["EMP2_Ravi_oct/lunch.txt"]["decision"] == "APPROVED"
