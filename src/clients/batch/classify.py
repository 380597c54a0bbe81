"""Which kind of expense a bill is, from its words and the brands on it.

Each category collects weighted keyword hits over the whole text (a keyword counts at most
twice, so a long menu cannot drown out the one line that says "Room"); a known brand
(Uber, Swiggy, Indian Oil ...) weighs more than any single word. The policy's own category
names take part too: when one of them is another name for a built-in category ("Local
conveyance" for cab) the bill is labelled with the policy's name, and a policy category with
no built-in counterpart ("Internet") competes with its own words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from clients.batch.vendors import find_brands

BUILTIN_CATEGORIES = ("cab", "meals", "fuel", "parking", "lodging", "travel", "other")

_K = list[tuple[str, float]]
_KEYWORDS: dict[str, _K] = {
    "cab": [
        (r"\btaxi\b", 3), (r"\bcabs?\b", 3), (r"\bride\b", 2), (r"\btrip\b", 1.5),
        (r"\b(?:trip|ride)\s*fare\b", 3), (r"\bpick[\s-]?up\b", 2), (r"\bdrop(?:[\s-]?off)?\b", 2),
        (r"\bdriver\b", 2), (r"\bbase\s*fare\b", 2), (r"\bper\s*km\b|/\s*km\b", 1), (r"\bkms?\b", 1),
        (r"\bauto[\s-]?rickshaw\b|\bauto\s+ride\b", 2), (r"\bchauffeur\b", 2), (r"\bwaiting\s*(?:charge|time)\b", 2),
        (r"\b(?:ride|trip)\s*id\b|\bcrn\b", 2), (r"\bbike\s*taxi\b", 3), (r"\bconveyance\b", 2),
    ],
    "meals": [
        (r"\brestaurants?\b|\brestoran\b|\bristorante\b|\brestaurante\b|\btrattoria\b|\bbrasserie\b|\bbistro\b|\bgasth(?:aus|of)\b|\bdhaba\b|\bcanteen\b|\beatery\b|\bdiner\b", 3), (r"\bcaf[eé]\b", 2), (r"\bfood\b", 2),
        (r"\bdin(?:e|ing)(?:[\s-]?in)?\b", 2), (r"\bmeals?\b", 2), (r"\b(?:lunch|dinner|breakfast)\b", 2),
        (r"\beat[\s-]?in\b|\btake[\s-]?(?:away|out)\b", 2), (r"\btable\b", 1), (r"\bpax\b", 0.5),
        (r"\bkot\b", 1.5),
        (r"\b(?:thali|dosa|idli|biryani|pizza|burger|noodles?|chicken|paneer|curry"
         r"|soup|sandwich|naan|roti|rice|mutton|fish|veg|dessert|ice\s*cream)\b", 1),
        # cafes, tea stalls, bakeries and snack counters are meals too: their bills name a
        # drink or a pastry, rarely "food", and alone used to fall below the threshold
        # (chains vendors.BRANDS knows, Starbucks, Cafe Coffee Day, Chaayos, weigh as brands there)
        (r"\b(?:costa\s+coffee|(?<!caf[eé]\s)coffee\s+day|barista\s+(?:coffee|lavazza)"
         r"|third\s+wave\s+coffee|blue\s+tokai|tim\s+hortons|dunkin'?(?:\s+donuts)?|krispy\s+kreme"
         r"|chai\s+point|chai\s+sutta\s+bar|theobroma|mad\s+over\s+donuts|baskin\s+robbins|pret\s+a\s+manger"
         r"|subway(?!\s*(?:station|metro|stn|line|exit|entrance)))\b", 4),
        (r"\bbaker(?:y|ies|s)\b|\bbake\s*(?:house|shop)\b|\bpatisserie\b|\bconfectioner(?:y|s)?\b|\bcaf[eé]teria\b"
         r"|\bcoffee\s*(?:house|shop|bar|roasters?|point)\b|\b(?:tea|chai)\s*(?:stall|shop|house|point|bar|wala)\b"
         r"|\b(?:snacks?|juice|shake)\s*(?:bar|corner|cent(?:re|er)|counter|shop)\b|\bsweet\s*shop\b", 3),
        (r"\b(?:coffee|cappuccino|latte|espresso|americano|mocha|macchiato|frapp[eé]|frappuccino|cold\s*brew"
         r"|flat\s*white|chai|tea|hot\s*chocolate|milk\s*shake|milkshake|smoothie|lassi|juice|buttermilk"
         r"|mocktail)\b", 2),
        (r"\bsnacks?\b|\brefreshments?\b|\bbeverages?\b", 2),
        (r"\b(?:samosas?|vada|pav|puffs?|momos?|maggi|chaat|bhel|pakoras?|kachori|poha|upma|cakes?|pastr(?:y|ies)"
         r"|donuts?|doughnuts?|brownies?|cookies?|muffins?|croissants?|bagels?|footlong|veggie\s+delite)\b", 1),
        (r"\bdelivery\s*(?:partner|fee|charges?)\b|\bpackaging\s*charges?\b|\brestaurant\s*packaging\b", 2),
        (r"\bservice\s*charge\b", 1), (r"\bbar\b", 1),
        # in India "Hotel X Bhavan" is a restaurant, not lodging: these names outweigh "hotel"
        (r"\bbhava?n\b|\bbhawan\b|\budupi\b|\btiffins?\b|\bmess\b|\bsweets\b|\bdarshini\b", 3),
    ],
    "fuel": [
        (r"\bpetrol\b", 4), (r"\bdiesel\b", 4), (r"\bfuel\b", 3), (r"\b(?:litres?|liters?|ltrs?|lit)\b", 2),
        (r"\bpump\b", 2), (r"\bnozzle\b", 3), (r"\bron\s?9[5-7]\b", 3), (r"\boctane\b", 2), (r"\bcng\b", 2),
        (r"\b(?:rate|price|rs|rm)\s*/\s*(?:l|ltr|litre)\b", 2), (r"\bvolume\b", 1), (r"\bdensity\b", 2),
        (r"\bpetroleum\b", 3), (r"\b(?:filling|fuel|service|petrol)\s*(?:station|pump)\b", 4), (r"\bfuelsave\b", 3),
    ],
    "parking": [
        (r"\bparking\b", 5), (r"\bcar\s*park\b", 4), (r"\bpark[\s-]*dur", 3), (r"\bparking\s*fee\b", 3),
        (r"\b(?:entry|exit)\s*(?:time|gate)?\s*:", 2), (r"\bvalet\b", 3), (r"\bvehicle\s*(?:no|number)\b", 1),
        (r"\btoll\b", 2), (r"\bfastag\b", 3),
    ],
    "lodging": [
        (r"\bhotels?\b", 2), (r"\brooms?\b", 3), (r"\bnights?\b", 2),
        (r"\bcheck[\s-]?(?:in|out)\b|\barrival\b|\bdeparture\b", 2), (r"\bstay\b", 1.5), (r"\blodge\b", 3),
        (r"\bresorts?\b", 3), (r"\binn\b", 2), (r"\bguest\s*house\b|\bhomestay\b", 3),
        (r"\broom\s*(?:tariff|rent|charges?|no)\b", 4), (r"\baccommodation\b", 4), (r"\bsuite\b", 1),
    ],
    "travel": [
        (r"\bflights?\b", 4), (r"\bairlines?\b|\bairways\b", 4), (r"\bboarding\s*pass\b", 4), (r"\bpnr\b", 3),
        (r"\btrain\b|\brailways?\b", 3), (r"\bbus\b", 2), (r"\bcoach\b", 1), (r"\bseat\b", 1),
        (r"\bpassengers?\b", 2), (r"\btickets?\b", 2), (r"\be-?ticket\b", 3), (r"\bjourney\b", 2),
        (r"\bairport\b", 2), (r"\bair\s*fare\b|\bairfare\b", 4), (r"\btravels?\b", 2), (r"\bbooking\b", 1),
        (r"\btour\b", 1), (r"\bsector\b", 1),
    ],
}
_COMPILED = {cat: [(re.compile(rx, re.IGNORECASE), w) for rx, w in kws] for cat, kws in _KEYWORDS.items()}

# Words a policy may use for a built-in category.
ALIASES: dict[str, tuple[str, ...]] = {
    "cab": ("cab", "cabs", "taxi", "taxis", "conveyance", "local travel", "local conveyance", "ride", "rides",
            "commute", "transport", "uber", "ola", "rapido", "auto"),
    "meals": ("meal", "meals", "food", "dining", "restaurant", "restaurants", "refreshment", "refreshments",
              "lunch", "dinner", "breakfast", "food delivery", "business meals", "entertainment",
              "snacks", "beverages", "food and beverages"),
    "fuel": ("fuel", "petrol", "diesel", "gas", "gasoline", "mileage", "vehicle fuel"),
    "parking": ("parking", "toll", "tolls", "parking and toll", "parking & toll"),
    "lodging": ("lodging", "hotel", "hotels", "accommodation", "stay", "lodging and boarding", "hotel stay", "room"),
    "travel": ("travel", "flight", "flights", "air travel", "airfare", "train", "rail", "bus", "outstation travel",
               "domestic travel", "international travel", "foreign travel", "tickets"),
    "other": ("other", "others", "misc", "miscellaneous", "general"),
}
# Extra words for common policy categories that have no built-in counterpart.
_CUSTOM_SYNONYMS: dict[str, tuple[str, ...]] = {
    "internet": ("internet", "broadband", "wifi", "wi-fi", "fiber", "fibre", "data plan"),
    "mobile": ("mobile", "phone", "postpaid", "prepaid", "recharge", "telecom", "airtel", "jio", "vodafone"),
    "phone": ("mobile", "phone", "postpaid", "prepaid", "recharge", "telecom"),
    "stationery": ("stationery", "stationary", "pens", "paper", "notebook", "printing"),
    "medical": ("medical", "pharmacy", "medicine", "hospital", "clinic", "doctor", "chemist"),
    "training": ("training", "course", "certification", "workshop", "tuition"),
    "courier": ("courier", "shipping", "postage", "parcel", "dtdc", "blue dart", "fedex"),
    "laundry": ("laundry", "dry clean", "ironing"),
    "office": ("office supplies", "stationery", "printer", "toner"),
    "books": ("book", "books", "bookstore", "bookcentre"),
}
_STOP = {"and", "or", "the", "of", "for", "expense", "expenses", "bill", "bills", "charges", "charge",
         "allowance", "reimbursement", "claims", "claim", "costs", "cost", "local", "business", "other"}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9&]+", " ", name.lower()).strip()


def canonical_category(name: str) -> str | None:
    """The built-in category a policy's category name stands for ("Local Conveyance" -> "cab"),
    or None when it has no built-in counterpart ("Internet")."""
    n = _norm(name)
    if n in BUILTIN_CATEGORIES:
        return n
    for cat, aliases in ALIASES.items():
        if n in aliases:
            return cat
    words = set(n.split()) - _STOP
    hits = {cat for cat, aliases in ALIASES.items() for a in aliases if a in words or (" " in a and a in n)}
    return hits.pop() if len(hits) == 1 else None


def _custom_keywords(name: str) -> list[tuple[re.Pattern[str], float]]:
    words = [w for w in _norm(name).split() if len(w) >= 3 and w not in _STOP]
    terms: set[str] = set(words)
    for w in words:
        for key, syns in _CUSTOM_SYNONYMS.items():
            if w == key or w.rstrip("s") == key:
                terms.update(syns)
    return [(re.compile(rf"\b{re.escape(t)}s?\b", re.IGNORECASE), 3.0) for t in sorted(terms)]


def _score(lines: list[str], keywords: list[tuple[re.Pattern[str], float]]) -> tuple[float, str | None]:
    total, best_w, best_line = 0.0, 0.0, None
    for rx, weight in keywords:
        count = 0
        for line in lines:
            if rx.search(line):
                count += 1
                if weight > best_w:
                    best_w, best_line = weight, line
                if count == 2:
                    break
        total += weight * min(count, 2) * (1.0 if count <= 1 else 0.75)
    return total, best_line


def classify_bill(text: str, categories: Sequence[str] = ()) -> tuple[str, float, str | None]:
    """(category, confidence 0..1, the line that decided it).

    The category is a built-in one ("cab", "meals", "fuel", "parking", "lodging", "travel",
    "other") unless `categories` (the policy's) names it differently: a policy category that is
    the only alias of the winning built-in is returned by its policy name, and a policy category
    without a built-in counterpart wins when its own words score highest.
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    scores: dict[str, float] = {}
    evidence: dict[str, str | None] = {}
    for cat, kws in _COMPILED.items():
        scores[cat], evidence[cat] = _score(lines, kws)
    for brand in find_brands(lines):
        scores[brand.category] = scores.get(brand.category, 0.0) + 6.0
        evidence[brand.category] = brand.line
    custom = [c for c in categories if canonical_category(c) is None]
    for name in custom:
        s, line = _score(lines, _custom_keywords(name))
        scores[name], evidence[name] = s, line
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, best_score = ranked[0] if ranked else ("other", 0.0)
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if best_score < 2.0:
        return _policy_name("other", categories), 0.3, None
    margin = (best_score - second) / best_score
    confidence = round(min(0.95, 0.45 + 0.05 * best_score) * (0.6 + 0.4 * margin), 3)
    return _policy_name(best, categories), confidence, evidence[best]


def _policy_name(category: str, categories: Sequence[str]) -> str:
    if category not in BUILTIN_CATEGORIES:
        return category
    mapped = [c for c in categories if canonical_category(c) == category]
    return mapped[0] if len(mapped) == 1 else category
