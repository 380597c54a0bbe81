"""Decide what a file really is from its first bytes, not from its name.

Uploads lie: an HTML error page saved as `bill.pdf`, an iPhone HEIC renamed `.jpg`, a 404
page saved as `.png`. The extension says what the sender meant; the bytes say what we can
read. `resolve_type` reconciles the two and turns a mismatch into a precise error.
"""

from __future__ import annotations

import re
import struct
import zipfile
from dataclasses import dataclass
from io import BytesIO

from charset_normalizer import from_bytes

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
# BITMAPCOREHEADER, OS/2 v2 short, BITMAPINFOHEADER, v2, v3, OS/2 v2, v4, v5: the sizes the
# second header of a BMP can have. "BM" alone is two letters that start plenty of text
# ("BMW ...", "BMP/SMAD1 ...", "BMI-1 ..."); a DIB size needs three NUL bytes no text has.
_BMP_DIB_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
# The first block after a GIF's screen descriptor (and colour table): extension, image, trailer.
_GIF_BLOCKS = frozenset({0x21, 0x2C, 0x3B})
_PDF_HEADER = re.compile(rb"%PDF-\d")
_PDF_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")
# How much of a file decides "this is text": enough to be sure, bounded for huge files.
_TEXT_SAMPLE = 1 << 16
_HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)
_CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


@dataclass(frozen=True)
class Sniffed:
    kind: str  # pdf, docx, zip, ole, image, html, text, binary, empty
    detail: str | None = None  # image format name, or the zip/ole flavour
    # For "pdf" and "image": the bytes also read as text (no NULs, a charset decodes them), so
    # the signature may be a coincidence. Under a text name such a file is read as text.
    text_like: bool = False


def sniff(data: bytes) -> Sniffed:
    if not data:
        return Sniffed("empty")
    head = data[:64]
    # PDF readers accept junk before the header (up to 1 KB), and so do we.
    if _PDF_HEADER.search(data, 0, 1024):
        # A text that merely quotes "%PDF-1.4" has no "1 0 obj": every real PDF, even an
        # all-ASCII one, declares objects right after its header.
        text_like = not _PDF_OBJECT.search(data, 0, _TEXT_SAMPLE) and reads_as_text(data)
        return Sniffed("pdf", text_like=text_like)
    image = _image_format(data)
    if image:
        # Every real image has NUL bytes (sizes, reserved fields, terminators): this is cheap.
        return Sniffed("image", image, text_like=reads_as_text(data))
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


def _image_format(data: bytes) -> str | None:
    """The image format whose signature `data` carries. Two- and six-letter magics ("BM",
    "GIF87a") are checked against the header structure that follows them, so a text that
    happens to start with those letters is not an image."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if _is_bmp(data):
        return "bmp"
    if _is_gif(data):
        return "gif"
    if head[4:8] == b"ftyp" and _plausible_ftyp_size(head):
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


def _is_bmp(data: bytes) -> bool:
    """The 14-byte BMP file header followed by a DIB header of a known size, with the pixel
    data starting after both headers (0: unset, which Pillow reads as "right after them")."""
    if len(data) < 18 or not data.startswith(b"BM"):
        return False
    _file_size, _reserved, pixel_offset, dib_size = struct.unpack_from("<IIII", data, 2)
    return dib_size in _BMP_DIB_SIZES and (pixel_offset == 0 or pixel_offset >= 14 + dib_size)


def _is_gif(data: bytes) -> bool:
    """A GIF header, logical screen descriptor and optional global colour table, then the
    start of a real block (or the end of a truncated file)."""
    if not data.startswith((b"GIF87a", b"GIF89a")):
        return False
    if len(data) < 13:
        return True  # cut short inside the header: a damaged GIF, reported as such
    flags = data[10]
    colour_table = 3 << ((flags & 0x07) + 1) if flags & 0x80 else 0
    first_block = 13 + colour_table
    if len(data) <= first_block:
        return True
    return data[first_block] in _GIF_BLOCKS


def _plausible_ftyp_size(head: bytes) -> bool:
    # An ISO-BMFF `ftyp` box: major brand, minor version and 4-byte compatible brands.
    size = int.from_bytes(head[:4], "big")
    return 16 <= size <= 4096 and size % 4 == 0


def reads_as_text(data: bytes) -> bool:
    """True when the bytes are text: no NUL anywhere, few control characters, and UTF-8 or a
    detected charset decodes them. Cheap on real binaries, which contain NULs early."""
    if b"\x00" in data:
        return False
    sample = data[:_TEXT_SAMPLE]
    if _looks_binary(sample[:8192]):
        return False
    try:
        sample.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # The sample may end inside a multi-byte character of a longer file.
        if len(data) > len(sample) and exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return True
    return from_bytes(sample).best() is not None


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
    if sniffed.text_like and sniffed.kind in ("pdf", "image") and _names_text(ext):
        # The name says text and so do the bytes; the magic number was a coincidence.
        sniffed = Sniffed("text")

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


def _names_text(ext: str) -> bool:
    return ext in TEXT_EXTENSIONS or ext in HTML_EXTENSIONS or ext == ""


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
