"""Record requests made through the real services, as the portal or the records desk makes them."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from PIL import Image
from weasyprint import HTML

from consent.models import RecordCategory
from encryption.uploads import attachment_check
from records import services
from records.building import package_build_run
from records.models import ArrivedBy, DeliverTo, RecordRequest, VerificationMethod
from records.package import BuiltPackage, Cover, SourceDocument, package_build
from records.signing import self_signed_certificate
from tests.encryption.pdfs import blank_pdf


def spec(**overrides: Any) -> services.RequestSpec:
    values: dict[str, Any] = {
        "categories": [RecordCategory.LAB_RESULTS, RecordCategory.VISIT_NOTES],
        "deliver_to": DeliverTo.PORTAL,
        "details": "Everything from my knee surgery",
    }
    values.update(overrides)
    return services.RequestSpec(**values)


def request_received(
    *, patient: Any, received_at: datetime | None = None, **overrides: Any
) -> RecordRequest:
    return services.request_receive(
        actor=patient,
        patient=patient,
        spec=spec(**overrides),
        arrived_by=ArrivedBy.PORTAL,
        received_at=received_at,
    )


def request_verified(*, patient: Any, clerk: Any, **overrides: Any) -> RecordRequest:
    request = request_received(patient=patient, **overrides)
    return services.request_verify(
        actor=clerk, request=request, method=VerificationMethod.PORTAL_MFA
    )


def with_document(req: RecordRequest, clerk: Any) -> RecordRequest:
    services.documents_add(
        actor=clerk,
        request=req,
        uploads=[attachment_check(name="visit-notes.pdf", data=blank_pdf())],
    )
    return RecordRequest.objects.get(pk=req.pk)


def built(personas: Any, **overrides: Any) -> RecordRequest:
    """Verified, one document, built and signed by the real builder (no stubs)."""
    clerk = personas.records_clerk
    req = with_document(request_verified(patient=personas.patient, clerk=clerk, **overrides), clerk)
    services.package_build_queue(actor=clerk, request=req)
    assert package_build_run(request_id=str(req.pk)) == "built"
    return RecordRequest.objects.get(pk=req.pk)


COVER = Cover(
    organisation="Riverside Community Health",
    patient_name="Josefina Marquez-Whitfield",
    mrn="RCH-004217",
    received_on=date(2025, 1, 31),
    prepared_on=date(2025, 2, 14),
    prepared_for="Dr Amara Okafor, Lakeside Cardiology",
)


def pdf_pages(*texts: str) -> bytes:
    """A PDF with one page per text, made the way most records are: printed from HTML."""
    pages = "".join(f"<p style='break-after: page'>{text}</p>" for text in texts[:-1])
    return bytes(HTML(string=f"{pages}<p>{texts[-1]}</p>").write_pdf())


def image(kind: str, size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, kind)
    return out.getvalue()


@cache
def sample_documents() -> tuple[SourceDocument, ...]:
    """A 3-page PDF, a PNG, a JPEG and a 1-page PDF: seven pages after a one-page cover."""
    return (
        SourceDocument(
            "labs-2024.pdf",
            "application/pdf",
            pdf_pages("Lipid panel page one", "Lipid panel page two", "Lipid panel page three"),
            title="Laboratory results 2024",
        ),
        SourceDocument("referral-scan.png", "image/png", image("PNG", (1700, 2200))),
        SourceDocument("wound-photo.jpg", "image/jpeg", image("JPEG", (3000, 2000))),
        SourceDocument(
            "discharge.pdf", "application/pdf", pdf_pages("Discharge summary after stenting")
        ),
    )


@cache
def built_sample() -> BuiltPackage:
    return package_build(cover=COVER, documents=sample_documents())


ORGANISATION = "Riverside Community Health"


@dataclass(frozen=True)
class Identity:
    cert: Path
    key: Path

    @property
    def cert_bytes(self) -> bytes:
        return self.cert.read_bytes()


def identity_make(
    directory: Path, *, common_name: str = ORGANISATION, password: str = "", key_kind: str = "rsa"
) -> Identity:
    """A self-signed certificate like the demo's: RSA-3072 (or EC P-256), as PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    key: Any = (
        rsa.generate_private_key(public_exponent=65537, key_size=3072)
        if key_kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    encryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    (directory / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    certificate = self_signed_certificate(key=key, common_name=common_name)
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Identity(directory / "cert.pem", directory / "key.pem")
