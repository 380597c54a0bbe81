"""Open untrusted images safely and hand OCR a sane bitmap.

The pixel count is read from the header and checked before any pixel is decoded: a 60 KB
PNG can declare 20000x20000 pixels and would need gigabytes once decoded. Large but legitimate
scans are reduced while decoding where the format allows it (JPEG DCT scaling) and downscaled
before OCR, so a 108 MP scan never costs more than a few hundred MB.
"""

from __future__ import annotations

import math
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from PIL import Image, UnidentifiedImageError

from .models import ExtractionFailure

MAX_FRAMES = 500
# OCR engines shrink anything larger to about this many pixels per side (RapidOCR: 2000), so
# past it, empty margins cost resolution where the text is.
TRIM_ABOVE_SIDE = 2000
_ORIENTATION_TAG = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


@dataclass
class ImagePage:
    number: int
    image: Image.Image
    original_size: tuple[int, int]
    trimmed: bool
    downscaled: bool


# Pillow's decompression-bomb guard is one module global, `Image.MAX_IMAGE_PIXELS` (about
# 89 MP; it raises above twice that, 179 MP, and checks again in `load`, `seek` and `crop`).
# IMAGE_REFUSE_PIXELS is our limit, so while we open and decode an image the guard is raised
# to it, and restored when no extraction in this process needs it any more. It is only ever
# raised, never lowered: other code in the process keeps at least Pillow's protection.
_GUARD_LOCK = threading.Lock()
_GUARD_REQUESTS: list[int] = []
_GUARD_SAVED: list[int | None] = []


@contextmanager
def pillow_pixel_limit(refuse_pixels: int) -> Iterator[None]:
    """Within the block, Pillow refuses nothing that IMAGE_REFUSE_PIXELS allows (and warns
    about nothing it allows): our own `_check_pixels` is the limit."""
    with _GUARD_LOCK:
        if not _GUARD_REQUESTS:
            _GUARD_SAVED[:] = [Image.MAX_IMAGE_PIXELS]
        _GUARD_REQUESTS.append(refuse_pixels)
        _apply_guard()
    try:
        yield
    finally:
        with _GUARD_LOCK:
            _GUARD_REQUESTS.remove(refuse_pixels)
            if _GUARD_REQUESTS:
                _apply_guard()
            else:
                Image.MAX_IMAGE_PIXELS = _GUARD_SAVED.pop()


def _apply_guard() -> None:
    saved = _GUARD_SAVED[0]
    if saved is not None:  # None: someone switched the guard off; leave it off
        Image.MAX_IMAGE_PIXELS = max(saved, *_GUARD_REQUESTS)


def open_image(data: bytes, *, refuse_pixels: int) -> Image.Image:
    """Parse the header only; refuse pixel bombs before decoding."""
    try:
        with pillow_pixel_limit(refuse_pixels), warnings.catch_warnings():
            # Our own budget decides; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(BytesIO(data))
    except Image.DecompressionBombError as exc:
        # The guard is at least IMAGE_REFUSE_PIXELS, and fires at twice its value: the image
        # is far above our limit.
        declared = _BOMB_PIXELS.search(str(exc))
        size = f"{int(declared.group(1)) / 1e6:.0f} megapixels" if declared else "more megapixels than allowed"
        raise ExtractionFailure(
            "too_large",
            f"image declares {size}, above the limit of {refuse_pixels / 1e6:.0f} MP "
            "(IMAGE_REFUSE_PIXELS); refused before decoding (decompression bomb)",
            "image_too_large",
        ) from exc
    except UnidentifiedImageError as exc:
        raise ExtractionFailure("corrupt", "the file looks like an image but cannot be decoded", "not_an_image") from exc
    except Exception as exc:  # Pillow raises SyntaxError, ValueError, struct.error... on bad headers
        raise ExtractionFailure("corrupt", f"the image header is damaged: {exc}", "corrupt_image") from exc
    _check_pixels(image.size, refuse_pixels)
    return image


def iter_pages(data: bytes, *, max_pixels: int, refuse_pixels: int) -> Iterator[ImagePage]:
    """Every frame of a multi-page TIFF, the first frame of anything else; each decoded,
    upright (EXIF orientation applied), in RGB or L, and within `max_pixels`."""
    image = open_image(data, refuse_pixels=refuse_pixels)
    frames = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
    for index in range(min(frames, MAX_FRAMES)):
        # Decoding, cropping and seeking re-check Pillow's guard: keep it at our limit for
        # each step, but not while the caller holds the page (the guard is process-wide).
        with pillow_pixel_limit(refuse_pixels):
            if index:
                try:
                    image.seek(index)
                except Image.DecompressionBombError as exc:
                    raise ExtractionFailure(
                        "too_large", f"TIFF page {index + 1} is above the IMAGE_REFUSE_PIXELS limit", "image_too_large",
                    ) from exc
                except (EOFError, OSError, ValueError) as exc:
                    raise ExtractionFailure("corrupt", f"TIFF page {index + 1} cannot be read: {exc}", "corrupt_image") from exc
                _check_pixels(image.size, refuse_pixels)
            page = _prepare_frame(image, index + 1, max_pixels)
        yield page


def _check_pixels(size: tuple[int, int], refuse_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ExtractionFailure("corrupt", f"the image declares an impossible size {width}x{height}", "corrupt_image")
    if width * height > refuse_pixels:
        raise ExtractionFailure(
            "too_large",
            f"image is {width}x{height} = {width * height / 1e6:.0f} megapixels, above the "
            f"limit of {refuse_pixels / 1e6:.0f} MP (IMAGE_REFUSE_PIXELS); refused before decoding",
            "image_too_large",
        )


def _prepare_frame(image: Image.Image, number: int, max_pixels: int) -> ImagePage:
    original = image.size
    orientation = _orientation(image)
    target = _fit(original, max_pixels)
    if target != original and image.format == "JPEG":
        # DCT scaling decodes at 1/2, 1/4 or 1/8 size directly: the full image never exists.
        image.draft("RGB" if image.mode not in ("L", "1") else "L", target)
    try:
        image.load()
    except OSError as exc:
        if "truncated" in str(exc).lower():
            raise ExtractionFailure(
                "corrupt", f"the image file is truncated (upload or copy cut short): {exc}", "truncated_image"
            ) from exc
        raise ExtractionFailure("corrupt", f"the image cannot be decoded: {exc}", "corrupt_image") from exc
    except Exception as exc:
        raise ExtractionFailure("corrupt", f"the image cannot be decoded: {exc}", "corrupt_image") from exc

    frame = _to_ocr_mode(image)
    trimmed = False
    if max(frame.size) > TRIM_ABOVE_SIDE:
        before = frame.size
        frame = trim_margins(frame)
        trimmed = frame.size != before
    downscaled = False
    if frame.width * frame.height > max_pixels:
        # reducing_gap: a cheap box reduction first, then a LANCZOS pass on the small image.
        frame = frame.resize(_fit(frame.size, max_pixels), Image.Resampling.LANCZOS, reducing_gap=3.0)
        downscaled = True
    downscaled = downscaled or image.size != original  # a JPEG decoded at reduced scale
    for step in _TRANSPOSE_FOR_ORIENTATION.get(orientation, ()):
        frame = frame.transpose(step)
    return ImagePage(number=number, image=frame, original_size=original, trimmed=trimmed, downscaled=downscaled)


def trim_margins(image: Image.Image, *, pad: float = 0.02) -> Image.Image:
    """Crop a uniform border (a small receipt scanned on a big flatbed page).

    OCR engines shrink large images to a fixed size before detecting text, so a receipt
    occupying a tenth of a 108 MP scan would be shrunk until its text is unreadable. The ink
    bounding box is measured on a reduced copy, so this costs milliseconds."""
    width, height = image.size
    factor = max(1, max(width, height) // 1000)
    small = image.reduce(factor) if factor > 1 else image
    gray = np.asarray(small.convert("L") if small.mode != "L" else small, dtype=np.int16)
    border = np.concatenate([gray[0, :], gray[-1, :], gray[:, 0], gray[:, -1]])
    background = int(np.median(border))
    ink = _despeckle(np.abs(gray - background) > 48)
    rows = np.flatnonzero(ink.sum(axis=1) >= 2)
    cols = np.flatnonzero(ink.sum(axis=0) >= 2)
    if rows.size == 0 or cols.size == 0:
        return image
    margin_x = int(pad * width) + factor
    margin_y = int(pad * height) + factor
    box = (
        max(0, int(cols[0]) * factor - margin_x),
        max(0, int(rows[0]) * factor - margin_y),
        min(width, (int(cols[-1]) + 1) * factor + margin_x),
        min(height, (int(rows[-1]) + 1) * factor + margin_y),
    )
    if (box[2] - box[0]) * (box[3] - box[1]) > 0.8 * width * height:
        return image
    return image.crop(box)


def _despeckle(ink: np.ndarray) -> np.ndarray:
    """Keep ink pixels with at least 3 inked pixels in their 3x3 neighbourhood: scanner dust
    scattered over a page would otherwise stretch the bounding box to the whole page."""
    padded = np.pad(ink.astype(np.uint8), 1)
    height, width = ink.shape
    neighbours = sum(
        padded[dy:dy + height, dx:dx + width] for dy in range(3) for dx in range(3)
    )
    return ink & (neighbours >= 3)


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
        return int(value) if value in _TRANSPOSE_FOR_ORIENTATION or value == 1 else 1
    except Exception:  # broken EXIF blocks are common on phone photos; the pixels are fine
        return 1


def _oriented(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _fit(size: tuple[int, int], max_pixels: int) -> tuple[int, int]:
    width, height = size
    if width * height <= max_pixels:
        return size
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _to_ocr_mode(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("RGB", "L"):
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # 16-bit and float scans: scale to 8 bits instead of clipping everything to white.
        array = np.asarray(image, dtype=np.float32)
        top = float(array.max()) or 1.0
        return Image.fromarray(np.clip(array * (255.0 / top), 0, 255).astype(np.uint8), "L")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "1":
        return image.convert("L")
    return image.convert("RGB")
