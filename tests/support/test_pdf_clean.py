"""What a merged PDF keeps (support/pdf_clean.py); the stripping itself is tested where
it is used, in tests/records/test_package.py and tests/messaging/test_protected_pdf.py."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from support.pdf_clean import unreachable_drop


def written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_unlinked_chain() -> PdfWriter:
    """A one-page document holding an object nothing refers to, which refers to another."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    inner = writer._add_object(
        DictionaryObject({NameObject("/Secret"): TextStringObject("left behind")})
    )
    writer._add_object(DictionaryObject({NameObject("/Next"): inner}))
    writer.add_metadata({"/Title": "kept title"})
    return writer


class TestUnreachableDrop:
    def test_an_unlinked_chain_is_left_out_of_the_file(self) -> None:
        writer = with_unlinked_chain()
        unreachable_drop(writer)
        assert b"left behind" not in written(writer)

    def test_without_it_the_chain_would_be_written(self) -> None:
        assert b"left behind" in written(with_unlinked_chain())

    def test_the_document_and_its_information_stay(self) -> None:
        writer = with_unlinked_chain()
        unreachable_drop(writer)
        reader = PdfReader(io.BytesIO(written(writer)))
        assert len(reader.pages) == 1 and reader.metadata is not None
        assert reader.metadata.title == "kept title"
