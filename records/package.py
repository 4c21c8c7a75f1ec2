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
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

from encryption.uploads import JPEG, PDF, PNG
from records.errors import RecordsError
from support.printing import pdf_from_html, pdf_render

logger = logging.getLogger(__name__)

COVER_TEMPLATE = "records/package_cover.html"
# A cover whose page count changes the index it prints (a longer index, more pages)
# settles in two renderings; this bounds a pathological case.
_COVER_ATTEMPTS = 4
_IMAGE_SCHEME = "records-source:"
_IMAGE_PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><style>"
    "@page {{ size: {size}; margin: 1.5cm; }}"
    "html, body {{ margin: 0; height: 100%; }}"
    "body {{ display: flex; align-items: center; justify-content: center; }}"
    "img {{ display: block; max-width: 100%; max-height: 100%; object-fit: contain; }}"
    "</style></head><body><img src='{src}' alt=''></body></html>"
)
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
    _forms_drop(writer)
    _active_content_strip(writer)
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
        reader = PdfReader(io.BytesIO(source))
        if reader.is_encrypted and not reader.decrypt(""):
            raise RecordsError("document_encrypted", f"Document {position} is password-protected.")
        if len(reader.pages) == 0:
            raise RecordsError("document_empty", f"Document {position} has no pages.")
        writer.append(reader, import_outline=False)
    except RecordsError:
        raise
    except Exception as error:  # a parser of untrusted files fails in many ways
        logger.warning(
            "record package: document %d unreadable (%s)", position, type(error).__name__
        )
        raise RecordsError(
            "document_unreadable", f"Document {position} could not be read as a PDF."
        ) from None


def _image_page(document: SourceDocument, position: int) -> bytes:
    """One page holding the image, scaled to fit inside the margins, upright (EXIF)."""
    try:
        with Image.open(io.BytesIO(document.data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise RecordsError(
            "document_unreadable", f"Document {position} could not be read as an image."
        ) from None
    html = _IMAGE_PAGE.format(size=settings.RECORDS_PAGE_SIZE, src=_IMAGE_SCHEME + "image")
    return pdf_from_html(html, {_IMAGE_SCHEME + "image": (document.data, document.content_type)})


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


def _forms_drop(writer: PdfWriter) -> None:
    """Remove form fields carried over from the sources, and their old signatures.

    A source that was itself signed (a discharge summary from another provider) brings
    a signature field whose byte range described the old file: in the package it would
    show as a broken signature next to ours. Filled-in forms keep their appearance.
    """
    if "/AcroForm" in writer.root_object:
        del writer.root_object[NameObject("/AcroForm")]
    for page in writer.pages:
        annotations = page.get("/Annots")
        if annotations is None:
            continue
        kept = ArrayObject(
            ref for ref in annotations.get_object() if not _is_signature_widget(ref.get_object())
        )
        page[NameObject("/Annots")] = kept


# Annotations a package keeps: links (their action only if it goes to a page or a web
# address) and form widgets, which show a filled-in form's values (the form itself is
# gone, see _forms_drop). Comments, attachments, sounds, movies, 3D and the rest go.
_KEPT_ANNOTATIONS = frozenset({"/Link", "/Widget"})
_KEPT_ACTIONS = frozenset({"/GoTo", "/URI"})


def _active_content_strip(writer: PdfWriter) -> None:
    """Nothing in the package runs, opens or carries anything: the upload check refuses
    such sources, and this holds even for one that got past it (or predates it).

    Removed: the document's open action, additional actions (``/AA``) of the document,
    pages and annotations, JavaScript and embedded files in the name tree, and every
    annotation but links and widgets; a kept annotation keeps only a link's action.
    """
    root = writer.root_object
    for key in ("/OpenAction", "/AA"):
        root.pop(NameObject(key), None)
    names = root.get("/Names")
    if names is not None:
        names = names.get_object()
        for key in ("/JavaScript", "/EmbeddedFiles"):
            names.pop(NameObject(key), None)
    for page in writer.pages:
        page.pop(NameObject("/AA"), None)
        annotations = page.get("/Annots")
        if annotations is None:
            continue
        kept = ArrayObject()
        for ref in annotations.get_object():
            annotation = ref.get_object()
            if not isinstance(annotation, DictionaryObject):
                continue
            if annotation.get("/Subtype") not in _KEPT_ANNOTATIONS:
                continue
            annotation.pop(NameObject("/AA"), None)
            action = annotation.get("/A")
            if action is not None and action.get_object().get("/S") not in _KEPT_ACTIONS:
                annotation.pop(NameObject("/A"), None)
            kept.append(ref)
        page[NameObject("/Annots")] = kept


def _is_signature_widget(annotation: Any) -> bool:
    if not isinstance(annotation, DictionaryObject):
        return False
    field: Any = annotation
    for _ in range(32):  # a field's type may be inherited from its parents
        if field.get("/FT") == "/Sig":
            return True
        parent = field.get("/Parent")
        if parent is None:
            return False
        field = parent.get_object()
    return False
