"""results.json, policy_extract.json and the CSV, written atomically from the typed records.

Money is written as a JSON number with exactly two decimals (`1180.00`, not `1180.0` or
`"1180.00"`): the standard `json` module cannot print a number that way, so `to_json` is a
small serializer with the same layout as `json.dumps(indent=2, ensure_ascii=False)` that
prints every `Decimal` with two places. Keys keep the order of the records (stable, and
readable: file_name first); dates are ISO `YYYY-MM-DD`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from framework.fileio import atomic_write_text

from clients.batch.schemas import (
    BillResult,
    ExtractedFields,
    FolderResult,
    PolicyRules,
    RunIssue,
    RunSummary,
    Summary,
    money2,
)


def to_json(data: Any) -> str:
    """JSON text with 2-decimal money, 2-space indent, non-ASCII kept, and a final newline."""
    out: list[str] = []
    _encode(data, 0, out)
    out.append("\n")
    return "".join(out)


def _encode(value: Any, level: int, out: list[str]) -> None:
    if isinstance(value, Decimal):
        out.append(f"{money2(value):.2f}")
    elif value is None or isinstance(value, (bool, str, int)):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, float):
        if not math.isfinite(value):
            out.append("null")
        else:
            out.append(json.dumps(value))
    elif isinstance(value, date):
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, Mapping):
        if not value:
            out.append("{}")
            return
        pad = "  " * (level + 1)
        out.append("{\n")
        for index, (key, item) in enumerate(value.items()):
            out.append(pad + json.dumps(str(key), ensure_ascii=False) + ": ")
            _encode(item, level + 1, out)
            out.append(",\n" if index < len(value) - 1 else "\n")
        out.append("  " * level + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        pad = "  " * (level + 1)
        out.append("[\n")
        for index, item in enumerate(value):
            out.append(pad)
            _encode(item, level + 1, out)
            out.append(",\n" if index < len(value) - 1 else "\n")
        out.append("  " * level + "]")
    else:
        out.append(json.dumps(str(value), ensure_ascii=False))


def write_json_money(path: Path, data: Any) -> None:
    atomic_write_text(path, to_json(data))


# --- records -> JSON-ready dicts -----------------------------------------------------------


def extracted_dict(fields: ExtractedFields | None) -> dict[str, Any] | None:
    if fields is None:
        return None
    return {
        "amount": fields.amount,
        "currency": fields.currency,
        "date": fields.date.isoformat() if fields.date else None,
        "vendor": fields.vendor,
        "bill_number": fields.bill_number,
        "person_name": fields.person_name,
        "pickup": fields.pickup,
        "drop": fields.drop,
        "distance_km": float(fields.distance_km) if fields.distance_km is not None else None,
        "nights": fields.nights,
        "evidence": {
            name: {"confidence": ev.confidence, "source_line": ev.source_line}
            for name, ev in sorted(fields.evidence.items())
        },
        "flags": list(fields.flags),
        "extractor": fields.extractor,
    }


def bill_dict(result: BillResult) -> dict[str, Any]:
    d = result.decision
    data: dict[str, Any] = {
        "file_name": result.file_name,
        "sha256": result.sha256,
        "status": result.status,
        "bill_type": result.bill_type,
        "decision": d.decision,
        "reason": d.reason,
        "claimed_amount": d.claimed_amount,
        "approved_amount": d.approved_amount,
        "rule_ids": list(d.rule_ids),
        "extracted": extracted_dict(result.extracted),
        "validation": result.validation.model_dump(mode="json"),
        "document": result.document.model_dump(mode="json"),
    }
    if data["extracted"] is not None and result.exclusions:
        data["extracted"]["excluded_items"] = [
            {"item": h.item, "term": h.term, "amount": h.amount, "source_line": h.source_line} for h in result.exclusions
        ]
    if result.error is not None:
        data["error"] = result.error.model_dump()
    if result.warnings:
        data["warnings"] = list(result.warnings)
    return data


def summary_dict(summary: Summary) -> dict[str, Any]:
    data: dict[str, Any] = {
        "approved": summary.approved,
        "rejected": summary.rejected,
        "needs_review": summary.needs_review,
        "failed": summary.failed,
        "total": summary.total,
        "currency": summary.currency,
        "claimed_amount": summary.claimed_amount,
        "approved_amount": summary.approved_amount,
    }
    if isinstance(summary, RunSummary):
        data["folders"] = summary.folders
        data["errors"] = summary.errors
    return data


def results_document(
    run_block: dict[str, Any],
    folders: list[FolderResult],
    issues: list[RunIssue],
    summary: RunSummary,
) -> dict[str, Any]:
    return {
        "run": run_block,
        "folders": [
            {
                "folder_name": folder.folder_name,
                "employee_context": folder.employee_context.model_dump(mode="json"),
                "results": [bill_dict(r) for r in folder.results],
                "summary": summary_dict(folder.summary),
            }
            for folder in folders
        ],
        "errors": [issue.model_dump() for issue in issues],
        "summary": summary_dict(summary),
    }


def policy_document(rules: PolicyRules, *, policy_file: str, policy_hash: str, text_sha256: str) -> dict[str, Any]:
    data = rules.model_dump(mode="python")
    for category in data["categories"]:
        for key in ("per_bill_limit", "per_day_limit", "per_month_limit", "per_km_rate", "approval_above"):
            if category[key] is not None:
                category[key] = money2(category[key])
    return {"policy_file": policy_file, "policy_hash": policy_hash, "text_sha256": text_sha256, "rules": data}


# --- CSV -------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "folder_name", "emp_id", "emp_name", "file_name", "status", "bill_type", "vendor", "date", "currency",
    "claimed_amount", "approved_amount", "decision", "reason", "rule_ids", "duplicate_of", "error_type", "error_message",
]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{money2(value):.2f}"
    text = str(value)
    # a cell starting with = + - @ is a formula to a spreadsheet: bill text must not run there
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def write_csv(path: Path, folders: list[FolderResult]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for folder in folders:
        ctx = folder.employee_context
        for r in folder.results:
            f = r.extracted
            writer.writerow(
                [
                    _cell(folder.folder_name), _cell(ctx.emp_id), _cell(ctx.emp_name), _cell(r.file_name), r.status,
                    _cell(r.bill_type), _cell(f.vendor if f else None),
                    f.date.isoformat() if f and f.date else "", _cell(f.currency if f else None),
                    _cell(r.decision.claimed_amount), _cell(r.decision.approved_amount), r.decision.decision,
                    _cell(r.decision.reason), ";".join(r.decision.rule_ids),
                    _cell(r.validation.duplicate.duplicate_of), _cell(r.error.type if r.error else None),
                    _cell(r.error.message if r.error else None),
                ]
            )
    atomic_write_text(path, buffer.getvalue())
