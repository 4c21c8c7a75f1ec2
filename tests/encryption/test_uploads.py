"""What may be attached: sniffed types, clean names, limits, active PDF content."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfWriter

from encryption.uploads import (
    JPEG,
    PDF,
    PDF_MAX_DECODED,
    PNG,
    TEXT,
    AttachmentRefused,
    PdfUncheckable,
    attachment_check,
    clean_name,
    pdf_has_active_content,
    sniff,
)
from tests.encryption.pdfs import blank_pdf, pdf_with_object_stream
from tests.messaging.factories import image_bytes

PNG_BYTES = image_bytes("PNG")
JPEG_BYTES = image_bytes("JPEG")
PDF_BYTES = blank_pdf()
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


class TestSniff:
    @pytest.mark.parametrize(
        ("data", "kind"),
        [(PDF_BYTES, PDF), (PNG_BYTES, PNG), (JPEG_BYTES, JPEG), ("héllo\n".encode(), TEXT)],
    )
    def test_it_knows_each_allowed_type_by_its_bytes(self, data: bytes, kind: str) -> None:
        assert sniff(data) == kind

    def test_it_does_not_take_an_executable_for_text(self) -> None:
        assert sniff(EXE_BYTES) is None

    def test_text_cut_inside_a_multibyte_character_is_still_text(self) -> None:
        assert sniff("é".encode() * 10 + "é".encode()[:1]) == TEXT


class TestCleanName:
    def test_it_drops_the_path(self) -> None:
        assert clean_name("../../etc/passwd") == "passwd"
        assert clean_name("..\\..\\boot.ini") == "boot.ini"

    def test_it_drops_nul_and_control_characters(self) -> None:
        assert clean_name("rep\x00ort\x07.pdf") == "report.pdf"

    def test_it_drops_right_to_left_overrides(self) -> None:
        assert clean_name("invoice\u202egpj.exe") == "invoicegpj.exe"

    def test_a_name_of_nothing_becomes_attachment(self) -> None:
        assert clean_name("../..") == "attachment"
        assert clean_name("\x00\u202e") == "attachment"

    def test_a_long_name_keeps_its_extension(self) -> None:
        name = clean_name("x" * 500 + ".pdf")
        assert len(name) <= 180 and name.endswith(".pdf")


class TestAttachmentCheck:
    def test_it_accepts_a_file_at_the_limit(self, settings: Any) -> None:
        settings.MESSAGING_MAX_FILE_BYTES = 1024
        assert attachment_check(name="a.txt", data=b"a" * 1024).content_type == TEXT

    def test_it_refuses_one_byte_over_the_limit(self, settings: Any) -> None:
        settings.MESSAGING_MAX_FILE_BYTES = 1024
        with pytest.raises(AttachmentRefused, match="larger than the 1 KiB limit"):
            attachment_check(name="a.txt", data=b"a" * 1025)

    def test_it_refuses_an_empty_file(self) -> None:
        with pytest.raises(AttachmentRefused, match=r"“empty\.pdf” is empty"):
            attachment_check(name="empty.pdf", data=b"")

    def test_it_refuses_an_executable_renamed_to_pdf(self) -> None:
        with pytest.raises(AttachmentRefused, match="not a file type we accept"):
            attachment_check(name="results.pdf", data=EXE_BYTES)

    def test_the_type_comes_from_the_content_not_the_name(self) -> None:
        assert attachment_check(name="scan.pdf", data=PNG_BYTES).content_type == PNG

    @pytest.mark.parametrize(
        ("name", "data", "kept"),
        [
            ("lab_results.hta", b"<script>x</script>", "lab_results.hta.txt"),
            ("run.bat", b"del *.*", "run.bat.txt"),
            ("scan.pdf", PNG_BYTES, "scan.pdf.png"),
            ("photo.JPEG", JPEG_BYTES, "photo.JPEG"),
            ("notes.txt", b"hello", "notes.txt"),
        ],
    )
    def test_the_extension_promises_no_more_than_the_content(
        self, name: str, data: bytes, kept: str
    ) -> None:
        assert attachment_check(name=name, data=data).name == kept

    def test_a_type_not_configured_is_refused(self, settings: Any) -> None:
        settings.MESSAGING_ALLOWED_TYPES = ["application/pdf"]
        with pytest.raises(AttachmentRefused, match=r"\(PDF\)"):
            attachment_check(name="x.png", data=PNG_BYTES)

    def test_it_refuses_a_pdf_with_javascript(self) -> None:
        data = pdf_with_object_stream(b"<< /S /JavaScript /JS (app.alert(1)) >>")
        with pytest.raises(AttachmentRefused, match="JavaScript"):
            attachment_check(name="form.pdf", data=data)

    def test_the_refusal_names_the_cleaned_file_name(self) -> None:
        with pytest.raises(AttachmentRefused) as refused:
            attachment_check(name="../\u202eevil\x00.pdf", data=b"")
        assert "“evil.pdf”" in refused.value.message


class TestPdfActiveContent:
    JS = b"<< /S /JavaScript /JS (app.alert(1)) >>"

    def test_a_plain_pdf_is_clean(self) -> None:
        assert not pdf_has_active_content(blank_pdf(pages=3))

    def test_javascript_in_a_compressed_object_stream_is_found(self) -> None:
        data = pdf_with_object_stream(self.JS)
        assert b"JavaScript" not in data  # no byte scan could see it
        assert pdf_has_active_content(data)

    def test_an_obj_string_and_padding_before_the_stream_hide_nothing(self) -> None:
        # The old scanner looked back 4 KiB for "obj" to find /Filter: both fooled it.
        data = pdf_with_object_stream(self.JS, padding=5000, decoy=b" /Note (obj)")
        assert pdf_has_active_content(data)

    def test_predictors_on_the_object_stream_are_applied(self) -> None:
        assert pdf_has_active_content(pdf_with_object_stream(self.JS, predictor=True))

    def test_a_go_to_link_in_an_object_stream_is_clean(self) -> None:
        action = b"<< /S /GoTo /D [3 0 R /Fit] >>"
        assert not pdf_has_active_content(pdf_with_object_stream(action, predictor=True))

    @pytest.mark.parametrize(
        "action",
        [
            b"/Launch /F (cmd.exe)",
            b"/SubmitForm /F (https://x)",
            b"/GoToR /F (a.pdf)",
            b"/ImportData",
        ],
    )
    def test_actions_that_reach_out_are_found(self, action: bytes) -> None:
        assert pdf_has_active_content(pdf_with_object_stream(b"<< /S " + action + b" >>"))

    def test_a_name_behind_hex_escapes_is_found_after_parsing(self) -> None:
        escaped = pdf_with_object_stream(b"<< /S /#4Aava#53cript /JS (x) >>")
        assert pdf_has_active_content(escaped)

    def test_an_embedded_file_is_found(self) -> None:
        writer = PdfWriter(clone_from=io.BytesIO(blank_pdf()))
        writer.add_attachment("payload.exe", b"MZ")
        out = io.BytesIO()
        writer.write(out)
        assert pdf_has_active_content(out.getvalue())

    def test_a_pdf_that_does_not_parse_cannot_be_checked(self) -> None:
        with pytest.raises(PdfUncheckable):
            pdf_has_active_content(b"%PDF-1.7\nnot a pdf at all")

    def test_an_encrypted_pdf_cannot_be_checked_and_is_refused(self) -> None:
        writer = PdfWriter(clone_from=io.BytesIO(blank_pdf()))
        writer.encrypt(user_password="", owner_password="owner")
        out = io.BytesIO()
        writer.write(out)
        with pytest.raises(AttachmentRefused, match="cannot check"):
            attachment_check(name="locked.pdf", data=out.getvalue())

    def test_an_object_stream_past_the_decoding_budget_cannot_be_checked(self) -> None:
        filler = b"<< /S /GoTo /D [3 0 R /Fit] >>" + b" " * (PDF_MAX_DECODED + 1)
        with pytest.raises(PdfUncheckable):
            pdf_has_active_content(pdf_with_object_stream(filler))


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (a decompression bomb's shape)."""
    import struct
    import zlib as _zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = _zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = _zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)


class TestImageSize:
    def test_an_image_claiming_too_many_pixels_is_refused_before_decoding(
        self, settings: Any
    ) -> None:
        settings.MESSAGING_MAX_IMAGE_PIXELS = 40_000_000
        with pytest.raises(AttachmentRefused, match="larger than 40 megapixels"):
            attachment_check(name="scan.png", data=_png_header(20_000, 20_000))

    def test_an_ordinary_photo_size_passes(self) -> None:
        checked = attachment_check(name="photo.png", data=_png_header(4000, 3000))
        assert checked.content_type == PNG

    def test_nothing_decodes_past_the_cap_anywhere(self, settings: Any) -> None:
        from PIL import Image

        assert Image.MAX_IMAGE_PIXELS == settings.MESSAGING_MAX_IMAGE_PIXELS


class TestMemory:
    def test_checking_and_storing_an_upload_never_copies_it_whole(
        self, db: Any, file_store_dir: Any
    ) -> None:
        import tracemalloc

        from encryption import files

        size = 20 * 1024 * 1024
        upload = io.BytesIO(_png_header(2000, 2000) + b"\0" * size)
        tracemalloc.start()
        try:
            checked = attachment_check(name="scan.png", data=upload.getbuffer())
            files.file_store(source=checked.reader(), name=checked.name)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < size / 4, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB upload"
