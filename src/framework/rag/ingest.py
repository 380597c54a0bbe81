"""The ingest job: folder -> chunks -> both indexes, incrementally and crash-safely.

Steps, as a stream (memory does not grow with the corpus):
  walk     files under --input, sorted, filtered by extension (hidden files and the store skipped);
           a file symlink is followed only when its target is a file inside --input: one
           pointing outside, or nowhere (dangling), is reported as not indexed. Folder
           symlinks are never followed (a warning names each)
  diff     against the index records: same size, mtime and chunking -> skipped unread.
           Changing the chunk settings (--chunk-size, --chunk-overlap, --chunk-unit) changes
           the chunking signature recorded per file, so the next run re-chunks and re-embeds
           every file (their old chunks are removed, unless --cleanup none)
  extract  changed files in a process pool (DocumentProcessor), hashed from the same bytes:
           a file whose bytes did not change is only re-stat'ed, never re-indexed
  chunk    in the same worker, so only chunks travel back to the coordinator
  write    groups of files: embed in batches, upsert, then commit records (see writer.py)
  cleanup  incremental (default): a rewritten file's old chunks go, and so do the old chunks
           that earlier --cleanup none runs kept (remembered in the records); full: also the
           sources recorded but no longer under --input; none: old chunks stay

One store, one folder: files are keyed by their path inside --input, so the store records
the (resolved) input folder on its first run and refuses another one before any work
(another folder's same-named files would overwrite its documents) unless --input-moved says
the folder was moved or renamed; a store with no recorded folder, or no files, adopts the
current one. --cleanup full refuses an input that yields no file at all while the store
holds some: an unmounted or emptied folder must not empty the store.

Per-file problems (unreadable, empty, encrypted, no text) are outcomes, not exceptions: the
run goes on and reports each with its reason. Only the coordinator writes.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from framework.config import Settings, get_settings
from framework.embeddings import Embedder, EmbedderIdentity, get_embedder
from framework.errors import ConfigurationError, ProviderError
from framework.jsonl import append_jsonl, load_jsonl, repair_torn_tail
from framework.progress import progress_bar

from .chunking import Chunker, ChunkingConfig
from .index_db import transaction
from .models import Chunk
from .records import FileRecord, RecordStore
from .store import RagStore, store_lock
from .vector_store import embedder_mismatch_message
from .writer import CleanupMode, FileUpdate, IndexWriter

log = logging.getLogger("scripts.batch.batch_rag_ingest")

DEFAULT_EXTENSIONS = (".txt", ".md", ".pdf", ".docx", ".html", ".htm")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
# What DocumentProcessor reads (framework.documents.SUPPORTED_EXTENSIONS; a test keeps the two
# equal), spelled out here so that checking --extensions does not import the document stack.
SUPPORTED_EXTENSIONS = frozenset((*DEFAULT_EXTENSIONS, ".markdown", *IMAGE_EXTENSIONS))
# A group is written once it holds this many chunks (or files): big enough that Chroma and
# SQLite see few large writes, small enough that a crash or a stop loses little.
GROUP_CHUNKS = 2000
GROUP_FILES = 500
_SMALL_RUN = 3  # fewer changed files than this are extracted in-process

Action = Literal["add", "update", "skip", "delete"]


@dataclass(frozen=True)
class IngestOptions:
    input_dir: Path
    persist_dir: Path
    collection: str
    extensions: tuple[str, ...] = DEFAULT_EXTENSIONS
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    cleanup: CleanupMode = "incremental"
    workers: int | None = None
    manifest: Path | None = None
    ocr_enabled: bool = True
    # more of the job's own files (its --log-file) never to index, even inside input_dir
    exclude: tuple[Path, ...] = ()
    # the documents folder was moved or renamed: accept input_dir as the store's new folder
    input_moved: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, input_dir: Path, **overrides: Any) -> IngestOptions:
        values: dict[str, Any] = {
            "persist_dir": Path(settings.chroma_persist_dir),
            "collection": settings.chroma_collection,
            "chunking": ChunkingConfig.from_settings(settings),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(input_dir=Path(input_dir), **values)


@dataclass(frozen=True)
class FileFailure:
    source: str
    kind: str  # the DocumentError kind (empty, no_text, encrypted, corrupt, ...) or embedding_failed
    message: str
    code: str | None = None

    def reason(self) -> str:
        code = f" [{self.code}]" if self.code and self.code != self.kind else ""
        return f"{self.kind}{code}: {self.message}"


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)
    skipped: int = 0  # unchanged since the last run, or listed in the manifest
    chunks_written: int = 0
    chunks_deleted: int = 0
    orphans_removed: int = 0
    vectors_rebuilt: int = 0  # Chroma's files were unreadable after a crash; re-embedded from the records
    stopped_reason: str | None = None
    elapsed_s: float = 0.0
    dry_run: bool = False

    @property
    def done(self) -> int:
        return len(self.added) + len(self.updated)


# -- walking ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceFile:
    location: str  # kept as text: building a Path per file costs more than the rest of a no-op walk
    source: str  # path relative to --input, with '/' separators: the document's identity
    size: int
    mtime_ns: int

    @property
    def path(self) -> Path:
        return Path(self.location)


def normalize_extensions(values: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if values is None:
        return DEFAULT_EXTENSIONS
    items = values.split(",") if isinstance(values, str) else list(values)
    out = []
    for item in items:
        item = item.strip().lower()
        if not item:
            continue
        out.append(item if item.startswith(".") else "." + item)
    if not out:
        raise ConfigurationError("--extensions names no extension (example: .txt,.md,.pdf)")
    out = list(dict.fromkeys(out))
    unsupported = [item for item in out if item not in SUPPORTED_EXTENSIONS]
    if unsupported:
        raise ConfigurationError(
            f"--extensions: {', '.join(unsupported)} cannot be indexed "
            f"(supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))})"
        )
    return tuple(out)


def walk_files(
    root: Path,
    extensions: tuple[str, ...],
    exclude: tuple[Path, ...] = (),
    on_refused: Callable[[FileFailure], None] | None = None,
    *,
    quiet: bool = False,
) -> Iterator[SourceFile]:
    """Files under `root` in sorted order, lazily. Hidden entries and excluded folders and
    files (the store itself, the manifest and the log file, when they live inside the input)
    are skipped; folder symlinks are not followed, so a link loop cannot make the walk endless.
    A file symlink is followed only when its target is a regular file inside `root`: one that
    points outside (`ln -s /etc/passwd`) or nowhere is handed to `on_refused` (logged when
    None), as a file not indexed. `quiet`: no warnings and no refusals (a mere probe)."""
    wanted = set(extensions)
    root_real = os.path.realpath(root)

    def within(path: str, folder: str) -> bool:
        return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)

    def refuse(failure: FileFailure) -> None:
        if quiet:
            return
        if on_refused is None:
            log.warning("not indexed: %s: %s", failure.source, failure.reason())
        else:
            on_refused(failure)

    def linked(entry: os.DirEntry, source: str) -> SourceFile | None:
        """A symlink: only a link to a regular file inside root is followed."""
        if entry.is_dir():  # follows the link
            if not quiet:
                log.warning("not followed: %s is a symlink to a folder (%s); folder links are never followed",
                            source, os.path.realpath(entry.path))
            return None
        if os.path.splitext(entry.name)[1].lower() not in wanted:
            return None
        target = os.path.realpath(entry.path)
        if not os.path.exists(target):
            refuse(FileFailure(source, "symlink", f"a link to {os.readlink(entry.path)}, which does not exist",
                               "dangling_symlink"))
            return None
        if not within(target, root_real):
            refuse(FileFailure(source, "symlink", f"a link to {target}, outside --input {root_real}; links are "
                               "followed only to files inside the input folder", "symlink_outside_input"))
            return None
        if not entry.is_file() or any(within(target, path) for path in excluded):
            return None  # a link to a fifo, or to the job's own files
        stat = entry.stat()
        return SourceFile(entry.path, source, stat.st_size, stat.st_mtime_ns)

    excluded = {os.path.realpath(p) for p in exclude}
    # a file is resolved only when its name is an excluded one: realpath per file would cost
    # more than the rest of a no-op walk
    excluded_names = {os.path.basename(p) for p in excluded} | {os.path.basename(p) for p in exclude}

    def visit(folder: str, prefix: str) -> Iterator[SourceFile]:
        try:
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            if not quiet:
                log.warning("cannot list %s: %s", folder, exc)
            return
        for entry in listed:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_symlink():
                    found = linked(entry, f"{prefix}{entry.name}")
                    if found is not None:
                        yield found
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if os.path.realpath(entry.path) not in excluded:
                        yield from visit(entry.path, f"{prefix}{entry.name}/")
                    continue
                if not entry.is_file() or os.path.splitext(entry.name)[1].lower() not in wanted:
                    continue
                if entry.name in excluded_names and os.path.realpath(entry.path) in excluded:
                    continue
                stat = entry.stat()
            except OSError as exc:
                if not quiet:
                    log.warning("cannot read %s: %s", entry.path, exc)
                continue
            yield SourceFile(entry.path, f"{prefix}{entry.name}", stat.st_size, stat.st_mtime_ns)

    yield from visit(str(root), "")


# -- the per-file work (runs in pool workers) --------------------------------------------------
@dataclass(frozen=True)
class FileTask:
    file: SourceFile
    action: Action
    known_sha256: str | None  # the recorded hash: equal bytes mean "touched, not changed"


@dataclass
class FileResult:
    chunks: list[Chunk] = field(default_factory=list)
    sha256: str = ""
    unchanged: bool = False
    error: FileFailure | None = None


_WORKER: dict[str, Any] = {}


def init_worker(settings: Settings, chunking: ChunkingConfig, ocr_enabled: bool) -> None:
    from framework.documents import DocumentProcessor

    # The index records already skip unchanged files, so the extraction cache would only
    # write a second copy of every document's text.
    _WORKER["processor"] = DocumentProcessor(settings, ocr_enabled=ocr_enabled, use_cache=False)
    _WORKER["chunker"] = Chunker(chunking)
    _WORKER["max_bytes"] = settings.max_file_bytes


def process_file(task: FileTask) -> FileResult:
    processor, chunker = _WORKER["processor"], _WORKER["chunker"]
    path, source = task.file.path, task.file.source
    if task.file.size > _WORKER["max_bytes"]:
        document = processor.extract(path)  # refuses it unread, with the size in the message
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            return FileResult(error=FileFailure(source, "unreadable", str(exc), "unreadable_file"))
        digest = hashlib.sha256(data).hexdigest()
        if task.known_sha256 is not None and digest == task.known_sha256:
            return FileResult(sha256=digest, unchanged=True)
        document = processor.extract_bytes(data, str(path))
    if document.error is not None:
        error = document.error
        return FileResult(sha256=document.sha256, error=FileFailure(source, error.kind, error.message, error.code))
    chunks = chunker.chunk_document(document, source)
    if not chunks:
        return FileResult(sha256=document.sha256,
                          error=FileFailure(source, "no_text", "no chunk has any text", "no_text"))
    return FileResult(chunks=chunks, sha256=document.sha256)


# -- the job -------------------------------------------------------------------------------------
class RagIngest:
    def __init__(
        self,
        options: IngestOptions,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        echo: Any = None,
    ) -> None:
        self.options = options
        self.settings = settings or get_settings()
        self._embedder = embedder
        self.echo = echo or (lambda line: print(line, flush=True))
        self.store = RagStore(self.settings, options.persist_dir, options.collection)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings)
        return self._embedder

    def _exclusions(self) -> tuple[Path, ...]:
        """The job's own folders and files, never indexed: the store, the manifest, the log."""
        options = self.options
        own = (options.persist_dir,) + ((options.manifest,) if options.manifest is not None else ())
        return own + tuple(options.exclude)

    def _manifest_paths(self) -> set[str]:
        manifest = self.options.manifest
        if manifest is None or not manifest.exists():
            return set()
        # Rows hold absolute paths (the resolved --input joined with the source), so another
        # spelling of --input or another working directory finds them. A row written before
        # that may be relative: it is also resolved, against the working directory.
        paths: set[str] = set()
        for row in load_jsonl(manifest, torn_tail_is_unwritten=True):
            if isinstance(row, dict) and row.get("path"):
                paths.add(str(row["path"]))
                paths.add(os.path.realpath(row["path"]))
        return paths

    def _in_manifest(self, manifest: set[str], file: SourceFile) -> bool:
        return bool(manifest) and (file.location in manifest or self._absolute(file) in manifest)

    @functools.cached_property
    def _input_root(self) -> str:
        """--input, absolute and resolved: what the store records, and the manifest's base."""
        return os.path.realpath(self.options.input_dir)

    def _absolute(self, file: SourceFile) -> str:
        """The file's absolute path through the resolved --input (a symlink stays the link)."""
        return os.path.join(self._input_root, *file.source.split("/"))

    # -- store-wide checks, before any work ------------------------------------------------
    def _check_input(self, records: RecordStore) -> bool:
        """Refuse a store built from another input folder. True when the current folder is to
        be recorded: a new store, one from before the folder was recorded, one holding no
        file, or --input-moved."""
        options = self.options
        current, stored = self._input_root, records.input_dir()
        if stored == current:
            return False
        if stored is not None and not options.input_moved and records.count() > 0:
            raise ConfigurationError(
                f"collection {options.collection!r} in {options.persist_dir} was built from {stored}, not "
                f"{current}: files are keyed by their path inside --input, so this folder's files would overwrite "
                "same-named ones (and --cleanup full would delete the others); use another --collection or "
                "--persist-dir for this folder, or add --input-moved if the documents folder was moved or renamed"
            )
        return True

    def _record_input(self, records: RecordStore) -> None:
        current, stored = self._input_root, records.input_dir()
        with transaction(records.conn):
            records.set_input_dir(current)
        if stored is not None:
            log.info("collection %r: input folder recorded as %s (was %s)", self.options.collection, current, stored)

    def _check_full_cleanup(self, records: RecordStore) -> None:
        """--cleanup full on an input that yields no file at all would delete every indexed
        file: an unmounted share or a wrong --extensions, far more often than a wish."""
        options = self.options
        if options.cleanup != "full":
            return
        indexed = records.count()
        if indexed == 0:
            return
        walk = walk_files(options.input_dir, options.extensions, self._exclusions(), quiet=True)
        try:
            if next(walk, None) is not None:
                return
        finally:
            walk.close()
        raise ConfigurationError(self._emptying_message(indexed))

    def _emptying_message(self, indexed: int) -> str:
        options = self.options
        return (
            f"--cleanup full refused: {options.input_dir} holds no file to index (extensions "
            f"{','.join(options.extensions)}), so it would delete all {indexed} indexed file(s) of collection "
            f"{options.collection!r}; check --input and --extensions (an unmounted or emptied folder?); to start "
            "over, use a new --collection or --persist-dir"
        )

    @staticmethod
    def _unchanged(record: FileRecord | None, file: SourceFile, signature: str) -> bool:
        return (
            record is not None
            and record.size == file.size
            and record.mtime_ns == file.mtime_ns
            and record.chunking == signature
        )

    # -- dry run ------------------------------------------------------------------------
    def plan(self) -> IngestReport:
        """What a run would do, touching nothing: no lock, no store, no extraction cache.
        Files whose size or mtime changed are hashed to tell an edit from a touch."""
        started = time.monotonic()
        options = self.options
        from framework.documents.processor import size_problem

        report = IngestReport(dry_run=True)
        if options.persist_dir.is_dir():
            store_lock(options.persist_dir).check_free()  # the run would be refused: so is this
        conn = self.store.snapshot()
        records = RecordStore(conn) if conn is not None else None
        try:
            if records is not None:
                self._check_input(records)
                stored = records.stored_identity()
                configured = EmbedderIdentity.of(self.embedder, resolve_dimension=False)
                if stored is not None and stored.conflicts_with(configured):
                    raise ConfigurationError(embedder_mismatch_message(options.collection, stored, configured))
                self._check_full_cleanup(records)
            manifest = self._manifest_paths()
            signature = options.chunking.signature
            seen: set[str] = set()

            def refused(failure: FileFailure) -> None:
                report.failed.append(failure)
                self.echo(f"refuse  {failure.source} ({failure.reason()})")

            for file in walk_files(options.input_dir, options.extensions, self._exclusions(), refused):
                seen.add(file.source)
                record = records.get(file.source) if records is not None else None
                # the manifest skips a file only while the store still holds it
                listed = record is not None and self._in_manifest(manifest, file)
                if listed or self._unchanged(record, file, signature):
                    report.skipped += 1
                    self.echo(f"skip    {file.source}")
                elif (problem := size_problem(file.size, self.settings)) is not None:
                    refused(FileFailure(file.source, *problem))  # as the run will report it
                elif record is None:
                    report.added.append(file.source)
                    self.echo(f"add     {file.source}")
                elif record.chunking == signature and _sha256(file.path) == record.sha256:
                    report.skipped += 1
                    self.echo(f"skip    {file.source} (touched, content unchanged)")
                else:
                    report.updated.append(file.source)
                    self.echo(f"update  {file.source}")
            if options.cleanup == "full" and records is not None:
                for source in records.sources():
                    if source not in seen:
                        report.deleted.append(source)
                        self.echo(f"delete  {source}")
            if options.cleanup != "none" and records is not None and (retained := records.retained()):
                count = sum(len(ids) for ids in retained.values())
                self.echo(f"remove  {count} stale chunk(s) of {len(retained)} file(s) kept by --cleanup none")
        finally:
            if conn is not None:
                conn.close()
        report.elapsed_s = time.monotonic() - started
        self.echo(
            f"dry run: would add {len(report.added)}, update {len(report.updated)}, "
            f"skip {report.skipped}, delete {len(report.deleted)} file(s); nothing was written"
        )
        return report

    # -- the real run -------------------------------------------------------------------------
    def run(self) -> IngestReport:
        started = time.monotonic()
        report = IngestReport()
        options = self.options
        with store_lock(options.persist_dir):
            try:
                # before any work: another input folder, a changed provider or model (or offline
                # dimension), or a --cleanup full that would empty the store fails here
                records = self.store.records
                record_input = self._check_input(records)
                configured = self.store.check_embedder(self.embedder, resolve_dimension=False)
                self._check_full_cleanup(records)
                self._check_remote_dimension(configured)
                if record_input:
                    self._record_input(records)
                writer = IndexWriter(
                    self.store, self.embedder, chunking_signature=options.chunking.signature,
                    cleanup=options.cleanup, embedding_batch_size=self.settings.embedding_batch_size,
                )
                report.orphans_removed += writer.reconcile_pending()
                if options.cleanup != "none":
                    removed, files = writer.remove_retained()
                    if removed:
                        report.chunks_deleted += removed
                        log.info("removed %d stale chunk(s) of %d file(s), kept by an earlier --cleanup none run",
                                 removed, files)
                self._ingest(writer, report)
                if report.stopped_reason is None:
                    report.orphans_removed += writer.reconcile_pending()
                report.vectors_rebuilt = writer.vectors_rebuilt
            finally:
                self.store.close()
        report.elapsed_s = time.monotonic() - started
        return report

    def _check_remote_dimension(self, configured: EmbedderIdentity) -> None:
        """A remote embedder with the collection's provider and model may still return vectors of
        another size (a redeployed server, a `dimensions` option): only asking tells. Ask once
        now, so even a run with nothing new to embed stops with exit 1 instead of passing until
        the first changed file. A probe that fails is not fatal: the first write asks again."""
        stored = self.store.stored_identity()
        if stored is None or stored.dimension is None or configured.dimension is not None:
            return
        try:
            self.store.check_embedder(self.embedder, resolve_dimension=True)
        except ProviderError as exc:
            log.warning("could not ask the embedder for its dimension (%s); it is checked again before the "
                        "first write", exc)

    def _ingest(self, writer: IndexWriter, report: IngestReport) -> None:
        options = self.options
        records = self.store.records
        manifest = self._manifest_paths()
        if options.manifest is not None:
            repair_torn_tail(options.manifest)
        signature = options.chunking.signature
        seen: set[str] = set()
        bar = progress_bar(desc="ingest", unit="file")
        group = _Group()
        # Indexed files the manifest does not list yet: a run killed between committing a
        # group's records and appending its manifest rows left them out.
        missing_rows: list[dict] = []

        def refused(failure: FileFailure) -> None:
            # not in `seen`: --cleanup full removes what such a link had indexed before
            bar.update(1)
            still = records.get(failure.source) is not None
            note = "; its earlier version stays indexed until a --cleanup full run" if still else ""
            self._fail(report, failure, note=note)

        def tasks() -> Iterator[FileTask]:
            for file in walk_files(options.input_dir, options.extensions, self._exclusions(), refused):
                seen.add(file.source)
                record = records.get(file.source)
                # the manifest skips a file only while the store still holds it: one that
                # --cleanup full removed (or a store rebuilt from scratch) is indexed again
                if record is not None and self._in_manifest(manifest, file):
                    report.skipped += 1
                    bar.update(1)
                    continue
                if self._unchanged(record, file, signature):
                    if options.manifest is not None:
                        missing_rows.append(self._manifest_row(file, record.sha256, record.chunk_count))
                    report.skipped += 1
                    bar.update(1)
                    continue
                known = record.sha256 if record is not None and record.chunking == signature else None
                yield FileTask(file, "update" if record is not None else "add", known)

        stream = tasks()
        # Look ahead a little: a re-run that finds one or two changed files should not pay for
        # starting worker processes (each imports the whole document stack).
        ahead = list(itertools.islice(stream, _SMALL_RUN))
        if ahead:
            from framework.executor import LocalProcessExecutor

            workers = options.workers if options.workers is not None else default_ingest_workers()
            if len(ahead) < _SMALL_RUN and options.workers is None:
                workers = 1
            executor = LocalProcessExecutor(
                workers, initializer=init_worker, initargs=(self.settings, options.chunking, options.ocr_enabled)
            )
            try:
                for task, result in executor.map_unordered(process_file, itertools.chain(ahead, stream)):
                    bar.update(1)
                    if isinstance(result, BaseException):
                        self._fail(report, FileFailure(task.file.source, "extraction_failed",
                                                       f"{type(result).__name__}: {result}", None))
                        continue
                    if result.unchanged:
                        with transaction(self.store.conn):
                            records.touch(task.file.source, task.file.size, task.file.mtime_ns)
                        if options.manifest is not None and (record := records.get(task.file.source)) is not None:
                            missing_rows.append(self._manifest_row(task.file, record.sha256, record.chunk_count))
                        report.skipped += 1
                        continue
                    if result.error is not None:
                        self._fail(report, result.error, still_indexed=records.get(task.file.source) is not None)
                        continue
                    group.add(task, result)
                    if group.full():
                        if not self._flush(writer, group, report):
                            break
                else:
                    self._flush(writer, group, report)
            finally:
                executor.shutdown(kill=True)
                bar.close()
        else:
            bar.close()
        if missing_rows:
            append_jsonl(options.manifest, missing_rows, many=True)
            log.info("manifest: %d indexed file(s) were missing from it (an interrupted run); added", len(missing_rows))
        if options.cleanup == "full" and report.stopped_reason is None:
            gone = [source for source in records.sources() if source not in seen]
            # checked before the run too: the folder emptied meanwhile, or all that is left of
            # it is unreadable (one empty file must not license deleting the whole store)
            nothing_readable = report.done == 0 and report.skipped == 0
            if gone and (not seen or nothing_readable) and len(gone) == records.count():
                raise ConfigurationError(self._emptying_message(len(gone)))
            if gone:
                report.chunks_deleted += writer.delete_sources(gone)
                report.deleted.extend(gone)
                for source in gone:
                    log.info("deleted %s (no longer under %s)", source, options.input_dir)

    def _flush(self, writer: IndexWriter, group: _Group, report: IngestReport) -> bool:
        """Write one group. False when the run must stop (a fatal provider error)."""
        if not group.items:
            return True
        items, group.items, group.chunks = group.items, [], 0
        updates = [
            FileUpdate(
                source=task.file.source, chunks=result.chunks, size=task.file.size,
                mtime_ns=task.file.mtime_ns, sha256=result.sha256, extra={"task": task},
            )
            for task, result in items
        ]
        try:
            report.chunks_deleted += writer.write(updates)  # the stale chunks of earlier versions
        except ProviderError as exc:
            for update in updates:
                self._fail(report, FileFailure(update.source, f"embedding_{exc.kind}", str(exc), exc.kind))
            if exc.fatal:
                report.stopped_reason = f"the embedding provider refused further requests ({exc}); stopped"
                return False
            return True
        manifest_rows = []
        for update in updates:
            task: FileTask = update.extra["task"]
            (report.updated if task.action == "update" else report.added).append(update.source)
            report.chunks_written += len(update.chunks)
            manifest_rows.append(self._manifest_row(task.file, update.sha256, len(update.chunks)))
        if self.options.manifest is not None:
            append_jsonl(self.options.manifest, manifest_rows, many=True)
        log.debug("wrote %d file(s), %d chunk(s)", len(updates), sum(len(u.chunks) for u in updates))
        return True

    def _manifest_row(self, file: SourceFile, sha256: str, chunks: int) -> dict:
        return {"path": self._absolute(file), "source": file.source, "sha256": sha256, "chunks": chunks,
                "collection": self.options.collection}

    def _fail(
        self, report: IngestReport, failure: FileFailure, *, still_indexed: bool = False, note: str | None = None
    ) -> None:
        report.failed.append(failure)
        # a transient failure (OCR out of memory, a file mid-copy) must not wipe good chunks,
        # so an earlier version stays searchable; the user has to know that
        if note is None:
            note = "; its earlier version stays indexed until it reads again or is deleted" if still_indexed else ""
        log.warning("not indexed: %s: %s%s", failure.source, failure.reason(), note)


@dataclass
class _Group:
    items: list[tuple[FileTask, FileResult]] = field(default_factory=list)
    chunks: int = 0

    def add(self, task: FileTask, result: FileResult) -> None:
        self.items.append((task, result))
        self.chunks += len(result.chunks)

    def full(self) -> bool:
        return self.chunks >= GROUP_CHUNKS or len(self.items) >= GROUP_FILES


def default_ingest_workers() -> int:
    from framework.executor import default_workers

    return default_workers()


def _sha256(path: Path) -> str:
    from framework.fileio import sha256_file

    try:
        return sha256_file(path)
    except OSError:
        return ""
