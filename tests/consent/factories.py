"""Authorizations made through the real services, as a patient or the records desk makes them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from consent import services
from consent.models import Authorization, Purpose, RecordCategory
from encryption.uploads import attachment_check
from tests.encryption.pdfs import PDF_BYTES

RECIPIENT_EMAIL = "dr.rivera@northside-clinic.test"


def terms(**overrides: Any) -> services.Terms:
    values: dict[str, Any] = {
        "categories": [RecordCategory.LAB_RESULTS, RecordCategory.VISIT_NOTES],
        "description": "Blood test results and visit notes from 2026",
        "recipient_name": "Dr. Ana Rivera",
        "recipient_organization": "Northside Clinic",
        "recipient_email": RECIPIENT_EMAIL,
        "recipient_address": "12 Harbour Road, Springfield",
        "purposes": [Purpose.CONTINUITY_OF_CARE],
        "expires_on": timezone.localdate() + timedelta(days=365),
        "signer_name": "Pat Patient",
    }
    values.update(overrides)
    return services.Terms(**values)


def authorization_signed(*, patient: Any, **overrides: Any) -> Authorization:
    """Signed by the patient in the portal, now."""
    return services.authorization_sign(actor=patient, terms=terms(**overrides))


def authorization_on_paper(
    *, patient: Any, recorded_by: Any, signed_on: date | None = None, **overrides: Any
) -> Authorization:
    return services.authorization_record_paper(
        actor=recorded_by,
        patient=patient,
        terms=terms(**overrides),
        signed_on=signed_on or timezone.localdate(),
        scan=attachment_check(name="signed-form.pdf", data=PDF_BYTES),
    )
