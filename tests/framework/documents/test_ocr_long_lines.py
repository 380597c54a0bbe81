"""A long, cleanly printed line on a page must come back as written. RapidOCR's line-direction
classifier turned such lines upside down ("nvue reo rnes rese ree:ooe rooval"), so it is off."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from framework.documents import DocumentProcessor

LINE = "Invoice policy: platypus reimbursements require manager approval."


def test_a_long_printed_line_is_read_as_written(tmp_path):
    page = Image.new("RGB", (1700, 2200), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=24)  # the size at which the classifier flipped the line
    draw.text((150, 200), LINE, fill="black", font=font)
    draw.text((150, 300), "Refunds are processed within 30 days.", fill="black", font=font)
    path = tmp_path / "page.png"
    page.save(path)
    text = DocumentProcessor(use_cache=False).extract(path).text
    assert LINE in text, text
