"""Money tokens on bills: reading one amount, finding the amounts on a line, naming the currency.

Bills print the same number many ways: Indian lakh/crore grouping (`1,05,000.50`), western
(`105,000.50`), European decimal comma (`1.234,56`), space, no-break space or apostrophe
thousands (`1 234,56`, `1 234.50`, `1'234.50`), a `/-` suffix, cents written as a dash
(`350.-`, `1.234,-`), `Rs.`/`₹`/`RM`/`$` prefixes. Everything here is pure and works on one
string at a time.

A plain space between digit groups is ambiguous on its own ("2 120.00" is often a quantity and
a price), so it is read as grouping here only after a currency marker ("Rs 1 25 000",
"USD 1 234.50"); elsewhere the totals step weighs both readings (see totals.py).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENTS = Decimal("0.01")

# Longest alternatives first: "US$" must win over "$", "Rs." over "Rs".
_CURRENCY_MARKERS: list[tuple[str, str]] = [
    (r"₹", "INR"),
    (r"\bRs\.?(?![a-z])", "INR"),
    (r"\bRupees?\b", "INR"),
    (r"\bINR\b", "INR"),
    (r"\bRM(?![A-Za-z])", "MYR"),
    (r"\bMYR\b", "MYR"),
    (r"\bRinggit\b", "MYR"),
    (r"\bUS\$", "USD"),
    (r"\bS\$", "SGD"),
    (r"\bA\$", "AUD"),
    (r"\bC\$", "CAD"),
    (r"\bHK\$", "HKD"),
    (r"\bUSD\b", "USD"),
    (r"\bSGD\b", "SGD"),
    (r"\bAUD\b", "AUD"),
    (r"\bCAD\b", "CAD"),
    (r"\bHKD\b", "HKD"),
    (r"€", "EUR"),
    (r"\bEUR\b", "EUR"),
    (r"\bEuros?\b", "EUR"),
    (r"£", "GBP"),
    (r"\bGBP\b", "GBP"),
    (r"\bAED\b", "AED"),
    (r"\bTHB\b", "THB"),
    (r"฿", "THB"),
    (r"\bIDR\b", "IDR"),
    (r"\bRp\.?(?=\s?\d)", "IDR"),
    (r"\bJPY\b", "JPY"),
    (r"\bCNY\b|\bRMB\b", "CNY"),
    (r"¥", "JPY"),
    (r"\bCHF\b", "CHF"),
    (r"\bLKR\b", "LKR"),
    (r"\bNPR\b", "NPR"),
    (r"\bBDT\b|৳", "BDT"),
    (r"\bPKR\b", "PKR"),
    (r"\bPHP\b|₱", "PHP"),
    (r"\bSAR\b", "SAR"),
    (r"\bQAR\b", "QAR"),
    (r"\$", "USD"),
]
# Only the Indian rupee-suffix convention: "1,250/-".
_SLASH_DASH = re.compile(r"\d\s*/-")
# "Rs", "Rupees", "Euro" are written in any case; the short uppercase codes are not, so that
# ordinary words ("rm", "aud") are not read as currencies.
_ANY_CASE = {r"\bRs\.?(?![a-z])", r"\bRupees?\b", r"\bRinggit\b", r"\bEuros?\b"}
_MARKER_RES = [(re.compile(p, re.IGNORECASE if p in _ANY_CASE else 0), c) for p, c in _CURRENCY_MARKERS]

# A currency marker that can sit right before or after a number.
_CUR = (r"(?:₹|Rs\.?|INR|RM|MYR|US\$|S\$|A\$|C\$|HK\$|USD|SGD|AUD|CAD|HKD|\$|€|EUR|£|GBP|AED"
        r"|THB|฿|IDR|JPY|CNY|¥|CHF|LKR|BDT|PKR|₱|SAR|QAR)")
_NUM = (r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+,\d{1,2}(?!\d)"  # "1 234,56": space groups need a comma decimal
        r"|\d[\d,.'’\u00a0\u202f]*\d"
        r"|\.\d{2}(?!\d)"                                    # "RM .80" as printed by some tills
        r"|\d")
# After a currency marker, digit groups split by plain spaces are one number: "Rs 1 25 000".
_SPACED_NUM = (r"\d{1,3}(?: \d{3})+(?:[.,]\d{1,2})?(?![\d.,])"    # western threes: "1 234 567.50"
               r"|\d{1,2}(?: \d{2})+ \d{3}(?:[.,]\d{1,2})?(?![\d.,])")  # Indian: "12 34 567.50"
_TOKEN = re.compile(
    rf"(?:(?<![\w.-])(?P<neg>-\s?))?(?:(?<![A-Za-z0-9])(?P<cur>{_CUR}\s?)(?P<neg2>-)?)?"
    rf"(?:(?<![A-Za-z0-9])(?P<slip>[fF%](?=\d)))?"
    rf"(?:(?(cur)(?P<spaced>{_SPACED_NUM})|(?!))|(?P<num>{_NUM}))"
    rf"(?P<nocents>[.,][-\u2013\u2014](?![\d\w]))?"
    rf"(?P<suffix>\s?/-)?(?P<post>\s?{_CUR}(?![A-Za-z])(?!\s?[\d.]))?",
    re.IGNORECASE,
)
# Cents printed as a dash: "350.-", "1.234,-", "12,–".
_NO_CENTS = re.compile(r"(?<=\d)[.,][-\u2013\u2014]$")
# Digit groups joined by "/" or ":" are ids, dates and times, never money.
_JOINED = re.compile(r"\d+(?:\s?[/:]\s?\d+)+")


@dataclass(frozen=True)
class AmountToken:
    """One number on a line that could be money."""

    value: Decimal
    raw: str  # the number as printed, without currency marks
    start: int
    end: int
    currency: str | None  # a marker glued to or next to this number
    decimals: int  # digits after the decimal separator (0 for integers)
    grouped: bool  # had thousands separators
    slip: str | None  # a glued non-digit before the number that may be a misread rupee sign
    slash_dash: bool  # printed with the Indian "/-" suffix


def quantize(value: Decimal) -> Decimal:
    return value.quantize(CENTS, rounding=ROUND_HALF_UP)


def _strip_markers(token: str) -> tuple[str, bool]:
    """Token without currency marks and '/-'; also whether it was negative."""
    s = token.strip()
    negative = False
    if s.startswith("(") and s.endswith(")"):
        s, negative = s[1:-1].strip(), True
    s = re.sub(r"\s*/-\s*$", "", s)
    if cents := _NO_CENTS.search(s):
        # "1.234,-": the dash stands for the cents (so it is not a minus), and its separator is the decimal one
        s = s[:cents.end() - 1] + "00"
    for _ in range(2):  # a sign may sit on either side of the currency mark
        if s.startswith("-"):
            s, negative = s[1:].strip(), True
        s = re.sub(rf"^{_CUR}\s*", "", s, flags=re.IGNORECASE)
        s = re.sub(rf"\s*{_CUR}$", "", s, flags=re.IGNORECASE)
    if s.endswith("-") and not s.endswith("/-"):
        # "0.02-" is how some tills print a negative adjustment.
        s, negative = s[:-1].strip(), True
    return s, negative


def _valid_groups(int_part: str, sep: str) -> bool:
    groups = int_part.split(sep)
    if not groups[0] or len(groups[0]) > 3 or any(not g.isdigit() for g in groups):
        return False
    if all(len(g) == 3 for g in groups[1:]):
        return True  # western 1,234,567
    # Indian lakh/crore: 12,34,567 - pairs, then a final group of three.
    return len(groups[0]) <= 2 and all(len(g) == 2 for g in groups[1:-1]) and len(groups[-1]) == 3


def _parse_number(s: str, decimal_comma: bool) -> tuple[Decimal, int, bool] | None:
    """(value, digits after the decimal separator, had grouping) of a bare number."""
    if re.search(r"\d['’\u00a0\u202f ]\d{3}", s):
        s = re.sub(r"['’\u00a0\u202f ]", "," if "," not in s or s.rfind(",") < len(s) - 3 else ".", s)
    if not s or not re.fullmatch(r"[\d.,]+", s) or s.startswith(","):
        return None
    if s.startswith("."):
        s = "0" + s
    int_part, frac, grouped = s, "", False
    dots, commas = s.count("."), s.count(",")
    if dots and commas:
        dec = "." if s.rfind(".") > s.rfind(",") else ","
        grp = "," if dec == "." else "."
        if s.count(dec) != 1:
            return None
        int_part, frac = s.rsplit(dec, 1)
        if not _valid_groups(int_part, grp):
            return None
        int_part, grouped = int_part.replace(grp, ""), True
    elif dots or commas:
        sep = "." if dots else ","
        head, tail = s.rsplit(sep, 1)
        if dots + commas == 1:
            if len(tail) == 3 and (sep == "," or decimal_comma) and 0 < len(head) <= 3:
                int_part, grouped = head + tail, True
            elif sep == "," and len(tail) > 2:
                return None
            else:
                int_part, frac = head, tail
        else:
            if len(tail) in (1, 2):
                # "1,234,56": the last separator was a decimal point read as a comma.
                int_part, frac = head, tail
            if not _valid_groups(int_part, sep):
                return None
            int_part, grouped = int_part.replace(sep, ""), True
    try:
        value = Decimal(f"{int_part or '0'}.{frac}" if frac else int_part)
    except InvalidOperation:
        return None
    return value, len(frac), grouped


def parse_amount(token: str, *, decimal_comma: bool = False) -> Decimal | None:
    """The money value of one token, to the cent, or None when it is not a plain amount.

    `decimal_comma=True` says the bill writes "1.234" for a thousand (European style); without
    it a lone dot is a decimal point, because a three-decimal price ("2.200 RM/litre") is far
    more common on bills than a European thousand without cents. A lone comma before three
    digits is always grouping ("727,242").
    """
    s, negative = _strip_markers(token)
    parsed = _parse_number(s, decimal_comma)
    if parsed is None:
        return None
    value = quantize(parsed[0])
    return -value if negative else value


def find_amounts(line: str, *, decimal_comma: bool = False) -> list[AmountToken]:
    """Every number on a line that could be an amount, left to right.

    Skipped: ids, dates and times (digits joined by "/" or ":"), percentages, numbers glued to
    letters ("256G", "CS00035862") except tax-code suffixes after a decimal amount ("6.65SR"),
    and codes glued to a letter before them ("R000310319").
    """
    masked = _JOINED.sub(lambda m: " " * len(m.group()), line)
    tokens: list[AmountToken] = []
    for m in _TOKEN.finditer(masked):
        which = "spaced" if m.group("spaced") is not None else "num"
        num, num_start, num_end = m.group(which), m.start(which), m.end(which)
        no_cents = m.group("nocents")
        cur, slip = m.group("cur"), m.group("slip")
        if cur is None and slip is None and m.group("neg") is None and m.group("neg2") is None:
            before = masked[num_start - 1] if num_start > 0 else " "
            if before.isalnum() or before in ".,":
                continue  # part of a code ("T0253") or of a number we already rejected
        after = masked[num_end:].lstrip(" ")
        if m.group("post") is None and m.group("suffix") is None and no_cents is None:
            if after.startswith("%"):
                continue
            if masked[num_end:num_end + 1].isalpha() and not re.search(r"[.,]\d{1,2}$", num):
                continue  # "256G", "4KG": a size, not money
        if len(num) > 1 and num[0] == "0" and num.isdigit():
            continue  # "024", "0284846": ids and codes; money is not zero-padded
        # "1.234,-" says the comma is its decimal separator, whatever the rest of the bill does
        parsed = _parse_number(num, no_cents[0] == "," if no_cents else decimal_comma)
        if parsed is None:
            continue
        value, decimals, grouped = parsed
        if no_cents:
            decimals = 2  # the cents are printed, as a dash
        value = quantize(value)
        if m.group("neg") or m.group("neg2"):
            value = -value
        tokens.append(AmountToken(
            value=value,
            raw=num,
            start=m.start(),
            end=m.end(),
            currency=_marker_currency(cur) or _marker_currency(m.group("post")),
            decimals=decimals,
            grouped=grouped,
            slip=slip,
            slash_dash=m.group("suffix") is not None,
        ))
    return tokens


def _marker_currency(marker: str | None) -> str | None:
    if not marker:
        return None
    return detect_currency(marker.strip())


def currency_markers(text: str) -> list[tuple[int, str]]:
    """(position, ISO code) of every currency marker in the text."""
    found: dict[int, str] = {}
    taken: list[tuple[int, int]] = []
    for rx, code in _MARKER_RES:
        for m in rx.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue  # "US$" already claimed this "$"
            taken.append((m.start(), m.end()))
            found[m.start()] = code
    for m in _SLASH_DASH.finditer(text):
        found.setdefault(m.end() - 2, "INR")
    return sorted(found.items())


def detect_currency(text: str) -> str | None:
    """The ISO 4217 code the text is priced in, or None when it names no currency.

    With several currencies the most frequent wins (a USD bill may quote "€" once), and ties go
    to the first seen.
    """
    markers = currency_markers(text)
    if not markers:
        return None
    counts = Counter(code for _, code in markers)
    first_seen = {code: pos for pos, code in reversed(markers)}
    return max(counts, key=lambda c: (counts[c], -first_seen[c]))
