"""Index a folder of documents for retrieval (Chroma vectors + a BM25 index kept in step)."""

from __future__ import annotations

import argparse
from pathlib import Path

from framework.config import get_settings
from framework.rag.chunking import ChunkingConfig
from framework.rag.ingest import (
    DEFAULT_EXTENSIONS,
    SUPPORTED_EXTENSIONS,
    IngestOptions,
    IngestReport,
    RagIngest,
    normalize_extensions,
)
from framework.rag.vector_store import validate_collection_name
from scripts.batch.base import BaseBatchRunner, BatchOutcome, UsageError
from scripts.batch.common import (
    OutputPath,
    add_common_args,
    apply_framework_overrides,
    check_output_paths,
    non_negative_int,
    path_arg,
    positive_int,
)

EPILOG = """\
examples:
  python -m scripts.batch.batch_rag_ingest --input ./docs --manifest ingested.jsonl
  python -m scripts.batch.batch_rag_ingest --input ./docs --persist-dir ./data/chroma_db --extensions .txt,.md,.pdf --retries 3
  python -m scripts.batch.batch_rag_ingest --input ./docs --cleanup full --dry-run

re-runs: files whose size and modification time are unchanged are skipped unread; a changed
file's new chunks replace its old ones. Changing --chunk-size, --chunk-overlap or --chunk-unit
(or RAG_CHUNK_*) re-chunks and re-embeds every file on the next run. --cleanup none keeps old
chunks of changed files; incremental (default) removes them, including those an earlier
--cleanup none run kept; full also removes files no longer under --input (a renamed file is
a new file: its old name is removed only with full). --cleanup full refuses (exit 1) an input
that yields no file at all while the store holds some (an unmounted or emptied folder).

one store, one folder: files are keyed by their path inside --input, so a store records the
folder it was built from, and a run with another --input is refused (exit 1) before any work.
Use another --collection or --persist-dir for another folder, or --input-moved when the
documents folder was moved or renamed. A file symlink is followed only to a file inside
--input; others (and dangling links) are reported as not indexed. Folder links are never
followed. With --manifest, a listed path is skipped only while the store still holds it.

embedder: EMBEDDING_PROVIDER=offline (default, nothing downloaded) | openai (EMBEDDING_MODEL,
EMBEDDING_BASE_URL or LLM_BASE_URL, OPENAI_API_KEY; --retries applies to its requests) |
sentence-transformers (EMBEDDING_MODEL = a local model folder). The embedder that built a
collection is recorded in it; another one is refused. CHROMA_HOST=... uses a Chroma server;
the BM25 index and the records stay under --persist-dir ({persist-dir}/rag_index/).

exit codes: 0 all indexed or skipped; 1 usage or configuration error (bad flags, unsupported
--extensions, invalid collection name, embedder or input folder differs from the one that
built the collection, --cleanup full on an input with no files, store locked by another
run); 2 some files not indexed (each listed with its reason); 3 nothing could be
indexed, or the run stopped before indexing anything; 130 interrupted.
"""


class BatchRagIngest(BaseBatchRunner):
    name = "batch_rag_ingest"
    description = __doc__
    epilog = EPILOG

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_common_args(parser, input=True, retries=True, workers=True, input_help="folder of documents to index")
        group = parser.add_argument_group("ingest options")
        group.add_argument("--persist-dir", type=path_arg, help="vector store folder (default: CHROMA_PERSIST_DIR, data/chroma_db)")
        group.add_argument("--collection", help="collection name (default: CHROMA_COLLECTION, 'documents')")
        group.add_argument(
            "--manifest", type=path_arg,
            help="JSONL file: one {\"path\": ...} line (absolute path) appended per indexed file; paths listed in "
            "it are skipped, even if changed, while the store still holds them (without it, the index records "
            "detect changes)",
        )
        group.add_argument(
            "--extensions",
            help=f"comma-separated extensions to index (default: {','.join(DEFAULT_EXTENSIONS)}; "
            "images such as .png,.jpg are OCR'd when listed; supported: "
            f"{','.join(sorted(SUPPORTED_EXTENSIONS))})",
        )
        group.add_argument("--chunk-size", type=positive_int, help="chunk size (default: RAG_CHUNK_SIZE, 1000)")
        group.add_argument("--chunk-overlap", type=non_negative_int, help="overlap between chunks (default: RAG_CHUNK_OVERLAP, 100)")
        group.add_argument("--chunk-unit", choices=("chars", "tokens"), help="what --chunk-size counts (default: chars)")
        group.add_argument(
            "--cleanup", choices=("none", "incremental", "full"), default="incremental",
            help="what to delete: none; incremental (stale chunks of changed files, default); "
            "full (also files no longer under --input)",
        )
        group.add_argument("--no-ocr", action="store_true", help="do not OCR scanned pages and images (reported as needs_ocr)")
        group.add_argument(
            "--input-moved", action="store_true",
            help="the documents folder was moved or renamed: record --input as the store's folder (a store "
            "built from another folder is refused otherwise)",
        )

    def validate_args(self, args: argparse.Namespace) -> None:
        if not args.input.exists():
            raise UsageError(f"input folder not found: {args.input}")
        if not args.input.is_dir():
            raise UsageError(f"--input must be a folder: {args.input}")
        # an extension no reader handles is refused now, not once per file at run time
        extensions = normalize_extensions(args.extensions)
        apply_framework_overrides(
            env_overrides={
                "CHROMA_PERSIST_DIR": args.persist_dir,
                "CHROMA_COLLECTION": args.collection,
                "RAG_CHUNK_SIZE": args.chunk_size,
                "RAG_CHUNK_OVERLAP": args.chunk_overlap,
                "RAG_CHUNK_UNIT": args.chunk_unit,
                "LLM_MAX_RETRIES": args.retries,
            }
        )
        settings = get_settings()
        validate_collection_name(settings.chroma_collection)
        persist_dir = Path(settings.chroma_persist_dir)
        # the store (also holding the BM25 index with a Chroma server) and the manifest are
        # written: refuse an unwritable one now, before a file is read
        store_flag = "--persist-dir" if args.persist_dir is not None else "--persist-dir (CHROMA_PERSIST_DIR)"
        check_output_paths(
            [OutputPath(store_flag, persist_dir, folder=True), OutputPath("--manifest", args.manifest)],
            dry_run=args.dry_run,
        )
        args.options = IngestOptions(
            input_dir=args.input,
            persist_dir=persist_dir,
            collection=settings.chroma_collection,
            extensions=extensions,
            chunking=ChunkingConfig.from_settings(settings),
            cleanup=args.cleanup,
            workers=args.workers,
            manifest=args.manifest,
            ocr_enabled=not args.no_ocr,
            exclude=(args.log_file,) if args.log_file is not None else (),
            input_moved=args.input_moved,
        )

    def dry_run(self, args: argparse.Namespace) -> BatchOutcome:
        report = RagIngest(args.options, get_settings()).plan()
        return BatchOutcome(done=report.done, skipped=report.skipped, failed=len(report.failed),
                            details={"deleted": len(report.deleted)})

    def run_batch(self, args: argparse.Namespace) -> BatchOutcome:
        report = RagIngest(args.options, get_settings()).run()
        self._report(report)
        return BatchOutcome(
            done=len(report.added) + len(report.updated),
            skipped=report.skipped,
            failed=len(report.failed),
            stopped_reason=report.stopped_reason,
            details={"deleted": len(report.deleted), "chunks_written": report.chunks_written},
        )

    def _report(self, report: IngestReport) -> None:
        self.log.info(
            "added %d, updated %d, deleted %d file(s); %d chunk(s) written, %d removed",
            len(report.added), len(report.updated), len(report.deleted), report.chunks_written,
            report.chunks_deleted + report.orphans_removed,
        )
        if report.failed:
            # one log line per file, so each keeps the timestamp | level | logger prefix
            self.log.warning("%d file(s) not indexed:", len(report.failed))
            for failure in sorted(report.failed, key=lambda f: f.source):
                self.log.warning("  %s: %s", failure.source, failure.reason())


def main() -> None:
    BatchRagIngest.main()


if __name__ == "__main__":
    main()
