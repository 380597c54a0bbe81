"""--dry-run: the employee folders and bill counts a run would process, writing nothing
(a ZIP is read from its central directory, not extracted).

The dry run predicts the real run: no bill at all is the same usage error
(`no_bills_error`, raised by both), a file that is not a ZIP is refused as the run refuses it,
and refused archive entries are counted as failures, as the run counts them."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from framework.errors import ConfigurationError

from clients.batch.archive import plan_archive
from clients.batch.folders import discover_employee_folders, parse_folder_name


def no_bills_error(where: Path | str) -> ConfigurationError:
    """The usage error of a run (or dry run) that finds no bill and no refused entry."""
    return ConfigurationError(f"no bill files found in {where} (expected one subfolder per employee)")


@dataclass
class DryRunPlan:
    lines: list[str]  # to print
    bills: int  # bills the run would read
    refused: int  # archive entries the run would refuse (each a failure in the run's summary)
    unreadable: int = 0  # bills certain to fail (empty, a type no reader knows): failures too


def _context_text(name: str) -> str:
    ctx = parse_folder_name(name)
    parts = [f"{k}={v}" for k, v in ctx.model_dump(exclude_defaults=True).items()]
    return ", ".join(parts) or "no id/name/month in the folder name"


def plan_run(
    *, folders: Path | None, zip_path: Path | None, own_files: list[Path] = (), own_dirs: list[Path] = ()
) -> DryRunPlan:
    """What the run would read and refuse. `own_files`/`own_dirs` are the job's own inputs and
    outputs (`runner.own_paths`), left out of the count as the real run leaves them out.

    Raises ConfigurationError, as the run does, for a file that is not a ZIP and for a source
    with no bill at all."""
    lines: list[str] = []
    total = 0
    refused = 0
    unreadable = 0
    if zip_path is not None:
        lines.append(f"bills: {zip_path} (ZIP, not extracted in a dry run)")
        try:
            plan = plan_archive(Path(zip_path))  # ConfigurationError when it is not a ZIP at all
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            # looks like a ZIP but its directory cannot be read: the run reports the archive
            # as one corrupt entry and reads nothing
            lines.append(f"  refused {Path(zip_path).name}: corrupt_archive: not a readable ZIP: {exc}")
            lines.append("total: 0 bill(s)")
            return DryRunPlan(lines, 0, 1)
        for folder, count in plan.folders.items():
            name = folder or Path(zip_path).stem
            lines.append(f"  {name}: {count} bill(s)  [{_context_text(name)}]")
            total += count
        for nested in plan.nested:
            lines.append(f"  {nested}: nested ZIP, expanded at run time")
        for issue in plan.issues:
            lines.append(f"  refused {issue.name}: {issue.type}: {issue.message}")
        refused = len(plan.issues)
        if not total and not refused and not plan.nested:
            raise no_bills_error(zip_path)
    else:
        found = discover_employee_folders(Path(folders), ignore=own_files, ignore_under=own_dirs)
        if not found:
            raise no_bills_error(folders)
        lines.append(f"bills: {folders}")
        for folder in found:
            ctx = ", ".join(f"{k}={v}" for k, v in folder.context.model_dump(exclude_defaults=True).items())
            lines.append(f"  {folder.folder_name}: {len(folder.bills)} bill(s)  [{ctx or 'no id/name/month in the folder name'}]")
            total += len(folder.bills)
            for bill in folder.bills:
                reason = certain_failure(bill)
                if reason is not None:
                    unreadable += 1
                    lines.append(f"    will fail: {folder.relative(bill)}: {reason}")
    lines.append(f"total: {total} bill(s)" + (f", {refused} refused archive entr{'y' if refused == 1 else 'ies'}" if refused else "")
                 + (f", {unreadable} certain to fail" if unreadable else ""))
    return DryRunPlan(lines, total, refused, unreadable)


def certain_failure(path: Path) -> str | None:
    """Why the run will fail to read a bill, when that shows without reading it (the same
    error type the run reports), else None."""
    from framework.config import get_settings
    from framework.documents.processor import size_problem
    from framework.documents.sniff import SUPPORTED_EXTENSIONS

    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        return f"unsupported_extension: {suffix or '(none)'}"
    try:
        problem = size_problem(path.stat().st_size, get_settings())
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    return None if problem is None else f"{problem[0]}: {problem[2]}"


def describe(
    *, folders: Path | None, zip_path: Path | None, own_files: list[Path] = (), own_dirs: list[Path] = ()
) -> tuple[list[str], int]:
    """Lines to print and the bill count (`plan_run` without the refused count)."""
    plan = plan_run(folders=folders, zip_path=zip_path, own_files=own_files, own_dirs=own_dirs)
    return plan.lines, plan.bills
