"""Employee folders: which folders hold whose bills, and what their names say.

Each subfolder of the bills root (or of its wrapping folder, below) is one employee; bills are
every file found recursively inside it (hidden files, `__MACOSX/` and OS litter skipped). A
folder name such as `EMP014_Asha_oct_acme` reads as emp_id, name, claim month and client; fewer
parts work too (`EMP014_Asha`, `asha_rao_2024-10`, `emp_ravi`, `Asha Menon - Oct 2024`,
`2024-10_EMP021_Neha`).
Files lying directly in the root form one more folder named after the root, and a root with no
subfolders is itself one employee.

Wrapping folders (`find_wrapper`: one rule, used for `--folders` here, for a ZIP's extracted
folder through this same function, and for a ZIP's entry names by `archive.plan_archive` in a
dry run). When the root holds exactly one subfolder W (loose files beside it do not matter) and
W only wraps the employee folders (`October claims/EMP014_.../`, `EMP022_.../`), W is descended
into, as many levels as such folders nest (`a/b/EMP01, EMP02`), and an INFO line says so. W is
a wrapper when:

- W holds subfolders (a `.zip` counts as one: it is a folder once extracted);
- W's own name carries no emp id (`EMP014_Asha` holding `cabs/` and `meals/` is ONE employee:
  its subfolders are receipt groups, not people);
- W holds no loose bill file (non-bill files, below, do not count), unless two or more of its
  subfolders carry an emp id: then the loose files are strays beside the employee folders and
  are read as the root's loose files;
- W's subfolders look like employees, not receipt groups. Each subfolder name is *receipt-like*
  (only category, vendor, date and "receipts/scans/misc" words: `cabs`, `Hotel stay`, `Uber`,
  `oct`, `2024-10`, `week 1`), *employee-like* (the folder-name parse finds an emp id, or a name
  with a claim month: `EMP014_Asha`, `1042_neha`, `Ravi_oct`) or *unknown* (`Asha`, `Mumbai`).
  With one subfolder: employee-like -> a wrapper; unknown -> a wrapper when W is named like a
  container (only words such as claims, expenses, bills, upload, team, month names, years, or a
  --client-addresses code: `October claims`, `Claims 2024-10`); otherwise W is a wrapper only
  when that subfolder is one itself (`Claims/October/EMP014_.../`; `Asha/2024/oct/` is not).
  With two or more: the employee-like and unknown ones must
  outnumber the receipt-like ones, and at least one must be employee-like or W be named like a
  container.

Names alone are no evidence of people: `Asha/` holding `Mumbai/` and `Pune/` stays ONE employee
(split, each trip would get its own monthly limits), with a WARNING that its subfolders may be
employees (name them `EMP014_Asha`, `Asha_oct`, or point the job at that folder). Two people's
folders merged by mistake pool their limits, the safer error for money.

Loose files outside the employee folders (at the root, or inside a wrapper): a file that
cannot be a bill (a spreadsheet, CSV, JSON, XML, log file: `NON_BILL_EXTENSIONS`; or a note
such as `readme.txt`, `notes.md`: `NOTE_NAMES`) is skipped with a WARNING naming it, so a
`summary.xlsx` next to the employee folders neither fails the run nor becomes an employee. Every
other loose file (a `.txt`, `.pdf`, image ...) is kept: they form the one more folder named
after the root, as before. Inside an employee folder every file is a bill (an unsupported file
there is a failed bill). When the root has no subfolders at all, its files are one employee's
bills, whatever their kind.
"""

from __future__ import annotations

import calendar
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from clients.batch.schemas import EmployeeContext

log = logging.getLogger(__name__)

IGNORED_NAMES = {"__macosx", "thumbs.db", "desktop.ini", ".ds_store"}

_MONTHS: dict[str, int] = {}
for _number in range(1, 13):
    _MONTHS[calendar.month_name[_number].lower()] = _number
    _MONTHS[calendar.month_abbr[_number].lower()] = _number
_MONTHS["sept"] = 9

_ID = re.compile(r"^(?:[a-z]{1,6}[-]?)?\d{1,10}$", re.IGNORECASE)
_EMP_WORD = {"emp", "employee", "staff"}
_MONTH_YEAR = re.compile(
    r"^(?:(?P<m1>[a-z]+)[-.]?(?P<y1>\d{2}|\d{4})"  # oct2024, oct-24
    r"|(?P<y2>\d{4})[-.]?(?P<m2>\d{1,2})"  # 2024-10, 202410
    r"|(?P<m3>\d{1,2})[-.](?P<y3>\d{4}))$",  # 10-2024
    re.IGNORECASE,
)


@dataclass
class EmployeeFolder:
    folder_name: str
    path: Path
    context: EmployeeContext
    bills: list[Path] = field(default_factory=list)  # sorted, relative to `path` when shown

    def relative(self, bill: Path) -> str:
        try:
            return bill.relative_to(self.path).as_posix()
        except ValueError:
            return bill.name


def _month_token(token: str) -> tuple[int, int | None] | None:
    lowered = token.lower()
    if lowered in _MONTHS:
        return _MONTHS[lowered], None
    match = _MONTH_YEAR.match(lowered)
    if not match:
        return None
    if match.group("m1"):
        month = _MONTHS.get(match.group("m1"))
        year_text = match.group("y1")
    elif match.group("y2"):
        month, year_text = int(match.group("m2")), match.group("y2")
    else:
        month, year_text = int(match.group("m3")), match.group("y3")
    if not month or not 1 <= month <= 12:
        return None
    year = int(year_text)
    if year < 100:
        year += 2000
    if not 1990 <= year <= 2100:
        return None
    return month, year


_YEAR = re.compile(r"^(?:19|20)\d\d$")
_EDGE_PUNCT = "-\u2013\u2014.,;:()[]{}'\"#&+!?"


def _leading_month(tokens: list[str]) -> tuple[int, int | None, int] | None:
    """A claim month written before the id and name (`2024-10_EMP021_Neha`, `Oct 2024 - Asha`,
    `oct2024_Neha`, `oct_EMP021_Neha`): (month, year, tokens it takes), else None. A bare month
    name leads only when a year or an id follows it (`May_Kumar`: May is a name); an all-digit
    first part stays an id (`202410_Neha`, `1042_neha`)."""
    if len(tokens) < 2 or tokens[0].isdigit():
        return None
    parsed = _month_token(tokens[0])
    if parsed is None:
        return None
    month, year = parsed
    if year is not None:
        return month, year, 1
    following = tokens[1]
    if _YEAR.match(following):
        return month, int(following), 2
    if _ID.match(following) and any(ch.isdigit() for ch in following):
        return month, None, 1
    return None


def parse_folder_name(name: str, known_clients: Iterable[str] = ()) -> EmployeeContext:
    """`EMP014_Asha_oct_acme` -> emp_id EMP014, emp_name Asha, claim month 10, client acme.

    Parts are separated by `_` (or spaces; `-` when nothing else separates them); parts that
    are only punctuation (`Asha Menon - Oct 2024`) are dropped and punctuation around a part is
    trimmed. A claim month may lead (`2024-10_EMP021_Neha`). The first part is an id when it
    holds digits (`EMP014`, `1042`); `emp`/`employee` alone is a prefix, not an id. Name parts
    run until a month (`oct`, `october`, `2024-10`, `oct2024`, `Oct 2024`); what follows the
    month is the client. With no month, a last part that is a known client code (from
    --client-addresses) is the client."""
    tokens = [t.strip(_EDGE_PUNCT) for t in re.split(r"[_\s]+", name.strip())]
    tokens = [t for t in tokens if t]
    if len(tokens) == 1 and "-" in tokens[0] and not _month_token(tokens[0]):
        tokens = [t for t in (p.strip(_EDGE_PUNCT) for p in tokens[0].split("-")) if t]
    month = year = None
    lead = _leading_month(tokens)
    if lead is not None:
        month, year, taken = lead
        tokens = tokens[taken:]
    emp_id = None
    if tokens and _ID.match(tokens[0]) and any(ch.isdigit() for ch in tokens[0]):
        emp_id = tokens.pop(0).upper()
    elif tokens and tokens[0].lower() in _EMP_WORD and len(tokens) > 1:
        tokens.pop(0)
    client_tokens: list[str] = []
    name_tokens: list[str] = []
    for index, token in enumerate(tokens):
        if month is not None:
            name_tokens.append(token)  # the month led the name: the rest is id and name
            continue
        # a month needs a name before it ("EMP014_May_oct": May is the name), unless it is
        # the only part after the id ("EMP014_oct")
        parsed = _month_token(token) if name_tokens or (emp_id and index == len(tokens) - 1) else None
        if parsed:
            month, year = parsed
            rest = tokens[index + 1 :]
            # a year on its own after the month: oct_2024
            if rest and year is None and re.fullmatch(r"\d{4}", rest[0]):
                year = int(rest.pop(0))
            client_tokens = rest
            break
        name_tokens.append(token)
    known = {c.lower(): c for c in known_clients}
    if (month is None or lead is not None) and len(name_tokens) > 1 and name_tokens[-1].lower() in known:
        client_tokens = [name_tokens.pop()]
    client = "_".join(client_tokens) or None
    if client and client.lower() in known:
        client = known[client.lower()]
    emp_name = " ".join(t.capitalize() if t.islower() else t for t in name_tokens) or None
    return EmployeeContext(emp_id=emp_id, emp_name=emp_name, claim_month=month, claim_year=year, client=client)


def infer_claim_year(context: EmployeeContext, bill_dates: Iterable[date | None]) -> EmployeeContext:
    """A folder named `..._oct` gives no year: take it from the bills (the most common year of
    the bills dated in that month, else of all bills; the later year on a tie)."""
    if context.claim_month is None or context.claim_year is not None:
        return context
    dates = [d for d in bill_dates if d is not None]
    in_month = [d.year for d in dates if d.month == context.claim_month]
    pool = in_month or [d.year for d in dates]
    if not pool:
        return context
    counts = Counter(pool)
    year = max(counts, key=lambda y: (counts[y], y))
    return context.model_copy(update={"claim_year": year, "claim_year_inferred": True})


def is_ignored_name(name: str) -> bool:
    """Hidden files, `__MACOSX`, Office lock files (`~$...`) and OS litter (`Thumbs.db`)."""
    # a lock file a run leaves beside its output (`results.json.lock`) is never a bill
    lowered = name.lower()
    return (name.startswith(".") or lowered in IGNORED_NAMES or name.startswith("~$")
            or lowered.endswith((".lock", ".lock.holder")))


_ignored = is_ignored_name


def list_bill_files(folder: Path) -> list[Path]:
    """Every bill file under `folder`, recursively, sorted; hidden files and OS litter skipped;
    symlinks are not followed (a link could point anywhere on the machine)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d))
        for filename in filenames:
            path = Path(dirpath) / filename
            if _ignored(filename) or path.is_symlink() or not path.is_file():
                continue
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


# --- wrapping folders and loose files outside the employee folders ----------------------------

# Files that cannot be a bill: skipped (with a WARNING) when they lie outside the employee
# folders. Kept narrow on purpose: every format the bill reader knows (.txt, .md, .pdf,
# .docx, .html, images) and formats a bill could come in (.heic, .doc, .eml) are not here.
NON_BILL_EXTENSIONS = frozenset({
    ".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".numbers", ".csv", ".tsv",
    ".json", ".xml", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".log",
    ".db", ".sqlite", ".bak", ".tmp", ".lnk", ".url",
})
# Notes that travel with a batch (`readme.txt`, `Notes.md`): skipped outside the employee
# folders only, by exact name (after dropping case, spaces, `_` and `-`).
NOTE_NAMES = frozenset({
    "readme", "readmefirst", "readfirst", "notes", "note", "instructions", "summary", "index",
    "contents", "manifest", "license", "changelog",
})
_NOTE_EXTENSIONS = frozenset({"", ".txt", ".md", ".markdown", ".rst"})


def is_non_bill_file(name: str) -> bool:
    """True for a file that is not a bill when it lies outside any employee folder: a
    spreadsheet, CSV, JSON, log ... (`NON_BILL_EXTENSIONS`) or a note (`readme.txt`)."""
    lowered = name.lower()
    stem, dot, ext = lowered.rpartition(".")
    if not dot:
        stem, ext = lowered, ""
    else:
        ext = "." + ext
    if ext in NON_BILL_EXTENSIONS:
        return True
    return ext in _NOTE_EXTENSIONS and re.sub(r"[\s_\-.]+", "", stem) in NOTE_NAMES


def _folder_like(name: str) -> str | None:
    """A subfolder's name, or a `.zip` file's stem (a ZIP is a folder once extracted)."""
    return name[: -len(".zip")] if name.lower().endswith(".zip") and len(name) > 4 else None


@dataclass(frozen=True)
class Listing:
    """One folder as the wrapper rule sees it: subfolder names and file names (hidden files and
    OS litter already left out)."""

    dirs: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def children(self) -> list[str]:
        """Subfolders and the folders `.zip` files become."""
        return sorted([*self.dirs, *(s for s in map(_folder_like, self.files) if s)])

    @property
    def bill_files(self) -> list[str]:
        """Loose files that could be bills (not `.zip`, not a non-bill kind)."""
        return [f for f in self.files if _folder_like(f) is None and not is_non_bill_file(f)]


ListFn = Callable[[tuple[str, ...]], Listing]


def _receipt_vocabulary() -> frozenset[str]:
    from clients.batch.categories import CATEGORY_SYNONYMS
    from clients.batch.classify import ALIASES

    words: set[str] = {
        "receipt", "receipts", "bill", "bills", "invoice", "invoices", "scan", "scans", "scanned",
        "doc", "docs", "document", "documents", "image", "images", "photo", "photos", "pic", "pics",
        "picture", "pictures", "pdf", "pdfs", "jpg", "png", "attachment", "attachments", "misc",
        "miscellaneous", "other", "others", "extra", "extras", "supporting", "proof", "proofs",
        "claim", "claims", "expense", "expenses", "reimbursement", "reimbursements", "trip", "trips",
        "tour", "week", "weeks", "wk", "day", "days", "month", "part", "set", "page", "pages",
        "and", "n", "the", "of", "for", "to", "old", "new", "copy", "copies", "original", "originals",
    }
    for phrases in (*CATEGORY_SYNONYMS.values(), *ALIASES.values()):
        for phrase in phrases:
            words.update(re.findall(r"[a-z]+", phrase))
    return frozenset(words)


_CONTAINER_WORDS = frozenset({
    "claim", "claims", "expense", "expenses", "reimbursement", "reimbursements", "bill", "bills",
    "receipt", "receipts", "invoice", "invoices", "submission", "submissions", "submitted", "batch",
    "batches", "upload", "uploads", "uploaded", "export", "exports", "file", "files", "folder",
    "folders", "data", "input", "inputs", "team", "teams", "all", "employee", "employees", "emp",
    "emps", "staff", "final", "approved", "pending", "month", "monthly", "weekly", "quarter", "fy",
    "new", "old", "copy", "archive", "zip", "dept", "department", "finance", "hr", "accounts",
    "scanned", "docs", "documents", "travel", "and", "for", "of", "the", "to",
})
_vocabulary: frozenset[str] | None = None
_brand_patterns: list[re.Pattern[str]] | None = None


def _words(name: str) -> list[str]:
    return re.findall(r"[a-z]+|\d+", name.lower().replace("_", " "))


def _is_date_word(word: str) -> bool:
    """A month name, a day or month number, a year, `202410`, `20241005`, `q3`, `w2`, `fy24`
    (not any number: `1042` is an employee id)."""
    if word in _MONTHS or re.fullmatch(r"(?:q[1-4]|w\d{1,2}|fy\d{2,4})", word):
        return True
    if not word.isdigit():
        return False
    if len(word) <= 2 or _YEAR.match(word):
        return True
    if len(word) == 8:
        word = word[:6]
    return len(word) == 6 and _month_token(word) is not None


def _receipt_like(name: str) -> bool:
    """Only category, vendor, date and 'receipts/scans/misc' words: `cabs`, `Hotel stay`,
    `Uber`, `oct`, `2024-10`, `week 1`."""
    global _vocabulary, _brand_patterns
    if _vocabulary is None:
        from clients.batch.vendors import BRANDS

        _vocabulary = _receipt_vocabulary()
        _brand_patterns = [re.compile(rx, re.IGNORECASE) for rx, _ in BRANDS.values()]
    text = name.replace("_", " ")
    for pattern in _brand_patterns or []:
        text = pattern.sub(" ", text)
    words = _words(text)
    if not words and _words(name):
        return True  # the name is a brand ("Starbucks")
    return bool(words) and all(
        _is_date_word(w) or w in _vocabulary or w.rstrip("s") in _vocabulary or (len(w) == 1 and len(words) > 1)
        for w in words
    )


def _employee_like(name: str) -> bool:
    """The folder-name parse finds an emp id, or a name with a claim month."""
    ctx = parse_folder_name(name)
    return bool(ctx.emp_id) or bool(ctx.emp_name and ctx.claim_month)


def _container_like(name: str, known_clients: frozenset[str]) -> bool:
    """Only words a folder of many people's claims is named with: `October claims`,
    `Claims 2024-10`, `acme oct` (a client code), `Team A`."""
    words = _words(name)
    return bool(words) and all(
        _is_date_word(w) or w in _CONTAINER_WORDS or w in known_clients or (len(w) == 1 and len(words) > 1)
        for w in words
    )


def _kind(name: str) -> str:
    return "receipt" if _receipt_like(name) else "employee" if _employee_like(name) else "unknown"


def _is_wrapper(listing: ListFn, parts: tuple[str, ...], known_clients: frozenset[str]) -> bool:
    """Whether the folder at `parts` (the only subfolder of the level above) only wraps
    employee folders (the rule is in the module docstring)."""
    name = parts[-1]
    here = listing(parts)
    children = here.children
    if not children or parse_folder_name(name).emp_id:
        return False
    if here.bill_files:
        # loose bills say "an employee's folder", unless two or more subfolders carry an
        # emp id: then the loose files are strays beside the employee folders
        return sum(1 for c in children if parse_folder_name(c).emp_id and not _receipt_like(c)) >= 2
    kinds = [_kind(c) for c in children]
    container = _container_like(name, known_clients)
    if len(children) == 1:
        if kinds[0] == "employee" or (kinds[0] == "unknown" and container):
            return True
        # a pass-through folder (`Claims/October/EMP014_.../`): a wrapper when the folder
        # inside it is one
        only = children[0]
        return only in here.dirs and _is_wrapper(listing, (*parts, only), known_clients)
    receipts = kinds.count("receipt")
    if len(kinds) - receipts <= receipts:
        return False
    # names alone ("Asha", "Mumbai") are no evidence of people: an employee's trip folders
    # split into fake employees would each get the monthly limits; merged people are safer
    return "employee" in kinds or container


def _looks_ambiguous(listing: ListFn, parts: tuple[str, ...]) -> list[str]:
    """The subfolders of a folder read as one employee that might be employees after all
    (two or more, named neither like receipt groups nor with an id): for a warning."""
    here = listing(parts)
    if here.bill_files or len(here.children) < 2 or parse_folder_name(parts[-1]).emp_id:
        return []
    kinds = [_kind(c) for c in here.children]
    if kinds.count("unknown") > kinds.count("receipt"):
        return [c for c, k in zip(here.children, kinds) if k == "unknown"]
    return []


def find_wrapper(listing: ListFn, known_clients: Iterable[str] = ()) -> tuple[str, ...]:
    """The wrapping folders to descend through from the root (`("October claims",)`), or ()
    (the rule is in the module docstring). `listing(parts)` lists the folder at `parts`
    below the root: a directory on disk (`disk_listing`) or a ZIP's entries
    (`archive.plan_archive`), so both sources follow one rule."""
    known = frozenset(c.lower() for c in known_clients)
    parts: tuple[str, ...] = ()
    for _ in range(32):  # a bound against pathological nesting
        here = listing(parts)
        if len(here.children) != 1 or len(here.dirs) != 1:
            break
        candidate = (*parts, here.dirs[0])
        if not _is_wrapper(listing, candidate, known):
            break
        parts = candidate
    return parts


def disk_listing(root: Path) -> ListFn:
    """`find_wrapper`'s view of a folder on disk (symlinks, hidden files and litter left out)."""

    def listing(parts: tuple[str, ...]) -> Listing:
        dirs: list[str] = []
        files: list[str] = []
        try:
            entries = list(os.scandir(Path(root).joinpath(*parts)))
        except OSError:
            if not parts:
                raise  # the bills root itself: the caller reports it
            return Listing()  # an unreadable subfolder holds no bills (as os.walk sees it)
        for entry in entries:
            if _ignored(entry.name) or entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                dirs.append(entry.name)
            elif entry.is_file(follow_symlinks=False):
                files.append(entry.name)
        return Listing(tuple(sorted(dirs)), tuple(sorted(files)))

    return listing


def discover_employee_folders(
    root: Path, known_clients: Iterable[str] = (), *, root_name: str | None = None,
    ignore: Iterable[Path] = (), ignore_under: Iterable[Path] = (),
) -> list[EmployeeFolder]:
    """The employee folders under `root` that hold a bill, sorted by name (see the module
    docstring): wrapping folders are descended into (INFO log), loose non-bill files outside
    the employee folders skipped (WARNING log). `root_name` names the folder of loose files
    (an extracted ZIP passes its own name); `ignore` (files) and `ignore_under` (folders) are
    the job's own inputs, outputs and cache, never bills, left out without a word."""
    root = Path(root)
    ignore = list(ignore)
    ignored = {Path(p).resolve() for p in ignore}
    known = list(known_clients)
    listing = disk_listing(root)
    wrapper = find_wrapper(listing, known)
    label = root_name or root.name or str(root)
    if wrapper:
        log.info(
            "%s: %r only wraps the employee folders; reading the folders inside it",
            label, "/".join(wrapper),
        )
    base = root.joinpath(*wrapper)
    inside = listing(wrapper)
    if len(inside.children) == 1 and inside.dirs:
        maybe = _looks_ambiguous(listing, (*wrapper, inside.dirs[0]))
        if maybe:
            log.warning(
                "%s: %r is read as ONE employee; if its subfolders (%s) are employees, name them "
                "with an id or a month (EMP014_Asha, Asha_oct) or point the job at that folder",
                label, "/".join((*wrapper, inside.dirs[0])), ", ".join(maybe),
            )
    loose: list[Path] = []
    skipped: list[str] = []
    for depth in range(len(wrapper) + 1):
        level = wrapper[:depth]
        for file_name in listing(level).files:
            path = root.joinpath(*level, file_name)
            if ignored and path.resolve() in ignored:
                continue
            if inside.dirs and is_non_bill_file(file_name):
                skipped.append("/".join((*level, file_name)))
            else:
                loose.append(path)
    if skipped:
        log.warning(
            "%s: skipped %d file(s) outside the employee folders that are not bills: %s",
            label, len(skipped), ", ".join(skipped),
        )
    folders: list[EmployeeFolder] = []
    for sub_name in inside.dirs:
        sub = base / sub_name
        folders.append(EmployeeFolder(sub_name, sub, parse_folder_name(sub_name, known), list_bill_files(sub)))
    if loose:
        name = root_name or root.resolve().name or "bills"
        loose.sort(key=lambda p: p.relative_to(root).as_posix())
        folders.append(EmployeeFolder(name, root, parse_folder_name(name, known), loose))
    return _without_files(sorted(folders, key=lambda f: f.folder_name), ignore, ignore_under)


def _without_files(
    folders: list[EmployeeFolder], files: Iterable[Path], under: Iterable[Path] = ()
) -> list[EmployeeFolder]:
    """The folders with `files` (and anything below the folders `under`) taken out of their
    bills; folders left with no bill are dropped. Paths are compared resolved."""
    excluded = {Path(p).resolve() for p in files}
    roots = [Path(p).resolve() for p in under]
    kept: list[EmployeeFolder] = []
    for folder in folders:
        bills = []
        for path in folder.bills:
            resolved = path.resolve()
            if resolved in excluded or any(resolved.is_relative_to(root) for root in roots):
                continue
            bills.append(path)
        folder.bills = bills
        if bills:
            kept.append(folder)
    return kept
