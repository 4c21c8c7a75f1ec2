"""What an attachment may be: content sniffing, clean names, size limits, memory-only upload.

Types are decided by the first bytes of the content, never by the name or the
browser's claim. Uploads are held in memory and encrypted from there: Django's default
handler would spool anything over 2.5 MB to a temporary file in clear.
"""

from __future__ import annotations

import contextlib
import io
import re
import unicodedata
from dataclasses import dataclass
from typing import IO, Any, cast

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

PDF, PNG, JPEG, TEXT = "application/pdf", "image/png", "image/jpeg", "text/plain"
KIND_NAMES = {PDF: "PDF", PNG: "PNG image", JPEG: "JPEG image", TEXT: "plain text"}

# Bidirectional overrides and isolates let "gpj.exe" display as "exe.jpg".
_BIDI = dict.fromkeys(
    map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
)
# Actions and objects that run code, reach out, or carry other files.
_PDF_ACTIVE = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|SubmitForm|ImportData|GoToR|GoToE)"
    rb"(?![A-Za-z0-9])"
)
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


class PdfUncheckable(Exception):
    """A PDF we cannot read to the end: encrypted, unparseable, or past the check's
    budget. Refused, since it could hide anything."""


# What runs code, reaches out or carries other files: dictionary keys, and action types
# (``/S``). Links (``/URI``, ``/GoTo``) stay allowed.
_PDF_ACTIVE_KEYS = frozenset(
    {"/JS", "/JavaScript", "/EmbeddedFiles", "/EmbeddedFile", "/EF", "/XFA", "/RichMediaContent"}
)
_PDF_ACTIVE_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
        "/RichMediaExecute",
        "/Rendition",
    }
)
_PDF_ACTIVE_TYPES = frozenset({"/EmbeddedFile", "/RichMedia", "/FileAttachment", "/3D", "/Screen"})
# Decoding budget per stream while parsing (object and cross-reference streams): far
# below the memory a worker has, and above any honest PDF's object streams.
PDF_MAX_DECODED = 16 * 1024 * 1024
_PDF_MAX_OBJECTS = 500_000
_PDF_MAX_NODES = 5_000_000


def pdf_has_active_content(data: Buffer) -> bool:
    """JavaScript, launch, submit and remote actions, embedded files, rich media or XFA.

    The file is parsed (pypdf) and every object is walked, those inside compressed
    object streams included: PDF names arrive unescaped (``/#4AavaScript`` is
    ``/JavaScript``) and no byte-pattern trick can hide a dictionary from the parser.
    Stream contents (page drawing, images) hold no actions and are not decoded; object
    streams are, within ``PDF_MAX_DECODED`` each. A raw scan of the bytes stays as a
    second net for objects outside the cross-reference table. Raises ``PdfUncheckable``
    for what cannot be parsed, is encrypted, or is too large to walk.
    """
    if _pdf_active_bytes(data):
        return True
    from pypdf import PdfReader, apply_configuration
    from pypdf.generic import IndirectObject

    try:
        with apply_configuration(
            zlib_maximum_output_length=PDF_MAX_DECODED,
            lzw_maximum_output_length=PDF_MAX_DECODED,
            run_length_maximum_output_length=PDF_MAX_DECODED,
            brotli_maximum_output_length=PDF_MAX_DECODED,
            jbig2_maximum_output_length=PDF_MAX_DECODED,
            array_based_stream_maximum_output_length=PDF_MAX_DECODED,
        ):
            reader = PdfReader(cast(IO[bytes], BufferReader(data)), strict=False)
            if reader.is_encrypted:
                raise PdfUncheckable("encrypted")
            ids = [(num, gen) for gen, entries in reader.xref.items() for num in entries]
            ids += [(num, 0) for num in reader.xref_objStm]
            if len(ids) > _PDF_MAX_OBJECTS:
                raise PdfUncheckable("too many objects")
            walk = _PdfWalk()
            if walk.active(reader.trailer):
                return True
            for num, gen in ids:
                if walk.active(reader.get_object(IndirectObject(num, gen, reader))):
                    return True
    except PdfUncheckable:
        raise
    except Exception as error:  # a parser of untrusted files fails in many ways
        raise PdfUncheckable("does not parse") from error
    return False


class _PdfWalk:
    """Looks through one object's direct contents (references are visited on their own)."""

    def __init__(self) -> None:
        self.nodes = 0

    def active(self, root: Any) -> bool:
        from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

        pending = [root]
        while pending:
            node = pending.pop()
            self.nodes += 1
            if self.nodes > _PDF_MAX_NODES:
                raise PdfUncheckable("too complex to check")
            if isinstance(node, IndirectObject) or node is None:
                continue
            if isinstance(node, DictionaryObject):  # streams too: their dictionary only
                if _pdf_dictionary_active(node):
                    return True
                pending.extend(node.values())
            elif isinstance(node, ArrayObject):
                pending.extend(node)
        return False


def _pdf_dictionary_active(node: Any) -> bool:
    if any(str(key) in _PDF_ACTIVE_KEYS for key in node):
        return True
    if str(node.get("/S", "")) in _PDF_ACTIVE_ACTIONS:
        return True
    kinds = {str(node.get("/Type", "")), str(node.get("/Subtype", ""))}
    if kinds & _PDF_ACTIVE_TYPES:
        return True
    names = node.get("/Names")
    return isinstance(names, dict) and any(str(key) in _PDF_ACTIVE_KEYS for key in names)


def _pdf_active_bytes(chunk: Buffer) -> bool:
    """The plain names in the raw bytes (escaped ones are the parser's to find)."""
    return bool(_PDF_ACTIVE.search(chunk))


def _extension_for(name: str, kind: str) -> str:
    """The name with an extension that matches the sniffed type: "x.hta" -> "x.hta.txt".

    Downloads keep their name, and a double click opens by extension: the extension
    must promise no more than the content we checked.
    """
    allowed = {PDF: (".pdf",), PNG: (".png",), JPEG: (".jpg", ".jpeg"), TEXT: (".txt",)}[kind]
    if name.lower().endswith(allowed):
        return name
    return name[: _MAX_NAME - len(allowed[0])] + allowed[0]


Buffer = bytes | memoryview


class BufferReader:
    """A read-only file over a buffer, without copying it (``io.BytesIO`` of a
    ``memoryview`` copies): the encryptor and the PDF parser read the upload in place."""

    def __init__(self, data: Buffer) -> None:
        self._view = memoryview(data)
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else self._position + size
        chunk = bytes(self._view[self._position : end])
        self._position += len(chunk)
        return chunk

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}
        self._position = max(0, base[whence] + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


@dataclass(frozen=True)
class CheckedUpload:
    """A checked file. ``data`` is the upload's own buffer (held once, never copied)."""

    name: str
    content_type: str
    data: Buffer

    @property
    def size(self) -> int:
        return len(self.data)

    def reader(self) -> BufferReader:
        return BufferReader(self.data)


def upload_buffer(upload: Any) -> Buffer:
    """An uploaded file's bytes in place: our upload handler keeps a BytesIO in memory."""
    file = getattr(upload, "file", None)
    if isinstance(file, io.BytesIO):
        return file.getbuffer()
    return bytes(upload.read())


def _image_too_large(data: Buffer) -> bool:
    """Width x height from the header alone, before anything decodes the pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(cast(IO[bytes], BufferReader(data))) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return True
    return width * height > settings.MESSAGING_MAX_IMAGE_PIXELS


def attachment_check(*, name: str, data: Buffer) -> CheckedUpload:
    """Refuse what may not be attached, with the reason; return the clean name and true type."""
    shown = clean_name(name)
    limit = settings.MESSAGING_MAX_FILE_BYTES
    if not data:
        raise AttachmentRefused(f"“{shown}” is empty.")
    if len(data) > limit:
        raise AttachmentRefused(f"“{shown}” is larger than the {mebibytes(limit)} limit.")
    kind = sniff(bytes(data[:4096]))
    if kind is None or kind not in settings.MESSAGING_ALLOWED_TYPES:
        allowed = ", ".join(KIND_NAMES[t] for t in settings.MESSAGING_ALLOWED_TYPES)
        raise AttachmentRefused(f"“{shown}” is not a file type we accept ({allowed}).")
    if kind in (PNG, JPEG) and _image_too_large(data):
        megapixels = settings.MESSAGING_MAX_IMAGE_PIXELS // 1_000_000
        raise AttachmentRefused(
            f"“{shown}” is an image we cannot open, or larger than {megapixels} megapixels."
        )
    if kind == PDF:
        try:
            active = pdf_has_active_content(data)
        except PdfUncheckable:
            raise AttachmentRefused(
                f"“{shown}” is a PDF we cannot check (password-protected, or encoded in a "
                "way we do not read). Print it to a new PDF and attach that."
            ) from None
        if active:
            raise AttachmentRefused(
                f"“{shown}” is a PDF with JavaScript, launch or submit actions, embedded "
                "files or forms that run code, which we do not accept. Print it to a new "
                "PDF and attach that."
            )
    return CheckedUpload(_extension_for(shown, kind), kind, data)


def checked_uploads(
    request: Any, form: Any, field: str = "attachments"
) -> list[CheckedUpload] | None:
    """The request's files, sniffed and limited; None if any is refused (errors go on ``form``)."""
    errors = list(getattr(request, "upload_refusals", []))
    checked = []
    for upload in request.FILES.getlist(field):
        try:
            checked.append(attachment_check(name=upload.name or "", data=upload_buffer(upload)))
        except AttachmentRefused as refusal:
            errors.append(refusal.message)
    for error in errors:
        form.add_error(field, error)
    return None if errors else checked


def _uploads_allowed(request: Any) -> bool:
    match = getattr(request, "resolver_match", None)
    user = getattr(request, "user", None)
    return bool(
        match is not None
        and match.view_name in settings.UPLOAD_VIEWS
        and user is not None
        and user.is_authenticated
        and user.is_verified()
    )


# A slot left by a request that died mid-upload frees itself after this long.
UPLOAD_SLOT_SECONDS = 300


def _slots_key(user_id: int) -> str:
    return f"uploads-in-flight:{user_id}"


def upload_slot_take(user_id: int) -> bool:
    """One more upload in memory for this account, if under the limit (all processes)."""
    from django.core.cache import cache

    key = _slots_key(user_id)
    cache.add(key, 0, timeout=UPLOAD_SLOT_SECONDS)
    if cache.incr(key) <= settings.MESSAGING_MAX_CONCURRENT_UPLOADS:
        return True
    upload_slot_give(user_id)
    return False


def upload_slot_give(user_id: int) -> None:
    from django.core.cache import cache

    with contextlib.suppress(ValueError):  # expired meanwhile
        cache.decr(_slots_key(user_id))


class LimitedMemoryUploadHandler(FileUploadHandler):
    """Keeps each uploaded file in memory up to the per-file limit; never writes to disk.

    Only the upload forms (``settings.UPLOAD_VIEWS``), for a user past the second factor, get
    their files kept, and at most ``MESSAGING_MAX_CONCURRENT_UPLOADS`` requests per account
    at once. A file over the per-file limit is skipped and noted on the request
    (``request.upload_refusals``) so the form can say which one and why; once the
    per-message total is passed, the rest of the upload is stopped.
    """

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.total = 0
        self.allowed = _uploads_allowed(request)
        self.slot_user: int | None = None
        if request is not None and not hasattr(request, "upload_refusals"):
            request.upload_refusals = []

    def handle_raw_input(self, *args: Any, **kwargs: Any) -> None:
        if not self.allowed:
            return
        user_id = int(self.request.user.pk)  # type: ignore[union-attr, arg-type]
        if upload_slot_take(user_id):
            self.slot_user = user_id
        else:
            self.allowed = False
            self._refuse(
                "Another upload of yours is still being received. Wait for it to finish, "
                "then send this one again."
            )

    def upload_complete(self) -> None:
        if self.slot_user is not None:
            upload_slot_give(self.slot_user)
            self.slot_user = None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        if not self.allowed:
            raise SkipFile  # not an upload form, or not signed in: nothing is buffered
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
