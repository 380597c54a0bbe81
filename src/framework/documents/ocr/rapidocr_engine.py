"""RapidOCR (PP-OCR models on onnxruntime), the default engine.

Its detection, direction and recognition models ship inside the `rapidocr` wheel. We point
it at those files explicitly: if it were left to resolve models by name, a version or language
change would make it download from the internet at run time, which must never happen here.
"""

from __future__ import annotations

import logging
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from PIL import Image

from .base import OcrError, OcrSegment, register_engine

log = logging.getLogger(__name__)

# The three models bundled in rapidocr 3.x wheels (det / cls / rec); see rapidocr/models/.
_MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}


def _models_dir() -> Path | None:
    spec = find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def bundled_model_paths() -> dict[str, Path]:
    folder = _models_dir()
    if folder is None:
        return {}
    return {task: folder / name for task, name in _MODEL_FILES.items()}


def is_available() -> bool:
    if find_spec("onnxruntime") is None:
        return False
    paths = bundled_model_paths()
    return bool(paths) and all(path.is_file() for path in paths.values())


# RapidOCR's detector scales the *short* side up to 736 px, so a 2200x370 strip (a receipt
# banner, a one-line PDF page after trimming) becomes a 4400x736 input and costs 4 s. Padding
# the short side with background first bounds that: boxes keep their coordinates (the padding
# goes below or to the right) and recognition still reads crops at full resolution.
MAX_ASPECT = 2.0


def pad_to_aspect(image: Image.Image, max_aspect: float) -> Image.Image:
    width, height = image.size
    if width >= height * max_aspect:
        target = (width, int(width / max_aspect))
    elif height >= width * max_aspect:
        target = (int(height / max_aspect), height)
    else:
        return image
    if target == image.size:
        return image
    canvas = Image.new(image.mode, target, _border_colour(image))
    canvas.paste(image, (0, 0))
    return canvas


def _border_colour(image: Image.Image):
    pixels = np.asarray(image)
    edge = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    colour = np.median(edge, axis=0)
    return int(colour) if np.ndim(colour) == 0 else tuple(int(c) for c in colour)


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self, threads: int = 0) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # pragma: no cover - dependency of the project
            raise OcrError("unavailable", f"rapidocr cannot be imported: {exc}") from exc
        paths = bundled_model_paths()
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if not paths or missing:
            raise OcrError(
                "unavailable",
                f"rapidocr models missing from the installed wheel ({', '.join(missing) or 'no models dir'}); "
                "reinstall rapidocr (models are never downloaded at run time)",
            )
        self.version = metadata.version("rapidocr")
        self.threads = threads
        params: dict[str, object] = {
            "Global.log_level": "warning",
            # The line-direction classifier turns some long, cleanly printed lines upside down
            # and they come back as garbage ("voe r re rue re oe rovae"); photos are already
            # upright (EXIF) and scans are rarely upside down, so it costs more than it saves.
            "Global.use_cls": False,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads if threads > 0 else -1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1 if threads > 0 else -1,
        }
        for task, path in paths.items():
            params[f"{task}.model_path"] = str(path)
        if threads > 0:
            # OpenCV's own pool would otherwise use every core in each worker process.
            import cv2

            cv2.setNumThreads(threads)
        self.raw = RapidOCR(params=params)
        # RapidOCR installs its own coloured stderr handler; its messages must go through the
        # job's handlers instead, in the job's `timestamp | level | logger | message` format
        rapid_log = logging.getLogger("RapidOCR")
        for handler in list(rapid_log.handlers):
            rapid_log.removeHandler(handler)
        rapid_log.propagate = True
        rapid_log.setLevel(logging.WARNING)

    def recognize(self, image: Image.Image) -> list[OcrSegment]:
        try:
            output = self.raw(pad_to_aspect(image, MAX_ASPECT))
        except Exception as exc:
            raise OcrError("failed", f"rapidocr failed: {type(exc).__name__}: {exc}") from exc
        boxes = getattr(output, "boxes", None)
        texts = getattr(output, "txts", None)
        scores = getattr(output, "scores", None)
        if boxes is None or texts is None or scores is None:
            return []
        segments: list[OcrSegment] = []
        for quad, text, score in zip(boxes, texts, scores):
            points = np.asarray(quad, dtype=float).reshape(-1, 2)
            box = (
                float(points[:, 0].min()), float(points[:, 1].min()),
                float(points[:, 0].max()), float(points[:, 1].max()),
            )
            segments.append(OcrSegment(text=str(text), confidence=float(score), box=box))
        return segments


register_engine("rapidocr", RapidOcrEngine, is_available)
