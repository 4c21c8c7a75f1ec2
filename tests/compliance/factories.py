"""Compliance objects, made through the real services."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from compliance import services
from compliance.models import BusinessAssociate, PolicyDocument
from encryption.uploads import attachment_check
from tests.encryption.pdfs import PDF_BYTES

EMAIL_POLICY_TEXT = (
    "Use only the portal's secure messages for patient information.\n\n"
    "Never forward a patient's message to a personal address."
)


def policy_published(
    officer: Any, *, kind: str = "email_messaging", **extra: Any
) -> PolicyDocument:
    return services.policy_publish(
        actor=officer,
        kind=kind,
        title=extra.get("title", "E-mail and secure messaging"),
        text=extra.get("text", EMAIL_POLICY_TEXT),
    )


def acknowledged_by_all(document: PolicyDocument, *people: Any) -> None:
    for person in people:
        services.policy_acknowledge(actor=person, document=document)


def associate_added(
    officer: Any,
    *,
    name: str = "Northwind Backup Ltd",
    renewal_on: date | None = None,
    signed_on: date | None = None,
) -> BusinessAssociate:
    today = timezone.localdate()
    return services.associate_add(
        actor=officer,
        name=name,
        service="Encrypted off-site backups",
        signed_on=signed_on or today - timedelta(days=300),
        renewal_on=renewal_on or today + timedelta(days=200),
        scan=attachment_check(name="baa-signed.pdf", data=PDF_BYTES),
    )
