"""A message, or a signed record package, as one password-protected PDF for e-mail.

The PDF is encrypted with the PDF 2.0 standard security handler, AES-256 (revision 6,
``/V 5 /R 6``); the password travels another way (read out by phone, or by SMS), so a
misdirected or intercepted e-mail shows nothing. ``password_new`` makes that one-time
password.

Rendering and encryption only, no database: the caller (a delivery task, later) loads
and decrypts the message and its attachments and passes plain values. The first page
is drawn by WeasyPrint through ``support.printing`` (which loads nothing a document does
not hand over), the attachments are merged by pypdf, and everything merged loses its
active content (``support.pdf_clean``, as in the record package).

Nothing here logs or raises health information: errors name an attachment by its
position, never by its name, and carry no content.
"""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeData
from django.utils.translation import gettext
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, NumberObject

from encryption.uploads import JPEG, PDF, PNG, TEXT
from messaging.errors import MessagingError
from support.pdf_clean import (
    SourceRefused,
    active_content_strip,
    forms_drop,
    image_check,
    pdf_append,
    unreachable_drop,
)
from support.printing import pdf_image_page, pdf_render

logger = logging.getLogger(__name__)

MESSAGE_TEMPLATE = "messaging/protected_message.html"
TEXT_TEMPLATE = "messaging/protected_text.html"
SIGNED_TEMPLATE = "messaging/protected_signed.html"
# Read aloud by phone: no 0/O, no 1/I. 32 symbols are 5 bits each, so 16 of them are
# 80 bits: out of reach of guessing against a copy of the file offline, however fast
# the attacker's hardware runs R6's iterated SHA-2 key derivation.
SPOKEN_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
SPOKEN_GROUPS, SPOKEN_GROUP_LENGTH = 4, 4
SPOKEN_SEPARATOR = "-"
# The first pages' length changes the page numbers their index prints (a longer index,
# more pages): it settles in two renderings; this bounds a pathological case.
_FIRST_PAGES_ATTEMPTS = 4


@dataclass(frozen=True)
class _Entry:
    title: str
    kind: str
    first_page: int
    last_page: int

    @property
    def pages(self) -> str:
        if self.first_page == self.last_page:
            return gettext("page %(page)s") % {"page": self.first_page}
        # A literal en dash, as the record package's index prints it (same catalogue entry).
        return gettext("pages %(first)s–%(last)s") % {  # noqa: RUF001
            "first": self.first_page,
            "last": self.last_page,
        }


def password_new() -> str:
    """A one-time password to read out: four groups of four, ``K7QM-3XPA-WD9F-RT2H``.

    Capital letters and digits only, none that sound or look alike in pairs (0/O, 1/I);
    the hyphens are part of the password, so what staff read out is what is typed.
    """
    groups = (
        "".join(secrets.choice(SPOKEN_ALPHABET) for _ in range(SPOKEN_GROUP_LENGTH))
        for _ in range(SPOKEN_GROUPS)
    )
    return SPOKEN_SEPARATOR.join(groups)


def message_pdf(
    *,
    subject_line: str,
    body_html_or_text: str,
    attachments: Sequence[tuple[str, str, bytes]],
    organisation: str,
    language: str,
) -> bytes:
    """One unencrypted PDF: the message with an index of its attachments, then each one.

    ``body_html_or_text`` is HTML when it is marked safe (the output of
    ``messaging.markup.body_render``), otherwise plain text, printed as written.
    ``attachments`` are ``(name, content_type, data)`` as ``encryption.uploads`` checked
    them: PDFs are appended (forms, old signatures and active content removed), PNG and
    JPEG images become one page each, scaled to fit, and plain text is printed. Raises
    ``MessagingError`` for an attachment that cannot be read, naming its position only.
    """
    writer = PdfWriter()
    spans: list[tuple[int, int]] = []  # (first page index, page count) after the message
    with translation.override(language or settings.LANGUAGE_CODE):
        for position, (name, content_type, data) in enumerate(attachments, start=1):
            start = len(writer.pages)
            _attachment_append(writer, name, content_type, data, position)
            spans.append((start, len(writer.pages) - start))
        attachment_pages = len(writer.pages)
        first, entries = _first_pages_render(
            subject_line=subject_line,
            body=body_html_or_text,
            organisation=organisation,
            titles=[(name, _kind_name(content_type)) for name, content_type, _ in attachments],
            spans=spans,
            attachment_pages=attachment_pages,
        )
        writer.merge(0, PdfReader(io.BytesIO(first)), import_outline=False)
        del first
        writer.add_outline_item(title=gettext("Message"), page_number=0)
        for entry in entries:
            writer.add_outline_item(title=entry.title, page_number=entry.first_page - 1)
    writer.page_mode = "/UseOutlines"
    forms_drop(writer)
    active_content_strip(writer)
    # What the two unlinked (old signature dictionaries, scripts) would still be written
    # out: the file holds nothing of it, and does not read as signed.
    unreachable_drop(writer)
    writer.add_metadata({"/Title": subject_line, "/Author": organisation, "/Creator": organisation})
    return _written(writer)


def protect(pdf_bytes: bytes, password: str, *, language: str = "") -> bytes:
    """``pdf_bytes`` encrypted with AES-256 (PDF 2.0, revision 6) under ``password``.

    An unsigned PDF (``message_pdf``'s) is itself encrypted: every string and stream of
    it, re-written by pypdf. The owner password is random and kept by nobody: with all
    permissions granted to the reader (it is their message) it has nothing to unlock.

    A signed PDF (a record package) is never re-written: encryption changes every
    string and stream in the file, so the signed byte ranges could not survive it, and
    a signature cannot be appended to an encrypted file without encrypting the part it
    covers. Encrypting the package before signing it (pyHanko signs encrypted files
    when given the password) would mean signing again for each e-mail, a second signed
    copy that differs from the package we built, signed and stored, and a signing key
    used by the delivery worker. Instead the stored package travels byte for byte as
    the one embedded file of a small encrypted wrapper PDF, whose page (in
    ``language``) says where to find it; the embedded file is encrypted with the
    wrapper, and once the reader opens it, its signature validates as it did when we
    signed it (``tests/messaging/test_protected_pdf.py`` checks with pyHanko).
    """
    if not password:
        raise MessagingError("pdf_password_missing", "A protected PDF needs a password.")
    try:
        reader = PdfReader(io.BytesIO(pdf_bytes))
        if reader.is_encrypted:
            raise MessagingError("pdf_already_encrypted", "The PDF is already encrypted.")
        signed = _is_signed(reader)
        writer = _wrapper(pdf_bytes, language) if signed else PdfWriter(clone_from=reader)
    except MessagingError:
        raise
    except Exception as error:  # a parser fails in many ways; nothing of the file is logged
        logger.warning("protected pdf: input unreadable (%s)", type(error).__name__)
        raise MessagingError("pdf_unreadable", "The PDF could not be read.") from None
    _encrypt(writer, password)
    return _written(writer)


def _encrypt(writer: PdfWriter, password: str) -> None:
    """AES-256, revision 6 (pypdf's "AES-256"; its "AES-256-R5" is the withdrawn draft)."""
    writer.encrypt(
        user_password=password,
        owner_password=secrets.token_urlsafe(32),
        algorithm="AES-256",
    )
    _version_declare(writer)


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _version_declare(writer: PdfWriter) -> None:
    """Say which PDF version has this handler, as Acrobat and qpdf write it.

    Revision 6 is PDF 2.0's; before 2.0 it was Adobe's extension level 8 to PDF 1.7,
    and "1.7, extension level 8" is what readers from Acrobat X on understand.
    """
    writer.pdf_header = b"%PDF-1.7"
    writer.root_object[NameObject("/Extensions")] = DictionaryObject(
        {
            NameObject("/ADBE"): DictionaryObject(
                {
                    NameObject("/BaseVersion"): NameObject("/1.7"),
                    NameObject("/ExtensionLevel"): NumberObject(8),
                }
            )
        }
    )


def is_signed_pdf(content_type: str, data: bytes) -> bool:
    """Whether ``data`` is a PDF carrying a signature (``protect`` keeps such a file
    whole). A file that does not parse is not signed, as far as anyone can tell."""
    if content_type != PDF:
        return False
    try:
        return _is_signed(PdfReader(io.BytesIO(data)))
    except Exception as error:  # a parser fails in many ways; nothing of the file is logged
        logger.info("protected pdf: signature check unreadable (%s)", type(error).__name__)
        return False


def _is_signed(reader: PdfReader) -> bool:
    """A signature field with a value, or a certification (DocMDP) entry.

    Where pyHanko puts a signature; ``message_pdf`` removes both from what it merges, so
    a message never reads as signed, whatever its attachments were.
    """
    root: Any = reader.trailer["/Root"]
    if "/Perms" in root:
        return True
    fields = reader.get_fields() or {}
    return any(
        field.get("/FT") == "/Sig" and field.get("/V") is not None for field in fields.values()
    )


def _wrapper(signed: bytes, language: str) -> PdfWriter:
    """A one-page PDF that carries ``signed`` as its one embedded file, unchanged."""
    organisation = settings.ORGANISATION_NAME
    with translation.override(language or settings.LANGUAGE_CODE):
        file_name = gettext("signed-copy") + ".pdf"
        html = render_to_string(
            SIGNED_TEMPLATE,
            {
                "organisation": organisation,
                "file_name": file_name,
                "page_size": settings.RECORDS_PAGE_SIZE,
            },
        )
        title = gettext("Your signed copy is attached to this file")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(pdf_render(html).write_pdf()))))
    embedded = writer.add_attachment(file_name, signed)
    embedded.subtype = NameObject("/application/pdf")
    # Readers that honour it open the attachments panel with the file.
    writer.page_mode = "/UseAttachments"
    writer.add_metadata({"/Title": title, "/Author": organisation, "/Creator": organisation})
    return writer


def _attachment_append(
    writer: PdfWriter, name: str, content_type: str, data: bytes, position: int
) -> None:
    if content_type == PDF:
        source = data
    elif content_type in (PNG, JPEG):
        source = _image_page(content_type, data, position)
    elif content_type == TEXT:
        source = _text_pages(name, data)
    else:
        raise MessagingError(
            "attachment_type", f"Attachment {position} is not a PDF, image or text file."
        )
    try:
        pdf_append(writer, source, what=f"protected pdf: attachment {position}")
    except SourceRefused as refused:
        if refused.reason == "encrypted":
            raise MessagingError(
                "attachment_encrypted", f"Attachment {position} is password-protected."
            ) from None
        raise MessagingError(
            "attachment_unreadable", f"Attachment {position} could not be read as a PDF."
        ) from None


def _image_page(content_type: str, data: bytes, position: int) -> bytes:
    try:
        image_check(data)
    except SourceRefused:
        raise MessagingError(
            "attachment_unreadable", f"Attachment {position} could not be read as an image."
        ) from None
    return pdf_image_page(data, content_type, settings.RECORDS_PAGE_SIZE)


def _text_pages(name: str, data: bytes) -> bytes:
    html = render_to_string(
        TEXT_TEMPLATE,
        {
            "name": name,
            "text": data.decode("utf-8", errors="replace"),
            "page_size": settings.RECORDS_PAGE_SIZE,
        },
    )
    return bytes(pdf_render(html).write_pdf())


def _kind_name(content_type: str) -> str:
    """What the index calls an attachment's type, in the active language."""
    names = {
        PDF: gettext("PDF"),
        PNG: gettext("PNG image"),
        JPEG: gettext("JPEG image"),
        TEXT: gettext("Text file"),
    }
    return names.get(content_type, content_type)


def _first_pages_render(
    *,
    subject_line: str,
    body: str,
    organisation: str,
    titles: list[tuple[str, str]],
    spans: list[tuple[int, int]],
    attachment_pages: int,
) -> tuple[bytes, list[_Entry]]:
    """Render until the first pages' own length matches the page numbers they print."""
    first_pages = 1
    for _ in range(_FIRST_PAGES_ATTEMPTS):
        entries = [
            _Entry(
                title=title,
                kind=kind,
                first_page=first_pages + start + 1,
                last_page=first_pages + start + count,
            )
            for (title, kind), (start, count) in zip(titles, spans, strict=True)
        ]
        html = render_to_string(
            MESSAGE_TEMPLATE,
            {
                "organisation": organisation,
                "subject_line": subject_line,
                "body": body,
                "body_is_html": isinstance(body, SafeData),
                "entries": entries,
                "total_pages": first_pages + attachment_pages,
                "page_size": settings.RECORDS_PAGE_SIZE,
            },
        )
        rendered = pdf_render(html)
        if len(rendered.pages) == first_pages:
            return bytes(rendered.write_pdf()), entries
        first_pages = len(rendered.pages)
    raise MessagingError("pdf_layout_unstable", "The message could not be laid out.")
