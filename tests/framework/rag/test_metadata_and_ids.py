"""C12: every stored metadata value is str/int/float/bool; ids are deterministic and distinct."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import PurePosixPath

from framework.rag.ids import chunk_id, content_hash, source_key
from framework.rag.metadata import sanitize_metadata


def test_front_matter_like_values_become_scalars():
    raw = {
        "title": "Relocation policy",
        "tags": ["relocation", "hotel", "travel"],
        "author": None,
        "empty": "",
        "date": date(2024, 4, 1),
        "updated": datetime(2024, 4, 1, 9, 30, tzinfo=UTC),
        "version": 3,
        "draft": False,
        "owner": {"team": "finance", "email_alias": "finance-policies"},
        "reviewers": [{"name": "A. Rao"}, {"name": "S. Iyer"}],
        "score": float("nan"),
        "ceiling": float("inf"),
        "amount": Decimal("1200.50"),
        "huge": 2**70,
        "blob": b"\x00\x01",
        "path": PurePosixPath("a/b.md"),
        "labels": set(),
        "chroma:document": "reserved",
        7: "numeric key",
    }
    clean = sanitize_metadata(raw)
    assert all(isinstance(v, (str, int, float, bool)) for v in clean.values())
    assert all(isinstance(k, str) for k in clean)
    assert clean["title"] == "Relocation policy"
    assert json.loads(clean["tags"]) == ["relocation", "hotel", "travel"]
    assert "author" not in clean and "empty" not in clean and "labels" not in clean
    assert clean["date"] == "2024-04-01" and clean["updated"].startswith("2024-04-01T09:30:00")
    assert clean["version"] == 3 and clean["draft"] is False
    assert json.loads(clean["owner"]) == {"email_alias": "finance-policies", "team": "finance"}
    assert json.loads(clean["reviewers"]) == [{"name": "A. Rao"}, {"name": "S. Iyer"}]
    assert "score" not in clean and "ceiling" not in clean
    assert math.isclose(clean["amount"], 1200.5)
    assert clean["huge"] == str(2**70)  # Chroma stores int64
    assert "blob" not in clean and "chroma:document" not in clean
    assert clean["path"] == "a/b.md" and clean["7"] == "numeric key"


def test_nan_inside_a_list_does_not_break_json():
    clean = sanitize_metadata({"values": [1.0, float("nan")]})
    assert json.loads(clean["values"]) == [1.0, None]


def test_chunk_ids_are_deterministic_and_distinct():
    same_text = content_hash("Disclaimer: this policy is issued by the Finance department.")
    a0, a1 = chunk_id("a.md", 0, same_text), chunk_id("a.md", 1, same_text)
    b0 = chunk_id("b.md", 0, same_text)
    assert len({a0, a1, b0}) == 3  # repeated text in one file, and the same text in another file
    assert a0 == chunk_id("a.md", 0, same_text)
    assert a0.startswith(source_key("a.md"))
