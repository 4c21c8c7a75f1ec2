"""PAdES signatures on record packages, checked by two independent validators.

pyHanko's validator (trusting the test's own self-signed certificate) and poppler's
``pdfsig`` (NSS, what Linux PDF readers use) must both call a fresh package intact and
validly signed, and both must notice one changed byte. The certificate is made per test
session in a temporary directory and configured through settings, as production would.
"""

from __future__ import annotations

import asyncio
import io
import re
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from records import signing
from records.package import SourceDocument, package_build
from records.signing import (
    SIGNATURE_REASON,
    SignatureStatus,
    package_sign,
    signature_status,
    signing_check,
)
from support.env import ConfigError
from tests.production_env import GOOD, settings_load
from tests.records.factories import (
    COVER,
    ORGANISATION,
    Identity,
    built_sample,
    identity_make,
    pdf_pages,
)


def one_byte_changed(pdf: bytes) -> bytes:
    """The package with one letter of its title changed, inside the signed byte range."""
    position = pdf.index(b"(Copy of health records from") + 1
    first_range_end = int(re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)", pdf).group(1))  # type: ignore[union-attr]
    assert position < first_range_end
    altered = bytearray(pdf)
    altered[position] = ord("K")  # "Copy" -> "Kopy"
    return bytes(altered)


class TestPyHankoValidation:
    def test_a_signed_package_is_intact_and_valid_to_whoever_trusts_our_certificate(
        self, organisation: Identity
    ) -> None:
        status = signature_status(package_sign(built_sample().pdf), trust=[organisation.cert_bytes])
        assert status.intact and status.valid

    def test_signing_and_checking_work_inside_a_running_event_loop(
        self, organisation: Identity
    ) -> None:
        # An ASGI server, or Playwright's driver in the browser tests, runs a loop here.
        async def sign_and_check() -> SignatureStatus:
            signed = package_sign(built_sample().pdf)
            return signature_status(signed, trust=[organisation.cert_bytes])

        # In a thread of its own, whatever loop the test session's thread may run.
        with ThreadPoolExecutor(max_workers=1) as pool:
            status = pool.submit(asyncio.run, sign_and_check()).result()
        assert status.intact and status.valid

    def test_the_signer_is_named_from_the_certificate(self, organisation: Identity) -> None:
        status = signature_status(package_sign(built_sample().pdf), trust=[organisation.cert_bytes])
        assert status.signer == ORGANISATION
        assert status.signed_at is not None

    def test_it_is_a_pades_signature_with_the_reason_and_location(
        self, organisation: Identity
    ) -> None:
        reader = PdfReader(io.BytesIO(package_sign(built_sample().pdf)))
        field = reader.get_fields()["RecordsPackageSignature"]  # type: ignore[index]
        value = field["/V"]
        assert value["/SubFilter"] == "/ETSI.CAdES.detached"
        assert value["/Reason"] == SIGNATURE_REASON == "Copy of records (45 CFR 164.524)"
        assert value["/Location"] == ORGANISATION
        assert value["/Name"] == ORGANISATION

    def test_one_changed_byte_is_noticed(self, organisation: Identity) -> None:
        altered = one_byte_changed(package_sign(built_sample().pdf))
        status = signature_status(altered, trust=[organisation.cert_bytes])
        assert not status.intact and not status.valid

    def test_a_certificate_nobody_trusts_is_not_valid_though_intact(
        self, organisation: Identity, tmp_path: Path
    ) -> None:
        stranger = identity_make(tmp_path / "stranger")
        status = signature_status(package_sign(built_sample().pdf), trust=[stranger.cert_bytes])
        assert status.intact and not status.valid

    def test_the_trusted_certificate_may_be_given_as_der(self, organisation: Identity) -> None:
        der = x509.load_pem_x509_certificate(organisation.cert_bytes).public_bytes(
            serialization.Encoding.DER
        )
        assert signature_status(package_sign(built_sample().pdf), trust=[der]).valid

    def test_an_unsigned_pdf_is_neither_intact_nor_valid(self, organisation: Identity) -> None:
        status = signature_status(built_sample().pdf, trust=[organisation.cert_bytes])
        assert (status.intact, status.valid, status.signer) == (False, False, "")

    def test_an_old_signature_inside_a_source_document_is_left_behind(
        self, organisation: Identity
    ) -> None:
        already_signed = SourceDocument(
            "signed-elsewhere.pdf", "application/pdf", package_sign(pdf_pages("Signed report"))
        )
        built = package_build(cover=COVER, documents=[already_signed])
        signed = package_sign(built.pdf)
        assert len(PdfReader(io.BytesIO(signed)).get_fields() or {}) == 1
        assert signature_status(signed, trust=[organisation.cert_bytes]).valid


class TestPdfsig:
    def test_it_says_the_signature_is_valid_and_our_self_signed_issuer_untrusted(
        self, organisation: Identity, pdfsig: Callable[[bytes], list[str]]
    ) -> None:
        report = pdfsig(package_sign(built_sample().pdf))
        assert "Signature #1:" in report and "Signature #2:" not in report
        assert "- Signer Certificate Common Name: Riverside Community Health" in report
        assert "- Signature Type: ETSI.CAdES.detached" in report
        assert "- Total document signed" in report
        assert "- Signature Validation: Signature is Valid." in report
        assert "- Certificate Validation: Certificate issuer isn't Trusted." in report

    def test_it_says_a_package_with_one_changed_byte_does_not_match(
        self, organisation: Identity, pdfsig: Callable[[bytes], list[str]]
    ) -> None:
        report = pdfsig(one_byte_changed(package_sign(built_sample().pdf)))
        assert "- Signature Validation: Digest Mismatch." in report
        assert "- Signature Validation: Signature is Valid." not in report


class TestSignerConfiguration:
    def test_the_signer_is_loaded_once_per_process(self, organisation: Identity) -> None:
        package_sign(built_sample().pdf)
        package_sign(built_sample().pdf)
        info = signing._signer_load.cache_info()
        assert (info.misses, info.hits) == (1, 1)

    @pytest.mark.parametrize("kind", ["rsa", "ec"])
    def test_each_signature_uses_the_key_parsed_at_load(
        self, kind: str, signed_as: Callable[..., None], tmp_path: Path, monkeypatch: Any
    ) -> None:
        identity = identity_make(tmp_path, key_kind=kind)
        signed_as(identity)
        package_sign(built_sample().pdf)  # loads the signer

        def parse_again(*args: object, **kwargs: object) -> None:
            raise AssertionError("the private key was parsed again")

        monkeypatch.setattr(serialization, "load_der_private_key", parse_again)
        status = signature_status(package_sign(built_sample().pdf), trust=[identity.cert_bytes])
        assert status.valid

    def test_an_encrypted_key_opens_with_its_password(
        self, signed_as: Callable[..., None], tmp_path: Path
    ) -> None:
        identity = identity_make(tmp_path, password="correct horse battery")
        signed_as(identity, password="correct horse battery")
        status = signature_status(package_sign(built_sample().pdf), trust=[identity.cert_bytes])
        assert status.valid

    def test_a_wrong_key_password_is_a_configuration_error_naming_the_variable(
        self, signed_as: Callable[..., None], tmp_path: Path
    ) -> None:
        identity = identity_make(tmp_path, password="correct horse battery")
        signed_as(identity, password="wrong")
        with pytest.raises(ConfigError, match="RECORDS_SIGNING_KEY_FILE"):
            package_sign(built_sample().pdf)

    def test_a_key_that_is_not_the_certificates_is_refused(
        self, signed_as: Callable[..., None], organisation_identity: Identity, tmp_path: Path
    ) -> None:
        other = identity_make(tmp_path)
        signed_as(Identity(organisation_identity.cert, other.key))
        with pytest.raises(ConfigError, match="does not hold the key of the"):
            package_sign(built_sample().pdf)

    def test_an_unreadable_certificate_file_is_named(
        self, signed_as: Callable[..., None], organisation_identity: Identity, tmp_path: Path
    ) -> None:
        signed_as(Identity(tmp_path / "missing.pem", organisation_identity.key))
        with pytest.raises(ConfigError, match="RECORDS_SIGNING_CERT_FILE names a file"):
            package_sign(built_sample().pdf)

    def test_an_ec_p256_certificate_also_signs(
        self, signed_as: Callable[..., None], tmp_path: Path
    ) -> None:
        identity = identity_make(tmp_path, key_kind="ec")
        signed_as(identity)
        status = signature_status(package_sign(built_sample().pdf), trust=[identity.cert_bytes])
        assert status.valid

    def test_the_deploy_check_reports_an_unusable_certificate_in_production(
        self, signed_as: Callable[..., None], settings: Any, tmp_path: Path
    ) -> None:
        settings.PRODUCTION = True
        signed_as(Identity(tmp_path / "cert.pem", tmp_path / "key.pem"))
        assert [message.id for message in signing_check()] == ["records.E001"]

    def test_the_deploy_check_passes_a_usable_certificate(
        self, organisation: Identity, settings: Any
    ) -> None:
        settings.PRODUCTION = True
        assert signing_check() == []


class TestProductionSettings:
    @pytest.mark.parametrize("missing", ["RECORDS_SIGNING_CERT_FILE", "RECORDS_SIGNING_KEY_FILE"])
    def test_production_refuses_to_start_without(self, missing: str) -> None:
        result = settings_load({k: v for k, v in GOOD.items() if k != missing})
        assert result.returncode != 0
        assert f"ConfigError: {missing} must be set in production" in result.stderr


class TestDemoCertificate:
    def test_the_command_makes_a_certificate_for_the_organisation_and_a_private_key(
        self, tmp_path: Path
    ) -> None:
        out = io.StringIO()
        call_command("records_demo_certificate", directory=tmp_path, stdout=out)
        assert "Made the demo signing certificate" in out.getvalue()
        assert stat.S_IMODE((tmp_path / "demo-key.pem").stat().st_mode) == 0o600
        certificate = x509.load_pem_x509_certificate((tmp_path / "demo-cert.pem").read_bytes())
        assert certificate.subject.rfc4514_string() == f"CN={ORGANISATION}"
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment
        lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
        assert 5 * 365 <= lifetime.days <= 5 * 366

    def test_running_it_again_keeps_the_certificate(self, tmp_path: Path) -> None:
        signing.demo_certificate_ensure(directory=tmp_path)
        first = (tmp_path / "demo-cert.pem").read_bytes()
        again = signing.demo_certificate_ensure(directory=tmp_path)
        assert not again.created
        assert (tmp_path / "demo-cert.pem").read_bytes() == first

    def test_a_renamed_organisation_gets_a_new_certificate(
        self, tmp_path: Path, settings: Any
    ) -> None:
        signing.demo_certificate_ensure(directory=tmp_path)
        settings.ORGANISATION_NAME = "Lakeside Health Partners"
        assert signing.demo_certificate_ensure(directory=tmp_path).created

    def test_it_refuses_in_production(self, settings: Any, tmp_path: Path) -> None:
        settings.PRODUCTION = True
        with pytest.raises(CommandError, match="refuses to run in production"):
            call_command("records_demo_certificate", directory=tmp_path)
        assert not (tmp_path / "demo-key.pem").exists()

    def test_demo_mode_signs_with_no_configuration_at_all(
        self, settings: Any, tmp_path: Path, signed_as: Callable[..., None]
    ) -> None:
        settings.RECORDS_DEMO_SIGNING_DIR = tmp_path
        signed_as(Identity(tmp_path / "demo-cert.pem", tmp_path / "demo-key.pem"))
        signed = package_sign(built_sample().pdf)
        status = signature_status(signed, trust=[(tmp_path / "demo-cert.pem").read_bytes()])
        assert status.valid and status.signer == settings.ORGANISATION_NAME
