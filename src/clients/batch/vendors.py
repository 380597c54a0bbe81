"""Who issued the bill: known brands anywhere in the text, else the company line at the top.

Receipts open with the merchant (sometimes after a logo read as junk, a branch code or
"TAX INVOICE") and then the address, registration numbers and phone. The legal name is the
most reliable thing to report, so a line that carries a company-form suffix ("SDN BHD", "S/B",
"PVT LTD", "ENTERPRISE", "TRADING") near the top is preferred over a shorter trading name above it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# canonical name -> (regex, category). Word-bounded, case-insensitive. Only names that are not
# ordinary words are listed: a brand list that matches "shell" in "shell pasta" or "ola" in a
# sentence does more harm than the rare miss.
BRANDS: dict[str, tuple[str, str]] = {
    "Uber": (r"\buber(?:\s*(?:india|eats|auto|go|moto|premier|xl|intercity))?\b", "cab"),
    "Ola": (r"\bola\s*(?:cabs?|money|auto|mini|prime|micro|electric|share)\b|\bolacabs\b|\bani technologies\b"
            r"|(?m:^\W*ola\W*$)", "cab"),
    "Rapido": (r"\brapido\b|\broppen transportation\b", "cab"),
    "Meru": (r"\bmeru\s*cabs?\b", "cab"),
    "BluSmart": (r"\bblu\s?smart\b", "cab"),
    "Namma Yatri": (r"\bnamma\s*yatri\b", "cab"),
    "inDrive": (r"\bin\s?drive(?:r)?\b", "cab"),
    "Lyft": (r"\blyft\b", "cab"),
    "Grab": (r"\bgrab\s*(?:car|taxi|bike|share|food|pay)?\b(?=.*\b(?:trip|ride|fare|driver|pick|drop|booking)\b)", "cab"),
    "Bolt": (r"\bbolt\b(?=.*\b(?:ride|trip|driver|fare)\b)", "cab"),
    "Careem": (r"\bcareem\b", "cab"),
    "Swiggy": (r"\bswiggy\b|\bbundl technologies\b", "meals"),
    "Zomato": (r"\bzomato\b", "meals"),
    "EatSure": (r"\beatsure\b", "meals"),
    "Starbucks": (r"\bstarbucks\b|\btata starbucks\b", "meals"),
    "McDonald's": (r"\bmc\s?donald'?s\b", "meals"),
    "KFC": (r"\bkfc\b", "meals"),
    "Domino's": (r"\bdomino'?s\b", "meals"),
    "Pizza Hut": (r"\bpizza\s*hut\b", "meals"),
    "Burger King": (r"\bburger\s*king\b", "meals"),
    "Subway": (r"\bsubway\b(?=.*\b(?:sandwich|sub|footlong|meal|cookie)\w*)", "meals"),
    "Cafe Coffee Day": (r"\bcaf[eé]\s*coffee\s*day\b|\bccd\b", "meals"),
    "Haldiram's": (r"\bhaldiram'?s?\b", "meals"),
    "Barbeque Nation": (r"\bbarbe(?:que|cue)\s*nation\b", "meals"),
    "Chaayos": (r"\bchaayos\b", "meals"),
    "Indian Oil": (r"\bindian\s*oil\b|\biocl\b", "fuel"),
    "Bharat Petroleum": (r"\bbharat\s*petroleum\b|\bbpcl\b", "fuel"),
    "Hindustan Petroleum": (r"\bhindustan\s*petroleum\b|\bhpcl\b", "fuel"),
    "Shell": (r"\bshell\b(?=.*\b(?:petrol|diesel|fuel|litre|liter|ltr|pump|v-power)\b)", "fuel"),
    "Nayara Energy": (r"\bnayara\b", "fuel"),
    "Jio-bp": (r"\bjio[\s-]?bp\b", "fuel"),
    "Petronas": (r"\bpetronas\b", "fuel"),
    "Caltex": (r"\bcaltex\b", "fuel"),
    "Petron": (r"\bpetron\b", "fuel"),
    "OYO": (r"\boyo\s*(?:rooms|hotels?|townhouse)?\b", "lodging"),
    "Airbnb": (r"\bairbnb\b", "lodging"),
    "Marriott": (r"\bmarriott\b", "lodging"),
    "Taj Hotels": (r"\btaj\s+(?:hotels?|mahal palace|palace)\b|\bihcl\b", "lodging"),
    "Treebo": (r"\btreebo\b", "lodging"),
    "FabHotels": (r"\bfab\s?hotels?\b", "lodging"),
    "IndiGo": (r"\bindigo\b(?=.*\b(?:flight|pnr|boarding|airlines?|6e)\b)|\binterglobe aviation\b", "travel"),
    "Air India": (r"\bair\s*india\b", "travel"),
    "SpiceJet": (r"\bspice\s?jet\b", "travel"),
    "Vistara": (r"\bvistara\b", "travel"),
    "Akasa Air": (r"\bakasa\s*air\b", "travel"),
    "AirAsia": (r"\bair\s?asia\b", "travel"),
    "IRCTC": (r"\birctc\b", "travel"),
    "redBus": (r"\bred\s?bus\b", "travel"),
    "MakeMyTrip": (r"\bmake\s?my\s?trip\b", "travel"),
    "Cleartrip": (r"\bcleartrip\b", "travel"),
    "Goibibo": (r"\bgoibibo\b", "travel"),
    "Yatra": (r"\byatra\.com\b|\byatra online\b", "travel"),
    "FASTag": (r"\bfastag\b", "parking"),
}
_BRAND_RES = {name: (re.compile(rx, re.IGNORECASE), cat) for name, (rx, cat) in BRANDS.items()}


@dataclass(frozen=True)
class BrandHit:
    name: str
    category: str
    line_index: int
    line: str


def find_brands(lines: list[str]) -> list[BrandHit]:
    """Known brands in document order (the first hit of each brand)."""
    hits: dict[str, BrandHit] = {}
    joined = "\n".join(lines)
    for name, (rx, cat) in _BRAND_RES.items():
        m = rx.search(joined)
        if m is None:
            continue
        idx = joined.count("\n", 0, m.start())
        hits[name] = BrandHit(name, cat, idx, lines[idx])
    return sorted(hits.values(), key=lambda h: h.line_index)


# Company-form words that mark the legal name line.
_ENTITY = re.compile(
    r"\b(?:sdn\.?\s*bhd|bhd|s/b|s/8|sdn|pvt\.?\s*ltd|private\s+limited|pte\.?\s*ltd|ltd|limited|llp|llc"
    r"|inc|corp(?:oration)?|gmbh|enterprises?|trading|traders|co\.|company|restaurants?|restoran|hotels?"
    r"|cafe|café|bakeries|bakery|stationery|pharmacy|hardware|kedai|mart|store|stores|supermarket"
    r"|services|travels|motors|petroleum|fuels?|filling\s+station|agencies)\b\.?",
    re.IGNORECASE,
)
_STRONG_ENTITY = re.compile(
    r"\b(?:sdn\.?\s*bhd\.?|bhd\.?|s/b|s/8|pvt\.?\s*ltd\.?|private\s+limited|pte\.?\s*ltd\.?|ltd\.?|limited|llp"
    r"|llc|inc\.?|gmbh|enterprises?|trading)(?=\W*$|\W*\()", re.IGNORECASE)
# Lines that are never the merchant's name: document titles...
_TITLE = re.compile(
    r"^\W*(?:(?:simplified\s+|full\s+|current\s+)?tax\s*invoice|invoice|receipt|cash\s*(?:bill|receipt|sales?)"
    r"|bill|original|duplicate|customer'?s?\s*copy|merchant\s*copy|welcome|thank\s*you|official\s*receipt"
    r"|order\s*(?:summary|details)|trip\s*(?:summary|details)|ride\s*details|booking\s*(?:details|confirmation)"
    r"|e-?ticket|payment\s*receipt|sales\s*receipt|invoice\s*cum\s*receipt)\W*$",
    re.IGNORECASE,
)
# ...and contact, registration and transaction lines, which also end the header.
_CONTACT = re.compile(
    r"\b(?:gst\s*(?:in|id|no|reg)|gstin|gst\s*:|tin\s*:|vat\s*(?:no|reg)|pan\s*:|cin\s*:|fssai|co\.?\s*(?:no|reg)"
    r"|reg(?:istration)?\.?\s*no|roc\s*:|tel\b|phone|ph\s*[:.]|mobile|fax|e-?mail|www\.|https?:|\.com\b"
    r"|date\b|time\b|cashier|counter|table\b|invoice\s*(?:no|#|number)|bill\s*(?:no|#)|receipt\s*(?:no|#))",
    re.IGNORECASE,
)
_ADDRESS = re.compile(
    r"\b(?:jalan|jln|lorong|taman|tmn|lot|no\.?\s*\d|level|floor|flr|road|rd\.|street|st\.|lane|nagar"
    r"|marg|sector|block|blk|plot|shop\s*no|near|opp\.?|behind|cross|main|layout|colony|seksyen|bandar"
    r"|kawasan|persiaran|avenue|ave\.|highway|pin\s*:?)\b|\b\d{5,6}\b",
    re.IGNORECASE,
)
_MONEY_LINE = re.compile(
    r"\d[.,]\d{2}(?!\d)|(?:₹|\brs\.?|\brm|\binr|\$|€|£)\s?\d"
    r"|\b(?:total|sub\s*total|amount|amt|summe|gesamt|qty|subtotal)\b", re.IGNORECASE)
_REG_NUMBER = re.compile(r"\s*[\(\[]\s*(?:co\.?\s*(?:no|reg)\.?\s*:?\s*)?[A-Z]{0,3}\d[\d\s-]{3,}[A-Z]?\s*[\)\]]?\s*$",
                         re.IGNORECASE)


def clean_name(line: str) -> str:
    """The name as printed, without decoration and trailing registration numbers."""
    s = re.sub(r"^[\W_]+|[\s*_~=#|-]+$", "", line.strip())
    s = re.sub(r"^(?:welcome\s+to|thank\s+you\s+for\s+(?:visiting|dining\s+at|shopping\s+at))\s+", "", s,
               flags=re.IGNORECASE)
    s = _REG_NUMBER.sub("", s)
    s = re.sub(r"[\s*_~=#|-]+$", "", s)
    # OCR drops the space before a bracket: "D.I.Y.(KUCHAI)" -> "D.I.Y. (KUCHAI)".
    s = re.sub(r"(?<=[\w.])\((?=[A-Za-z])", " (", s)
    return re.sub(r"\s{2,}", " ", s).strip()


def _letters(s: str) -> int:
    return sum(ch.isalpha() for ch in s)


def is_name_like(line: str) -> bool:
    """Could this line be (part of) a merchant name?"""
    s = clean_name(line)
    if _letters(s) < 3 or _TITLE.search(s) or _CONTACT.search(s):
        return False
    if _letters(s) < 0.5 * len(s.replace(" ", "")):
        return False  # mostly digits: a branch code, a phone or an amount line
    if _MONEY_LINE.search(s):
        return False
    return True


@dataclass(frozen=True)
class VendorGuess:
    name: str
    confidence: float
    line: str


def _ends_header(line: str) -> bool:
    """Address, contact, registration or date lines: the merchant's name is above them."""
    return bool(_ADDRESS.search(line) or _CONTACT.search(line))


def guess_vendor(lines: list[str], top: int = 8) -> VendorGuess | None:
    """The merchant name from the top of the bill, or a known brand anywhere.

    Order of trust: a brand named in the first lines; in the header (the name-like lines above
    the first address/contact line), the first line with a company form such as "SDN BHD",
    joined with the line above when the name wraps ("POPULAR BOOK" / "CO. (M) SDN BHD"); a brand
    anywhere; the first line of the header.
    """
    brands = find_brands(lines)
    header: list[int] = []
    seen = 0
    late = False  # the first name-like line comes after address/contact lines: OCR may have lost the name
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        seen += 1
        if seen > top or (header and _ends_header(line) and not _STRONG_ENTITY.search(line)):
            break
        if is_name_like(line) and not (_ADDRESS.search(line) and not _ENTITY.search(line)):
            header.append(i)
        elif not header and _ends_header(line):
            late = True
    for b in brands:
        # A brand in the first lines names the merchant, unless a legal name is printed above it
        # ("GERBANG ALAF RESTAURANTS SDN BHD" / "LICENSEE OF MCDONALD'S").
        if b.line_index <= 2 and not any(i < b.line_index and _STRONG_ENTITY.search(lines[i]) for i in header):
            return VendorGuess(b.name, 0.9, b.line)
    for i in header[:5]:
        if _STRONG_ENTITY.search(lines[i]):
            name = clean_name(lines[i])
            prev = lines[i - 1].strip() if i > 0 else ""
            if _needs_previous_line(name, prev):
                name = f"{clean_name(prev)} {name}"
            return VendorGuess(name, 0.85, lines[i])
    if brands:
        return VendorGuess(brands[0].name, 0.8, brands[0].line)
    if not header:
        return None
    i = header[0]
    name = clean_name(lines[i])
    nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
    if nxt and is_name_like(nxt) and (name.endswith("&") or _needs_previous_line(clean_name(nxt), lines[i])):
        name = f"{name} {clean_name(nxt)}"
    confidence = 0.75 if _ENTITY.search(lines[i]) else 0.6
    return VendorGuess(name, 0.4 if late else confidence, lines[i])


def _needs_previous_line(name: str, prev: str) -> bool:
    """A company line that starts mid-name ("CO. (M) SDN BHD", "SDN BHD", "HARDWARE SUPPLY" after a
    line ending in "&") continues the line above it."""
    if not prev or not is_name_like(prev) or _ADDRESS.search(prev) or _STRONG_ENTITY.search(prev):
        return False
    if prev.rstrip().endswith(("&", " AND", " and", "-")):
        return True
    first = name.split()[0].lower() if name.split() else ""
    return bool(re.fullmatch(r"(?:sdn\.?|bhd\.?|s/b|co\.?|corporation|pvt\.?|private|ltd\.?|limited|llp|"
                             r"inc\.?|enterprises?|trading|stationery|hardware|supply|industries)", first))
