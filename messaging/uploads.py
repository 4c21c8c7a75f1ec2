"""What an attachment may be: content sniffing, clean names, size limits, memory-only upload.

Types are decided by the first bytes of the content, never by the name or the
browser's claim. Uploads are held in memory and encrypted from there: Django's default
handler would spool anything over 2.5 MB to a temporary file in clear.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

PDF, PNG, JPEG, TEXT = "application/pdf", "image/png", "image/jpeg", "text/plain"
KIND_NAMES = {PDF: "PDF", PNG: "PNG image", JPEG: "JPEG image", TEXT: "plain text"}

# Bidirectional overrides and isolates let "gpj.exe" display as "exe.jpg".
_BIDI = dict.fromkeys(
    map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
)
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia)\b")
_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_MAX_NAME = 180


class AttachmentRefused(Exception):
    """An upload that may not be attached; ``message`` is safe to show to its sender."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def mebibytes(size: int) -> str:
    """A limit as people read it: "25 MiB", or "512 KiB" below one MiB."""
    if size < 1024 * 1024:
        return f"{size / 1024:g} KiB"
    return f"{size / (1024 * 1024):g} MiB"


def clean_name(raw: str) -> str:
    """A display name with no path, control or direction-override characters."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1].translate(_BIDI)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > _MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: _MAX_NAME - len(ext) - 1] + dot + ext)
            if dot and len(ext) < 10
            else name[:_MAX_NAME]
        )
    return name or "attachment"


def sniff(head: bytes) -> str | None:
    """The content type the first bytes prove, or None."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    return TEXT if _is_plain_text(head) else None


def _is_plain_text(data: bytes) -> bool:
    if not data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sniffed window is still text.
        if error.start < len(data) - 3:
            return False
        text = data[: error.start].decode("utf-8")
    return not any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f" for ch in text)


def pdf_has_active_content(data: bytes) -> bool:
    """JavaScript, launch actions, embedded files or rich media, also inside compressed streams."""
    if _PDF_ACTIVE.search(data):
        return True
    for match in _PDF_STREAM.finditer(data):
        try:
            inflated = zlib.decompressobj().decompress(match.group(1), 16 * 1024 * 1024)
        except zlib.error:
            continue
        if _PDF_ACTIVE.search(inflated):
            return True
    return False


@dataclass(frozen=True)
class CheckedUpload:
    name: str
    content_type: str
    data: bytes


def attachment_check(*, name: str, data: bytes) -> CheckedUpload:
    """Refuse what may not be attached, with the reason; return the clean name and true type."""
    shown = clean_name(name)
    limit = settings.MESSAGING_MAX_FILE_BYTES
    if not data:
        raise AttachmentRefused(f"“{shown}” is empty.")
    if len(data) > limit:
        raise AttachmentRefused(f"“{shown}” is larger than the {mebibytes(limit)} limit.")
    kind = sniff(data[:4096])
    if kind is None or kind not in settings.MESSAGING_ALLOWED_TYPES:
        allowed = ", ".join(KIND_NAMES[t] for t in settings.MESSAGING_ALLOWED_TYPES)
        raise AttachmentRefused(f"“{shown}” is not a file type we accept ({allowed}).")
    if kind == PDF and pdf_has_active_content(data):
        raise AttachmentRefused(
            f"“{shown}” is a PDF with JavaScript, launch actions or embedded files, "
            "which we do not accept. Print it to a new PDF and attach that."
        )
    return CheckedUpload(shown, kind, data)


class LimitedMemoryUploadHandler(FileUploadHandler):
    """Keeps each uploaded file in memory up to the per-file limit; never writes to disk.

    A file over the per-file limit is skipped and noted on the request
    (``request.upload_refusals``) so the form can say which one and why; once the
    per-message total is passed, the rest of the upload is stopped.
    """

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.total = 0
        if request is not None and not hasattr(request, "upload_refusals"):
            request.upload_refusals = []

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()
        self.size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.size += len(raw_data)
        self.total += len(raw_data)
        shown = clean_name(self.file_name or "")
        if self.total > settings.MESSAGING_MAX_MESSAGE_BYTES:
            self._refuse(
                f"The attachments together are larger than the "
                f"{mebibytes(settings.MESSAGING_MAX_MESSAGE_BYTES)} limit for one message."
            )
            raise StopUpload(connection_reset=False)
        if self.size > settings.MESSAGING_MAX_FILE_BYTES:
            limit = mebibytes(settings.MESSAGING_MAX_FILE_BYTES)
            self._refuse(f"“{shown}” is larger than the {limit} limit.")
            raise SkipFile
        self.buffer.write(raw_data)
        return None

    def _refuse(self, message: str) -> None:
        if self.request is not None:
            self.request.upload_refusals.append(message)  # type: ignore[attr-defined]

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type="application/octet-stream",  # the browser's claim is ignored
            size=file_size,
            charset=None,
            content_type_extra=self.content_type_extra,
        )
