"""The accounting of disclosures as a PDF (45 CFR 164.528(b)): what staff hand a patient.

Rendering only: the caller chose the entries (``consent.selectors.accounting_of``) and
records the export.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import User
from consent.models import Disclosure
from consent.selectors import accounting_since
from support.printing import pdf_from_html


def accounting_pdf(*, patient: User, entries: Iterable[Disclosure], requested_by: User) -> bytes:
    profile: Any = getattr(patient, "patient_profile", None)
    with translation.override(patient.language):  # the patient's, whoever asks for it
        html = render_to_string(
            "consent/accounting_pdf.html",
            {
                "organisation": settings.ORGANISATION_NAME,
                "page_size": settings.RECORDS_PAGE_SIZE,
                "name": profile.legal_name if profile else patient.full_name,
                "mrn": profile.mrn if profile else "",
                "since": timezone.localtime(accounting_since()).date(),
                "until": timezone.localdate(),
                "entries": list(entries),
                "generated_at": timezone.localtime(),
                "requested_by": requested_by.full_name,
            },
        )
    return pdf_from_html(html)
