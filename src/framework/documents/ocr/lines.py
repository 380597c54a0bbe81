"""Rebuild reading-order lines from OCR boxes.

Detectors return text boxes in no useful order, and a receipt row such as
"TOTAL ........ 12.50" is usually two or three boxes far apart. Field extraction reads line
by line, so boxes that overlap vertically are grouped into one line and sorted left to right.
"""

from __future__ import annotations

from statistics import median

from .base import OcrLine, OcrSegment

# Two boxes share a line when their vertical overlap covers this share of the smaller one.
MIN_VERTICAL_OVERLAP = 0.5
# ...unless they also overlap horizontally by this much: then they are stacked, not side by side.
MAX_HORIZONTAL_OVERLAP = 0.3


class _Line:
    __slots__ = ("segments", "top", "bottom")

    def __init__(self, segment: OcrSegment) -> None:
        self.segments = [segment]
        self.top = segment.box[1]
        self.bottom = segment.box[3]

    def vertical_overlap(self, segment: OcrSegment) -> float:
        top, bottom = segment.box[1], segment.box[3]
        overlap = min(bottom, self.bottom) - max(top, self.top)
        smaller = min(bottom - top, self.bottom - self.top)
        return overlap / smaller if smaller > 0 else 0.0

    def collides(self, segment: OcrSegment) -> bool:
        x0, x1 = segment.box[0], segment.box[2]
        for other in self.segments:
            overlap = min(x1, other.box[2]) - max(x0, other.box[0])
            narrower = min(x1 - x0, other.box[2] - other.box[0])
            if narrower > 0 and overlap / narrower > MAX_HORIZONTAL_OVERLAP:
                return True
        return False

    def add(self, segment: OcrSegment) -> None:
        self.segments.append(segment)
        # The line's band is the median band of its boxes, so one tall or skewed box cannot
        # stretch it over the neighbouring rows.
        self.top = median(s.box[1] for s in self.segments)
        self.bottom = median(s.box[3] for s in self.segments)


def build_lines(segments: list[OcrSegment]) -> list[OcrLine]:
    usable = [s for s in segments if s.text.strip() and s.box[3] > s.box[1]]
    usable.sort(key=lambda s: ((s.box[1] + s.box[3]) / 2, s.box[0]))
    lines: list[_Line] = []
    for segment in usable:
        best: _Line | None = None
        best_overlap = MIN_VERTICAL_OVERLAP
        # Only recent lines can still overlap: segments arrive sorted by vertical centre.
        for line in lines[-8:]:
            overlap = line.vertical_overlap(segment)
            if overlap >= best_overlap and not line.collides(segment):
                best, best_overlap = line, overlap
        if best is None:
            lines.append(_Line(segment))
        else:
            best.add(segment)
    lines.sort(key=lambda line: (line.top + line.bottom) / 2)
    return [_to_ocr_line(line) for line in lines]


def _to_ocr_line(line: _Line) -> OcrLine:
    ordered = sorted(line.segments, key=lambda s: s.box[0])
    text = " ".join(s.text.strip() for s in ordered)
    weight = sum(len(s.text) for s in ordered) or 1
    confidence = sum(s.confidence * len(s.text) for s in ordered) / weight
    box = (
        min(s.box[0] for s in ordered),
        min(s.box[1] for s in ordered),
        max(s.box[2] for s in ordered),
        max(s.box[3] for s in ordered),
    )
    return OcrLine(text=text, confidence=round(confidence, 4), box=box)


def mean_confidence(lines: list[OcrLine]) -> float | None:
    weight = sum(len(line.text) for line in lines)
    if not weight:
        return None
    return round(sum(line.confidence * len(line.text) for line in lines) / weight, 4)
