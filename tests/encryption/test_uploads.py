"""What may be attached: sniffed types, clean names, limits, active PDF content."""

from __future__ import annotations

import zlib
from typing import Any

import pytest

from encryption.uploads import (
    JPEG,
    PDF,
    PNG,
    TEXT,
    AttachmentRefused,
    PdfUncheckable,
    attachment_check,
    clean_name,
    pdf_has_active_content,
    sniff,
)

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG_BYTES = b"\xff\xd8\xff\xe0" + b"\x00" * 32
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
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
        data = PDF_BYTES + b"2 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj\n"
        with pytest.raises(AttachmentRefused, match="JavaScript"):
            attachment_check(name="form.pdf", data=data)

    def test_the_refusal_names_the_cleaned_file_name(self) -> None:
        with pytest.raises(AttachmentRefused) as refused:
            attachment_check(name="../\u202eevil\x00.pdf", data=b"")
        assert "“evil.pdf”" in refused.value.message


class TestPdfActiveContent:
    def test_javascript_hidden_in_a_compressed_stream_is_found(self) -> None:
        hidden = zlib.compress(b"<< /Type /Action /S /JavaScript /JS (x) >>")
        data = PDF_BYTES + b"3 0 obj << /Filter /FlateDecode >>\nstream\n" + hidden + b"\nendstream"
        assert pdf_has_active_content(data)

    def test_a_launch_action_is_found(self) -> None:
        assert pdf_has_active_content(PDF_BYTES + b"<< /S /Launch /F (cmd.exe) >>")

    def test_a_plain_pdf_is_clean(self) -> None:
        assert not pdf_has_active_content(PDF_BYTES)

    def test_a_name_hidden_behind_hex_escapes_is_found(self) -> None:
        assert pdf_has_active_content(PDF_BYTES + b"<< /S /#4AavaScript /JS (x) >>")
        assert pdf_has_active_content(PDF_BYTES + b"<< /S /J#53 >>")

    def test_javascript_in_an_ascii_hex_stream_is_found(self) -> None:
        hidden = b"<< /S /JavaScript /JS (x) >>".hex().encode() + b">"
        data = PDF_BYTES + b"4 0 obj << /Filter /ASCIIHexDecode >>\nstream\n" + hidden
        assert pdf_has_active_content(data + b"\nendstream\nendobj")

    def test_javascript_behind_two_filters_is_found(self) -> None:
        import base64

        hidden = base64.a85encode(zlib.compress(b"/JavaScript")) + b"~>"
        header = b"5 0 obj << /Filter [/ASCII85Decode /FlateDecode] >>\nstream\n"
        assert pdf_has_active_content(PDF_BYTES + header + hidden + b"\nendstream")

    @pytest.mark.parametrize("action", [b"/SubmitForm", b"/XFA", b"/GoToR", b"/ImportData"])
    def test_other_actions_that_reach_out_are_found(self, action: bytes) -> None:
        assert pdf_has_active_content(PDF_BYTES + b"<< /S " + action + b" >>")

    def test_an_encoding_we_do_not_decode_cannot_be_checked(self) -> None:
        data = PDF_BYTES + b"6 0 obj << /Filter /LZWDecode >>\nstream\nxx\nendstream"
        with pytest.raises(PdfUncheckable):
            pdf_has_active_content(data)

    def test_an_encrypted_pdf_cannot_be_checked_and_is_refused(self) -> None:
        with pytest.raises(AttachmentRefused, match="cannot check"):
            attachment_check(name="locked.pdf", data=PDF_BYTES + b"trailer << /Encrypt 9 0 R >>")

    def test_image_streams_are_passed_over_not_refused(self) -> None:
        clean = PDF_BYTES + b"7 0 obj << /Filter /DCTDecode >>\nstream\n\xff\xd8\x00\nendstream"
        assert pdf_has_active_content(clean) is False

    def test_many_unterminated_streams_are_scanned_in_one_pass(self) -> None:
        # Quadratic scanning would take minutes here; one pass takes milliseconds.
        assert not pdf_has_active_content(PDF_BYTES + b"stream\n" * 200_000)
