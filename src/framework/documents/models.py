"""Typed records that leave the documents package.

Extractors never raise for a bad input: they raise `ExtractionFailure` internally and the
processor turns it into `ExtractedDocument.error`, so one bad file is one error row, not a
crashed batch.

Error kinds and their codes (`DocumentError.code`):
  unsupported  unsupported_extension: .xyz, unsupported_format: heic|avif|doc|jpeg2000, not_text
  empty        empty_file
  no_text      no_text, no_pages
  needs_ocr    ocr_disabled
  encrypted    password_required, unsupported_encryption
  corrupt      not_a_pdf, not_an_image, not_a_docx, corrupt_pdf, corrupt_docx, corrupt_image,
               truncated_image, not_found, not_a_file, unreadable_file, unexpected_error,
               worker_crashed
  too_large    file_too_large, image_too_large, archive_too_large, out_of_memory
  ocr_failed   ocr_failed, ocr_unavailable
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ErrorKind = Literal[
    "unsupported",  # a format we do not read (HEIC, legacy .doc, unknown extension)
    "empty",  # zero bytes
    "no_text",  # readable, but nothing to read (blank page, whitespace-only file)
    "needs_ocr",  # only pixels, and OCR is disabled: retry later with OCR on
    "encrypted",  # a password is required
    "corrupt",  # damaged, truncated, or not the format its name claims
    "too_large",  # above a byte or pixel budget; refused before it is decoded
    "ocr_failed",  # the OCR engine itself failed or is not installed
]

Method = Literal["native", "ocr"]
MetadataValue = str | int | float | bool


class PageText(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=1)
    text: str
    method: Method
    # OCR confidence in [0, 1]; None for text read natively from the file.
    confidence: float | None = None


class DocumentError(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ErrorKind
    message: str
    # Finer, stable reason for programs: "not_a_pdf", "truncated_image", "image_too_large",
    # "not_an_image", "unsupported_format: heic", "password_required", ...
    code: str | None = None


class ExtractedDocument(BaseModel):
    path: str
    file_type: str
    sha256: str
    size_bytes: int
    pages: list[PageText] = Field(default_factory=list)
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    error: DocumentError | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(page.text for page in self.pages if page.text)

    @property
    def ok(self) -> bool:
        return self.error is None


class ExtractionFailure(Exception):
    """Raised inside extractors; never escapes `DocumentProcessor.extract`."""

    def __init__(self, kind: ErrorKind, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.code = code

    def to_error(self) -> DocumentError:
        return DocumentError(kind=self.kind, message=self.message, code=self.code)


class Extraction(BaseModel):
    """What one format reader returns to the processor (before hashing and caching)."""

    pages: list[PageText] = Field(default_factory=list)
    metadata: dict[str, MetadataValue] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
    # Pages that had nothing readable natively and were not OCR'd because OCR is off.
    pages_needing_ocr: list[int] = Field(default_factory=list)
