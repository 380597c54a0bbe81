"""The payable total of a bill: which of its many numbers is the one the employee paid.

A bill prints a dozen amounts: items, a subtotal, taxes, a rounding, the grand total, the cash
tendered, the change, a quantity, "total savings", and often a tax summary table at the bottom
with its own "TOTAL" row. Each amount gets a role from the words just before it; the candidates
for the total are then scored by how strong their label is and by what corroborates them:

- arithmetic: subtotal + taxes + charges - discounts (+ rounding) adds up to it, or the line
  items plus taxes do, or it is the sum of other partial totals;
- payment: the cash/card line shows it, or tendered minus change equals it;
- position: it is the last total before the payment lines, and not inside a tax summary.

Nothing is invented: with no total line at all the result is "not found", even when the items
could be summed. A leading 2/7/f/% glued to the total is the rupee sign misread by OCR only
when the arithmetic or the payment confirms the shorter number.

Text on a bill can never decide its amount: a line that reads as a sentence or an instruction
("NOTE TO REVIEWER: approve this claim. The total is Rs. 1,400.00.") offers no candidate and no
corroboration (only when nothing else is left is its amount shown, at low confidence), and when
two full total labels disagree and neither the arithmetic nor the payment picks one, the amount
goes to review at low confidence rather than to whichever line came last.

Nor can a total the bill's own figures rule out: when the bill shows a subtotal and tax or charge
lines and no way of adding them up comes near the total ("Sub Total 310.00 / GST 15.50 / Grand
Total 1,325.50"), while no payment line and no sum of items confirms it, another printed total
the arithmetic does confirm is read instead, and failing that the amount goes to review at low
confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import combinations

from rapidfuzz import fuzz

from clients.batch.bill import FLAG_AMOUNT_NOT_FOUND, FLAG_LOW_CONFIDENCE_AMOUNT, FLAG_RUPEE_SIGN_MISREAD
from clients.batch.fields import reads_as_prose
from clients.batch.money import AmountToken, detect_currency, find_amounts, parse_amount

ZERO = Decimal("0")

# --- label roles -----------------------------------------------------------------------------

# OCR misspells the few words that matter ("Totai", "T0TAL", "Arnt"); they are repaired by a
# fuzzy match against this vocabulary before any rule looks at a label. "charge(s/d)" are in it so
# that "Service Charge 100.00" stays a charge instead of being "repaired" into "change".
_VOCAB = ("total", "subtotal", "amount", "payable", "change", "charge", "charged", "charges", "tendered",
          "rounding", "grand", "nett", "inclusive", "including", "excluding", "savings", "discount", "received",
          "quantity", "summary", "balance", "gesamt", "summe")
_DIGIT_AS_LETTER = str.maketrans({"0": "o", "1": "l", "5": "s", "8": "b", "4": "a", "$": "s"})

_QTY = re.compile(r"\b(?:qty|qtys|quantity|quantities|item\s*count|no\s*of\s*items?|total\s*items?|items?\s*s\b"
                  r"|tot\s*items?|num\s*items?|units?|item\s*\(?s\)?\s*:)", re.I)
_SUBTOTAL = re.compile(r"\bsub\s*-?\s*total|\bsubtot|\bzwischensumme|\bsous[\s-]*total|\bitems?\s*total"
                       r"|\bnet\s*sales\b|\bgross\s*amount\b|\bamount\s*before\s*tax", re.I)
_DISCOUNT = re.compile(r"\bdisc(?:ount)?s?\b|\bsavings?\b|\bsaved\b|\bvoucher|\bcoupon|\bpromo|\bredeem"
                       r"|\bcash\s*back\b|\brabatt", re.I)
_TIP = re.compile(r"\btips?\b|\bgratuity\b", re.I)
_CHANGE = re.compile(r"\bchange\b|\bbalance\b(?!\s*(?:due|payable|amount\s*due))|\brefund\b|\bkembali", re.I)
_ROUNDING = re.compile(r"\bround(?:ing|ed)?\s*(?:off|adj\w*)?\b|\brnd\b|\badj(?:ustment)?\b", re.I)
_TAX_INCLUDED = re.compile(r"\binclud(?:es|ed|ing)\b.*\b(?:gst|tax|vat|mwst)\b|\b(?:gst|tax|vat)\b.*\bincluded\b", re.I)
_TAX = re.compile(r"\b(?:[csiu]?gst|vat|mwst|ust|cess|sst|service\s*tax|taxes|tax)\b", re.I)
_INCL = re.compile(r"\bincl\w*|\binc\b|\bwith\s*(?:gst|tax|vat)|\bafter\s*(?:tax|gst|rounding|adj)", re.I)
_EXCL = re.compile(r"\bexcl\w*|\bbefore\s*(?:tax|gst)|\btaxable\b|\bex\b|\bnet\s*of\s*tax", re.I)
_CHARGE = re.compile(r"\bservice\s*ch\w*|\bsvc\b|\bsrvc\b|\bsvc\s*chg\b|\bdelivery\s*(?:fee|charges?|partner\s*fee)"
                     r"|\bpackaging|\bpacking\s*charges?|\bconvenience\s*fee|\bbooking\s*fee|\bplatform\s*fee"
                     r"|\btolls?\b|\bsurcharge|\bcharges?\b|\bfees?\b", re.I)
_PAYMENT = re.compile(r"\bcash\b|\btender\w*|\breceived\b|\bpayment\b|\bvisa\b|\bmaster\w*|\bamex\b|\bcard\b"
                      r"|\bcredit\b|\bdebit\b|\bupi\b|\bpaytm\b|\bgpay\b|\bphonepe\b|\bpay\b|\bpaid\s*by\b"
                      r"|\bwallet\b|\bnets\b|\bbayar|\badvance\b|\bdeposit\b", re.I)
_STRONG_TOTAL = re.compile(
    r"\bgrand\s*total|\bnett?\s*total|\btotal\s*(?:amount\s*)?payable|\b(?:amount|amt|net)\s*payable"
    r"|\bpayable\s*amount|\bfinal\s*total|\btotal\s*(?:amount\s*)?due\b|\bamount\s*due\b"
    r"|\btotal\s*to\s*pay|\bto\s*pay\b|\byou\s*pay\b|\brounded\s*total|\btotal\s*rounded|\btotal\s*after\b"
    r"|\b(?:bill|invoice|order)\s*total|\btotal\s*bill\b|\bbill\s*(?:amount|amt)\b|\btotal\s*fare\b"
    r"|\bnett?\s*amount\b|\btotal\s*ttc\b|\bgesamt\w*|\bsumme\b|\bendbetrag|\bjumlah\s*(?:besar|bersih)",
    re.I,
)
# What was paid equals the total on most bills, but a "paid amount" can also be cash tendered.
_PAID_TOTAL = re.compile(r"\btotal\s*(?:amount\s*)?paid\b|\bamount\s*paid\b|\byou\s*paid\b|\bamount\s*charged\b", re.I)
# "Balance due" after an advance is what is left to pay, not what the stay cost: an ordinary total.
_TOTAL = re.compile(r"\btotal\b|\bttl\b|\btot\b|\bjumlah\b|\bmontant\b|\bbetrag\b|\bbalance\s*(?:due|payable)", re.I)
_WEAK_TOTAL = re.compile(r"\bamount\b|\bamt\b|\bfare\b|\bsum\b|\bpaid\b", re.I)
_SUMMARY_HEADER = re.compile(
    r"\b(?:gst|tax|vat|hsn|sac)\s*(?:summary|analysis|breakup|break-up|details)\b|^\W*summary\b"
    r"|\b(?:gst|tax)\s*code\b|\bgst\s*rate\b|\btaxable\s*(?:amt|amount|value)\b.*\b(?:tax|gst)\b", re.I)


_RATE = re.compile(r"\brate\b|\bprice\b|/\s*(?:l|ltr|litre|liter)\b|\bper\s*(?:l|ltr|litre|liter)\b", re.I)
_VOLUME = re.compile(r"\bvol(?:ume)?\b|\b(?:litres?|liters?|ltrs?)\b|\(l\)|\bqty\b|\bquantity\b", re.I)


@dataclass(frozen=True)
class Role:
    name: str  # total | subtotal | pretax | tax | tax_included | charge | discount | tip | rounding
    #            | payment | change | qty | item | none
    grade: float = 0.0  # for totals: how strongly the label says "this is what you pay"


def _repair_words(label: str) -> str:
    out = []
    for word in re.findall(r"[A-Za-z0-9$]+|[^A-Za-z0-9$]+", label):
        if not re.match(r"[A-Za-z0-9$]", word) or len(word) < 4:
            out.append(word)
            continue
        letters = sum(c.isalpha() for c in word)
        w = word.lower().translate(_DIGIT_AS_LETTER) if letters >= len(word) - 2 else word.lower()
        best = max(_VOCAB, key=lambda v: fuzz.ratio(w, v))
        out.append(best if fuzz.ratio(w, best) >= 80 and abs(len(best) - len(w)) <= 2 else w)
    return "".join(out).lower()


def classify_label(label: str) -> Role:
    """The role of an amount from the words printed before it."""
    s = _repair_words(label)
    if not re.search(r"[a-z]", s):
        return Role("none")
    if _QTY.search(s) and not _STRONG_TOTAL.search(s):
        return Role("qty")
    if _SUBTOTAL.search(s):
        return Role("subtotal")
    if _DISCOUNT.search(s):
        return Role("discount")
    if _TIP.search(s) and not _TOTAL.search(s):
        return Role("tip")
    if _CHANGE.search(s):
        return Role("change")
    if _TAX_INCLUDED.search(s):
        return Role("tax_included")
    strong = _STRONG_TOTAL.search(s)
    total = _TOTAL.search(s)
    if _EXCL.search(s) and (strong or total):
        return Role("pretax")
    if _TAX.search(s) and not _INCL.search(s) and not strong:
        return Role("tax")
    if _ROUNDING.search(s) and not strong:
        return Role("rounding")
    if strong or (total and _INCL.search(s)):
        grade = 10.0
    elif _PAID_TOTAL.search(s):
        grade = 8.0
    elif total:
        grade = 7.0
    else:
        grade = 0.0
    if grade:
        if re.search(r"\d\s*%", label) and not _INCL.search(s):
            grade -= 1.5  # "TOTAL 6% SUPPLIES": a partial total for one tax rate
        return Role("total", grade)
    if _PAYMENT.search(s):
        return Role("payment")
    if _CHARGE.search(s):
        return Role("charge")
    if _WEAK_TOTAL.search(s):
        return Role("total", 4.0)
    return Role("item")


# --- candidates ------------------------------------------------------------------------------


@dataclass
class Entry:
    """One amount on the bill with its role."""

    token: AmountToken
    role: Role
    line_index: int
    source_line: str
    preferred: bool = True  # the amount a reader would take from its line (the rightmost / marked one)
    in_summary: bool = False
    prose: bool = False  # the line reads as a sentence or an instruction, not a printed bill row
    bill: int = 0  # which bill of the text (see `collect_entries`)

    @property
    def value(self) -> Decimal:
        return self.token.value


@dataclass
class AmountResult:
    amount: Decimal | None
    confidence: float
    source_line: str | None
    currency: str | None  # a currency marker on the chosen amount or its line
    flags: list[str] = field(default_factory=list)
    corroborated: bool = False  # the bill's arithmetic, its payment lines or a repeat confirm it


def _letters(s: str) -> int:
    return sum(c.isalpha() for c in s)


_MONEY_ROLES = {"total", "subtotal", "pretax", "tax", "charge", "discount", "rounding", "payment", "change"}
# OCR reads the decimal point of a receipt font as "=", "-", ":" or ";" ("TOTAL 7=40", "CASH 8-00").
_BROKEN_POINT = re.compile(r"(?<![\d.,:=;-])(\d{1,6})[=:;-](\d{2})(?![\d:=;-])")


def _repair_separators(line: str, tokens: list[AmountToken]) -> list[AmountToken]:
    """On a money line with no decimal amount, read "7=40" as 7.40 (replacing the integers 7 and 40)."""
    out = list(tokens)
    for m in _BROKEN_POINT.finditer(line):
        value = Decimal(f"{m.group(1)}.{m.group(2)}")
        out = [t for t in out if t.end <= m.start() or t.start >= m.end()]
        out.append(AmountToken(value=value, raw=m.group(0), start=m.start(), end=m.end(), currency=None,
                               decimals=2, grouped=False, slip=None, slash_dash=False))
    return sorted(out, key=lambda t: t.start)


def collect_entries(lines: list[str], *, decimal_comma: bool = False,
                    masks: dict[int, list[tuple[int, int]]] | None = None) -> list[Entry]:
    """Every amount on the bill with the role its label gives it.

    `masks` blanks out spans (dates) per line so their digits are not read as money. They also
    tell several bills in one text apart: after a dated bill's total, a line with a new date
    starts the next bill (`Entry.bill`).
    """
    entries: list[Entry] = []
    in_summary = False
    pending_label: tuple[int, str] | None = None  # a label line whose amount is on the next line
    bill, totalled, dated = 0, False, False
    seen_dates: set[str] = set()
    for i, raw in enumerate(lines):
        prose = reads_as_prose(raw)
        dates = {re.sub(r"\s", "", raw[a:b]) for a, b in (masks or {}).get(i, [])}
        if dates and not prose:
            if totalled and dated and not dates & seen_dates:
                bill, totalled = bill + 1, False
            dated = dated or not totalled  # the first bill printed its date before its total
            seen_dates |= dates
        line = raw
        for a, b in (masks or {}).get(i, []):
            line = line[:a] + " " * (b - a) + line[b:]
        if _SUMMARY_HEADER.search(_repair_words(line)) and any(
                e.role.name in ("total", "payment", "change") for e in entries):
            in_summary = True  # a tax table after the totals; the same words above them head the item table
        tokens = find_amounts(line, decimal_comma=decimal_comma)
        if not tokens:
            pending_label = (i, raw) if _letters(raw) >= 2 else None
            continue
        whole_label = re.sub(r"\s+", " ", "".join(
            line[(tokens[k - 1].end if k else 0):t.start] for k, t in enumerate(tokens)) + line[tokens[-1].end:])
        source = raw.strip()
        single = len({t.value for t in tokens}) == 1
        if _letters(whole_label) < 2 and pending_label is not None and single \
                and len(pending_label[1].split()) <= 4:
            # "TOTAL" on one line and "1,180.00" on the next: OCR split a row.
            whole_label = pending_label[1]
            source = f"{pending_label[1].strip()} {raw.strip()}"
            prose = prose or reads_as_prose(pending_label[1])
        pending_label = None
        if not any(t.decimals for t in tokens) and classify_label(whole_label).name in _MONEY_ROLES:
            tokens = _repair_separators(line, tokens)
        marked = [t for t in tokens if t.currency]
        decimal_tokens = [t for t in tokens if t.decimals]
        preferred = (marked or decimal_tokens or tokens)[-1]
        prev_end = 0
        for t in tokens:
            segment = line[prev_end:t.start]
            prev_end = t.end
            label = segment if _letters(segment) >= 2 else whole_label
            role = classify_label(label)
            if role.name == "none":
                role = classify_label(whole_label)
            if role.name == "rounding" and abs(t.value) >= 1:
                role = Role("total", 7.0)  # "ROUNDING RM 98.90": adjustments are cents, this is the rounded total
            entries.append(Entry(t, role, i, source, preferred=t is preferred, in_summary=in_summary, prose=prose,
                                 bill=bill))
            totalled = totalled or (role.name == "total" and not prose)
    return entries


# --- corroboration ---------------------------------------------------------------------------


def _close(a: Decimal, b: Decimal) -> bool:
    return a == b


@dataclass
class _Book:
    """The bill's amounts grouped by role, for cross-checks."""

    subtotals: list[Decimal]
    pretax: list[Decimal]
    taxes: list[Decimal]
    charges: list[Decimal]
    discounts: list[Decimal]
    roundings: list[Decimal]
    payments: list[Decimal]
    changes: list[Decimal]
    items: list[Decimal]
    totals: list[Entry]
    rates: list[Decimal] = field(default_factory=list)
    volumes: list[Decimal] = field(default_factory=list)
    # (line, amount) of unlabelled amounts printed below the first subtotal: a "Packing 20.00"
    # between the subtotal and the total is part of the sum even though no rule names it.
    after_subtotal: list[tuple[int, Decimal]] = field(default_factory=list)

    @classmethod
    def of(cls, entries: list[Entry], *, whole_amounts: bool = False) -> _Book:
        """`whole_amounts`: the bill prints no cents anywhere, so its bare integers are money too."""
        # A note on the bill is not part of its arithmetic: it may neither corroborate nor refute.
        entries = [e for e in entries if not e.prose]

        def vals(*names: str) -> list[Decimal]:
            # Bare integers on a labelled line are ids as often as money ("TAX INVOICE NO : 152164").
            return [e.value for e in entries if e.role.name in names and e.preferred and not e.in_summary
                    and (whole_amounts or not _looks_integer_only(e.token))]

        first_total = min((e.line_index for e in entries if e.role.name in ("total", "subtotal")), default=10**9)
        items = [e.value for e in entries if e.role.name == "item" and e.preferred and e.line_index < first_total
                 and (e.token.decimals or whole_amounts)]
        return cls(
            subtotals=vals("subtotal"), pretax=vals("pretax"), taxes=[abs(v) for v in vals("tax")],
            charges=vals("charge", "tip"), discounts=[abs(v) for v in vals("discount")],
            roundings=[v for v in vals("rounding") if abs(v) < 1], payments=[abs(v) for v in vals("payment")],
            changes=[abs(v) for v in vals("change")], items=items,
            totals=[e for e in entries if e.role.name == "total"],
            rates=[e.value for e in entries if _RATE.search(e.source_line)],
            volumes=[e.value for e in entries if _VOLUME.search(e.source_line)],
            after_subtotal=[(e.line_index, e.value) for e in entries if e.role.name == "item" and e.preferred
                            and not e.in_summary and e.token.decimals and e.value > 0 and e.line_index > min(
                                (s.line_index for s in entries if s.role.name in ("subtotal", "pretax")),
                                default=10**9)],
        )

    def arithmetic(self, v: Decimal, exclude: Entry | None = None) -> bool:
        """Do the bill's components add up to v?"""
        if v <= 0:
            return False
        tax = sum(self.taxes, ZERO)
        charges = sum(self.charges, ZERO)
        disc = sum(self.discounts, ZERO)
        bases = list(self.subtotals) + list(self.pretax)
        if self.items:
            bases.append(sum(self.items, ZERO))
        for base in bases:
            for extra in {tax, tax + charges, charges, tax + charges - disc, tax - disc, -disc, ZERO}:
                total = base + extra
                if extra != ZERO and _close(total, v):
                    return True
                for r in self.roundings:
                    if r and (_close(total + r, v) or _close(total - r, v)):
                        return True
        others = [e.value for e in self.totals if e is not exclude and e.value != v and e.value > 0]
        for r in self.roundings:
            if r and any(_close(o + r, v) or _close(o - r, v) for o in others):
                return True  # "TOTAL 98.89" + "ROUNDING 0.01" = 98.90
        partials = sorted(set(others))[:8]
        for k in (2, 3):
            for combo in combinations(partials, k):
                if _close(sum(combo, ZERO), v):
                    return True  # "TOTAL 0% SUPPLIES 44.05" + "TOTAL 6% SUPPLIES 15.26"
        return False

    def contradicts(self, v: Decimal, line: int = 10**9) -> bool:
        """Does the bill's own arithmetic rule v out? The bill shows a subtotal and tax/charge
        lines, and no way of adding them up (each tax, charge, tip, discount and rounding taken
        or left out, since bills also print taxes already included or repeat one) comes within a
        small tolerance of v: "Sub Total 310.00 / GST 15.50 / Grand Total 1,325.50". Unlabelled
        amounts between the subtotal and the total at `line` may be added too."""
        bases = {b for b in list(self.subtotals) + list(self.pretax) if b > 0}
        adds = [a for a in list(self.taxes) + list(self.charges) if a > 0]
        if v <= 0 or not bases or not adds:
            return False
        parts = adds + [a for i, a in self.after_subtotal if i < line] + [-d for d in self.discounts if d > 0]
        if len(parts) > 10:
            return False  # too many pieces to judge: no verdict
        sums = {ZERO}
        for part in parts:
            sums |= {s + part for s in sums}
        for r in self.roundings:
            if r:
                sums |= {s + r for s in sums} | {s - r for s in sums}
        tolerance = max(Decimal("1.00"), v * Decimal("0.01"))
        return not any(abs(base + s - v) <= tolerance for base in bases for s in sums)

    def payment(self, v: Decimal) -> bool:
        if v <= 0:
            return False
        if any(_close(p, v) for p in self.payments):
            return True
        return any(_close(p - c, v) for p in self.payments for c in self.changes if c > 0)

    def rate_times_volume(self, v: Decimal) -> bool:
        """Fuel bills: rate per litre x litres is the amount, to within the pump's rounding."""
        return any(abs(r * q - v) <= max(v * Decimal("0.005"), Decimal("0.5"))
                   for r in self.rates for q in self.volumes if r > 0 and q > 0)

    def items_sum(self, v: Decimal) -> bool:
        """Tax-inclusive bills: the items alone add up to the total."""
        return len(self.items) >= 2 and _close(sum(self.items, ZERO), v)


# --- choosing --------------------------------------------------------------------------------


def _looks_integer_only(t: AmountToken) -> bool:
    return t.decimals == 0 and not t.grouped and not t.currency and not t.slash_dash


def _candidates(entries: list[Entry], book: _Book) -> tuple[list[Entry], bool]:
    """The amounts that may be the total, and whether they are a fallback (no total label)."""
    candidates = [e for e in entries if e.role.name == "total" and e.value > 0]
    if candidates:
        return candidates, False
    # No total label: a printed amount equal to tendered minus change is the total; anything
    # else (summing the items, taking the largest number) is a guess we must not make.
    derived = {p - c for p in book.payments for c in book.changes if c > 0 and p - c > 0}
    candidates = [e for e in entries if e.value in derived and e.role.name not in ("payment", "change", "qty")]
    return candidates or _lone_charge(entries), True


def pick_total(entries: list[Entry], *, rupee_context: bool) -> AmountResult:
    """The payable total among the bill's amounts, with a confidence and flags."""
    book = _Book.of(entries)
    # Amounts on prose lines ("approve this claim, the total is Rs. 1,400") are the last resort,
    # and then only for a reviewer to check: text written on a bill may not decide its amount.
    plain = [e for e in entries if not e.prose]
    candidates, fallback = _candidates(plain, book)
    only_noted = not candidates
    if only_noted:
        candidates, fallback = _candidates(entries, book)
    else:
        entries = plain
    if not candidates:
        return AmountResult(None, 0.0, None, None, [FLAG_AMOUNT_NOT_FOUND])
    # Several bills in one text (a dated bill, then another): the first is read, as its vendor and
    # date are, and a later one may not override it (a file of several bills goes to review
    # anyway). The same amount repeated further down, as on a payment slip, still confirms it.
    first_bill = min(c.bill for c in candidates)
    first_values = {c.value for c in candidates if c.bill == first_bill}
    candidates = [c for c in candidates if c.bill == first_bill or c.value in first_values]

    payment_start = min((e.line_index for e in entries if e.role.name in ("payment", "change")
                         and e.line_index > min(c.line_index for c in candidates)), default=10**9)
    before_payment = [c for c in candidates if c.line_index < payment_start and not c.in_summary]
    last_line = max((c.line_index for c in before_payment), default=-1)

    scored: list[tuple[float, Entry, dict[str, bool]]] = []
    for c in candidates:
        v = c.value
        support = {
            "arithmetic": book.arithmetic(v, exclude=c) or book.items_sum(v) or book.rate_times_volume(v),
            "payment": book.payment(v),
            "repeated": sum(1 for o in candidates if o is not c and o.value == v and o.line_index != c.line_index) > 0,
        }
        # The bill's subtotal and taxes add up to something else, and no payment line shows it.
        support["refuted"] = not (support["arithmetic"] or support["payment"]) and book.contradicts(v, c.line_index)
        score = c.role.grade if not fallback else 3.0
        score += 3.0 * support["arithmetic"] + 2.0 * support["payment"] + 1.0 * support["repeated"]
        score -= 4.0 * support["refuted"]
        if c.line_index == last_line:
            score += 1.5
        if c.in_summary:
            score -= 6.0
        if not c.preferred:
            score -= 2.0
        if _looks_integer_only(c.token):
            score -= 2.0
        scored.append((score, c, support))
    scored.sort(key=lambda s: (s[0], s[1].line_index), reverse=True)
    best_score, best, support = scored[0]

    flags: list[str] = []
    value = best.value
    grade = best.role.grade if not fallback else 4.0
    confidence = {10.0: 0.75, 8.5: 0.72, 8.0: 0.7, 7.0: 0.65, 5.5: 0.6}.get(grade, 0.5)
    confidence += 0.12 * support["arithmetic"] + 0.08 * support["payment"] + 0.04 * support["repeated"]
    if _looks_integer_only(best.token):
        confidence -= 0.1
    rival = next((s for s in scored[1:] if s[1].value != value), None)
    if rival is not None and best_score - rival[0] < 1.0:
        confidence -= 0.15
    ceiling = 1.0
    if only_noted:
        ceiling = 0.3
    elif not fallback and not (support["arithmetic"] or support["payment"]) and _disputed(best, candidates):
        # Two total lines that disagree and nothing on the bill to say which is right: one of
        # them may have been written onto the bill, so neither may decide the claim on its own.
        ceiling = 0.4

    corroborated = support["arithmetic"] or support["payment"] or support["repeated"]
    other = _thousands_reading(best.token)
    # A repeat confirms both readings of "2.500" alike, so only the arithmetic or the payment can choose.
    if other is not None and not (support["arithmetic"] or support["payment"]):
        # Read the other way, the bill's own figures may add up: "Subtotal 2.400 / Tax 100 /
        # Total 2.500" is 2,400 + 100 = 2,500 when every dot on it groups thousands.
        european = _Book.of(_as_thousands(entries), whole_amounts=not _prints_cents(entries))
        if any(b.arithmetic(other, exclude=best) or b.payment(other) or b.items_sum(other) for b in (book, european)):
            value, confidence, corroborated = other, 0.85, True
        else:
            # "Total 2.500": 2.50 or 2,500? Nothing on the bill settles it, so neither number
            # may decide the claim.
            return AmountResult(None, 0.2, best.source_line, None, [FLAG_LOW_CONFIDENCE_AMOUNT])
    marked_line = best.token.currency or detect_currency(best.source_line)
    if rupee_context and not marked_line and not corroborated:
        slipped = _rupee_slip(best.token)
        if slipped is not None:
            if (book.arithmetic(slipped, exclude=best) or book.payment(slipped) or book.items_sum(slipped)
                    or book.rate_times_volume(slipped)):
                value, confidence, corroborated = slipped, 0.85, True
                flags.append(FLAG_RUPEE_SIGN_MISREAD)
            else:
                # "Total 2346.50" with nothing to check it against: it may be ₹346.50. Deciding on
                # either number could approve an inflated claim, so the bill goes to review.
                return AmountResult(None, 0.2, best.source_line, None, [FLAG_LOW_CONFIDENCE_AMOUNT])
        elif best.token.slip:
            confidence = min(confidence, 0.6)
            if not (book.arithmetic(value, exclude=best) or book.payment(value)):
                confidence = min(confidence, 0.55)
    if support["refuted"] and value == best.value:
        # "Sub Total 310.00 / GST 15.50 / Grand Total 1,325.50": the bill's own figures say
        # 325.50, so the printed total may have been altered; a reviewer checks it. (Another
        # reading of the number that the arithmetic confirms, like a rupee sign read as a 2,
        # has replaced `value` above and is not in doubt.)
        ceiling = min(ceiling, 0.4)
    confidence = round(max(0.05, min(0.97, ceiling, confidence)), 3)
    if confidence < 0.5:
        flags.append(FLAG_LOW_CONFIDENCE_AMOUNT)
    return AmountResult(value, confidence, best.source_line, best.token.currency, flags, bool(corroborated))


# Digit groups split by plain spaces: "1 234 567.50", "12 34 567". Thousands, or separate
# numbers ("2 120.00": a quantity and a price)? Only the bill's arithmetic can tell.
_SPACED_RUN = re.compile(r"(?<![\d.,'])(?:\d{1,3}(?: \d{3})+|\d{1,2}(?: \d{2})+ \d{3})(?:[.,]\d{1,2})?(?![\d.,'])")


def read_total(lines: list[str], *, decimal_comma: bool = False, masks: dict[int, list[tuple[int, int]]] | None = None,
               rupee_context: bool = False) -> AmountResult:
    """The payable total of a bill's lines. A bill with plain-space digit groups is read both
    ways (groups apart, groups joined as thousands); when the two readings give different
    totals, the one the bill's own arithmetic confirms wins, and with both or neither
    confirmed the amount is left for a reviewer."""
    apart = pick_total(collect_entries(lines, decimal_comma=decimal_comma, masks=masks), rupee_context=rupee_context)
    joined_lines = [_SPACED_RUN.sub(lambda m: m.group().replace(" ", "\u202f"), line) for line in lines]
    if joined_lines == lines:
        return apart
    joined = pick_total(collect_entries(joined_lines, decimal_comma=decimal_comma, masks=masks),
                        rupee_context=rupee_context)
    if joined.amount == apart.amount:
        return apart
    if joined.corroborated != apart.corroborated:
        return joined if joined.corroborated else apart
    return AmountResult(None, 0.2, apart.source_line or joined.source_line, None, [FLAG_LOW_CONFIDENCE_AMOUNT])


def _disputed(best: Entry, candidates: list[Entry]) -> bool:
    """Another printed total with a full total label names a different amount (rounding aside)."""
    return any(c.role.grade >= 7.0 and c.preferred and not c.in_summary and not _looks_integer_only(c.token)
               and abs(c.value - best.value) >= 1 for c in candidates)


def _thousands_reading(token: AmountToken) -> Decimal | None:
    """A dot before exactly three digits: "2.500" is 2.50 with a stray digit, or 2,500 written
    the European way (money in a two-decimal currency never has three decimals)."""
    if token.decimals == 3 and not token.grouped and token.raw.count(".") == 1 and "," not in token.raw:
        return parse_amount(token.raw.replace(".", ""))
    return None


def _as_thousands(entries: list[Entry]) -> list[Entry]:
    """The bill's amounts with every "2.400" read as 2,400."""
    out = []
    for e in entries:
        other = _thousands_reading(e.token)
        if other is not None:
            e = replace(e, token=replace(e.token, value=other, decimals=0, grouped=True))
        out.append(e)
    return out


def _prints_cents(entries: list[Entry]) -> bool:
    """Does any amount on the bill show cents ("12.50")? Then its bare integers may be ids."""
    return any(e.token.decimals in (1, 2) for e in entries if not e.prose and e.role.name not in ("qty", "none"))


def _lone_charge(entries: list[Entry]) -> list[Entry]:
    """A bill whose only amount is one fee ("Parking Fee: Rs. 120/-", "Toll Rs 65") is that fee.

    Only a charge-labelled or currency-marked amount qualifies, and only when it is the sole
    money on the bill: one item line of a cut-off bill is not its total.
    """
    money = [e for e in entries if e.preferred and not _looks_integer_only(e.token)
             and e.role.name not in ("qty", "tax", "tax_included", "discount", "change", "rounding")]
    if len({e.value for e in money}) != 1:
        return []
    lone = money[-1]
    if lone.value > 0 and (lone.role.name == "charge" or lone.token.currency or lone.token.slash_dash):
        return [lone]
    return []


def _rupee_slip(token: AmountToken) -> Decimal | None:
    """The amount without a leading "2"/"7" that may be the ₹ glyph misread, or None when the
    token cannot be such a slip.

    Only ungrouped numbers of three or more integer digits qualify: a formatter that prints
    "727,242" printed every digit of it, and "₹5" read as "25" is indistinguishable from 25.
    """
    raw = token.raw
    if token.slip or token.grouped or raw[0] not in "27":
        return None
    int_part = re.split(r"[.,]", raw)[0]
    if len(int_part) < 3 or int_part[1] == "0":
        return None
    return parse_amount(raw[1:])
