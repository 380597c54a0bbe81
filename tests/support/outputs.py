"""Reading job outputs the way the tests compare them."""

from __future__ import annotations

from pathlib import Path


def without_run_block(results_json: Path) -> str:
    """results.json from its "folders" on: the part that must be byte-identical between two
    runs on the same input (the "run" block holds times and cache counts)."""
    text = results_json.read_text(encoding="utf-8")
    return text[text.index('\n  "folders": '):]
