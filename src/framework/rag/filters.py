"""Metadata filters in Chroma's `where` syntax, for both indexes.

One syntax serves dense and lexical retrieval alike: the dict goes to Chroma as is (after
normalising), and is translated to SQL over the chunk's JSON metadata for BM25. Supported:
equality shorthand `{"source": "a.md"}`, the operators $eq $ne $gt $gte $lt $lte $in $nin,
and $and / $or. Several keys at the top level mean AND (Chroma itself wants an explicit $and).
"""

from __future__ import annotations

from typing import Any

from framework.errors import ConfigurationError

_COMPARISONS = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_LISTS = {"$in": "IN", "$nin": "NOT IN"}
_SCALARS = (str, int, float, bool)


class FilterError(ConfigurationError, ValueError):
    """A `where` filter that cannot be understood."""


def normalize_where(where: dict[str, Any] | None) -> dict[str, Any] | None:
    if not where:
        return None
    if not isinstance(where, dict):
        raise FilterError(f"a where filter must be a dict, got {type(where).__name__}")
    clauses = []
    for key, value in where.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise FilterError(f"{key} needs a non-empty list of filters")
            parts = [normalize_where(part) for part in value]
            parts = [p for p in parts if p]
            clauses.append(parts[0] if len(parts) == 1 else {key: parts})
        elif key.startswith("$"):
            raise FilterError(f"unknown filter operator {key!r}")
        else:
            clauses.append({key: _normalize_condition(key, value)})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _normalize_condition(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) != 1:
            raise FilterError(f"the condition on {key!r} must have exactly one operator, got {sorted(value)}")
        ((op, operand),) = value.items()
        if op in _COMPARISONS:
            if not isinstance(operand, _SCALARS):
                raise FilterError(f"{op} on {key!r} needs a str, int, float or bool")
        elif op in _LISTS:
            if not isinstance(operand, list) or not operand or not all(isinstance(v, _SCALARS) for v in operand):
                raise FilterError(f"{op} on {key!r} needs a non-empty list of scalars")
        else:
            raise FilterError(f"unknown operator {op!r} on {key!r}")
        return {op: operand}
    if not isinstance(value, _SCALARS):
        raise FilterError(f"the value for {key!r} must be a str, int, float or bool")
    return {"$eq": value}


def where_to_sql(where: dict[str, Any] | None, *, metadata_column: str = "metadata") -> tuple[str, list[Any]]:
    """SQL condition and parameters over a JSON metadata column (`where` already normalised)."""
    if not where:
        return "1", []
    ((key, value),) = where.items()
    if key in ("$and", "$or"):
        parts = [where_to_sql(part, metadata_column=metadata_column) for part in value]
        joiner = " AND " if key == "$and" else " OR "
        return "(" + joiner.join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]
    ((op, operand),) = value.items()
    column = f"json_extract({metadata_column}, ?)"
    path = '$."' + key.replace('"', '""') + '"'
    if op in _COMPARISONS:
        sql = f"{column} {_COMPARISONS[op]} ?"
        if op == "$ne":
            # Chroma's $ne also matches chunks that lack the key
            sql = f"({column} IS NULL OR {column} != ?)"
            return sql, [path, path, _sql_value(operand)]
        return sql, [path, _sql_value(operand)]
    marks = ", ".join("?" for _ in operand)
    sql = f"{column} {_LISTS[op]} ({marks})"
    if op == "$nin":
        sql = f"({column} IS NULL OR {column} NOT IN ({marks}))"
        return sql, [path, path, *(_sql_value(v) for v in operand)]
    return sql, [path, *(_sql_value(v) for v in operand)]


def _sql_value(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value
