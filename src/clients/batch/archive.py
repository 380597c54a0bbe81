"""Safe extraction of a ZIP of employee folders.

A ZIP is untrusted input. Every entry is checked before a byte is written:

- names that would land outside the extraction folder (absolute paths, `..` parts, drive
  letters, backslash tricks) are refused as `unsafe_archive_path`;
- symlinks are refused as `symlink_in_archive` (never created), other special files as
  `unsafe_archive_path`; encrypted entries as `encrypted_archive_member`;
- `__MACOSX/` and hidden files are skipped silently;
- sizes are bounded twice: by what the central directory declares (per-entry size, total size,
  compression ratio) and by a byte counter while streaming, because headers can lie; an entry
  over a limit is refused as `archive_limit_exceeded` and its partial file removed;
- a ZIP inside the ZIP is expanded in place (into a folder named after it) up to
  `max_depth` levels; deeper ones are reported as `nested_archive`, never silently ignored.

The archive is extracted into `<dest>/<sha256 prefix>/` through a temporary folder renamed
into place when complete, so a re-run (even after `kill -9`) reuses a finished extraction and
discards a partial one.

The archive's own layout is kept: a wrapping folder (`October claims/EMP014_.../...`) is
descended into when the employee folders are discovered (`folders.discover_employee_folders`,
on the extracted folder), by the same rule (`folders.find_wrapper`) that serves `--folders` and
that `plan_archive` applies to the entry names for --dry-run. Only a nested ZIP's top folder
that repeats the ZIP's own name (`emp_neha.zip` -> `emp_neha/...`) is dropped on extraction.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from framework.errors import ConfigurationError
from framework.fileio import sha256_file, write_json

from clients.batch.folders import Listing, find_wrapper, is_ignored_name, is_non_bill_file
from clients.batch.schemas import RunIssue

log = logging.getLogger(__name__)

ARCHIVE_FORMAT_VERSION = 2  # 2: the top-level wrapping folder is no longer dropped on extraction
REPORT_NAME = ".archive_report.json"
_CHUNK = 1 << 16
_DRIVE = re.compile(r"^[A-Za-z]:")
_SKIPPED_PARTS = {"__macosx"}


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = 1024 * 1024 * 1024  # everything extracted from one upload
    max_member_bytes: int = 100 * 1024 * 1024  # one bill
    max_ratio: float = 100.0  # uncompressed / compressed, for entries above ratio_min_bytes
    ratio_min_bytes: int = 1024 * 1024
    max_members: int = 10_000
    max_depth: int = 1  # ZIPs inside the ZIP are expanded this many levels deep


@dataclass
class ArchiveExtraction:
    root: Path
    root_name: str  # names the folder of loose files at the top of the archive
    sha256: str
    issues: list[RunIssue] = field(default_factory=list)
    files: int = 0
    reused: bool = False


@dataclass
class PlannedMember:
    info: zipfile.ZipInfo
    display: str  # the entry's name as the archive gives it (with the outer archive's prefix)
    parts: tuple[str, ...]  # safe relative path parts


@dataclass
class _Budget:
    limits: ArchiveLimits
    written: int = 0
    files: int = 0


def _issue(kind: str, name: str, message: str, source: str) -> RunIssue:
    return RunIssue(type=kind, name=name, message=message, source=source)


def classify_members(
    archive: zipfile.ZipFile, limits: ArchiveLimits, *, prefix: str, source: str, declared_budget: int
) -> tuple[list[PlannedMember], list[RunIssue], list[str]]:
    """Split an archive's entries into safe ones, refused ones (issues) and skipped names,
    from the central directory alone (nothing is read or written)."""
    planned: list[PlannedMember] = []
    issues: list[RunIssue] = []
    skipped: list[str] = []
    seen: set[tuple[str, ...]] = set()
    declared_total = 0
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        issues.append(
            _issue(
                "archive_limit_exceeded", prefix.rstrip("/") or source,
                f"the archive has {len(infos)} entries (limit {limits.max_members}); nothing was extracted", source,
            )
        )
        return [], issues, skipped
    for info in infos:
        raw = info.filename
        display = prefix + raw
        if raw.endswith(("/", "\\")) and info.file_size == 0:
            continue  # folders are created as files need them
        normalized = raw.replace("\\", "/")
        parts = [p for p in normalized.split("/") if p not in ("", ".")]
        mode = (info.external_attr >> 16) & 0xFFFF
        if "\x00" in raw or normalized.startswith("/") or _DRIVE.match(normalized) or ".." in parts or not parts:
            issues.append(
                _issue("unsafe_archive_path", display, "entry would be written outside the extraction folder; refused", source)
            )
            continue
        if any(p.lower() in _SKIPPED_PARTS or p.startswith(".") for p in parts):
            skipped.append(display)
            continue
        file_type = stat.S_IFMT(mode)
        if file_type == stat.S_IFLNK:
            issues.append(_issue("symlink_in_archive", display, "symbolic link entries are not extracted", source))
            continue
        if file_type not in (0, stat.S_IFREG):
            issues.append(_issue("unsafe_archive_path", display, "special file (device, pipe or socket); refused", source))
            continue
        if info.flag_bits & 0x1:
            issues.append(
                _issue("encrypted_archive_member", display, "entry is password-protected; extract it yourself", source)
            )
            continue
        if info.file_size > limits.max_member_bytes:
            issues.append(
                _issue(
                    "archive_limit_exceeded", display,
                    f"entry declares {info.file_size} bytes uncompressed (limit {limits.max_member_bytes}); refused",
                    source,
                )
            )
            continue
        ratio = info.file_size / max(1, info.compress_size)
        if info.file_size > limits.ratio_min_bytes and ratio > limits.max_ratio:
            issues.append(
                _issue(
                    "archive_limit_exceeded", display,
                    f"entry compresses {ratio:.0f}:1 (limit {limits.max_ratio:.0f}:1), a zip bomb; refused", source,
                )
            )
            continue
        if declared_total + info.file_size > declared_budget:
            issues.append(
                _issue(
                    "archive_limit_exceeded", display,
                    f"the archive's total uncompressed size would exceed {limits.max_total_bytes} bytes; refused",
                    source,
                )
            )
            continue
        key = tuple(parts)
        if key in seen:
            issues.append(_issue("duplicate_archive_entry", display, "a second entry with the same name; refused", source))
            continue
        seen.add(key)
        declared_total += info.file_size
        planned.append(PlannedMember(info, display, key))
    return planned, issues, skipped


def _unwrap_own_name(members: list[PlannedMember], wrapper: str | None) -> list[PlannedMember]:
    """A nested archive whose entries all sit in a folder named like the archive itself
    (`emp_neha.zip` -> `emp_neha/...`) loses that folder: it would otherwise be
    `emp_neha/emp_neha/...`. (Wrapping folders in general are the discovery's business:
    `folders.find_wrapper`.)"""
    if not members or wrapper is None:
        return members
    if any(len(m.parts) < 2 or m.parts[0] != wrapper for m in members):
        return members
    return [PlannedMember(m.info, m.display, m.parts[1:]) for m in members]


def _is_zip_name(parts: tuple[str, ...]) -> bool:
    return parts[-1].lower().endswith(".zip")


def _safe_target(base: Path, parts: tuple[str, ...]) -> Path:
    target = base.joinpath(*parts)
    real_base = os.path.realpath(base)
    real_parent = os.path.realpath(target.parent)
    if real_parent != real_base and not real_parent.startswith(real_base + os.sep):
        raise ValueError("path escapes the extraction folder")
    return target


def _write_member(
    archive: zipfile.ZipFile, member: PlannedMember, target: Path, budget: _Budget, source: str
) -> RunIssue | None:
    """Stream one entry to `target`, counting bytes; remove the file if a limit is crossed."""
    limits = budget.limits
    cap = min(member.info.file_size, limits.max_member_bytes)
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o644)
    except FileExistsError:
        return _issue("duplicate_archive_entry", member.display, "another entry already wrote this path; refused", source)
    written = 0
    problem: RunIssue | None = None
    try:
        with os.fdopen(fd, "wb") as out, archive.open(member.info) as stream:
            while chunk := stream.read(_CHUNK):
                written += len(chunk)
                if written > cap or budget.written + written > limits.max_total_bytes:
                    problem = _issue(
                        "archive_limit_exceeded", member.display,
                        "entry inflates beyond its declared size or the archive's byte budget; refused", source,
                    )
                    break
                out.write(chunk)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        problem = _issue("corrupt_archive_member", member.display, f"could not be extracted: {exc}", source)
    if problem is not None:
        try:
            target.unlink()
        except FileNotFoundError:
            pass
        return problem
    budget.written += written
    budget.files += 1
    return None


def _extract_into(
    archive_path: Path, base: Path, *, depth: int, prefix: str, wrapper: str | None, budget: _Budget, source: str
) -> list[RunIssue]:
    issues: list[RunIssue] = []
    limits = budget.limits
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        return [_issue("corrupt_archive", prefix.rstrip("/") or source, f"not a readable ZIP: {exc}", source)]
    with archive:
        planned, refused, skipped = classify_members(
            archive, limits, prefix=prefix, source=source, declared_budget=limits.max_total_bytes - budget.written
        )
        issues.extend(refused)
        if skipped:
            log.debug("%s: skipped %d hidden/__MACOSX entries", source, len(skipped))
        for member in _unwrap_own_name(planned, wrapper):
            if _is_zip_name(member.parts) and depth >= limits.max_depth:
                issues.append(
                    _issue(
                        "nested_archive", member.display,
                        f"a ZIP nested more than {limits.max_depth} level(s) deep is not opened; extract it and re-run",
                        source,
                    )
                )
                continue
            try:
                target = _safe_target(base, member.parts)
            except ValueError:
                issues.append(_issue("unsafe_archive_path", member.display, "entry would escape the extraction folder", source))
                continue
            problem = _write_member(archive, member, target, budget, source)
            if problem is not None:
                issues.append(problem)
                continue
            if _is_zip_name(member.parts):
                stem = member.parts[-1][: -len(".zip")] or "archive"
                nested_base = target.with_name(stem)
                try:
                    issues.extend(
                        _extract_into(
                            target, nested_base, depth=depth + 1, prefix=member.display + "/",
                            wrapper=stem, budget=budget, source=source,
                        )
                    )
                finally:
                    budget.files -= 1
                    target.unlink(missing_ok=True)
    return issues


def extract_archive(zip_path: Path, dest_parent: Path, limits: ArchiveLimits | None = None) -> ArchiveExtraction:
    """Extract `zip_path` safely under `dest_parent/<hash>/`, or reuse a finished extraction.

    Raises ConfigurationError when the file is not a ZIP at all (the run cannot start)."""
    limits = limits or ArchiveLimits()
    zip_path = Path(zip_path)
    if not zipfile.is_zipfile(zip_path):
        raise ConfigurationError(f"{zip_path} is not a ZIP archive")
    digest = sha256_file(zip_path)
    root_name = zip_path.stem
    final = Path(dest_parent) / digest[:24]
    report_path = final / REPORT_NAME
    if report_path.exists():
        try:
            report = json.loads(report_path.read_text(encoding="utf-8"))
            if report.get("version") == ARCHIVE_FORMAT_VERSION:
                return ArchiveExtraction(
                    root=final, root_name=root_name, sha256=digest,
                    issues=[RunIssue(**issue) for issue in report.get("issues", [])],
                    files=int(report.get("files", 0)), reused=True,
                )
        except (OSError, ValueError, TypeError):
            pass
    Path(dest_parent).mkdir(parents=True, exist_ok=True)
    for stale in Path(dest_parent).glob(f".{digest[:24]}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    partial = Path(dest_parent) / f".{digest[:24]}.partial-{os.getpid()}"
    partial.mkdir()
    budget = _Budget(limits)
    issues = _extract_into(zip_path, partial, depth=0, prefix="", wrapper=None, budget=budget, source=zip_path.name)
    issues.sort(key=lambda i: (i.name, i.type))
    write_json(
        partial / REPORT_NAME,
        {"version": ARCHIVE_FORMAT_VERSION, "sha256": digest, "files": budget.files,
         "issues": [i.model_dump() for i in issues]},
    )
    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)
    log.info("extracted %s: %d files, %d refused entries", zip_path.name, budget.files, len(issues))
    return ArchiveExtraction(root=final, root_name=root_name, sha256=digest, issues=issues, files=budget.files)


@dataclass
class ArchivePlan:
    folders: dict[str, int]  # employee folder -> bill count ("" = loose files outside them)
    issues: list[RunIssue]
    nested: list[str]  # nested ZIPs that a run would expand
    wrapper: tuple[str, ...] = ()  # wrapping folders a run descends through
    skipped: list[str] = field(default_factory=list)  # loose non-bill files a run skips


def members_listing(members: list[PlannedMember]) -> Callable[[tuple[str, ...]], Listing]:
    """`folders.find_wrapper`'s view of a ZIP's entries (so a dry run and a real run unwrap
    the same folders)."""
    dirs: dict[tuple[str, ...], set[str]] = {}
    files: dict[tuple[str, ...], set[str]] = {}
    for member in members:
        parts = member.parts
        for depth in range(len(parts) - 1):
            dirs.setdefault(parts[:depth], set()).add(parts[depth])
        files.setdefault(parts[:-1], set()).add(parts[-1])

    def listing(parts: tuple[str, ...]) -> Listing:
        return Listing(tuple(sorted(dirs.get(parts, ()))), tuple(sorted(files.get(parts, ()))))

    return listing


def plan_archive(
    zip_path: Path, limits: ArchiveLimits | None = None, known_clients: Iterable[str] = ()
) -> ArchivePlan:
    """What `extract_archive` and the discovery after it would produce, read from the central
    directory only (for --dry-run, which writes nothing). Nested ZIPs are listed, not opened."""
    limits = limits or ArchiveLimits()
    zip_path = Path(zip_path)
    if not zipfile.is_zipfile(zip_path):
        raise ConfigurationError(f"{zip_path} is not a ZIP archive")
    with zipfile.ZipFile(zip_path) as archive:
        planned, issues, _ = classify_members(
            archive, limits, prefix="", source=zip_path.name, declared_budget=limits.max_total_bytes
        )
    planned = [m for m in planned if not any(is_ignored_name(p) for p in m.parts)]
    listing = members_listing(planned)
    wrapper = find_wrapper(listing, known_clients)
    if wrapper:
        log.info(
            "%s: %r only wraps the employee folders; a run reads the folders inside it",
            zip_path.name, "/".join(wrapper),
        )
    has_folders = bool(listing(wrapper).children)
    depth = len(wrapper)
    folders: dict[str, int] = {}
    nested: list[str] = []
    skipped: list[str] = []
    for member in planned:
        if _is_zip_name(member.parts):
            nested.append(member.display)
            continue
        if member.parts[:depth] == wrapper and len(member.parts) > depth + 1:
            folder = member.parts[depth]
        elif has_folders and is_non_bill_file(member.parts[-1]):
            skipped.append(member.display)
            continue
        else:
            folder = ""
        folders[folder] = folders.get(folder, 0) + 1
    if skipped:
        log.warning(
            "%s: a run skips %d file(s) outside the employee folders that are not bills: %s",
            zip_path.name, len(skipped), ", ".join(sorted(skipped)),
        )
    return ArchivePlan(
        dict(sorted(folders.items())), sorted(issues, key=lambda i: (i.name, i.type)), sorted(nested),
        wrapper=wrapper, skipped=sorted(skipped),
    )


def archive_display_path(root: Path, path: Path) -> str:
    return PurePosixPath(path.relative_to(root)).as_posix()
