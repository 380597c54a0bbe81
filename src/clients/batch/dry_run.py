"""--dry-run: the employee folders and bill counts a run would process, writing nothing
(a ZIP is read from its central directory, not extracted)."""

from __future__ import annotations

from pathlib import Path

from clients.batch.archive import plan_archive
from clients.batch.folders import discover_employee_folders, parse_folder_name, without_files


def _context_text(name: str) -> str:
    ctx = parse_folder_name(name)
    parts = [f"{k}={v}" for k, v in ctx.model_dump(exclude_defaults=True).items()]
    return ", ".join(parts) or "no id/name/month in the folder name"


def describe(
    *, folders: Path | None, zip_path: Path | None, own_files: list[Path] = (), own_dirs: list[Path] = ()
) -> tuple[list[str], int]:
    """Lines to print and the bill count. `own_files`/`own_dirs` are the job's own inputs and
    outputs (`runner.own_paths`), left out of the count as the real run leaves them out."""
    lines: list[str] = []
    total = 0
    if zip_path is not None:
        plan = plan_archive(Path(zip_path))
        lines.append(f"bills: {zip_path} (ZIP, not extracted in a dry run)")
        for folder, count in plan.folders.items():
            name = folder or Path(zip_path).stem
            lines.append(f"  {name}: {count} bill(s)  [{_context_text(name)}]")
            total += count
        for nested in plan.nested:
            lines.append(f"  {nested}: nested ZIP, expanded at run time")
        for issue in plan.issues:
            lines.append(f"  refused {issue.name}: {issue.type}: {issue.message}")
    else:
        found = without_files(discover_employee_folders(Path(folders)), own_files, own_dirs)
        lines.append(f"bills: {folders}")
        for folder in found:
            ctx = ", ".join(f"{k}={v}" for k, v in folder.context.model_dump(exclude_defaults=True).items())
            lines.append(f"  {folder.folder_name}: {len(folder.bills)} bill(s)  [{ctx or 'no id/name/month in the folder name'}]")
            total += len(folder.bills)
    lines.append(f"total: {total} bill(s)")
    return lines, total
