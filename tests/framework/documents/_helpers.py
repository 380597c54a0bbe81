"""Fixture builders shared by the documents tests (imported as a module, not a conftest)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[3]
CASES = REPO / "tests" / "fixtures" / "cases"
SHARED = REPO / ".." / "shared"


def text_image(lines: list[str], *, size: int = 30, width: int = 360, pad: int = 24) -> Image.Image:
    """Black text on white, about square: detectors upscale the short side (RapidOCR to 736 px),
    so a thin strip becomes a huge, slow input."""
    font = ImageFont.load_default(size=size)
    line_height = int(size * 1.5)
    height = max(width, pad * 2 + line_height * len(lines))
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((pad, pad + index * line_height), line, fill="black", font=font)
    return image


def squash(text: str) -> str:
    return "".join(text.split()).lower()


def make_text_pdf(path: Path, lines: list[str], **encryption: str) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for line in lines:
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    if encryption:
        pdf.set_encryption(**encryption)
    pdf.output(str(path))
    return path


def jpeg_bytes(image: Image.Image, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, exif=exif or Image.Exif())
    return buffer.getvalue()
