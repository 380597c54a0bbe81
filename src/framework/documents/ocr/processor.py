"""`OcrProcessor`: one image in, reading-order lines out, whatever the engine.

It holds only names and numbers; the engine itself lives in a per-process cache (see
`base.get_ocr_engine`), so the processor pickles cheaply into pool workers and each worker
loads the models once.
"""

from __future__ import annotations

from PIL import Image

from ...config import Settings, get_settings
from ...executor import cpu_budget
from ..normalize import clean_text
from .base import OcrEngine, OcrError, OcrLine, OcrResult, get_ocr_engine, resolve_engine_name
from .lines import build_lines, mean_confidence


class OcrProcessor:
    def __init__(self, settings: Settings | None = None, engine: str | None = None) -> None:
        self.settings = settings or get_settings()
        self.requested_engine = engine or self.settings.ocr_engine

    @property
    def engine_name(self) -> str:
        """The engine actually used ('auto' resolved); raises OcrError if none is installed."""
        return resolve_engine_name(self.requested_engine)

    @property
    def threads(self) -> int:
        return self.settings.ocr_threads or cpu_budget()

    def engine(self) -> OcrEngine:
        return get_ocr_engine(self.requested_engine, self.threads)

    def ocr_image(self, image: Image.Image) -> OcrResult:
        """Raises OcrError ('unavailable' or 'failed'); callers turn it into a typed error."""
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        segments = self.engine().recognize(image)
        lines: list[OcrLine] = []
        for line in build_lines(segments):
            text = clean_text(line.text)
            if text:
                lines.append(line if text == line.text else line.model_copy(update={"text": text}))
        return OcrResult(
            lines=lines,
            text="\n".join(line.text for line in lines),
            confidence=mean_confidence(lines),
        )


__all__ = ["OcrProcessor", "OcrError"]
