"""Employee folders: which folders hold whose bills, and what their names say.

Each subfolder of the bills root is one employee; bills are every file found recursively
inside it (hidden files, `__MACOSX/` and OS litter skipped). A folder name such as
`EMP014_Asha_oct_acme` reads as emp_id, name, claim month and client; fewer parts work too
(`EMP014_Asha`, `asha_rao_2024-10`, `emp_ravi`). Files lying directly in the root form one
more folder named after the root, and a root with no subfolders is itself one employee.
"""

from __future__ import annotations

import calendar
import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from clients.batch.schemas import EmployeeContext

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


def parse_folder_name(name: str, known_clients: Iterable[str] = ()) -> EmployeeContext:
    """`EMP014_Asha_oct_acme` -> emp_id EMP014, emp_name Asha, claim month 10, client acme.

    Parts are separated by `_` (or spaces; `-` when nothing else separates them). The first
    part is an id when it holds digits (`EMP014`, `1042`); `emp`/`employee` alone is a
    prefix, not an id. Name parts run until a month (`oct`, `october`, `2024-10`, `oct2024`);
    what follows the month is the client. With no month, a last part that is a known client
    code (from --client-addresses) is the client."""
    tokens = [t for t in re.split(r"[_\s]+", name.strip()) if t]
    if len(tokens) == 1 and "-" in tokens[0] and not _month_token(tokens[0]):
        tokens = [t for t in tokens[0].split("-") if t]
    emp_id = None
    if tokens and _ID.match(tokens[0]) and any(ch.isdigit() for ch in tokens[0]):
        emp_id = tokens.pop(0).upper()
    elif tokens and tokens[0].lower() in _EMP_WORD and len(tokens) > 1:
        tokens.pop(0)
    month = year = None
    client_tokens: list[str] = []
    name_tokens: list[str] = []
    for index, token in enumerate(tokens):
        # a month needs a name before it ("EMP014_May_oct": May is the name), unless it is
        # the only part after the id ("EMP014_oct")
        parsed = _month_token(token) if name_tokens or (emp_id and index == len(tokens) - 1) else None
        if parsed and month is None:
            month, year = parsed
            rest = tokens[index + 1 :]
            # a year on its own after the month: oct_2024
            if rest and year is None and re.fullmatch(r"\d{4}", rest[0]):
                year = int(rest.pop(0))
            client_tokens = rest
            break
        name_tokens.append(token)
    known = {c.lower(): c for c in known_clients}
    if month is None and len(name_tokens) > 1 and name_tokens[-1].lower() in known:
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


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.lower() in IGNORED_NAMES or name.startswith("~$")


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


def discover_employee_folders(
    root: Path, known_clients: Iterable[str] = (), *, root_name: str | None = None
) -> list[EmployeeFolder]:
    """The employee folders under `root`, sorted by name (see the module docstring).
    `root_name` names the folder of loose files (an extracted ZIP passes its own name)."""
    root = Path(root)
    known = list(known_clients)
    subdirs = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not _ignored(p.name)),
        key=lambda p: p.name,
    )
    loose = sorted(
        (p for p in root.iterdir() if p.is_file() and not p.is_symlink() and not _ignored(p.name)),
        key=lambda p: p.name,
    )
    folders: list[EmployeeFolder] = []
    for sub in subdirs:
        folders.append(EmployeeFolder(sub.name, sub, parse_folder_name(sub.name, known), list_bill_files(sub)))
    if loose:
        name = root_name or root.resolve().name or "bills"
        folders.append(EmployeeFolder(name, root, parse_folder_name(name, known), loose))
    return sorted(folders, key=lambda f: f.folder_name)


def without_files(
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
