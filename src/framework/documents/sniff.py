"""Decide what a file really is from its first bytes, not from its name.

Uploads lie: an HTML error page saved as `bill.pdf`, an iPhone HEIC renamed `.jpg`, a 404
page saved as `.png`. The extension says what the sender meant; the bytes say what we can
read. `resolve_type` reconciles the two and turns a mismatch into a precise error.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from io import BytesIO

from .models import ExtractionFailure

TEXT_EXTENSIONS = {".txt": "text", ".md": "markdown", ".markdown": "markdown"}
HTML_EXTENSIONS = {".html", ".htm"}
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
SUPPORTED_EXTENSIONS = frozenset(
    {".pdf", ".docx", *TEXT_EXTENSIONS, *HTML_EXTENSIONS, *IMAGE_EXTENSIONS}
)

# Image formats Pillow decodes for us; anything else that looks like an image is refused
# with its real name so the user knows what to convert.
READABLE_IMAGE_FORMATS = {"png", "jpeg", "webp", "bmp", "tiff", "gif"}

_HEIF_BRANDS = {
    b"heic": "heic", b"heix": "heic", b"hevc": "heic", b"hevx": "heic", b"heim": "heic",
    b"heis": "heic", b"mif1": "heif", b"msf1": "heif", b"avif": "avif", b"avis": "avif",
}
# The extensions a format is saved under when nobody renamed it ("IMG_0413.HEIC").
_NATURAL_EXTENSIONS = {
    "heic": (".heic", ".heics", ".heif"), "heif": (".heif", ".heic", ".hif"), "avif": (".avif",),
    "jpeg2000": (".jp2", ".j2k", ".jpf", ".jpx"),
}
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


@dataclass(frozen=True)
class Sniffed:
    kind: str  # pdf, docx, zip, ole, image, html, text, binary, empty
    detail: str | None = None  # image format name, or the zip/ole flavour


def sniff(data: bytes) -> Sniffed:
    if not data:
        return Sniffed("empty")
    head = data[:64]
    # PDF readers accept junk before the header (up to 1 KB), and so do we.
    if b"%PDF-" in data[:1024]:
        return Sniffed("pdf")
    image = _image_format(head)
    if image:
        return Sniffed("image", image)
    if head.startswith(b"PK\x03\x04"):
        return Sniffed(*_zip_flavour(data))
    if head.startswith(_CFB_MAGIC):
        encrypted = _ENCRYPTED_PACKAGE in data[: 1 << 20] or _ENCRYPTED_PACKAGE in data[-(1 << 20):]
        return Sniffed("ole", "encrypted_office" if encrypted else "doc")
    sample = _strip_bom(data[:4096])
    if _HTML_START.match(sample):
        return Sniffed("html")
    if _looks_binary(data[:8192]):
        return Sniffed("binary")
    return Sniffed("text")


def _image_format(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if head.startswith(b"BM") and len(head) >= 26:
        return "bmp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return _HEIF_BRANDS[brand]
        compatible = head[16:64]
        for candidate, name in _HEIF_BRANDS.items():
            if candidate in compatible:
                return name
    if head.startswith(b"\x00\x00\x00\x0cjP  "):
        return "jpeg2000"
    return None


def _zip_flavour(data: bytes) -> tuple[str, str | None]:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        # A damaged zip that starts like an Office file is still most likely one.
        return ("docx", "damaged") if b"word/" in data[:4096] else ("zip", None)
    if "word/document.xml" in names:
        return "docx", None
    if any(name.startswith("xl/") for name in names):
        return "zip", "xlsx"
    if any(name.startswith("ppt/") for name in names):
        return "zip", "pptx"
    if "mimetype" in names and b"opendocument" in data[:200]:
        return "zip", "odt"
    return "zip", None


def _strip_bom(sample: bytes) -> bytes:
    for bom, codec in ((b"\xef\xbb\xbf", None), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if sample.startswith(bom):
            body = sample[len(bom):]
            if codec:
                return body.decode(codec, errors="ignore").encode("ascii", errors="ignore")
            return body
    return sample


def _looks_binary(sample: bytes) -> bool:
    if not sample:
        return False
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # UTF-16 text is full of NULs but is text
    nul = sample.count(0)
    if nul and _utf16_without_bom(sample):
        return False
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return nul > 0 or controls / len(sample) > 0.10


def _utf16_without_bom(sample: bytes) -> bool:
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = max(1, len(sample) // 2)
    return (odd / half > 0.3 and even / half < 0.05) or (even / half > 0.3 and odd / half < 0.05)


def resolve_type(extension: str, sniffed: Sniffed) -> str:
    """The reader to use for a file, or an `ExtractionFailure` that says why there is none."""
    ext = extension.lower()
    if sniffed.kind == "empty":
        raise ExtractionFailure("empty", "the file is empty (0 bytes)", "empty_file")

    if sniffed.kind == "image" and sniffed.detail not in READABLE_IMAGE_FORMATS:
        fmt = sniffed.detail or "unknown"
        hint = "; convert it to JPEG or PNG first" + (
            " (e.g. on an iPhone: Settings > Camera > Formats > Most Compatible)"
            if fmt in ("heic", "heif") else ""
        )
        named = f" although it is named {ext}" if ext and ext not in _NATURAL_EXTENSIONS.get(fmt, ()) else ""
        raise ExtractionFailure(
            "unsupported", f"the file is a {fmt.upper()} image{named}{hint}",
            f"unsupported_format: {fmt}",
        )
    if sniffed.kind == "ole":
        if sniffed.detail == "encrypted_office":
            raise ExtractionFailure(
                "encrypted", "the Office document is password-protected; save an unprotected copy",
                "password_required",
            )
        raise ExtractionFailure(
            "unsupported", "legacy Word .doc (or another OLE file) is not supported; save it as .docx or PDF",
            "unsupported_format: doc",
        )

    if ext == ".pdf":
        if sniffed.kind == "pdf":
            return "pdf"
        raise ExtractionFailure(
            "corrupt", f"the file is named .pdf but its content is {_describe(sniffed)}, not a PDF",
            "not_a_pdf",
        )
    if ext in IMAGE_EXTENSIONS:
        if sniffed.kind == "image":
            return "image"
        if sniffed.kind == "pdf":
            return "pdf"  # a PDF named .jpg is still worth reading
        raise ExtractionFailure(
            "corrupt", f"the file is named {ext} but its content is {_describe(sniffed)}, not an image",
            "not_an_image",
        )
    if ext == ".docx":
        if sniffed.kind == "docx":
            return "docx"
        raise ExtractionFailure(
            "corrupt", f"the file is named .docx but its content is {_describe(sniffed)}",
            "not_a_docx",
        )
    if ext in TEXT_EXTENSIONS or ext in HTML_EXTENSIONS or ext == "":
        if sniffed.kind in ("pdf", "docx", "image"):
            return sniffed.kind  # a binary format under a text name: read what it is
        if sniffed.kind in ("zip", "binary"):
            raise ExtractionFailure(
                "unsupported", f"the file is {_describe(sniffed)}, not text", "not_text",
            )
        if ext in HTML_EXTENSIONS or (ext == "" and sniffed.kind == "html"):
            return "html"
        return TEXT_EXTENSIONS.get(ext, "text")
    raise ExtractionFailure(
        "unsupported",
        f"files ending in {ext} are not supported (supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))})",
        f"unsupported_extension: {ext}",
    )


def _describe(sniffed: Sniffed) -> str:
    return {
        "pdf": "a PDF",
        "docx": "a Word document",
        "zip": f"a ZIP archive{f' ({sniffed.detail})' if sniffed.detail else ''}",
        "image": f"a {(sniffed.detail or 'unknown').upper()} image",
        "html": "an HTML page",
        "text": "plain text",
        "binary": "binary data of unknown type",
    }.get(sniffed.kind, sniffed.kind)
