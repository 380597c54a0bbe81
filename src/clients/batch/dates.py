"""Dates as bills print them: 15/03/2018, 03/03/18, 23.03.18, 26 MAR 2018, 02/JAN/2017,
2018-05-01, "March 14, 2024", often with a time glued on ("03/02/201709:26:48" from OCR).

Numeric dates whose day and month could be swapped (04/03/2024) are read in the caller's
`date_order` and reported as ambiguous, so the caller can look for a date elsewhere on the same
bill that settles the order (one with a day above 12) before trusting the default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

DateOrder = Literal["DMY", "MDY"]

_MONTHS = {
    "jan": 1, "january": 1, "januar": 1,
    "feb": 2, "february": 2, "februar": 2,
    "mar": 3, "march": 3, "mac": 3, "mrz": 3, "mär": 3, "märz": 3, "mars": 3,
    "apr": 4, "april": 4,
    "may": 5, "mei": 5, "mai": 5,
    "jun": 6, "june": 6, "juni": 6, "juin": 6,
    "jul": 7, "july": 7, "juli": 7,
    "aug": 8, "august": 8, "ogos": 8,
    "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "okt": 10, "oktober": 10,
    "nov": 11, "november": 11,
    "dec": 12, "december": 12, "dis": 12, "dez": 12, "dezember": 12,
}
_MON = "(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")(?![a-zä])\.?"
# A four-digit year may have the time glued to it by OCR: "201709:26:48".
_Y4 = r"(?:19|20)\d{2}(?=\d{1,2}[:.]\d{2}|(?!\d))"
_Y = rf"(?P<y>{_Y4}|\d{{2}}(?!\d))"

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ymd", re.compile(rf"(?<![\d/.-])(?P<y>{_Y4})(?P<s>[-/.])(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}})(?!\d)")),
    ("dmy_name", re.compile(
        rf"(?<![\d])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[\s/.,-]*{_MON}[\s/.,'-]*{_Y}", re.IGNORECASE)),
    ("mdy_name", re.compile(
        rf"(?<![a-z]){_MON}[\s/.-]*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?[\s/.-]*(?P<y>{_Y4})", re.IGNORECASE)),
    ("ymd_name", re.compile(rf"(?<!\d)(?P<y>{_Y4})[-/\s]{_MON}[-/\s](?P<d>\d{{1,2}})(?!\d)", re.IGNORECASE)),
    ("numeric", re.compile(
        rf"(?<![\d/.-])(?P<a>\d{{1,2}})\s?(?P<s>[-/.])\s?(?P<b>\d{{1,2}})\s?(?P=s)\s?{_Y}")),
]


@dataclass(frozen=True)
class FoundDate:
    value: date
    raw: str
    start: int
    end: int
    ambiguous: bool  # day and month could be swapped and both readings are real dates
    proves_order: DateOrder | None  # a numeric date that only one order can read (day > 12)


def _year(raw: str) -> int:
    y = int(raw)
    if len(raw) == 2:
        # Bills are recent: 18 is 2018, and 95 is 1995 rather than 2095.
        y += 2000 if y < 80 else 1900
    return y


def _make(y: int, m: int, d: int) -> date | None:
    if not 1980 <= y <= 2099:
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _read(kind: str, m: re.Match[str], order: DateOrder) -> FoundDate | None:
    y = _year(m.group("y"))
    if kind != "numeric":
        month = int(m.group("m")) if kind == "ymd" else _MONTHS[m.group("mon").lower()]
        value = _make(y, month, int(m.group("d")))
        if value is None:
            return None
        return FoundDate(value, m.group(0), m.start(), m.end(), ambiguous=False, proves_order=None)
    a, b = int(m.group("a")), int(m.group("b"))
    dmy, mdy = _make(y, b, a), _make(y, a, b)
    if dmy and mdy:
        chosen = dmy if order == "DMY" else mdy
        return FoundDate(chosen, m.group(0), m.start(), m.end(), ambiguous=a != b, proves_order=None)
    if dmy or mdy:
        proves: DateOrder = "DMY" if dmy else "MDY"
        return FoundDate(dmy or mdy, m.group(0), m.start(), m.end(), ambiguous=False,  # type: ignore[arg-type]
                         proves_order=proves)
    return None


def find_dates(text: str, date_order: DateOrder = "DMY") -> list[FoundDate]:
    """Every real calendar date in the text, in order of position; impossible ones are dropped."""
    found: list[FoundDate] = []
    for kind, rx in _PATTERNS:
        for m in rx.finditer(text):
            if any(f.start < m.end() and m.start() < f.end for f in found):
                continue
            fd = _read(kind, m, date_order)
            if fd is not None:
                found.append(fd)
    return sorted(found, key=lambda f: f.start)


def parse_date(token: str, date_order: DateOrder = "DMY") -> date | None:
    """The date in a short token ("15/03/2018", "26 MAR 2018 18:14"), or None."""
    found = find_dates(token, date_order)
    return found[0].value if found else None
