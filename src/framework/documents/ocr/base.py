"""What every OCR engine returns, and how engines are found and kept.

An engine is loaded at most once per process (models take seconds and hundreds of MB), and
created lazily, so a `DocumentProcessor` can be pickled into a worker without dragging an
ONNX session along.
"""

from __future__ import annotations

import threading
from typing import Callable, Protocol

from PIL import Image
from pydantic import BaseModel, ConfigDict

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the image given


class OcrSegment(BaseModel):
    """One piece of text an engine found (a word or a text box), before line assembly."""

    model_config = ConfigDict(frozen=True)

    text: str
    confidence: float
    box: Box


class OcrLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    confidence: float
    box: Box


class OcrResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    lines: list[OcrLine]
    text: str
    # Character-weighted mean confidence of the lines; None when nothing was read.
    confidence: float | None


class OcrError(Exception):
    """`unavailable`: the engine is not installed or its models are missing.
    `failed`: the engine raised on this image."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class OcrEngine(Protocol):
    name: str
    version: str

    def recognize(self, image: Image.Image) -> list[OcrSegment]: ...


EngineFactory = Callable[[int], OcrEngine]

_FACTORIES: dict[str, EngineFactory] = {}
_AVAILABILITY: dict[str, Callable[[], bool]] = {}
# Preference order for OCR_ENGINE=auto: the bundled engine first (measured best on receipts).
AUTO_ORDER = ("rapidocr", "tesseract")
_loaded: dict[tuple[str, int], OcrEngine] = {}
_lock = threading.Lock()


def register_engine(name: str, factory: EngineFactory, available: Callable[[], bool]) -> None:
    _FACTORIES[name] = factory
    _AVAILABILITY[name] = available


def _ensure_registered() -> None:
    # Importing registers each engine; re-imports are free, so a module imported directly
    # elsewhere (e.g. for its TSV parser) can never hide the others.
    from . import rapidocr_engine, tesseract_engine  # noqa: F401


def available_engines() -> list[str]:
    _ensure_registered()
    return [name for name in AUTO_ORDER if name in _AVAILABILITY and _AVAILABILITY[name]()]


def resolve_engine_name(name: str | None) -> str:
    """'auto' (or None) to the first installed engine; a named engine is returned as is,
    and fails later with a clear `unavailable` error if it is not installed."""
    _ensure_registered()
    requested = (name or "auto").lower()
    if requested != "auto":
        if requested not in _FACTORIES:
            raise OcrError("unavailable", f"unknown OCR engine {requested!r}; choose one of {sorted(_FACTORIES)} or 'auto'")
        return requested
    installed = available_engines()
    if not installed:
        raise OcrError(
            "unavailable",
            "no OCR engine is installed: reinstall the project (rapidocr + onnxruntime) or install Tesseract",
        )
    return installed[0]


def get_ocr_engine(name: str | None = None, threads: int = 0) -> OcrEngine:
    """The process-wide instance of an engine (loaded on first use, then reused)."""
    resolved = resolve_engine_name(name)
    key = (resolved, threads)
    engine = _loaded.get(key)
    if engine is not None:
        return engine
    with _lock:
        engine = _loaded.get(key)
        if engine is None:
            if not _AVAILABILITY[resolved]():
                raise OcrError("unavailable", f"OCR engine {resolved!r} is not installed on this machine")
            try:
                engine = _FACTORIES[resolved](threads)
            except OcrError:
                raise
            except Exception as exc:  # a broken install must read as "OCR unavailable", not a crash
                raise OcrError("unavailable", f"OCR engine {resolved!r} failed to load: {type(exc).__name__}: {exc}") from exc
            _loaded[key] = engine
    return engine


def loaded_engines() -> list[tuple[str, int]]:
    """Engines loaded in this process (for tests and diagnostics)."""
    return list(_loaded)
