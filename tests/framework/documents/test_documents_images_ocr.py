from __future__ import annotations

import socket
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from framework.documents.images import iter_pages, trim_margins
from framework.documents.models import ExtractionFailure
from framework.documents.ocr import OcrProcessor, OcrSegment, build_lines
from framework.documents.ocr.tesseract_engine import parse_tsv
from tests.framework.documents._helpers import jpeg_bytes, squash, text_image


def test_rotated_phone_photo_is_turned_upright(processor, tmp_path: Path):
    upright = text_image(["GRAND HOTEL", "TOTAL 245.00"])
    # The camera stored the pixels sideways and says so in EXIF (orientation 6 = rotate 90 CW).
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(jpeg_bytes(sideways, exif))

    pages = list(iter_pages(path.read_bytes(), max_pixels=40_000_000, refuse_pixels=200_000_000))
    assert pages[0].image.size == upright.size

    doc = processor.extract(path)
    assert doc.ok, doc.error
    assert doc.file_type == "image"
    assert "total245.00" in squash(doc.text)
    assert doc.pages[0].method == "ocr"


def test_multi_page_tiff_reads_every_page(processor, tmp_path: Path):
    first = text_image(["PAGE ONE", "AMOUNT 100.00"])
    second = text_image(["PAGE TWO", "AMOUNT 200.00"])
    path = tmp_path / "scan.tiff"
    first.save(path, save_all=True, append_images=[second], compression="tiff_lzw")
    doc = processor.extract(path)
    assert doc.ok, doc.error
    assert [p.number for p in doc.pages] == [1, 2]
    assert "amount100.00" in squash(doc.pages[0].text)
    assert "amount200.00" in squash(doc.pages[1].text)
    assert doc.metadata["page_count"] == 2


def test_ocr_runs_with_the_network_unreachable(monkeypatch, settings, receipt_image):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    from framework.documents.ocr.rapidocr_engine import RapidOcrEngine

    engine = RapidOcrEngine(threads=1)  # a fresh engine: models are loaded with the network off
    lines = build_lines(engine.recognize(receipt_image))
    assert "total12.50" in squash("\n".join(line.text for line in lines))


def test_rapidocr_uses_only_bundled_models():
    from framework.documents.ocr.rapidocr_engine import bundled_model_paths

    paths = bundled_model_paths()
    assert set(paths) == {"Det", "Cls", "Rec"}
    assert all(path.is_file() and "rapidocr" in path.parts for path in paths.values())


def test_ocr_processor_result_shape(settings, receipt_image):
    ocr = OcrProcessor(settings)
    assert ocr.engine_name == "rapidocr"
    result = ocr.ocr_image(receipt_image)
    assert [squash(line.text) for line in result.lines] == ["caferoma", "latte4.50", "total12.50"]
    assert result.text == "\n".join(line.text for line in result.lines)
    assert 0.5 < result.confidence <= 1.0
    assert all(0 <= line.box[0] < line.box[2] and line.box[1] < line.box[3] for line in result.lines)


def test_engine_loads_once_per_process(settings, receipt_image):
    from framework.documents.ocr import base

    ocr = OcrProcessor(settings)
    ocr.ocr_image(receipt_image)
    before = dict(base._loaded)
    OcrProcessor(settings).ocr_image(receipt_image)
    assert base._loaded == before  # the same engine objects, nothing loaded again


def _seg(text: str, x0: float, y0: float, x1: float, y1: float) -> OcrSegment:
    return OcrSegment(text=text, confidence=0.9, box=(x0, y0, x1, y1))


def test_lines_group_boxes_by_vertical_overlap_left_to_right():
    segments = [
        _seg("12.50", 400, 103, 460, 121),  # slightly lower than its label: skewed scan
        _seg("TOTAL", 10, 100, 80, 118),
        _seg("Latte", 10, 60, 70, 78),
        _seg("4.50", 410, 58, 450, 76),
        _seg("........", 120, 101, 300, 119),
        _seg("CAFE", 10, 10, 60, 30),
    ]
    assert [line.text for line in build_lines(segments)] == ["CAFE", "Latte 4.50", "TOTAL ........ 12.50"]


def test_lines_do_not_merge_stacked_boxes():
    # A tall box next to two short ones must not swallow both rows.
    segments = [_seg("A", 10, 0, 50, 20), _seg("B", 12, 15, 52, 35), _seg("C", 100, 0, 140, 35)]
    texts = [line.text for line in build_lines(segments)]
    assert len(texts) == 2 and "A" in texts[0] and "B" in texts[1]


def test_tesseract_tsv_parsing():
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "1\t1\t0\t0\t0\t0\t0\t0\t600\t300\t-1\t\n"
        "5\t1\t1\t1\t1\t1\t10\t100\t70\t18\t96.5\tTOTAL\n"
        "5\t1\t2\t1\t1\t1\t400\t102\t60\t18\t91.0\t12.50\n"
    )
    segments = parse_tsv(tsv)
    assert [s.text for s in segments] == ["TOTAL", "12.50"]
    assert [line.text for line in build_lines(segments)] == ["TOTAL 12.50"]


def test_trim_margins_crops_a_small_receipt_on_a_big_page():
    page = Image.new("L", (4000, 5000), 255)
    page.paste(text_image(["RECEIPT"]).convert("L"), (1000, 1200))
    trimmed = trim_margins(page)
    assert trimmed.width < 1000 and trimmed.height < 600


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b"")


def test_pixel_budget_refuses_before_decoding():
    data = _png_header_only(30_000, 30_000)  # 900 MP declared in a few dozen bytes
    with pytest.raises(ExtractionFailure) as failure:
        list(iter_pages(data, max_pixels=40_000_000, refuse_pixels=200_000_000))
    assert failure.value.kind == "too_large" and failure.value.code == "image_too_large"

    # Our own limit applies below Pillow's: 12 MP refused with a 10 MP budget.
    with pytest.raises(ExtractionFailure) as failure:
        list(iter_pages(_png_header_only(4000, 3000), max_pixels=1_000_000, refuse_pixels=10_000_000))
    assert failure.value.code == "image_too_large"


def test_large_image_is_downscaled_to_the_budget():
    image = Image.new("RGB", (3000, 2000), "white")
    image.paste(Image.new("RGB", (2600, 1600), "black"), (200, 200))
    data = jpeg_bytes(image)
    page = next(iter_pages(data, max_pixels=1_000_000, refuse_pixels=200_000_000))
    assert page.image.width * page.image.height <= 1_000_000
    assert page.downscaled


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "PNG", "GIF"])
def test_other_image_formats_decode(fmt):
    import io

    buffer = io.BytesIO()
    text_image(["X"]).convert("P" if fmt == "GIF" else "RGB").save(buffer, fmt)
    page = next(iter_pages(buffer.getvalue(), max_pixels=40_000_000, refuse_pixels=200_000_000))
    assert page.image.mode in ("RGB", "L") and page.image.size == (360, 360)


def test_image_with_ocr_disabled_needs_ocr(offline_processor, tmp_path: Path):
    path = tmp_path / "photo.webp"
    text_image(["X"]).save(path, "WEBP")
    doc = offline_processor.extract(path)
    assert doc.error.kind == "needs_ocr" and doc.file_type == "image"
