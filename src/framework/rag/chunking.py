"""Structure-aware chunking: markdown sections, then paragraphs, then sentences, then words.

The splitting itself is `semantic-text-splitter` (Rust; splits at the largest semantic unit
that fits and merges neighbours up to the size, with overlap). What it does not give us is
the *section* a chunk belongs to, so headings are parsed here and each chunk gets its
heading path ("Handbook > Hotels"), stored as metadata and indexed alongside the text. A
chunk that holds nothing but headings is dropped: its words already travel with every chunk
of its section, and as a chunk of its own it only wins matches it cannot answer.

Pages are chunked separately, so every chunk has one page number.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Literal

from framework.errors import ConfigurationError

from .ids import chunk_id, content_hash
from .metadata import MetadataValue, sanitize_metadata
from .models import Chunk

ChunkUnit = Literal["chars", "tokens"]
# Bump when this module's output changes for the same input: stored files get re-chunked.
CHUNKER_VERSION = 1

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


@dataclass(frozen=True)
class ChunkingConfig:
    size: int = 1000
    overlap: int = 100
    unit: ChunkUnit = "chars"

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ConfigurationError(f"chunk size must be at least 1, got {self.size}")
        if self.overlap < 0 or self.overlap >= self.size:
            raise ConfigurationError(
                f"chunk overlap must be at least 0 and smaller than the chunk size ({self.size}), got {self.overlap}"
            )
        if self.unit not in ("chars", "tokens"):
            raise ConfigurationError(f"chunk unit must be 'chars' or 'tokens', got {self.unit!r}")

    @classmethod
    def from_settings(cls, settings: object) -> ChunkingConfig:
        return cls(
            size=int(getattr(settings, "rag_chunk_size", 1000)),
            overlap=int(getattr(settings, "rag_chunk_overlap", 100)),
            unit=getattr(settings, "rag_chunk_unit", "chars"),
        )

    @property
    def signature(self) -> str:
        """Changes whenever the same file would be cut differently."""
        try:
            library = importlib_metadata.version("semantic-text-splitter")
        except importlib_metadata.PackageNotFoundError:  # pragma: no cover
            library = "?"
        return f"v{CHUNKER_VERSION}/sts{library}/{self.unit}:{self.size}/{self.overlap}"


_TOKENIZER_LOCK = threading.Lock()
_TOKENIZER = None


def _token_counter():
    """The Llama-2 tokenizer bundled with WordLlama: a local stand-in for "tokens" that needs
    no download (tiktoken fetches its tables from the network on first use)."""
    global _TOKENIZER
    with _TOKENIZER_LOCK:
        if _TOKENIZER is None:
            import wordllama
            from tokenizers import Tokenizer

            path = Path(wordllama.__file__).parent / "tokenizers" / "l2_supercat_tokenizer_config.json"
            tokenizer = Tokenizer.from_file(str(path))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            _TOKENIZER = tokenizer
    return _TOKENIZER


class Chunker:
    def __init__(self, config: ChunkingConfig | None = None) -> None:
        self.config = config or ChunkingConfig()
        self._splitters: dict[bool, object] = {}

    def _splitter(self, markdown: bool):
        splitter = self._splitters.get(markdown)
        if splitter is None:
            from semantic_text_splitter import MarkdownSplitter, TextSplitter

            cls = MarkdownSplitter if markdown else TextSplitter
            config = self.config
            if config.unit == "tokens":
                splitter = cls.from_huggingface_tokenizer(_token_counter(), config.size, overlap=config.overlap)
            else:
                splitter = cls(config.size, overlap=config.overlap)
            self._splitters[markdown] = splitter
        return splitter

    def _chunk_indices(self, text: str, markdown: bool) -> Iterator[tuple[int, str]]:
        """The splitter's (offset, piece) pairs. The splitter measures the rest of the text for
        every chunk when a stretch has no sentence or line break, so a multi-megabyte line
        costs minutes; such lines are cut into segments first (ordinary text is untouched)."""
        splitter = self._splitter(markdown)
        chars_per_unit = 4 if self.config.unit == "tokens" else 1
        limit = max(2000, 8 * self.config.size * chars_per_unit)
        for start, segment in _segments(text, limit):
            for offset, piece in splitter.chunk_indices(segment):
                yield start + offset, piece

    def chunk_pages(
        self,
        source: str,
        pages: list[tuple[int | None, str]],
        *,
        file_type: str = "text",
        metadata: dict[str, object] | None = None,
    ) -> list[Chunk]:
        """Chunks of a document given as (page number, text) pairs, numbered across pages."""
        markdown = file_type == "markdown"
        base = sanitize_metadata(metadata)
        base["file_type"] = file_type
        pieces: list[tuple[int | None, str, str]] = []
        headings_only: list[tuple[int | None, str, str]] = []
        for page_number, text in pages:
            if not text or not text.strip():
                continue
            outline = _Outline(text) if markdown else None
            for offset, piece in self._chunk_indices(text, markdown):
                if not piece.strip():
                    continue
                heading = outline.path_at(offset) if outline else ""
                if outline is not None and outline.is_headings_only(piece):
                    headings_only.append((page_number, heading, piece))
                    continue
                pieces.append((page_number, heading, piece))
        if not pieces:
            # a document of nothing but headings still says something
            pieces = headings_only
        chunks = []
        for index, (page_number, heading, piece) in enumerate(pieces):
            digest = content_hash(f"{heading}\n\n{piece}")
            chunks.append(
                Chunk(
                    chunk_id=chunk_id(source, index, digest),
                    source=source,
                    chunk_index=index,
                    text=piece,
                    heading=heading,
                    page=page_number,
                    content_hash=digest,
                    metadata=base,
                )
            )
        return chunks

    def chunk_document(self, document: object, source: str) -> list[Chunk]:
        """Chunks of an `ExtractedDocument` (anything with `.pages`, `.file_type`, `.metadata`)."""
        pages = [(page.number, page.text) for page in document.pages]
        metadata: dict[str, MetadataValue | object] = dict(getattr(document, "metadata", {}) or {})
        if any(page.method == "ocr" for page in document.pages):
            metadata.setdefault("ocr", True)
        return self.chunk_pages(source, pages, file_type=getattr(document, "file_type", "text"), metadata=metadata)


def _segments(text: str, limit: int) -> Iterator[tuple[int, str]]:
    """(offset, segment) pieces of `text` whose lines are at most `limit` characters: a longer
    line is cut at its last whitespace before the limit, or at the limit when it has none."""
    cuts: list[int] = []
    line_start = 0
    while line_start < len(text):
        line_end = text.find("\n", line_start)
        line_end = len(text) if line_end < 0 else line_end
        position = line_start
        while line_end - position > limit:
            window = text[position : position + limit]
            space = max(window.rfind(" "), window.rfind("\t"))
            position += space + 1 if space > limit // 2 else limit
            cuts.append(position)
        line_start = line_end + 1
    start = 0
    for cut in cuts:
        yield start, text[start:cut]
        start = cut
    yield start, text[start:]


class _Outline:
    """The markdown headings of one text, to answer "which section is offset N in?"."""

    def __init__(self, text: str) -> None:
        self.offsets: list[int] = []
        self.paths: list[str] = []
        self.titles: set[str] = set()
        stack: list[tuple[int, str]] = []
        in_fence = False
        offset = 0
        previous: tuple[int, str] | None = None  # (offset, text) of the last plain line
        for line in text.splitlines(keepends=True):
            stripped = line.rstrip("\n")
            found: tuple[int, int, str] | None = None
            if _FENCE.match(stripped):
                in_fence = not in_fence
                previous = None
            elif not in_fence:
                atx = _ATX.match(stripped)
                setext = _SETEXT_UNDERLINE.match(stripped)
                if atx:
                    found = (offset, len(atx.group(1)), atx.group(2).strip())
                    previous = None
                elif setext and previous is not None:
                    found = (previous[0], 1 if setext.group(1)[0] == "=" else 2, previous[1])
                    previous = None
                elif stripped.strip():
                    previous = (offset, stripped.strip())
                else:
                    previous = None
            if found is not None:
                at, level, title = found
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, title))
                self.offsets.append(at)
                self.titles.add(title)
                self.paths.append(" > ".join(title for _, title in stack))
            offset += len(line)

    def is_headings_only(self, piece: str) -> bool:
        for line in piece.splitlines():
            line = line.strip()
            if line and not (_ATX.match(line) or _SETEXT_UNDERLINE.match(line) or line in self.titles):
                return False
        return True

    def path_at(self, offset: int) -> str:
        index = bisect.bisect_right(self.offsets, offset) - 1
        return self.paths[index] if index >= 0 else ""
