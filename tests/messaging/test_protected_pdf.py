"""A message or a signed record package as one AES-256 password-protected PDF.

Real parts only: WeasyPrint draws, pypdf merges and encrypts, pypdf and Debian's qpdf
read it back (two independent implementations of the security handler), pyHanko
validates the package's signature after the trip.
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils.safestring import mark_safe
from pypdf import PasswordType, PdfReader, PdfWriter
from pypdf.errors import FileNotDecryptedError
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from messaging.errors import MessagingError
from messaging.protected_pdf import (
    SPOKEN_ALPHABET,
    message_pdf,
    password_new,
    protect,
)
from records.signing import package_sign, signature_status
from tests.records.factories import Identity, built_sample, image, pdf_pages

QPDF = shutil.which("qpdf") or "/usr/bin/qpdf"
PASSWORD = "K7QM-3XPA-WD9F-RT2H"
SUBJECT = "Your test results from 3 March"


def a_message(**overrides: Any) -> bytes:
    values: dict[str, Any] = {
        "subject_line": SUBJECT,
        "body_html_or_text": "Dear Ana,\nyour results are attached.",
        "attachments": [],
        "organisation": "Riverside Community Health",
        "language": "en",
    }
    return message_pdf(**(values | overrides))


def opened(pdf: bytes, password: str = PASSWORD) -> PdfReader:
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.decrypt(password) != PasswordType.NOT_DECRYPTED
    return reader


def page_texts(reader: PdfReader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def javascript(code: str) -> DictionaryObject:
    return DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject(code)}
    )


def with_javascript(pdf: bytes) -> bytes:
    """The PDF with JavaScript run on opening the document, in its name tree, and on
    opening its first page."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    writer.root_object[NameObject("/OpenAction")] = javascript("app.alert(1)")
    names = ArrayObject([TextStringObject("hello"), writer._add_object(javascript("app.alert(2)"))])
    writer.root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): DictionaryObject({NameObject("/Names"): names})}
    )
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): javascript("app.alert(3)")}
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def qpdf(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[bytes]]:
    """Run Debian's qpdf on a PDF with the given arguments; its output as bytes."""
    if not os.path.exists(QPDF):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"qpdf not found at {QPDF} (CI=true: no skipping)")
        pytest.skip("qpdf (Debian qpdf) is not installed")

    def run(pdf: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
        path = tmp_path / "protected.pdf"
        path.write_bytes(pdf)
        return subprocess.run(
            [QPDF, *args, str(path)], capture_output=True, timeout=60, check=False
        )

    return run


class TestProtect:
    def test_it_opens_with_the_password_on_the_message(self) -> None:
        reader = opened(protect(a_message(), PASSWORD))
        assert SUBJECT in reader.pages[0].extract_text()

    def test_it_shows_nothing_without_the_password(self) -> None:
        reader = PdfReader(io.BytesIO(protect(a_message(), PASSWORD)))
        assert reader.is_encrypted
        with pytest.raises(FileNotDecryptedError):
            reader.pages[0].extract_text()

    def test_a_wrong_password_does_not_open_it(self) -> None:
        reader = PdfReader(io.BytesIO(protect(a_message(), PASSWORD)))
        assert reader.decrypt("K7QM-3XPA-WD9F-RT2J") == PasswordType.NOT_DECRYPTED

    def test_the_subject_is_not_in_the_file_in_clear(self) -> None:
        assert SUBJECT.encode() not in protect(a_message(), PASSWORD)

    def test_it_is_the_aes_256_handler_of_pdf_2(self) -> None:
        encrypt: Any = PdfReader(io.BytesIO(protect(a_message(), PASSWORD))).trailer["/Encrypt"]
        assert (encrypt["/V"], encrypt["/R"]) == (5, 6)
        assert encrypt["/CF"]["/StdCF"]["/CFM"] == "/AESV3"

    def test_the_owner_password_is_not_the_users(self) -> None:
        reader = PdfReader(io.BytesIO(protect(a_message(), PASSWORD)))
        assert reader.decrypt(PASSWORD) == PasswordType.USER_PASSWORD

    def test_qpdf_says_it_requires_a_password(self, qpdf: Callable[..., Any]) -> None:
        assert qpdf(protect(a_message(), PASSWORD), "--requires-password").returncode == 0

    def test_qpdf_does_not_require_one_for_the_unprotected_message(
        self, qpdf: Callable[..., Any]
    ) -> None:
        assert qpdf(a_message(), "--requires-password").returncode == 2

    def test_qpdf_reads_it_as_revision_6_aes_256_with_the_password(
        self, qpdf: Callable[..., Any]
    ) -> None:
        shown = qpdf(protect(a_message(), PASSWORD), f"--password={PASSWORD}", "--show-encryption")
        assert shown.returncode == 0
        assert b"R = 6" in shown.stdout
        assert b"file encryption method: AESv3" in shown.stdout

    def test_qpdf_finds_no_damage_in_it(self, qpdf: Callable[..., Any]) -> None:
        checked = qpdf(protect(a_message(), PASSWORD), f"--password={PASSWORD}", "--check")
        assert checked.returncode == 0, (checked.stdout + checked.stderr).decode()

    def test_qpdf_refuses_a_wrong_password(self, qpdf: Callable[..., Any]) -> None:
        checked = qpdf(protect(a_message(), PASSWORD), "--password=wrong", "--check")
        assert checked.returncode == 2 and b"invalid password" in checked.stderr

    def test_it_refuses_to_encrypt_twice(self) -> None:
        with pytest.raises(MessagingError) as refused:
            protect(protect(a_message(), PASSWORD), PASSWORD)
        assert refused.value.code == "pdf_already_encrypted"

    def test_it_needs_a_password(self) -> None:
        with pytest.raises(MessagingError) as refused:
            protect(a_message(), "")
        assert refused.value.code == "pdf_password_missing"

    def test_it_refuses_what_is_not_a_pdf_without_saying_what_it_held(self) -> None:
        with pytest.raises(MessagingError) as refused:
            protect(b"%PDF-1.7\nHIV test result: positive", PASSWORD)
        assert refused.value.code == "pdf_unreadable"
        assert "HIV" not in str(refused.value)


class TestSignedPackage:
    """The package is carried unchanged inside an encrypted wrapper (``protect``'s why)."""

    def signed_and_protected(self) -> tuple[bytes, bytes]:
        signed = package_sign(built_sample().pdf)
        return signed, protect(signed, PASSWORD)

    def test_its_signature_validates_after_decryption(self, organisation: Identity) -> None:
        _, protected = self.signed_and_protected()
        (attached,) = opened(protected).attachments.values()
        status = signature_status(attached[0], trust=[organisation.cert_bytes])
        assert status.intact and status.valid

    def test_the_package_travels_byte_for_byte(self, organisation: Identity) -> None:
        signed, protected = self.signed_and_protected()
        assert opened(protected).attachments == {"signed-copy.pdf": [signed]}

    def test_the_package_is_not_in_the_file_in_clear(self, organisation: Identity) -> None:
        _, protected = self.signed_and_protected()
        assert b"Lipid panel" not in protected and b"/ByteRange" not in protected

    def test_the_wrapper_is_encrypted_like_a_message(self, organisation: Identity) -> None:
        _, protected = self.signed_and_protected()
        encrypt: Any = PdfReader(io.BytesIO(protected)).trailer["/Encrypt"]
        assert (encrypt["/V"], encrypt["/R"]) == (5, 6)

    def test_qpdf_says_the_wrapper_requires_a_password(
        self, organisation: Identity, qpdf: Callable[..., Any]
    ) -> None:
        _, protected = self.signed_and_protected()
        assert qpdf(protected, "--requires-password").returncode == 0

    def test_qpdf_takes_out_the_same_bytes_with_the_password(
        self, organisation: Identity, qpdf: Callable[..., Any]
    ) -> None:
        signed, protected = self.signed_and_protected()
        taken = qpdf(protected, f"--password={PASSWORD}", "--show-attachment=signed-copy.pdf")
        assert taken.returncode == 0 and taken.stdout == signed

    def test_its_page_says_where_the_signed_copy_is(self, organisation: Identity) -> None:
        _, protected = self.signed_and_protected()
        assert "signed-copy.pdf" in opened(protected).pages[0].extract_text()

    def test_re_writing_it_instead_would_break_the_signature(self, organisation: Identity) -> None:
        """Why the wrapper: pypdf re-writing the signed file (as encryption does)."""
        signed = package_sign(built_sample().pdf)
        out = io.BytesIO()
        PdfWriter(clone_from=io.BytesIO(signed)).write(out)
        assert not signature_status(out.getvalue(), trust=[organisation.cert_bytes]).intact

    def test_an_unsigned_message_is_encrypted_itself_not_wrapped(self) -> None:
        assert opened(protect(a_message(), PASSWORD)).attachments == {}

    def test_a_message_with_a_signed_pdf_attached_is_not_taken_for_signed(
        self, organisation: Identity
    ) -> None:
        signed = package_sign(built_sample().pdf)
        message = a_message(attachments=[("copy.pdf", "application/pdf", signed)])
        assert b"/ByteRange" not in message  # the old signature is gone, not just unlinked
        reader = opened(protect(message, PASSWORD))
        assert reader.attachments == {} and SUBJECT in reader.pages[0].extract_text()


class TestMessagePdf:
    def test_the_first_page_has_the_subject_body_and_organisation(self) -> None:
        first = page_texts(PdfReader(io.BytesIO(a_message())))[0]
        assert SUBJECT in first and "your results are attached" in first
        assert "Riverside Community Health" in first

    def test_a_plain_text_body_is_printed_as_written_not_as_html(self) -> None:
        pdf = a_message(body_html_or_text="Take <b>two</b> & rest")
        assert "Take <b>two</b> & rest" in page_texts(PdfReader(io.BytesIO(pdf)))[0]

    def test_a_safe_html_body_is_laid_out(self) -> None:
        pdf = a_message(body_html_or_text=mark_safe("<p>Take <strong>two</strong></p>"))
        first = page_texts(PdfReader(io.BytesIO(pdf)))[0]
        assert "Take two" in first and "<strong>" not in first

    def test_each_image_becomes_one_page(self) -> None:
        attachments = [
            ("scan.png", "image/png", image("PNG", (1700, 2200))),
            ("photo.jpg", "image/jpeg", image("JPEG", (3000, 2000))),
        ]
        reader = PdfReader(io.BytesIO(a_message(attachments=attachments)))
        assert len(reader.pages) == 3
        assert all(page.images for page in reader.pages[1:])

    def test_a_wide_image_is_scaled_to_fit_the_page(self) -> None:
        reader = PdfReader(
            io.BytesIO(
                a_message(attachments=[("wide.png", "image/png", image("PNG", (6000, 500)))])
            )
        )
        page = reader.pages[1]
        (placed,) = page.images
        assert placed.image is not None and len(reader.pages) == 2
        assert float(page.mediabox.width) < 700  # a letter or A4 page, not 6000 points wide

    def test_every_page_of_a_pdf_attachment_is_there_in_order(self) -> None:
        letter = pdf_pages("Clinic letter one", "Clinic letter two")
        texts = page_texts(
            PdfReader(io.BytesIO(a_message(attachments=[("l.pdf", "application/pdf", letter)])))
        )
        assert len(texts) == 3
        assert "Clinic letter one" in texts[1] and "Clinic letter two" in texts[2]

    def test_a_text_attachment_is_printed(self) -> None:
        note = ("note.txt", "text/plain", b"Blood pressure 120/80\n  <kept as typed>")
        texts = page_texts(PdfReader(io.BytesIO(a_message(attachments=[note]))))
        assert "Blood pressure 120/80" in texts[1] and "<kept as typed>" in texts[1]

    def test_javascript_and_open_actions_of_an_attachment_are_stripped(self) -> None:
        risky = ("r.pdf", "application/pdf", with_javascript(pdf_pages("Referral")))
        reader = PdfReader(io.BytesIO(a_message(attachments=[risky])))
        root: Any = reader.trailer["/Root"]
        assert "/OpenAction" not in root
        assert "/JavaScript" not in root.get("/Names", {})
        assert "/AA" not in reader.pages[1]
        assert "Referral" in reader.pages[1].extract_text()

    def test_the_javascript_test_file_does_carry_javascript(self) -> None:
        risky: Any = PdfReader(io.BytesIO(with_javascript(pdf_pages("Referral"))))
        root = risky.trailer["/Root"]
        assert "/OpenAction" in root and "/JavaScript" in root["/Names"]
        assert "/AA" in risky.pages[0]

    def test_the_index_names_each_attachment_with_its_pages(self) -> None:
        attachments = [
            ("labs.pdf", "application/pdf", pdf_pages("one", "two")),
            ("scan.png", "image/png", image("PNG", (400, 300))),
        ]
        first = page_texts(PdfReader(io.BytesIO(a_message(attachments=attachments))))[0]
        assert re.search(r"1\s*labs\.pdf\s*PDF\s*pages 2.3", first)
        assert re.search(r"2\s*scan\.png\s*PNG image\s*page 4", first)

    def test_an_attachment_name_is_escaped_in_the_index(self) -> None:
        name = "<img src='file:///etc/passwd'>.png"
        pdf = a_message(attachments=[(name, "image/png", image("PNG", (400, 300)))])
        assert name in page_texts(PdfReader(io.BytesIO(pdf)))[0]

    def test_a_long_index_still_numbers_the_pages_right(self) -> None:
        attachments = [(f"scan-{n}.png", "image/png", image("PNG", (40, 30))) for n in range(60)]
        reader = PdfReader(io.BytesIO(a_message(attachments=attachments)))
        first_pages = len(reader.pages) - 60
        assert first_pages > 1
        text = "".join(page_texts(reader)[:first_pages])
        assert re.search(rf"scan-59\.png\s*PNG image\s*page {first_pages + 60}\b", text)

    def test_it_comes_in_the_patients_language(self) -> None:
        pdf = a_message(attachments=[("a.png", "image/png", image("PNG", (40, 30)))], language="es")
        assert "Archivos adjuntos" in page_texts(PdfReader(io.BytesIO(pdf)))[0]

    def test_an_unreadable_attachment_is_named_by_position_only(self) -> None:
        broken = ("hiv-result.pdf", "application/pdf", b"%PDF-1.7\nnot a pdf")
        with pytest.raises(MessagingError) as refused:
            a_message(attachments=[("ok.png", "image/png", image("PNG", (40, 30))), broken])
        assert refused.value.code == "attachment_unreadable"
        assert refused.value.message == "Attachment 2 could not be read as a PDF."

    def test_an_image_that_does_not_decode_is_refused(self) -> None:
        broken = ("x.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        with pytest.raises(MessagingError) as refused:
            a_message(attachments=[broken])
        assert refused.value.message == "Attachment 1 could not be read as an image."

    def test_a_type_it_does_not_print_is_refused(self) -> None:
        with pytest.raises(MessagingError) as refused:
            a_message(attachments=[("x.zip", "application/zip", b"PK\x03\x04")])
        assert refused.value.code == "attachment_type"


class TestPasswordNew:
    def test_it_is_four_groups_of_four_from_the_alphabet(self) -> None:
        pattern = rf"[{SPOKEN_ALPHABET}]{{4}}(-[{SPOKEN_ALPHABET}]{{4}}){{3}}"
        assert re.fullmatch(pattern, password_new())

    def test_the_alphabet_has_no_look_alikes(self) -> None:
        assert not set("0O1I") & set(SPOKEN_ALPHABET)
        assert len(set(SPOKEN_ALPHABET)) == len(SPOKEN_ALPHABET)

    def test_it_carries_at_least_80_bits(self) -> None:
        symbols = len(password_new().replace("-", ""))
        assert symbols * math.log2(len(SPOKEN_ALPHABET)) >= 80

    def test_each_one_is_new(self) -> None:
        assert len({password_new() for _ in range(1000)}) == 1000

    def test_every_symbol_turns_up(self) -> None:
        seen = set("".join(password_new() for _ in range(200)).replace("-", ""))
        assert seen == set(SPOKEN_ALPHABET)

    def test_it_opens_what_it_protects(self) -> None:
        password = password_new()
        assert SUBJECT in opened(protect(a_message(), password), password).pages[0].extract_text()
