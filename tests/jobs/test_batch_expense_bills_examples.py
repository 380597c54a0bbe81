"""The README quickstart: the bundled examples decide the way a person reading the bills would."""

from __future__ import annotations

import json
from pathlib import Path

from clients.batch.runner import ExpenseJobConfig, run
from framework.config import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "expense"

EXPECTED = {
    # file: (decision, claimed, approved, first rule id)
    "EMP014_Asha_oct_zenith/01_cab_airport.png": ("APPROVED", 780.0, 780.0, "cab.per_month"),
    "EMP014_Asha_oct_zenith/02_cab_client_visit.pdf": ("APPROVED", 1450.0, 1450.0, "cab.per_month"),
    "EMP014_Asha_oct_zenith/03_hotel_mumbai_scan.pdf": ("APPROVED", 10080.0, 8000.0, "hotel.per_day"),
    "EMP014_Asha_oct_zenith/04_team_dinner.jpg": ("APPROVED", 1806.0, 1106.0, "general.excluded_items"),
    "EMP022_Ravi_oct_orbit/01_lunch.txt": ("APPROVED", 640.0, 640.0, "meals.per_day"),
    "EMP022_Ravi_oct_orbit/02_lunch_resubmitted.txt": ("REJECTED", 640.0, 0.0, "general.duplicate"),
    "EMP022_Ravi_oct_orbit/03_cab_november.png": ("REJECTED", 520.0, 0.0, "general.claim_month"),
    "EMP031_Meera_oct/01_meals_conference.png": ("APPROVED", 2300.0, 1500.0, "meals.per_day"),
    "EMP031_Meera_oct/02_coffee_same_day.txt": ("REJECTED", 380.0, 0.0, "meals.per_day"),
    "EMP031_Meera_oct/03_faded_receipt.png": ("NEEDS_REVIEW", None, None, "general.amount"),
}


def test_examples_quickstart(tmp_path):
    result = run(
        ExpenseJobConfig(
            policy=EXAMPLES / "policy.txt", folders=EXAMPLES / "bills", output=tmp_path / "out" / "results.json",
            client_addresses=EXAMPLES / "client_addresses.json", csv=tmp_path / "out" / "results.csv",
            settings=Settings(CACHE_DIR=tmp_path / "doc_cache", LLM_PROVIDER="offline"), workers=2,
        )
    )
    data = json.loads(result.results_path.read_text())
    got = {
        f"{f['folder_name']}/{r['file_name']}": (r["decision"], r["claimed_amount"], r["approved_amount"], r["rule_ids"][0])
        for f in data["folders"] for r in f["results"]
    }
    assert got == EXPECTED
    assert data["summary"]["approved_amount"] == 13476.0 and data["summary"]["failed"] == 0
    cab = next(r for f in data["folders"] for r in f["results"] if r["file_name"] == "01_cab_airport.png")
    assert cab["validation"]["client_address"]["status"] == "ok" and cab["validation"]["employee_name"]["status"] == "ok"
