"""Chunking: markdown sections, heading paths, pages, sizes, overlap, deterministic ids (C11)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from framework.errors import ConfigurationError
from framework.rag.chunking import Chunker, ChunkingConfig
from tests.framework.rag._helpers import CASES

BOILERPLATE = (CASES / "C11_chroma_add_payload" / "repeated_boilerplate.md").read_text(encoding="utf-8")


def test_repeated_boilerplate_gets_distinct_ids_and_section_paths():
    chunks = Chunker(ChunkingConfig(500, 50)).chunk_pages("repeated_boilerplate.md", [(1, BOILERPLATE)], file_type="markdown")
    ids = [c.chunk_id for c in chunks]
    assert len(ids) == len(set(ids))
    disclaimers = [c for c in chunks if c.text.startswith("Disclaimer")]
    assert len({c.text for c in disclaimers}) < len(disclaimers)  # the text repeats, the ids do not
    assert {c.heading for c in chunks} == {f"Expense handbook > {s}" for s in ("Hotels", "Meals", "Cabs", "Flights", "Visas")}
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
    assert all(len(c.text) <= 500 for c in chunks)
    # the lone "# Expense handbook" line is not a chunk: it travels in every heading path
    assert not any(c.text.strip() == "# Expense handbook" for c in chunks)


def test_same_input_same_chunks():
    chunker = Chunker(ChunkingConfig(300, 30))
    first = chunker.chunk_pages("a.md", [(1, BOILERPLATE)], file_type="markdown")
    again = Chunker(ChunkingConfig(300, 30)).chunk_pages("a.md", [(1, BOILERPLATE)], file_type="markdown")
    assert first == again


def test_heading_paths_follow_levels_and_ignore_code_fences():
    text = (
        "# Guide\n\nIntro text.\n\n## Travel\n\nTravel text.\n\n```\n# not a heading\n```\n\n"
        "### Cabs\n\nCab text.\n\nSetext title\n============\n\nUnder setext.\n"
    )
    chunks = Chunker(ChunkingConfig(20, 0)).chunk_pages("g.md", [(1, text)], file_type="markdown")
    def heading_of(words: str) -> str:
        (chunk,) = [c for c in chunks if words in c.text]
        return chunk.heading

    assert heading_of("Intro text.") == "Guide"
    assert heading_of("Travel text.") == "Guide > Travel"
    assert heading_of("Cab text.") == "Guide > Travel > Cabs"
    assert heading_of("Under setext.") == "Setext title"
    assert all("not a heading" not in c.heading for c in chunks)
    assert not any(c.text.strip() in ("## Travel", "Setext title") for c in chunks)  # headings alone


def test_plain_text_has_no_headings_and_pages_stay_apart():
    pages = [(1, "First page text. " * 20), (2, "# not markdown in a txt\n\nSecond page.")]
    chunks = Chunker(ChunkingConfig(200, 20)).chunk_pages("scan.pdf", pages, file_type="pdf", metadata={"title": "T"})
    assert {c.page for c in chunks} == {1, 2}
    assert all(c.heading == "" for c in chunks)
    assert all(c.metadata["file_type"] == "pdf" and c.metadata["title"] == "T" for c in chunks)
    meta = chunks[0].store_metadata()
    assert meta["source"] == "scan.pdf" and meta["page"] == 1 and meta["chunk_index"] == 0 and meta["content_hash"]


def test_overlap_repeats_text_between_neighbours():
    text = " ".join(f"Sentence number {i} ends here." for i in range(60))
    chunks = Chunker(ChunkingConfig(200, 60)).chunk_pages("o.txt", [(1, text)])
    assert len(chunks) > 3
    assert any(a.text[-30:] in b.text for a, b in zip(chunks, chunks[1:]))


def test_token_unit_counts_tokens_not_characters():
    text = " ".join(f"word{i}" for i in range(400))
    by_chars = Chunker(ChunkingConfig(100, 0, "chars")).chunk_pages("t.txt", [(1, text)])
    by_tokens = Chunker(ChunkingConfig(100, 0, "tokens")).chunk_pages("t.txt", [(1, text)])
    assert len(by_tokens) < len(by_chars)
    assert ChunkingConfig(100, 0, "tokens").signature != ChunkingConfig(100, 0, "chars").signature


@pytest.mark.parametrize("size, overlap", [(100, 100), (100, 150), (0, 0)])
def test_bad_sizes_are_configuration_errors(size, overlap):
    with pytest.raises(ConfigurationError):
        ChunkingConfig(size, overlap)


def test_chunk_document_reads_an_extracted_document():
    page = SimpleNamespace(number=1, text="Scanned receipt text.", method="ocr")
    document = SimpleNamespace(pages=[page], file_type="image", metadata={"ocr_engine": "rapidocr"})
    (chunk,) = Chunker().chunk_document(document, "r.png")
    assert chunk.metadata["ocr"] is True and chunk.metadata["ocr_engine"] == "rapidocr"


def test_only_whitespace_gives_no_chunks():
    assert Chunker().chunk_pages("w.md", [(1, "  \n\n \t")], file_type="markdown") == []


def test_very_long_lines_are_cut_into_segments_first():
    from framework.rag.chunking import _segments

    text = ("word " * 3000) + "\n" + "x" * 9000 + "\nshort line\n"
    segments = list(_segments(text, 2000))
    assert "".join(piece for _, piece in segments) == text
    assert all(text[offset:offset + len(piece)] == piece for offset, piece in segments)
    assert len(segments) > 1 and all(len(line) <= 2000 for _, piece in segments for line in piece.split("\n"))
    assert [(0, "a\nb")] == list(_segments("a\nb", 2000))  # ordinary text: one segment, untouched

    # a multi-megabyte line without a single break chunks within the size (it took minutes before)
    chunks = Chunker(ChunkingConfig(size=1000, overlap=0)).chunk_pages("big.txt", [(None, "z" * 1_000_000)])
    assert len(chunks) == 1000 and all(len(c.text) == 1000 for c in chunks)
