"""The offline policy reader: common policy sentences -> `PolicyRules`.

It reads the sentences expense policies are written in, one at a time:

    Meals up to INR 1,200 per day.
    Hotels up to ₹3,500 per night; cab fares are reimbursed at actuals.
    Cab: Rs 12 per km, actuals or INR 6000/- per month whichever is lower.
    Alcohol and tobacco are not reimbursable. Original bills are mandatory.
    Bills must fall within the claim month. Bills older than 60 days are not accepted.

Each sentence is cut into segments at the categories it names ("meals ... and hotels ..."),
every amount is tied to the period written after it (per day / night / month / km / bill), and
the phrases "at actuals", "whichever is lower", "with approval", "not reimbursable" set flags
on the categories of their segment. A short line naming only a category ("Meals:") is a
heading for the lines under it. Sentences with an amount but no category are reported in
`PolicyRules.warnings` rather than guessed at.

A clause naming no category that restates a limit of the category named before it on its line
("Hotels: INR 5,000 per night in metros; INR 3,000 per night elsewhere") is a condition on that
category: the lower limit is kept, with a warning (conditions are not modelled). A sentence about
travel abroad ("International travel: hotels up to USD 150 per night") is the foreign-travel
rule, not the hotel rule. Limits in different currencies are never compared; yearly limits are
only warned about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from clients.batch.categories import EXCLUSION_TERMS, find_categories
from clients.batch.money import detect_currency
from clients.batch.schemas import CategoryRule, PolicyRules, money2

PARSER_NAME = "offline-policy-parser/3"

_CURRENCY_WORDS = {
    "inr": "INR", "rs": "INR", "rs.": "INR", "₹": "INR", "rupee": "INR", "rupees": "INR", "/-": "INR",
    "usd": "USD", "$": "USD", "us$": "USD", "eur": "EUR", "€": "EUR", "gbp": "GBP", "£": "GBP",
    "rm": "MYR", "myr": "MYR", "ringgit": "MYR", "euro": "EUR", "euros": "EUR", "rmb": "CNY",
}
# every currency marker the bill reader knows (money.py), so a policy written in ringgit or
# euros is read like one in rupees; "RM" only in capitals ("rm" is not a currency)
_CUR_WORDS = (
    r"INR|Rs\.?|Rupees?|(?-i:RM)|MYR|Ringgit|USD|SGD|AUD|CAD|HKD|EUR|Euros?|GBP|AED|THB|IDR|JPY|CNY|RMB"
    r"|CHF|LKR|NPR|BDT|PKR|PHP|SAR|QAR"
)
_CUR = rf"(?:US\$|S\$|A\$|C\$|HK\$|₹|\$|€|£|฿|¥|৳|₱|{_CUR_WORDS})"
_NUM = r"\d{1,3}(?:,\d{2,3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_SCALE = r"(?:\s*(?P<scale{n}>lakhs?|lacs?|crores?|k)\b)?"
_AMOUNT = re.compile(
    rf"(?<![A-Za-z])(?P<pre>{_CUR})\s*[:.]?\s*(?P<n1>{_NUM}){_SCALE.format(n=1)}(?:\s*/-)?"
    rf"|(?P<n2>{_NUM}){_SCALE.format(n=2)}\s*(?P<post>/-|₹|€|£|{_CUR_WORDS})(?![a-z])",
    re.IGNORECASE,
)
_PERIOD_AFTER = re.compile(
    r"^\s*(?:/-)?\s*(?:/|per|a|an|each|every|for\s+(?:a|each|every|one))\s*"
    r"(?P<unit>day|night|month|km|kms|kilomet(?:er|re)s?|bill|receipt|claim|invoice|meal|trip|ride|"
    r"visit|journey|year|annum|person|head)\b"
    r"|^\s*(?P<word>daily|monthly|nightly|per\s+diem|p\.?\s?m\.?(?![a-z]))",
    re.IGNORECASE,
)
# a period written before the amount, in the same clause: "Daily meal allowance: Rs 600"
_PERIOD_BEFORE = re.compile(
    r"\b(?P<unit>per\s+day|daily|per\s+diem|per\s+night|nightly|per\s+month|monthly|per\s+km|per\s+kilomet(?:er|re)|"
    r"per\s+bill|per\s+claim|per\s+meal|per\s+trip)\b[^,;.\d]*$",
    re.IGNORECASE,
)
_THRESHOLD_BEFORE = re.compile(r"(above|more than|exceeding|over|beyond|greater than)\s*$", re.IGNORECASE)
_ACTUALS = re.compile(
    r"\bat\s+actuals?\b|\bactuals?\b|\bactual\s+(?:basis|cost|costs|amount|fare|fares|expenses?)\b"
    r"|\breimbursed\s+in\s+full\b|\bfull\s+reimbursement\b",
    re.IGNORECASE,
)
_LOWER = re.compile(r"whichever\s+is\s+(?:lower|less|lesser|minimum|the\s+lowest)|\b(?:lower|lesser)\s+of\b", re.IGNORECASE)
_APPROVAL = re.compile(
    r"\b(?:with|requires?|require|subject\s+to|needs?|after|only\s+with)\s+(?:the\s+)?(?:prior\s+|pre-?|advance\s+|"
    r"manager'?s?\s+|written\s+|management\s+|hod\s+)*approvals?\b|\bpre-?approved\b|\bprior\s+approval\b",
    re.IGNORECASE,
)
_NEGATIVE = re.compile(
    r"\bnot\s+(?:be\s+)?(?:reimbursable|reimbursed|allowed|permitted|claimable|covered|paid|payable|accepted)\b"
    r"|\bnon-?reimbursable\b|\bdisallowed\b|\bexcluded\b|\bwill\s+not\s+be\s+(?:paid|reimbursed)\b"
    r"|\bno\s+reimbursement\b|\bcannot\s+be\s+claimed\b",
    re.IGNORECASE,
)
_EXCLUDING = re.compile(r"\b(?:excluding|exclusive\s+of|except|excl\.?|other\s+than|without)\b", re.IGNORECASE)
_RECEIPTS = re.compile(
    r"\b(?:original\s+)?(?:bills?|receipts?|invoices?)\b[^.;]{0,40}?\b(?:are\s+|is\s+)?(?:mandatory|required|compulsory|"
    r"must\s+be\s+(?:attached|submitted|enclosed|provided))"
    r"|\b(?:supported|accompanied)\s+by\s+(?:original\s+|valid\s+)?(?:bills|receipts|invoices)\b"
    r"|\bno\s+(?:bill|receipt)s?\s*,?\s*no\s+(?:claim|reimbursement)\b"
    r"|\b(?:bills?|receipts?)\s+(?:are\s+)?(?:mandatory|compulsory)\b",
    re.IGNORECASE,
)
_CLAIM_MONTH = re.compile(
    r"\b(?:claim(?:ed)?|same|current|respective|that)\s+month\b"
    r"|\bprevious\s+months?\b[^.;]{0,40}\bnot\b",
    re.IGNORECASE,
)
_BILL_WORDS = re.compile(r"\b(?:bills?|receipts?|invoices?|claims?|expenses?|submitted|dated)\b", re.IGNORECASE)
_AGE = re.compile(
    r"\b(?:older\s+than|more\s+than|beyond|after|within|exceeding|not\s+later\s+than|over)\s+"
    r"(?P<n>\d{1,4})\s*(?P<unit>days?|months?|weeks?)\b",
    re.IGNORECASE,
)
_PERIOD_UNITS = {
    "day": "day", "daily": "day", "perdiem": "day", "night": "night", "nightly": "night",
    "month": "month", "monthly": "month", "pm": "month", "km": "km", "kms": "km", "kilometer": "km",
    "kilometre": "km", "kilometers": "km", "kilometres": "km", "year": "year", "annum": "year",
}
# a Markdown heading ("## Parking") always starts a new section, even one naming no category
_MD_HEADING = re.compile(r"^\s*#{1,6}\s+")
# a heading that names the whole document ("Acme India Travel Policy") is a title, not a category
_TITLE = re.compile(r"\b(?:polic(?:y|ies)|guidelines?|handbook|manual|procedures?|sop)\b", re.IGNORECASE)
# words that make a sentence a limit; with a number but no readable amount it is reported
_LIMIT_WORDS = re.compile(
    r"\b(?:up\s*to|upto|max(?:imum)?|limit(?:ed|s)?|cap(?:ped)?|ceiling|not\s+(?:to\s+)?exceed(?:ing)?|allowance"
    r"|entitle(?:d|ment))\b|\bper\s+(?:day|night|month|km|kilomet\w*|bill|meal|trip)\b",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*(?:[-*•·▪‣o]\s+|\(?\d{1,2}[.)]\s+|\(?[a-z][.)]\s+)", re.IGNORECASE)
_ABBREVIATIONS = re.compile(r"\b(Rs|No|e\.g|i\.e|approx|incl|excl|max|min|viz|etc)\.(?=\s*[\w₹])", re.IGNORECASE)


@dataclass
class _Amount:
    value: Decimal
    currency: str
    period: str | None  # day, night, month, km, bill, year or None
    start: int
    threshold: bool  # "above INR 5,000": a trigger, not a limit


@dataclass
class _Builder:
    rule: CategoryRule
    conflicts: list[str] = field(default_factory=list)
    # every limit as written, with its currency: limits in different currencies are never
    # compared (USD 150 is not "lower" than INR 4,000); `finish` keeps one currency's
    limits: dict[str, list[tuple[Decimal, str]]] = field(default_factory=dict)

    def set_limit(self, attr: str, value: Decimal, currency: str) -> None:
        self.limits.setdefault(attr, []).append((value, currency))

    def currencies(self) -> list[str]:
        return [currency for values in self.limits.values() for _, currency in values]

    def finish(self, currency: str) -> list[str]:
        """Write the limits in `currency` into the rule; return the ones left out."""
        dropped = []
        for attr, values in self.limits.items():
            kept = None
            for value, code in values:
                if code != currency:
                    dropped.append(f"{attr} {code} {value}")
                elif kept is None or attr in ("per_km_rate", "approval_above"):
                    kept = value  # (a later rate or threshold replaces an earlier one)
                else:
                    # two limits of one kind (two sentences, or "5,000 in metro cities and
                    # 3,000 elsewhere") keep the stricter one: conditions such as city or
                    # grade are not modelled, so say so
                    if kept != value:
                        self.conflicts.append(f"{self.rule.id}.{attr}: {min(kept, value)} of {kept} and {value}")
                    kept = min(kept, value)
            setattr(self.rule, attr, kept)
        return dropped


def parse_amount_token(match: re.Match[str]) -> tuple[Decimal, str] | None:
    number = match.group("n1") or match.group("n2")
    marker = (match.group("pre") or match.group("post") or "").lower()
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None
    scale = (match.group("scale1") or match.group("scale2") or "").lower()
    if scale.startswith(("lakh", "lac")):
        value *= 100_000
    elif scale.startswith("crore"):
        value *= 10_000_000
    elif scale == "k":
        value *= 1000
    raw = (match.group("pre") or match.group("post") or "").strip()
    currency = _CURRENCY_WORDS.get(marker, _CURRENCY_WORDS.get(marker.rstrip(".")))
    if currency is None:
        currency = detect_currency(raw) or (raw.upper() if re.fullmatch(r"[A-Za-z]{3}", raw) else "INR")
    return value, currency


def _find_amounts(text: str) -> list[_Amount]:
    amounts: list[_Amount] = []
    for match in _AMOUNT.finditer(text):
        parsed = parse_amount_token(match)
        if parsed is None:
            continue
        value, currency = parsed
        period = None
        after = _PERIOD_AFTER.match(text[match.end() : match.end() + 40])
        if after:
            word = re.sub(r"[\s.]", "", (after.group("unit") or after.group("word") or "").lower())
            period = _PERIOD_UNITS.get(word, "bill")
        if period is None:
            before = _PERIOD_BEFORE.search(text[max(0, match.start() - 40) : match.start()])
            if before:
                unit = " ".join(before.group("unit").lower().split())
                unit = "perdiem" if unit == "per diem" else unit.removeprefix("per ")
                period = _PERIOD_UNITS.get(unit, "bill")
        threshold = bool(_THRESHOLD_BEFORE.search(text[max(0, match.start() - 20) : match.start()]))
        amounts.append(_Amount(money2(value), currency, period, match.start(), threshold))
    return amounts


def split_sentences(text: str) -> list[tuple[str, bool]]:
    """Policy text -> sentences, each with whether it is a bare heading line."""
    return [(part.text, part.heading) for part in _split_parts(text)]


@dataclass
class _Part:
    text: str
    heading: bool
    line: int  # which (joined) line of the policy it is on
    after: str  # how the part before it on its line ended: ";", "." ("" for the first part)


def _split_parts(text: str) -> list[_Part]:
    """Policy text -> sentences and the clauses of a sentence cut at ";", with their line.

    Lines of one paragraph are joined when a line does not end a sentence and the next
    continues it (PDF and OCR text wraps lines anywhere)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines: list[tuple[str, bool]] = []
    for raw_line in text.split("\n"):
        if _MD_HEADING.match(raw_line):
            lines.append((_MD_HEADING.sub("", raw_line).strip().strip("*_").strip(), True))
        else:
            lines.append((_BULLET.sub("", raw_line).strip(), False))
    merged: list[str] = []
    md_headings: set[int] = set()  # indexes in `merged` of Markdown heading lines
    blank_before = True
    for line, is_md in lines:
        if not line:
            blank_before = True
            continue
        if is_md:
            md_headings.add(len(merged))
            merged.append(line)
            blank_before = True  # nothing continues a heading
            continue
        starts_new = blank_before or not merged or _BULLET.match(line) is not None
        prev = merged[-1] if merged else ""
        continues = (
            not starts_new
            and not re.search(r"[.:;!?]$", prev)
            and not _is_heading(prev)
            and (line[0].islower() or line[0].isdigit() or line[0] in "₹$€(/-" or line.lower().startswith(("per ", "rs", "inr")))
        )
        if continues:
            merged[-1] = prev + " " + line
        else:
            merged.append(line)
        blank_before = False
    parts: list[_Part] = []
    for index, line in enumerate(merged):
        if (index in md_headings and not _AMOUNT.search(line)) or _is_heading(line):
            parts.append(_Part(line.rstrip(":").strip(), True, index, ""))
            continue
        protected = _ABBREVIATIONS.sub(lambda m: m.group(1) + "\u2024", line)
        after = ""
        for part in re.split(r"(?<=[.;!?])\s+(?=[A-Z₹(\"'])", protected):
            part = part.replace("\u2024", ".").strip()
            if part:
                parts.append(_Part(part, False, index, after))
                after = ";" if part.endswith(";") else "."
    return parts


def _is_heading(line: str) -> bool:
    words = line.rstrip(":").split()
    if not words or len(words) > 5 or _AMOUNT.search(line) or re.search(r"[.;!?]$", line):
        return False
    # "Meals:" heads the lines under it; so does "Other:" (naming no category: it ends the
    # section before it)
    return bool(find_categories(line)) or line.rstrip().endswith(":")


def _segments(sentence: str) -> list[tuple[list[str], str]]:
    """Cut a sentence at each category it names; a segment with nothing but its category
    ("Flights and trains at actuals") shares the rules of the segment after it."""
    cats = find_categories(sentence)
    if not cats:
        return [([], sentence)]
    starts = [pos for _, _, pos in cats]
    bounds = [0] + starts[1:] + [len(sentence)]
    raw: list[tuple[list[str], str]] = []
    for index, (cid, _, _) in enumerate(cats):
        raw.append(([cid], sentence[bounds[index] : bounds[index + 1]]))
    merged: list[tuple[list[str], str]] = []
    pending: list[str] = []
    for ids, chunk in raw:
        if not _has_content(chunk):
            pending.extend(ids)
            continue
        merged.append((pending + ids, chunk))
        pending = []
    if pending:
        if merged:
            merged[-1] = (merged[-1][0] + pending, merged[-1][1])
        else:
            merged.append((pending, sentence))
    return merged


def _has_content(chunk: str) -> bool:
    return bool(
        _AMOUNT.search(chunk) or _ACTUALS.search(chunk) or _NEGATIVE.search(chunk) or _APPROVAL.search(chunk)
        or _LOWER.search(chunk)
    )


def _exclusion_items(text: str) -> list[str]:
    lowered = text.lower()
    items = []
    for item, words in EXCLUSION_TERMS.items():
        if any(re.search(r"(?<![a-z])" + re.escape(w) + r"(?![a-z])", lowered) for w in words):
            items.append(item)
    return items


_HEADER_CURRENCY = re.compile(rf"\(\s*(?P<a>{_CUR})\s*\)|\bin\s+(?P<b>{_CUR})(?![\w])", re.IGNORECASE)
_BARE_AMOUNT = re.compile(rf"(?<![\w.,/-])(?P<num>{_NUM})(?![\d,.%])")


def _table_currency(text: str) -> str:
    """Policy tables name the currency once, in a column header ("Limit (INR)", "Amount in
    Rs"), and leave the cells bare ("Hotel | 4,000 per night"). Write it into that column's
    cells, so each row reads like a sentence: "Hotel | INR 4,000 per night". A table's rows
    are the lines with " | " until a blank line (a nested table keeps its parent's header)."""
    out = []
    column: tuple[int, str] | None = None
    for line in text.split("\n"):
        cells = line.split(" | ")
        if not line.strip():
            column = None
        elif len(cells) > 1:
            header = next(((i, m.group("a") or m.group("b")) for i, cell in enumerate(cells)
                           if (m := _HEADER_CURRENCY.search(cell)) and not re.search(r"\d", cell)), None)
            if header is not None:
                column = header
            elif column is not None and column[0] < len(cells) and not _AMOUNT.search(cells[column[0]]):
                index, marker = column
                cells[index] = _BARE_AMOUNT.sub(lambda m: f"{marker} {m.group('num')}", cells[index], count=1)
                line = " | ".join(cells)
        out.append(line)
    return "\n".join(out)


# a sentence about travel abroad: its limits are the foreign-travel category's, not those of
# the hotels or meals it names ("International travel: hotels up to USD 150 per night")
_FOREIGN = re.compile(
    r"\b(?:international|overseas|foreign)\s+(?:travel\w*|trips?|tours?|visits?|assignments?|journeys?|business\s+travel)\b"
    r"|\babroad\b|\boutside\s+(?:india|the\s+country)\b",
    re.IGNORECASE,
)
FOREIGN_TRAVEL = "foreign_travel"
# "Training: ..." at the start of a clause: a label of its own
_LABEL = re.compile(r"^\s*(?P<label>[^:;.\d]{1,40}):\s*\S")
# a label that is a condition on the category before it ("Grade B: Rs 1,000 per day"), not a topic
_CONDITION_LABEL = re.compile(
    r"\b(?:grades?|bands?|levels?|cadres?|class|tiers?|categor(?:y|ies)|metros?|non-metros?|cit(?:y|ies)|towns?"
    r"|employees?|staff|managers?|executives?|directors?|officers?|seniors?|juniors?|trainees?|interns?"
    r"|others?|elsewhere|rest)\b",
    re.IGNORECASE,
)


def _limit_kind(amount: _Amount) -> str | None:
    """Which limit an amount sets; None for a yearly one (not enforced)."""
    if amount.threshold:
        return "approval_above"
    return {"day": "per_day_limit", "night": "per_day_limit", "month": "per_month_limit", "km": "per_km_rate",
            "year": None}.get(amount.period or "", "per_bill_limit")


def parse_policy_text(text: str, *, default_currency: str = "INR") -> PolicyRules:
    """Read policy sentences into `PolicyRules`. Never raises; what it cannot place is listed
    in `warnings`."""
    text = _table_currency(text)
    builders: dict[str, _Builder] = {}
    rules = PolicyRules(currency=default_currency, parser=PARSER_NAME)
    currencies: list[str] = []
    heading: list[str] = []
    heading_foreign = False
    # the category the clauses before this one on its line were about, the kinds of limit they
    # set, and the categories a leading label ("Hotels: ...") names
    line_no = -1
    line_ids: list[str] = []
    line_kinds: set[str] = set()
    label_ids: list[str] = []

    def builder(cid: str, label: str) -> _Builder:
        if cid not in builders:
            builders[cid] = _Builder(CategoryRule(id=cid, label=label))
        return builders[cid]

    def note(rule: CategoryRule, sentence: str) -> None:
        if sentence not in rule.sources:
            rule.sources.append(sentence)

    def warn(message: str) -> None:
        if message not in rules.warnings:
            rules.warnings.append(message)

    for part in _split_parts(text):
        sentence = part.text
        if part.heading:
            # every heading ends the section before it; a title naming the whole policy
            # ("Acme India Travel Policy") heads no category
            heading = [] if _TITLE.search(sentence) else [cid for cid, _, _ in find_categories(sentence)]
            heading_foreign = bool(heading) and (FOREIGN_TRAVEL in heading or bool(_FOREIGN.search(sentence)))
            if heading_foreign:
                heading = [FOREIGN_TRAVEL]
            line_no = -1
            continue
        if part.line != line_no:
            line_no, line_ids, line_kinds = part.line, [], set()
            label = _LABEL.match(sentence)
            label_ids = [cid for cid, _, _ in find_categories(label.group("label"))] if label else []
        used = False
        # --- rules about every bill -------------------------------------------------------
        if _RECEIPTS.search(sentence):
            rules.receipts_required = True
            used = True
        if _CLAIM_MONTH.search(sentence) and _BILL_WORDS.search(sentence):
            rules.bills_in_claim_month = True
            used = True
        age = _AGE.search(sentence)
        if age and _BILL_WORDS.search(sentence):
            n = int(age.group("n"))
            unit = age.group("unit").lower()
            days = n * 30 if unit.startswith("month") else n * 7 if unit.startswith("week") else n
            rules.max_bill_age_days = days if rules.max_bill_age_days is None else min(rules.max_bill_age_days, days)
            used = True
        negative = _NEGATIVE.search(sentence)
        excluding = _EXCLUDING.search(sentence)
        items = _exclusion_items(sentence)
        if items and (negative or excluding):
            for item in items:
                if item not in rules.excluded_items:
                    rules.excluded_items.append(item)
            used = True
        if used:
            rules.general_sources.append(sentence)

        # --- rules about categories ---------------------------------------------------------
        segments = _segments(sentence)
        sentence_amounts = _find_amounts(sentence)
        kinds = {_limit_kind(a) for a in sentence_amounts}
        yearly_only = bool(sentence_amounts) and kinds == {None}
        inherited = False
        if segments == [([], sentence)]:
            own_label = _LABEL.match(sentence)
            new_topic = (
                part.after == "" or own_label is not None and not _CONDITION_LABEL.search(own_label.group("label"))
            )
            if (
                line_ids and not new_topic and kinds and None not in kinds and kinds <= line_kinds
                and (part.after == ";" or line_ids == label_ids)
            ):
                # a clause restating a limit of the category named before it on its line
                # ("Hotels: INR 5,000 per night in metros; INR 3,000 per night elsewhere", or
                # "Meals: Grade A up to Rs 2,000 per day. Grade B up to Rs 1,000 per day")
                segments = [(list(line_ids), sentence)]
                inherited = True
            # a sentence naming no category belongs to its heading's category, unless it is a
            # rule about every bill ("Alcohol is not reimbursable", "Bills older than 60 days
            # ...") or only a yearly limit (not enforced: no category's rule)
            elif heading and (not used or sentence_amounts) and not yearly_only:
                segments = [(list(heading), sentence)]
                inherited = True
        plan = [(ids, chunk, _find_amounts(chunk)) for ids, chunk in segments]
        if not inherited and (
            heading_foreign or _FOREIGN.search(sentence) or any(FOREIGN_TRAVEL in ids for ids, _ in segments)
        ):
            # "International travel: hotels up to USD 150 per night": the foreign-travel rule,
            # never the (domestic) hotel rule; but in "Hotels up to INR 4,000 per night in India
            # and USD 150 abroad" the amounts in the home currency stay with the hotel rule
            mixed = len({a.currency for a in sentence_amounts}) > 1 and default_currency in {
                a.currency for a in sentence_amounts
            }
            foreign_plan = []
            for ids, chunk, amounts in plan:
                if not ids or ids == [FOREIGN_TRAVEL]:
                    foreign_plan.append((ids, chunk, amounts))
                elif mixed:
                    home = [a for a in amounts if a.currency == default_currency]
                    domestic = [cid for cid in ids if cid != FOREIGN_TRAVEL]
                    foreign_plan.append((domestic, chunk, home))
                    foreign_plan.append(([FOREIGN_TRAVEL], chunk, [a for a in amounts if a not in home]))
                else:
                    foreign_plan.append(([FOREIGN_TRAVEL], chunk, amounts))
            plan = foreign_plan
        if not sentence_amounts and age is None and _LIMIT_WORDS.search(sentence) and re.search(r"\d", sentence):
            rules.warnings.append(f"a limit whose amount could not be read (no known currency?), not used: {sentence!r}")
        if any(kind is None for kind in kinds):
            warn(f"yearly limits are not enforced: {sentence!r}")
        labels = {cid: phrase for cid, phrase, _ in find_categories(sentence)}
        currencies.extend(a.currency for a in sentence_amounts)
        for ids, chunk, amounts in plan:
            if not ids:
                if any(_limit_kind(a) is not None for a in amounts) and not used:
                    rules.warnings.append(f"amount without a category, not used: {sentence!r}")
                continue
            if not _has_content(chunk):
                continue  # a category only named ("... Travel and Expense Policy") makes no rule
            if not inherited:
                line_ids, line_kinds = list(ids), set()
            line_kinds.update(kind for a in amounts if (kind := _limit_kind(a)) is not None)
            chunk_negative = _NEGATIVE.search(chunk)
            # "excluding alcohol" in a meals sentence is an exclusion, not a ban on meals
            bans_category = bool(chunk_negative) and not (items and not _category_before_negative(chunk))
            for cid in ids:
                b = builder(cid, labels.get(cid, cid.replace("_", " ")))
                rule = b.rule
                note(rule, sentence)
                if _ACTUALS.search(chunk):
                    rule.actuals = True
                if _LOWER.search(chunk):
                    rule.whichever_is_lower = True
                if _APPROVAL.search(chunk) and not any(a.threshold for a in amounts):
                    rule.requires_approval = True
                # only a sentence that names the category bans it (not one under its heading)
                if bans_category and not amounts and not inherited:
                    rule.not_reimbursable = True
                for amount in amounts:
                    kind = _limit_kind(amount)
                    if kind is None:
                        continue  # yearly: warned above
                    b.set_limit(kind, amount.value, amount.currency)
                    if amount.period == "night":
                        rule.day_unit = "night"
    if currencies:
        # the policy's currency is the one its amounts are written in
        counts = {c: currencies.count(c) for c in currencies}
        rules.currency = max(sorted(counts), key=lambda c: counts[c])
        if len(counts) > 1:
            rules.warnings.append(
                f"the policy mixes currencies {sorted(counts)}; each category's limits keep their own currency"
            )
    for cid in sorted(builders):
        b = builders[cid]
        codes = b.currencies()
        distinct = sorted(set(codes))
        # a category's limits are in one currency: its own when it has one, else the policy's
        # when among them, else its most used; limits in another currency are not compared
        # with them (a bill in that currency goes to review: no exchange rate is applied)
        own = (
            distinct[0] if len(distinct) == 1
            else rules.currency if rules.currency in distinct
            else max(distinct, key=codes.count) if distinct
            else rules.currency
        )
        dropped = b.finish(own)
        if own != rules.currency:
            b.rule.currency = own
        if dropped:
            rules.warnings.append(
                f"category {cid!r} has limits in several currencies {distinct}; its {own} limits are used "
                f"(not {', '.join(dropped)}); its bills in other currencies go to review"
            )
    rules.categories = [builders[cid].rule for cid in sorted(builders)]
    for cid in sorted(builders):
        for conflict in builders[cid].conflicts:
            rules.warnings.append(f"several limits of one kind, the lowest is used (conditions not modelled): {conflict}")
    for rule in rules.categories:
        limited = rule.per_bill_limit or rule.per_day_limit or rule.per_month_limit or rule.per_km_rate
        if rule.approval_above is not None and not (limited or rule.actuals or rule.not_reimbursable):
            # "Taxi fares above Rs 2,000 require approval": below the threshold no approval is
            # needed, which a reader takes as paid as billed
            rule.actuals = True
            rules.warnings.append(
                f"category {rule.id!r} only has an approval threshold ({rule.approval_above}); "
                "bills up to it are paid at actuals, bills above it go to review"
            )
        elif not (rule.actuals or rule.not_reimbursable or rule.requires_approval or limited):
            rules.warnings.append(f"category {rule.id!r} is named but has no limit; its bills go to review")
    return rules


def _category_before_negative(chunk: str) -> bool:
    """'Cab fares for personal trips are not reimbursed' bans cabs; 'Meals excluding alcohol'
    and 'Alcohol is not reimbursed' do not ban the category named alongside the item."""
    negative = _NEGATIVE.search(chunk)
    if not negative:
        return False
    head = chunk[: negative.start()]
    return bool(find_categories(head)) and not _exclusion_items(head)
