"""The record package: a cover letter and index, then the source documents, as one PDF.

Rendering only, no database: the caller (a Celery task) decrypts the documents the
clerk uploaded, builds the package here, signs it (``records.signing``) and encrypts
the result. The cover and image pages are drawn by WeasyPrint; the documents are
merged by pypdf, which WeasyPrint cannot do.

Memory: each source PDF is parsed from the caller's bytes without copying them and its
objects are cloned into the one writer; pypdf keeps every reader alive until the writer
is written (by design, so that object ids are not reused), so the peak is the sources,
their parsed objects and the output: ``bench/records_package.py`` measures it against a
bare pypdf merge of the same files. Nothing is spooled to disk in clear.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext
from pypdf import PdfReader, PdfWriter

from encryption.uploads import JPEG, PDF, PNG
from records.errors import RecordsError
from support.pdf_clean import (
    SourceRefused,
    active_content_strip,
    forms_drop,
    image_check,
    pdf_append,
)
from support.printing import pdf_image_page, pdf_render

logger = logging.getLogger(__name__)

COVER_TEMPLATE = "records/package_cover.html"
# A cover whose page count changes the index it prints (a longer index, more pages)
# settles in two renderings; this bounds a pathological case.
_COVER_ATTEMPTS = 4
ProgressCallback = Callable[[int, int], None]
EN_DASH = "\u2013"  # page ranges as typeset, "pages 2-4" with an en dash


@dataclass(frozen=True)
class SourceDocument:
    """One uploaded document, already checked by ``encryption.uploads.attachment_check``.

    ``title`` is what the index calls it (the file name when empty).
    """

    name: str
    content_type: str
    data: bytes
    title: str = ""

    @property
    def index_title(self) -> str:
        return self.title or self.name


@dataclass(frozen=True)
class Cover:
    """What the cover letter says: who the copy is of, for whom, and when."""

    organisation: str
    patient_name: str
    mrn: str
    received_on: date
    prepared_on: date
    prepared_for: str  # the patient, their representative, or the third party they named
    language: str = ""  # the patient's, for whoever the copy is for; empty: the site's


@dataclass(frozen=True)
class BuiltPackage:
    """The unsigned package and its page count (counted while building, not re-read)."""

    pdf: bytes
    pages: int


@dataclass(frozen=True)
class IndexEntry:
    title: str
    kind: str
    first_page: int
    last_page: int

    @property
    def pages(self) -> str:
        return _pages_label(self.first_page, self.last_page)


def _pages_label(first: int, last: int) -> str:
    """The index's "page 5" or "pages 2-4", in the active language."""
    if first == last:
        return gettext("page %(page)s") % {"page": first}
    # A literal en dash: makemessages does not read a "\u" escape as the character.
    return gettext("pages %(first)s–%(last)s") % {"first": first, "last": last}  # noqa: RUF001


def _kind_name(content_type: str) -> str:
    """What the index calls a document's file type, in the active language."""
    names = {PDF: gettext("PDF"), PNG: gettext("PNG image"), JPEG: gettext("JPEG image")}
    return names.get(content_type, content_type)


def package_build(
    *,
    cover: Cover,
    documents: Sequence[SourceDocument],
    progress: ProgressCallback | None = None,
) -> BuiltPackage:
    """The unsigned package: cover letter and index, then each document in order.

    ``progress(done, total)`` is called once per document, after it is merged, so a
    task can report how far it got. Raises ``RecordsError`` for a document that cannot
    be read; its message names the document by position only (names may be PHI).
    """
    if not documents:
        raise RecordsError("no_documents", "A package needs at least one document.")
    writer = PdfWriter()
    spans: list[tuple[int, int]] = []  # (first page index, page count) after the cover
    total = len(documents)
    for position, document in enumerate(documents, start=1):
        start = len(writer.pages)
        _document_append(writer, document, position)
        spans.append((start, len(writer.pages) - start))
        if progress is not None:
            progress(position, total)
    document_pages = len(writer.pages)

    with translation.override(cover.language or settings.LANGUAGE_CODE):
        cover_pdf, entries = _cover_render(cover, documents, spans, document_pages)
        writer.merge(0, PdfReader(io.BytesIO(cover_pdf)), import_outline=False)
        del cover_pdf

        # The reader's bookmarks panel lists the same index the cover prints.
        writer.add_outline_item(title=gettext("Cover letter and index"), page_number=0)
        for entry in entries:
            writer.add_outline_item(title=entry.title, page_number=entry.first_page - 1)
        title = gettext("Copy of health records from %(organisation)s") % {
            "organisation": cover.organisation
        }
    writer.page_mode = "/UseOutlines"
    forms_drop(writer)
    active_content_strip(writer)
    writer.add_metadata(
        {"/Title": title, "/Author": cover.organisation, "/Creator": cover.organisation}
    )
    writer.pdf_header = b"%PDF-1.7"
    pages = len(writer.pages)
    out = io.BytesIO()
    writer.write(out)
    del writer
    return BuiltPackage(pdf=out.getvalue(), pages=pages)


def _document_append(writer: PdfWriter, document: SourceDocument, position: int) -> None:
    if document.content_type == PDF:
        source = document.data
    elif document.content_type in (PNG, JPEG):
        source = _image_page(document, position)
    else:
        raise RecordsError("document_type", f"Document {position} is not a PDF, PNG or JPEG image.")
    try:
        pdf_append(writer, source, what=f"record package: document {position}", require_pages=True)
    except SourceRefused as refused:
        raise RecordsError(
            f"document_{refused.reason}",
            {
                "encrypted": f"Document {position} is password-protected.",
                "empty": f"Document {position} has no pages.",
            }.get(refused.reason, f"Document {position} could not be read as a PDF."),
        ) from None


def _image_page(document: SourceDocument, position: int) -> bytes:
    """One page holding the image, scaled to fit inside the margins, upright (EXIF)."""
    try:
        image_check(document.data)
    except SourceRefused:
        raise RecordsError(
            "document_unreadable", f"Document {position} could not be read as an image."
        ) from None
    return pdf_image_page(document.data, document.content_type, settings.RECORDS_PAGE_SIZE)


def _cover_render(
    cover: Cover,
    documents: Sequence[SourceDocument],
    spans: list[tuple[int, int]],
    document_pages: int,
) -> tuple[bytes, list[IndexEntry]]:
    """Render until the cover's own length matches the page numbers its index prints."""
    # The letter leaves room for a few index rows on page 1, later pages hold about 28:
    # a good first guess saves a second layout; the loop below corrects a wrong one.
    cover_pages = 1 + (len(documents) + 20) // 28
    for _ in range(_COVER_ATTEMPTS):
        entries = [
            IndexEntry(
                title=document.index_title,
                kind=_kind_name(document.content_type),
                first_page=cover_pages + start + 1,
                last_page=cover_pages + start + count,
            )
            for document, (start, count) in zip(documents, spans, strict=True)
        ]
        html = render_to_string(
            COVER_TEMPLATE,
            {
                "cover": cover,
                "entries": entries,
                "cover_pages": cover_pages,
                "cover_pages_label": _pages_label(1, cover_pages),
                "total_pages": cover_pages + document_pages,
                "page_size": settings.RECORDS_PAGE_SIZE,
            },
        )
        rendered = pdf_render(html)
        if len(rendered.pages) == cover_pages:
            return bytes(rendered.write_pdf()), entries
        cover_pages = len(rendered.pages)
    raise RecordsError("cover_unstable", "The cover letter could not be laid out.")
