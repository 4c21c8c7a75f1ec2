"""The record package: cover letter and index, then the documents, in order (no database).

Read back with pypdf, as a patient's PDF reader would show it: page texts, page count,
page sizes, bookmarks.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    Destination,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from records.errors import RecordsError
from records.package import EN_DASH, SourceDocument, package_build
from tests.records.factories import COVER, built_sample, pdf_pages, sample_documents

LETTER = (612, 792)  # points
MARGIN = 42.5  # 1.5 cm, less a rounding hair


def texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def one_line(text: str) -> str:
    return " ".join(text.split())


class TestCover:
    def test_it_names_the_organisation_the_patient_and_the_mrn(self) -> None:
        cover = one_line(texts(built_sample().pdf)[0])
        assert cover.startswith("Riverside Community Health Copy of health records")
        assert "Patient Josefina Marquez-Whitfield" in cover
        assert "Medical record number RCH-004217" in cover

    def test_it_gives_the_date_received_and_the_date_prepared(self) -> None:
        cover = one_line(texts(built_sample().pdf)[0])
        assert "Request received 31 January 2025" in cover
        assert "Date prepared 14 February 2025" in cover

    def test_it_says_whom_it_was_prepared_for(self) -> None:
        cover = one_line(texts(built_sample().pdf)[0])
        assert "Prepared for Dr Amara Okafor, Lakeside Cardiology" in cover

    def test_the_index_lists_each_document_with_its_kind_and_pages(self) -> None:
        cover = one_line(texts(built_sample().pdf)[0])
        assert "Cover letter and index Letter page 1" in cover
        assert f"1 Laboratory results 2024 PDF pages 2{EN_DASH}4" in cover
        assert "2 referral-scan.png PNG image page 5" in cover
        assert "3 wound-photo.jpg JPEG image page 6" in cover
        assert "4 discharge.pdf PDF page 7" in cover

    def test_a_long_index_moves_every_page_range_past_the_longer_cover(self) -> None:
        many = [
            SourceDocument(f"visit-{n:02}.pdf", "application/pdf", pdf_pages(f"Visit note {n:02}"))
            for n in range(1, 61)
        ]
        pages = texts(package_build(cover=COVER, documents=many).pdf)
        cover_pages = next(i for i, text in enumerate(pages) if "Visit note 01" in text)
        assert cover_pages >= 2
        index = one_line(" ".join(pages[:cover_pages]))
        assert f"pages 1{EN_DASH}{cover_pages}" in index
        assert f"60 visit-60.pdf PDF page {cover_pages + 60}" in index
        assert "Visit note 60" in pages[cover_pages + 59]


class TestDocuments:
    def test_they_follow_the_cover_in_the_order_given(self) -> None:
        pages = texts(built_sample().pdf)
        assert [p.strip() for p in pages[1:4]] == [
            "Lipid panel page one",
            "Lipid panel page two",
            "Lipid panel page three",
        ]
        assert pages[4].strip() == pages[5].strip() == ""  # the two images
        assert pages[6].strip() == "Discharge summary after stenting"

    def test_the_page_count_is_the_cover_plus_every_document_page(self) -> None:
        built = built_sample()
        assert built.pages == 7
        assert len(PdfReader(io.BytesIO(built.pdf)).pages) == 7

    def test_an_image_fills_one_letter_page_inside_the_margins(self) -> None:
        reader = PdfReader(io.BytesIO(built_sample().pdf))
        for index in (4, 5):
            page = reader.pages[index]
            assert tuple(round(v) for v in page.mediabox[2:]) == LETTER
            x, y, width, height = _image_box(page)
            assert x >= MARGIN and y >= MARGIN  # inside the 1.5 cm margins
            assert x + width <= LETTER[0] - MARGIN and y + height <= LETTER[1] - MARGIN
            # as large as the margins allow: it touches them on one axis
            assert max(width / (LETTER[0] - 2 * MARGIN), height / (LETTER[1] - 2 * MARGIN)) > 0.99

    def test_the_bookmarks_follow_the_index(self) -> None:
        reader = PdfReader(io.BytesIO(built_sample().pdf))
        marks = [
            (item.title, reader.get_destination_page_number(item))
            for item in reader.outline
            if isinstance(item, Destination)  # a list would be nested bookmarks: none here
        ]
        assert len(marks) == len(reader.outline)
        assert marks == [
            ("Cover letter and index", 0),
            ("Laboratory results 2024", 1),
            ("referral-scan.png", 4),
            ("wound-photo.jpg", 5),
            ("discharge.pdf", 6),
        ]

    def test_a_pdf_that_does_not_parse_is_refused_by_position_not_by_name(self) -> None:
        broken = SourceDocument("hiv-test-result.pdf", "application/pdf", b"%PDF-1.7\nnot a pdf")
        with pytest.raises(RecordsError) as refused:
            package_build(cover=COVER, documents=[sample_documents()[0], broken])
        assert refused.value.code == "document_unreadable"
        assert refused.value.message == "Document 2 could not be read as a PDF."

    def test_an_image_that_does_not_decode_is_refused(self) -> None:
        broken = SourceDocument("x.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        with pytest.raises(RecordsError) as refused:
            package_build(cover=COVER, documents=[broken])
        assert refused.value.message == "Document 1 could not be read as an image."

    def test_a_package_needs_a_document(self) -> None:
        with pytest.raises(RecordsError) as refused:
            package_build(cover=COVER, documents=[])
        assert refused.value.code == "no_documents"


def _with_active_content(pdf: bytes) -> bytes:
    """A source carrying everything a package must not: open and page actions, a
    JavaScript link, a file attachment, an embedded file; and one honest web link."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    writer.root_object[NameObject("/OpenAction")] = _action("/JavaScript", "/JS", "app.alert(1)")
    writer.add_attachment("payload.exe", b"MZ")
    page = writer.pages[0]
    page[NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): _action("/JavaScript", "/JS", "app.alert('page')")}
    )
    annotations = ArrayObject()
    for subtype, action in (
        ("/Link", _action("/JavaScript", "/JS", "app.alert('link')")),
        ("/Link", _action("/URI", "/URI", "https://example.org/results")),
        ("/FileAttachment", None),
    ):
        annotation = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject(subtype),
                NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (10, 10, 50, 50)]),
            }
        )
        if action is not None:
            annotation[NameObject("/A")] = action
        annotations.append(writer._add_object(annotation))
    page[NameObject("/Annots")] = annotations
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _action(kind: str, key: str, value: str) -> DictionaryObject:
    return DictionaryObject(
        {NameObject("/S"): NameObject(kind), NameObject(key): TextStringObject(value)}
    )


class TestActiveContent:
    def test_nothing_in_the_package_runs_opens_or_carries_a_file(self) -> None:
        source = SourceDocument(
            "clinic-letter.pdf", "application/pdf", _with_active_content(pdf_pages("A letter"))
        )
        built = package_build(cover=COVER, documents=[source])
        reader = PdfReader(io.BytesIO(built.pdf))
        root: Any = reader.trailer["/Root"]
        assert "/OpenAction" not in root
        names = root.get("/Names", {})
        assert "/JavaScript" not in names and "/EmbeddedFiles" not in names
        letter = reader.pages[1]
        assert "/AA" not in letter
        kept = [a.get_object() for a in letter.get("/Annots", [])]
        assert [a["/Subtype"] for a in kept] == ["/Link", "/Link"]
        assert [a.get("/A", {}).get("/URI") for a in kept] == [None, "https://example.org/results"]

    def test_the_letter_itself_is_still_there(self) -> None:
        source = SourceDocument(
            "clinic-letter.pdf", "application/pdf", _with_active_content(pdf_pages("A letter"))
        )
        assert "A letter" in texts(package_build(cover=COVER, documents=[source]).pdf)[1]


class TestProgress:
    def test_it_is_reported_once_per_document_with_the_total(self) -> None:
        calls: list[tuple[int, int]] = []
        package_build(
            cover=COVER,
            documents=sample_documents(),
            progress=lambda done, total: calls.append((done, total)),
        )
        assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def _image_box(page: PageObject) -> tuple[float, float, float, float]:
    """Where the page's image is drawn, in points: (x, y, width, height)."""
    placed: list[list[float]] = []

    def visit(operator: bytes, _args: object, cm: list[float], _tm: object) -> None:
        if operator == b"Do":
            placed.append(cm)

    page.extract_text(visitor_operand_before=visit)
    a, _b, _c, d, e, f = placed[0]
    return e, f, a, d
