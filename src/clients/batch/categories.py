"""The expense categories the job knows by name, and how words map to them.

Policies and bill readers name categories differently ("cab", "taxi", "local conveyance";
"meals", "food", "restaurant"); both sides are mapped onto one id here, so a policy rule and a
bill meet on the same key. A policy may add categories this table does not know: they keep
the id the policy gave them.
"""

from __future__ import annotations

import re

# id -> words and phrases that name it (lower case). Longer phrases are matched first.
CATEGORY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "cab": (
        "cab", "cabs", "taxi", "taxis", "uber", "ola", "rapido", "auto rickshaw", "auto-rickshaw",
        "autorickshaw", "local conveyance", "conveyance", "cab fare", "cab fares", "ride", "rides",
    ),
    "meals": (
        "meal", "meals", "food", "lunch", "dinner", "breakfast", "restaurant", "restaurants",
        "dining", "snacks", "refreshments", "food and beverages",
    ),
    "hotel": ("hotel", "hotels", "lodging", "accommodation", "hotel stay", "room rent", "guest house"),
    "fuel": ("fuel", "petrol", "diesel", "cng"),
    "mileage": ("own vehicle", "own car", "personal vehicle", "mileage", "two wheeler", "two-wheeler"),
    "flight": ("flight", "flights", "air travel", "airfare", "air fare", "air ticket", "air tickets"),
    "train": ("train", "trains", "rail", "railway", "railways"),
    "bus": ("bus", "buses", "bus fare", "bus fares"),
    "phone": ("mobile", "mobile bill", "mobile bills", "phone", "telephone", "cellphone", "postpaid"),
    "internet": ("internet", "broadband", "wifi", "wi-fi", "data card"),
    "parking": ("parking", "toll", "tolls"),
    "medical": ("medical", "medicine", "medicines", "pharmacy"),
    "stationery": ("stationery", "office supplies", "printing", "courier"),
    "entertainment": ("client entertainment", "entertainment"),
    "laundry": ("laundry",),
    "foreign_travel": ("foreign travel", "international travel", "overseas travel"),
    "travel": ("travel", "outstation travel", "domestic travel", "business travel"),
}

# Items a policy can exclude, with the words that name them on a bill line.
EXCLUSION_TERMS: dict[str, tuple[str, ...]] = {
    "alcohol": (
        "alcohol", "alcoholic", "liquor", "beer", "wine", "whisky", "whiskey", "vodka", "rum",
        "gin", "brandy", "tequila", "cocktail", "cocktails", "pint",
    ),
    "tobacco": ("tobacco", "cigarette", "cigarettes", "cigar", "cigars", "gutkha", "pan masala", "hookah"),
    "personal items": ("toiletries", "cosmetics"),
    "fines": ("fine", "fines", "penalty", "challan"),
    "minibar": ("minibar", "mini bar"),
    "spa": ("spa", "massage"),
}

# Labels a bill reader (an LLM especially) may give a bill, mapped only on the bill side
# (`canonical_category` with the policy's categories): not in CATEGORY_SYNONYMS, because the
# policy reader must not read "Tea and coffee are not reimbursable" or "alcoholic beverages"
# as a rule about meals. Cafes, tea stalls, bakeries and snack counters are meals.
BILL_TYPE_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        (
            "cafe", "cafes", "coffee", "coffee_shop", "coffee_house", "tea", "chai", "tea_stall",
            "tea_shop", "bakery", "bakeries", "bakers", "snack", "snacks", "snack_bar", "beverage",
            "beverages", "food_and_beverage", "food_and_beverages", "food_beverage", "food_beverages",
            "f_b", "fnb", "refreshment", "refreshments", "canteen", "cafeteria", "juice", "juice_bar",
            "fast_food", "quick_service_restaurant", "qsr", "dessert", "desserts", "sweets", "sweet_shop",
            "confectionery", "eatery", "food_court", "food_delivery",
        ),
        "meals",
    ),
}

_NARROW = {"foreign_travel"}

_LOOKUP: list[tuple[str, str]] = sorted(
    ((phrase, cid) for cid, phrases in CATEGORY_SYNONYMS.items() for phrase in phrases),
    key=lambda pair: -len(pair[0]),
)


def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(phrase).replace(r"\ ", r"[\s_-]+") + r"(?![a-z0-9])")


_PATTERNS: list[tuple[re.Pattern[str], str, str]] = [(_phrase_pattern(p), p, c) for p, c in _LOOKUP]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def find_categories(text: str) -> list[tuple[str, str, int]]:
    """Every known category named in `text`: (id, phrase, position), earliest first, each id
    once. A phrase inside a longer one that matched ("travel" in "foreign travel") is skipped."""
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    found: dict[str, tuple[str, str, int]] = {}
    for pattern, phrase, cid in _PATTERNS:
        for match in pattern.finditer(lowered):
            start, end = match.span()
            if any(start < t_end and end > t_start for t_start, t_end in taken):
                continue
            taken.append((start, end))
            if cid not in found or start < found[cid][2]:
                found[cid] = (cid, phrase, start)
    return sorted(found.values(), key=lambda item: item[2])


def canonical_category(name: str | None, known: list[str] | tuple[str, ...] = ()) -> str | None:
    """Map a bill reader's type ("taxi", "Food", "local_conveyance") or a policy heading onto a
    category id, preferring the ids in `known` (the policy's own categories)."""
    if not name:
        return None
    key = slug(name)
    if not key or key in {"other", "unknown", "none", "misc", "miscellaneous"}:
        return None
    if key in known:
        return key
    # the bill reader labels bills with its built-in names (lodging, travel ...) unless one
    # policy category is the only other name for it: map the built-in back to that category
    try:
        from clients.batch.classify import canonical_category as builtin_of
    except ImportError:  # pragma: no cover - the reader's module is part of this package
        builtin_of = None
    if builtin_of is not None and known:
        # (a narrower policy category, "foreign travel", does not take every travel bill)
        same = [cid for cid in known if cid not in _NARROW and builtin_of(cid.replace("_", " ")) == key]
        if len(same) == 1:
            return same[0]
    if key in CATEGORY_SYNONYMS:
        return key
    hits = find_categories(name.replace("_", " "))
    if hits and (hits[0][0] in known or not known):
        return hits[0][0]
    if hits:
        return hits[0][0]
    # a policy-specific category the table does not know ("visa_fees"): match by id
    for cid in known:
        if key == cid or key.rstrip("s") == cid.rstrip("s"):
            return cid
    if known and key in BILL_TYPE_SYNONYMS:
        return BILL_TYPE_SYNONYMS[key]
    return key


def exclusion_terms(item: str) -> tuple[str, ...]:
    """The words that name an excluded item on a bill line (the item itself at least)."""
    key = item.lower().strip()
    terms = EXCLUSION_TERMS.get(key)
    if terms:
        return terms
    for name, words in EXCLUSION_TERMS.items():
        if key in words:
            return words
    return (key,)
