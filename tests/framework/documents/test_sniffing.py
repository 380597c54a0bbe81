"""File-type sniffing with weak magic numbers, Pillow's pixel guard vs IMAGE_REFUSE_PIXELS,
and text normalisation cost on very long lines."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from framework.config import Settings
from framework.documents import DocumentProcessor
from framework.documents.images import iter_pages, open_image, pillow_pixel_limit
from framework.documents.models import ExtractionFailure
from framework.documents.normalize import clean_text
from framework.documents.sniff import reads_as_text, resolve_type, sniff
from tests.framework.documents._helpers import make_text_pdf, squash, text_image

# The first words of real SciFact abstracts that were refused as corrupt BMP / GIF images.
SCIFACT_STARTS = [
    "BMP/SMAD1 signaling sets a threshold for the left/right pairing of somites.",
    "BMI-1 Autoantibody as a New Potential Biomarker for Cervical Carcinoma.",
    "BMAL1 and CLOCK, Two Essential Components of the Circadian Clock, Are Involved in Glucose Homeostasis.",
    "BMP receptor IA is required in mammalian neural crest cells for development of the cardiac outflow tract.",
    "GITR, a member of the TNF receptor superfamily, is costimulatory to mouse T lymphocyte subpopulations.",
]


def _image_bytes(fmt: str, image: Image.Image | None = None, **save) -> bytes:
    buffer = io.BytesIO()
    image = image if image is not None else text_image(["X"])
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


# -- weak signatures under text names -----------------------------------------------------


@pytest.mark.parametrize("start", SCIFACT_STARTS)
@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_scientific_text_starting_with_bm_or_gi_is_text(offline_processor, tmp_path: Path, start, suffix):
    body = start + "\n\n" + "The abstract goes on for a while about the findings. " * 20
    path = tmp_path / f"doc{suffix}"
    path.write_text(body, encoding="utf-8")
    doc = offline_processor.extract(path)
    assert doc.ok, doc.error
    assert doc.file_type == ("markdown" if suffix == ".md" else "text")
    assert doc.text.startswith(start)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("bmw.txt", "BMW makes cars in Munich and elsewhere."),
        ("bm.md", "BM is a short abbreviation.\n\nMore text."),
        ("b.txt", "BM"),
        ("gif87.txt", "GIF87a was the first version of the Graphics Interchange Format."),
        ("gif89.txt", "GIF89a added animation and transparency."),
        ("gif_short.txt", "GIF89a"),
        ("pdf_quote.txt", "%PDF-1.4 is the header line every PDF file starts with."),
        ("pdf_quote.md", "# Notes\n\nA PDF starts with %PDF-1.7 and ends with %%EOF."),
        ("noext", "BMW makes cars."),
        ("page.html", "BM<html><body>odd page</body></html>"),
    ],
)
def test_text_resembling_a_weak_signature_is_read_as_text(offline_processor, tmp_path: Path, name, body):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    doc = offline_processor.extract(path)
    assert doc.ok, doc.error
    assert doc.file_type in ("text", "markdown", "html")
    assert "odd page" in doc.text if name.endswith(".html") else doc.text.strip() == clean_text(body)


def test_cp1252_text_starting_with_bm_is_text(offline_processor, tmp_path: Path):
    path = tmp_path / "autos.txt"
    path.write_bytes("BMW fährt schön schnell, für 30 000 €.".encode("cp1252"))
    doc = offline_processor.extract(path)
    assert doc.ok and doc.text == "BMW fährt schön schnell, für 30 000 €."


def test_sniff_needs_the_structure_not_just_the_letters():
    assert sniff(b"BMW makes cars in Munich and elsewhere.").kind == "text"
    assert sniff(b"BMP/SMAD1 signaling sets a threshold").kind == "text"
    assert sniff(b"GIF87a was the first version of the format").kind == "text"
    assert sniff(b"abcdftypheic and more text here").kind == "text"  # no plausible ftyp box size
    assert sniff(b"Notes: %PDF-1.4 is the header").kind == "pdf"  # the header may follow junk...
    assert sniff(b"Notes: %PDF-1.4 is the header").text_like  # ...but this one is only text
    with pytest.raises(ExtractionFailure) as failure:
        resolve_type(".pdf", sniff(b"BM" + b"x" * 40))
    assert failure.value.code == "not_a_pdf"


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "1"])
def test_real_bmp_is_still_an_image(mode):
    data = _image_bytes("BMP", text_image(["X"]).convert(mode))
    sniffed = sniff(data)
    assert (sniffed.kind, sniffed.detail, sniffed.text_like) == ("image", "bmp", False)


def test_os2_bmp_core_header_is_an_image():
    # 14-byte file header + 12-byte BITMAPCOREHEADER, 2x2 24-bit pixels padded to 4 bytes a row.
    pixels = (b"\xff\xff\xff" * 2 + b"\x00\x00") * 2
    header = b"BM" + struct.pack("<IHHI", 26 + len(pixels), 0, 0, 26) + struct.pack("<IHHHH", 12, 2, 2, 1, 24)
    data = header + pixels
    assert sniff(data).detail == "bmp"
    assert Image.open(io.BytesIO(data)).size == (2, 2)


@pytest.mark.parametrize("kwargs", [{}, {"interlace": False}])
def test_real_gif_is_still_an_image(kwargs):
    for image in (text_image(["X"]).convert("P"), text_image(["X"]).convert("L"), Image.new("P", (3, 3))):
        sniffed = sniff(_image_bytes("GIF", image, **kwargs))
        assert (sniffed.kind, sniffed.detail, sniffed.text_like) == ("image", "gif", False)


def test_gif_without_global_colour_table_is_an_image():
    # Header, screen descriptor with no global table, then an image descriptor (",").
    data = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0, 0, 0) + b"," + b"\x00" * 9 + b"\x02\x02\x44\x01\x00;"
    assert sniff(data).detail == "gif"


def test_real_bmp_is_read_with_ocr(processor, tmp_path: Path):
    path = tmp_path / "scan.bmp"
    path.write_bytes(_image_bytes("BMP", text_image(["TOTAL 12.50"])))
    doc = processor.extract(path)
    assert doc.ok, doc.error
    assert doc.file_type == "image" and "total" in squash(doc.text)


@pytest.mark.parametrize(
    ("fmt", "detail"),
    [("PNG", "png"), ("GIF", "gif"), ("BMP", "bmp"), ("JPEG", "jpeg"), ("TIFF", "tiff"), ("WEBP", "webp")],
)
def test_real_image_named_txt_is_still_an_image(offline_processor, tmp_path: Path, fmt, detail):
    image = text_image(["X"]).convert("P") if fmt == "GIF" else text_image(["X"])
    path = tmp_path / "renamed.txt"
    path.write_bytes(_image_bytes(fmt, image))
    assert sniff(path.read_bytes()).detail == detail
    doc = offline_processor.extract(path)
    assert doc.file_type == "image"
    assert doc.error is not None and doc.error.kind == "needs_ocr"  # read as an image, OCR is off


def test_gif_named_txt_is_read_with_ocr(processor, tmp_path: Path):
    path = tmp_path / "receipt.txt"
    path.write_bytes(_image_bytes("GIF", text_image(["TOTAL 12.50"]).convert("P")))
    doc = processor.extract(path)
    assert doc.ok, doc.error
    assert doc.file_type == "image" and "total" in squash(doc.text)


def test_pdf_named_txt_is_still_a_pdf(offline_processor, tmp_path: Path):
    pdf = make_text_pdf(tmp_path / "policy.pdf", ["Hotel stays are capped at 4000 INR per night."])
    renamed = tmp_path / "policy.txt"
    renamed.write_bytes(pdf.read_bytes())
    doc = offline_processor.extract(renamed)
    assert doc.ok and doc.file_type == "pdf" and "capped" in doc.text


def test_text_named_bmp_is_not_an_image(offline_processor, tmp_path: Path):
    path = tmp_path / "photo.bmp"
    path.write_text("BMW makes cars in Munich and elsewhere.")
    assert offline_processor.extract(path).error.code == "not_an_image"


def test_reads_as_text():
    assert reads_as_text(b"BMW makes cars")
    assert reads_as_text("Hôtel à Paris".encode("cp1252"))
    assert not reads_as_text(b"BM" + b"\x00" * 30)
    assert not reads_as_text(bytes(range(1, 32)) * 10)
    # A multi-byte character cut by the 64 KB sample boundary is still UTF-8 text.
    long_text = ("a" * 65535 + "é" + "b" * 10).encode("utf-8")
    assert reads_as_text(long_text)


# -- IMAGE_REFUSE_PIXELS above Pillow's own limit -----------------------------------------


def _flat_png(width: int, height: int) -> bytes:
    """A single-colour 1-bit PNG: 189 MP compresses to a few KB, built row by row so the
    raw bitmap never exists in memory."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def png_189_megapixels() -> bytes:
    return _flat_png(15_000, 12_600)


def test_refuse_pixels_above_pillow_limit_is_honoured(png_189_megapixels: bytes):
    assert 15_000 * 12_600 > 2 * Image.MAX_IMAGE_PIXELS  # Pillow alone would refuse it
    before = Image.MAX_IMAGE_PIXELS
    image = open_image(png_189_megapixels, refuse_pixels=250_000_000)
    assert image.size == (15_000, 12_600)
    assert Image.MAX_IMAGE_PIXELS == before  # the guard is restored afterwards


def test_processor_honours_refuse_pixels_setting(png_189_megapixels: bytes, tmp_path: Path):
    path = tmp_path / "huge.png"
    path.write_bytes(png_189_megapixels)
    allowed = Settings(CACHE_DIR=tmp_path / "c", IMAGE_REFUSE_PIXELS=250_000_000)
    doc = DocumentProcessor(allowed, ocr_enabled=False, use_cache=False).extract(path)
    # Opened and accepted: it stops only because OCR is off, not at Pillow's 179 MP guard.
    assert doc.error is not None and doc.error.kind == "needs_ocr", doc.error

    strict = Settings(CACHE_DIR=tmp_path / "c", IMAGE_REFUSE_PIXELS=100_000_000)
    error = DocumentProcessor(strict, ocr_enabled=False, use_cache=False).extract(path).error
    assert error.code == "image_too_large" and "IMAGE_REFUSE_PIXELS" in error.message


def test_bomb_far_above_the_setting_names_our_limit():
    with pytest.raises(ExtractionFailure) as failure:
        open_image(_flat_png(40_000, 40_000), refuse_pixels=200_000_000)  # 1600 MP
    assert failure.value.code == "image_too_large"
    assert "1600 megapixels" in failure.value.message and "IMAGE_REFUSE_PIXELS" in failure.value.message


def test_decoding_and_cropping_use_our_limit(monkeypatch):
    """Pillow re-checks its guard in load/crop; with the guard at 1 MP (errors above 2 MP), a
    3 MP scan inside a 10 MP budget must still decode, trim and downscale."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    page_image = Image.new("L", (3000, 1000), 255)
    page_image.paste(text_image(["RECEIPT"]).convert("L"), (1200, 300))
    data = _image_bytes("PNG", page_image)
    page = next(iter_pages(data, max_pixels=500_000, refuse_pixels=10_000_000))
    assert page.trimmed and page.image.width * page.image.height <= 500_000
    assert Image.MAX_IMAGE_PIXELS == 1_000_000


def test_pixel_limit_context_is_nested_and_restored(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    with pillow_pixel_limit(5_000):
        assert Image.MAX_IMAGE_PIXELS == 5_000
        with pillow_pixel_limit(9_000):
            assert Image.MAX_IMAGE_PIXELS == 9_000
        assert Image.MAX_IMAGE_PIXELS == 5_000
        with pillow_pixel_limit(10):  # never lowered below Pillow's own value
            assert Image.MAX_IMAGE_PIXELS == 5_000
    assert Image.MAX_IMAGE_PIXELS == 1_000
    with pytest.raises(RuntimeError), pillow_pixel_limit(7_000):
        raise RuntimeError
    assert Image.MAX_IMAGE_PIXELS == 1_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # the guard switched off stays off
    with pillow_pixel_limit(7_000):
        assert Image.MAX_IMAGE_PIXELS is None
    assert Image.MAX_IMAGE_PIXELS is None


# -- long lines ---------------------------------------------------------------------------


def test_long_whitespace_runs_are_linear():
    # 300,000 spaces without a newline took 52 s when the trailing-space regex rescanned the run.
    text = "col1" + " " * 300_000 + "col2" + " \t \nnext"
    start = time.perf_counter()
    assert clean_text(text) == "col1" + " " * 300_000 + "col2\nnext"
    assert time.perf_counter() - start < 1.0


def test_huge_single_line_extracts_quickly(offline_processor, tmp_path: Path):
    path = tmp_path / "one_line.txt"
    words = "hotel stay capped per night receipts required " * 60_000  # ~2.8 MB, no newline
    path.write_text(words + "pad" + " " * 50_000 + "end")
    start = time.perf_counter()
    doc = offline_processor.extract(path)
    assert doc.ok and doc.text.endswith("end")
    assert time.perf_counter() - start < 5.0
