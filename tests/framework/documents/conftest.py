"""Small generated fixtures for the documents tests (no files from ../shared needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from framework.config import Settings
from framework.documents import DocumentProcessor
from tests.framework.documents._helpers import make_text_pdf, text_image


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(CACHE_DIR=tmp_path / "cache")


@pytest.fixture
def processor(settings: Settings) -> DocumentProcessor:
    return DocumentProcessor(settings, use_cache=False)


@pytest.fixture
def offline_processor(settings: Settings) -> DocumentProcessor:
    return DocumentProcessor(settings, ocr_enabled=False, use_cache=False)


@pytest.fixture(scope="session")
def receipt_image() -> Image.Image:
    return text_image(["CAFE ROMA", "Latte 4.50", "TOTAL 12.50"])


@pytest.fixture
def image_only_pdf(tmp_path: Path, receipt_image: Image.Image) -> Path:
    path = tmp_path / "scan.pdf"
    receipt_image.save(path, "PDF", resolution=150)  # Pillow writes an image-only PDF
    return path


@pytest.fixture
def text_pdf(tmp_path: Path) -> Path:
    lines = [f"Line {n}: hotel stays are capped at 4000 INR per night." for n in range(1, 6)]
    return make_text_pdf(tmp_path / "policy.pdf", lines)
