"""run(config) -> ExpenseJobResult: the expense job from policy and bills to results.json.

Steps (each its own module):
  1. archive.extract_archive       a ZIP -> a safe folder under .cache/archives/ (or --folders as is)
     folders.discover_...          employee folders (wrappers unwrapped), names parsed, bills listed;
                                   no bill at all is a usage error before anything is written
  2. policy.load_policy            policy (+ extra rules) -> PolicyRules; policy_extract.json
  3. bill_reader.read_bill         per bill, in worker processes: text -> ExtractedFields
     cache.BillCache               ... unless the cache has it (key: file hash + reader fingerprint)
  4. validation, duplicates        claim month, age, name, client address; duplicates in the batch
  5. engine.decide_batch           deterministic decisions, caps per employee in date order
  6. output                        results.json (atomic), CSV

Only this coordinator writes the outputs and the bill cache; workers return records. (The
documents layer's text cache is the one thing a worker writes: one file per document hash,
written atomically, so two workers can never leave a torn or mixed entry.) The output is
locked for the whole run, so a second run on the same output fails fast.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from framework.config import Settings, get_settings
from framework.errors import ConfigurationError
from framework.fileio import sha256_file
from framework.locking import RunLock
from framework.progress import progress_bar

from clients.batch import bill_reader
from clients.batch.archive import ArchiveLimits, extract_archive
from clients.batch.bill_reader import BillTask, ReaderOptions
from clients.batch.cache import BillCache
from clients.batch.categories import canonical_category
from clients.batch.dry_run import no_bills_error
from clients.batch.duplicates import DuplicateCandidate, find_duplicates
from clients.batch.engine import EngineInput, decide_batch
from clients.batch.folders import EmployeeFolder, discover_employee_folders, infer_claim_year
from clients.batch.output import policy_document, results_document, write_csv, write_json_money
from clients.batch.policy import LoadedPolicy, load_policy
from clients.batch.schemas import (
    BillRecord,
    BillResult,
    DocumentInfo,
    EmployeeContext,
    FolderResult,
    ItemError,
    RunIssue,
    RunSummary,
    Summary,
    Validation,
)
from clients.batch.validation import (
    check_bill_age,
    check_claim_month,
    check_client_address,
    check_employee_name,
    load_client_addresses,
)

log = logging.getLogger(__name__)

JOB_NAME = "batch_expense_bills"
POLICY_EXTRACT_NAME = "policy_extract.json"
CACHE_DIR_NAME = ".cache"
# files that never need OCR: reading them in-process beats starting worker processes
_TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm", ".csv", ".json"}
_MIN_HEAVY_FOR_POOL = 4  # images / PDFs to read before a process pool pays off


@dataclass
class ExpenseJobConfig:
    policy: Path
    output: Path
    folders: Path | None = None
    zip: Path | None = None
    policy_rules: Path | None = None
    client_addresses: Path | None = None
    csv: Path | None = None
    workers: int | None = None
    currency: str = "INR"
    date_order: str = "DMY"
    force: bool = False
    retries: int = 3
    log_file: Path | None = None  # the job's --log-file: never a bill, even inside the bills folder
    settings: Settings | None = None
    archive_limits: ArchiveLimits = field(default_factory=ArchiveLimits)


@dataclass
class ExpenseJobResult:
    results_path: Path
    policy_extract_path: Path
    csv_path: Path | None
    summary: RunSummary
    issues: list[RunIssue]
    bills_total: int
    bills_read: int  # read this run
    bills_cached: int  # reused from the cache
    bills_failed: int

    @property
    def bills_ok(self) -> int:
        return self.bills_total - self.bills_failed


@dataclass
class _Bill:
    folder: EmployeeFolder
    path: Path
    file_name: str
    sha256: str
    key: str


def _validate_config(config: ExpenseJobConfig) -> None:
    if (config.folders is None) == (config.zip is None):
        raise ConfigurationError("give exactly one of --folders or --zip")
    if not Path(config.policy).is_file():
        raise ConfigurationError(f"policy file not found: {config.policy}")
    if config.policy_rules is not None and not Path(config.policy_rules).is_file():
        raise ConfigurationError(f"--policy-rules file not found: {config.policy_rules}")
    if config.folders is not None and not Path(config.folders).is_dir():
        raise ConfigurationError(f"--folders is not a folder: {config.folders}")
    if config.zip is not None and not Path(config.zip).is_file():
        raise ConfigurationError(f"--zip file not found: {config.zip}")
    if config.client_addresses is not None and not Path(config.client_addresses).is_file():
        raise ConfigurationError(f"--client-addresses file not found: {config.client_addresses}")


def _make_llm(settings: Settings) -> Any:
    if settings.llm_provider == "offline":
        return None
    from framework.llm import get_llm

    llm = get_llm(settings)
    return None if getattr(llm, "is_offline", False) else llm


def job_inputs(config: ExpenseJobConfig) -> dict[str, Path]:
    """The files the job reads besides the bills, by flag."""
    named = {"--policy": config.policy, "--policy-rules": config.policy_rules,
             "--client-addresses": config.client_addresses, "--zip": config.zip}
    return {flag: Path(path) for flag, path in named.items() if path is not None}


def job_outputs(config: ExpenseJobConfig) -> dict[str, Path]:
    """The files the job writes its results to, by flag (policy_extract.json goes beside -o).
    The --log-file is not one: it is opened before anything else, and only appended to."""
    output = Path(config.output)
    named = {"-o/--output": output, f"{POLICY_EXTRACT_NAME} (beside -o)": output.parent / POLICY_EXTRACT_NAME,
             "--csv": config.csv}
    return {flag: Path(path) for flag, path in named.items() if path is not None}


def own_paths(config: ExpenseJobConfig) -> tuple[list[Path], list[Path]]:
    """The job's own files and folders, which are never bills even when kept inside the bills
    folder: its inputs, its outputs and the lock beside results.json and, for a folder source,
    the .cache/ folder (an extracted ZIP lives under .cache/ itself)."""
    output = Path(config.output).resolve()
    files = [*job_inputs(config).values(), *job_outputs(config).values(),
             output.with_name(output.name + ".lock"), output.with_name(output.name + ".lock.holder")]
    if config.log_file is not None:
        files.append(Path(config.log_file))
    dirs = [output.parent / CACHE_DIR_NAME] if config.zip is None else []
    return files, dirs


def output_over_input(config: ExpenseJobConfig) -> str | None:
    """Why an output would destroy an input (the policy, the ZIP, a bill ...), or None.
    Writing there would lose the input the results were made from."""
    from clients.batch.folders import NON_BILL_EXTENSIONS

    taken = {path.resolve(): flag for flag, path in job_inputs(config).items()}
    bills_root = Path(config.folders).resolve() if config.folders is not None else None
    for flag, path in job_outputs(config).items():
        resolved = path.resolve()
        if resolved in taken:
            return f"{flag}: {path} is this run's {taken[resolved]} file; writing there would destroy it"
        if (bills_root is not None and resolved.is_file() and resolved.is_relative_to(bills_root)
                and resolved.suffix.lower() not in NON_BILL_EXTENSIONS):
            return f"{flag}: {path} is a bill in --folders; writing there would destroy it"
    return None


def run(config: ExpenseJobConfig) -> ExpenseJobResult:
    _validate_config(config)
    settings = config.settings or get_settings()
    output = Path(config.output).resolve()
    out_dir = output.parent
    cache_root = out_dir / CACHE_DIR_NAME
    started = time.monotonic()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with RunLock(output):
        # the bills first: a source with no bill (or a file that is not a ZIP) is a usage error,
        # found before any output is written (only the lock file exists by then)
        issues: list[RunIssue] = []
        source: dict[str, Any]
        client_addresses = load_client_addresses(config.client_addresses) if config.client_addresses else None
        known_clients = list(client_addresses) if client_addresses else []
        own_files, own_dirs = own_paths(config)
        if config.zip is not None:
            extraction = extract_archive(Path(config.zip), cache_root / "archives", config.archive_limits)
            issues.extend(extraction.issues)
            for issue in extraction.issues:  # said like an unreadable bill: one line each
                log.warning("%s: refused %s: %s: %s", Path(config.zip).name, issue.name, issue.type, issue.message)
            folders = discover_employee_folders(extraction.root, known_clients, root_name=extraction.root_name,
                                                ignore=own_files, ignore_under=own_dirs)
            source = {"type": "zip", "path": str(config.zip), "sha256": extraction.sha256, "reused_extraction": extraction.reused}
        else:
            folders = discover_employee_folders(Path(config.folders), known_clients, ignore=own_files,
                                                ignore_under=own_dirs)
            source = {"type": "folders", "path": str(config.folders)}
        if not folders and not issues:
            raise no_bills_error(config.zip or config.folders)

        llm = _make_llm(settings)
        policy = load_policy(
            Path(config.policy), settings, rules_path=config.policy_rules, cache_dir=cache_root / "policy", llm=llm,
            llm_retries=config.retries, default_currency=config.currency, force=config.force,
        )
        extract_path = out_dir / POLICY_EXTRACT_NAME
        write_json_money(
            extract_path,
            policy_document(policy.rules, policy_file=str(config.policy), policy_hash=policy.policy_hash,
                            text_sha256=policy.text_sha256),
        )
        log.info(
            "policy: %d categories (%s), currency %s, read by %s",
            len(policy.rules.categories), ", ".join(c.id for c in policy.rules.categories) or "none",
            policy.rules.currency, policy.rules.parser,
        )

        options = ReaderOptions(
            settings=settings,
            default_currency=config.currency,
            date_order=config.date_order,
            categories=tuple(c.id for c in policy.rules.categories),
            exclusions=tuple(policy.rules.excluded_items),
            use_llm=llm is not None,
            llm_model=str(getattr(llm, "model", "") or settings.llm_model) if llm is not None else "",
            llm_retries=config.retries,
            use_document_cache=not config.force,
        )
        fingerprint = bill_reader.reader_fingerprint(options)
        bills: list[_Bill] = []
        for folder in folders:
            for path in folder.bills:
                digest = sha256_file(path)
                bills.append(_Bill(folder, path, folder.relative(path), digest, bill_reader.cache_key(digest, fingerprint, path.suffix)))

        cache = BillCache(cache_root, read_existing=not config.force)
        records: dict[str, BillRecord] = {}
        todo: dict[str, _Bill] = {}
        for bill in bills:
            cached = cache.get(bill.key)
            if cached is not None:
                records[bill.key] = cached
            elif bill.key not in todo:
                todo[bill.key] = bill
        cached_count = sum(1 for b in bills if b.key in records)
        log.info(
            "%d employee folder(s), %d bill(s): %d to read, %d from the cache",
            len(folders), len(bills), len(todo), cached_count,
        )
        _read_bills(list(todo.values()), options, config.workers, cache, records)
        fallbacks = _llm_fallbacks(records.values()) if options.use_llm else []
        if fallbacks:
            # each bill says so in its warnings; the run must say it once, loudly
            log.warning(
                "the LLM reader failed for %d of %d bill(s); they were read by the offline reader instead "
                "(first reason: %s). They are read with the LLM again on the next run.",
                len(fallbacks), len(records), fallbacks[0],
            )

        folder_results = _decide(folders, bills, records, policy, client_addresses)
        summary = RunSummary(currency=policy.rules.currency, folders=len(folder_results), errors=len(issues))
        for folder in folder_results:
            summary.merge(folder.summary)
        run_block = {
            "job": JOB_NAME,
            "started_at": started_at,
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - started, 2),
            "policy": {
                "file": str(config.policy),
                "rules_file": str(config.policy_rules) if config.policy_rules else None,
                "policy_hash": policy.policy_hash,
                "parser": policy.rules.parser,
                "extract": str(extract_path),
            },
            "bills_source": source,
            "reader": bill_reader.reader_id(options),
            "options": {"currency": config.currency, "date_order": config.date_order, "force": config.force},
            "bills": {"total": len(bills), "read_this_run": len(todo), "from_cache": cached_count,
                      "llm_fallbacks": len(fallbacks)},
        }
        write_json_money(output, results_document(run_block, folder_results, issues, summary))
        csv_path = None
        if config.csv is not None:
            csv_path = Path(config.csv)
            write_csv(csv_path, folder_results)
        cache.compact({b.key for b in bills})
    failed = sum(f.summary.failed for f in folder_results)
    return ExpenseJobResult(
        results_path=output, policy_extract_path=extract_path, csv_path=csv_path, summary=summary, issues=issues,
        bills_total=len(bills), bills_read=len(todo), bills_cached=cached_count, bills_failed=failed,
    )


def _llm_fallbacks(records) -> list[str]:
    """The reasons of bills the LLM reader could not read (the offline reader did instead)."""
    prefix = "llm_fallback: "
    return [w[len(prefix):] for r in records for w in r.warnings if w.startswith(prefix)]


def _read_bills(
    todo: list[_Bill], options: ReaderOptions, workers: int | None, cache: BillCache, records: dict[str, BillRecord]
) -> None:
    if not todo:
        return
    from framework.executor import LocalProcessExecutor, default_workers

    wanted = workers if workers is not None else default_workers()
    heavy = sum(1 for b in todo if b.path.suffix.lower() not in _TEXT_SUFFIXES)
    if workers is None and heavy < _MIN_HEAVY_FOR_POOL:
        # starting worker processes costs seconds (imports, OCR models); a few files are
        # read faster in this process
        wanted = 1
    wanted = max(1, min(wanted, len(todo)))
    tasks = {b.key: BillTask(path=str(b.path), sha256=b.sha256, key=b.key) for b in todo}
    names = {b.key: f"{b.folder.folder_name}/{b.file_name}" for b in todo}
    with LocalProcessExecutor(wanted, bill_reader.init_worker, (options,)) as executor, progress_bar(
        total=len(tasks), desc="bills", unit="bill"
    ) as bar:
        for task, result in executor.map_unordered(bill_reader.read_bill, list(tasks.values())):
            if isinstance(result, BaseException):
                log.error("%s: reading failed: %s", names[task.key], result)
                log.debug("traceback", exc_info=result)
                result = BillRecord(
                    key=task.key, sha256=task.sha256, reader=bill_reader.reader_id(options),
                    error=ItemError(type="reader_error", message=f"{type(result).__name__}: {result}"), cacheable=False,
                )
            elif result.error is not None:
                log.warning("%s: %s: %s", names[task.key], result.error.type, result.error.message)
            cache.put(result)
            records[task.key] = result
            bar.update(1)


def _decide(
    folders: list[EmployeeFolder],
    bills: list[_Bill],
    records: dict[str, BillRecord],
    policy: LoadedPolicy,
    client_addresses: dict[str, list[str]] | None,
) -> list[FolderResult]:
    rules = policy.rules
    known = [c.id for c in rules.categories]
    by_folder: dict[str, list[_Bill]] = {}
    for bill in bills:
        by_folder.setdefault(bill.folder.folder_name, []).append(bill)
    contexts: dict[str, EmployeeContext] = {}
    for folder in folders:
        dates = [records[b.key].fields.date for b in by_folder.get(folder.folder_name, []) if records[b.key].fields]
        contexts[folder.folder_name] = infer_claim_year(folder.context, dates)

    def ref(bill: _Bill) -> str:
        return f"{bill.folder.folder_name}/{bill.file_name}"

    def date_key(bill: _Bill) -> tuple:
        fields = records[bill.key].fields
        day = fields.date.isoformat() if fields is not None and fields.date is not None else "9999-12-31"
        return (bill.folder.folder_name, day, bill.file_name)

    def employee_key(folder_name: str) -> str:
        return contexts[folder_name].employee_key or folder_name.lower()

    candidates = []
    for bill in sorted(bills, key=date_key):
        rec = records[bill.key]
        f = rec.fields
        candidates.append(
            DuplicateCandidate(
                ref=ref(bill), employee=employee_key(bill.folder.folder_name), sha256=bill.sha256,
                readable=rec.error is None and f is not None,
                vendor=f.vendor if f else None, date=f.date if f else None, amount=f.amount if f else None,
                bill_number=f.bill_number if f else None,
            )
        )
    duplicates = find_duplicates(candidates)

    inputs: dict[str, EngineInput] = {}
    for bill in bills:
        rec = records[bill.key]
        ctx = contexts[bill.folder.folder_name]
        f = rec.fields
        canonical = canonical_category(f.bill_type, known) if f is not None else None
        category = canonical if canonical in known or canonical in rules.excluded_items else None
        finding = duplicates[ref(bill)]
        validation = Validation(
            claim_month=check_claim_month(f, ctx),
            bill_age=check_bill_age(f, ctx, rules),
            employee_name=check_employee_name(f, ctx),
            client_address=check_client_address(f, ctx, category, client_addresses),
            duplicate=finding.check,
            category=category,
        )
        inputs[ref(bill)] = EngineInput(
            ref=ref(bill), employee=employee_key(bill.folder.folder_name), folder_name=bill.folder.folder_name,
            file_name=bill.file_name, record=rec, category=category, validation=validation,
            duplicate_same_employee=finding.same_employee,
        )
    decisions = decide_batch(list(inputs.values()), rules)

    results: list[FolderResult] = []
    for folder in folders:
        summary = Summary(currency=rules.currency)
        folder_bills = sorted(by_folder.get(folder.folder_name, []), key=lambda b: b.file_name)
        bill_results: list[BillResult] = []
        for bill in folder_bills:
            rec = records[bill.key]
            item = inputs[ref(bill)]
            result = BillResult(
                file_name=bill.file_name,
                sha256=bill.sha256,
                status="failed" if rec.error is not None else "processed",
                bill_type=rec.fields.bill_type if rec.fields else None,
                extracted=rec.fields,
                document=rec.document or DocumentInfo(),
                exclusions=list(rec.exclusions),
                validation=item.validation,
                decision=decisions[ref(bill)],
                error=rec.error,
                warnings=list(rec.warnings),
            )
            summary.add(result)
            bill_results.append(result)
        results.append(FolderResult(
            folder_name=folder.folder_name, employee_context=contexts[folder.folder_name],
            results=bill_results, summary=summary,
        ))
    return results
