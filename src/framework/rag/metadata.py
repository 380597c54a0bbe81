"""The last gate before a store: every metadata value becomes str, int, float or bool.

Chroma rejects None, nested values and (in older builds) lists, and a rejected value fails
the whole batch. Readers upstream already clean what they extract, but library callers pass
anything, so the store boundary sanitises again: None and empties are dropped, dates become
ISO strings, lists and maps become JSON strings, NaN and infinities are dropped, and integers
outside 64 bits become strings (Chroma stores int64).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

MetadataValue = str | int | float | bool

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def sanitize_metadata(values: Mapping[Any, Any] | None) -> dict[str, MetadataValue]:
    out: dict[str, MetadataValue] = {}
    for key, value in (values or {}).items():
        name = str(key).strip()
        if not name or name.startswith("chroma:"):  # Chroma reserves its own prefix
            continue
        scalar = to_scalar(value)
        if scalar is not None:
            out[name] = scalar
    return out


def to_scalar(value: Any) -> MetadataValue | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if _INT64_MIN <= value <= _INT64_MAX else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Enum):
        return to_scalar(value.value)
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None  # binary is not metadata; a lossy str() of it would only mislead filters
    if isinstance(value, PurePath):
        return value.as_posix()
    if isinstance(value, (Mapping, list, tuple, set, frozenset)):
        if not value:
            return None
        return json.dumps(_jsonable(value), ensure_ascii=False, sort_keys=True)
    text = str(value).strip()
    return text or None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((_jsonable(v) for v in value), key=str)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return to_scalar(value)
