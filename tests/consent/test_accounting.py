"""The accounting of disclosures as a PDF (45 CFR 164.528): six years, every entry's
elements, and nothing older."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEvent
from consent import selectors, services
from consent.accounting import accounting_pdf
from consent.decision import disclosure_decide
from consent.models import Disclosure, Purpose, RecordCategory
from tests.consent.factories import RECIPIENT_EMAIL, authorization_signed
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db


def disclosed(personas: Any, *, description: str) -> Disclosure:
    """A package released to the authorized recipient now, as the send path records it."""
    authorization_signed(patient=personas.patient)
    package = message_sent(author=personas.clinician, patient=personas.patient, files=[])
    decision = disclosure_decide(
        patient_id=personas.patient.pk,
        recipient_email=RECIPIENT_EMAIL,
        purpose=Purpose.CONTINUITY_OF_CARE,
        categories=[RecordCategory.LAB_RESULTS],
    )
    return services.disclosure_record(
        actor=personas.clinician,
        decision=decision,
        source=package,
        recipient_name="Dr. Ana Rivera, Northside Clinic",
        recipient_address="12 Harbour Road, Springfield",
        description=description,
        purpose=Purpose.CONTINUITY_OF_CARE,
        categories=[RecordCategory.LAB_RESULTS],
    )


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def rendered(personas: Any) -> str:
    return pdf_text(
        accounting_pdf(
            patient=personas.patient,
            entries=selectors.accounting_of(personas.patient),
            requested_by=personas.records_clerk,
        )
    )


class TestAccountingPdf:
    def test_it_lists_each_disclosure_with_its_elements(self, personas: Any) -> None:
        disclosed(personas, description="Lipid panel results")
        text = rendered(personas)
        assert "Penelope Quartermaine" in text and "MRN-555001" in text
        assert "Lipid panel results" in text
        assert "Dr. Ana Rivera, Northside Clinic" in text
        assert "12 Harbour Road, Springfield" in text
        assert "Care by another doctor or clinic" in text
        assert "Signed " + timezone.localdate().strftime("%-d %b %Y") in text

    def test_disclosures_older_than_six_years_are_left_out(self, personas: Any) -> None:
        with time_machine.travel(timezone.now() - timedelta(days=365 * 6 + 10)):
            disclosed(personas, description="Old immunization record")
        disclosed(personas, description="Recent lipid panel")
        text = rendered(personas)
        assert "Recent lipid panel" in text
        assert "Old immunization record" not in text

    def test_an_empty_accounting_says_so(self, personas: Any) -> None:
        text = rendered(personas)
        assert "No disclosures in this period" in text
        assert "Riverside Community Health" in text

    def test_it_states_the_period_covered(self, personas: Any) -> None:
        since = timezone.localtime(selectors.accounting_since()).date()
        assert f"Period covered: {since.strftime('%-d %B %Y')}" in rendered(personas)


class TestAccountingPdfView:
    def url(self, personas: Any) -> str:
        return reverse("consent:accounting_pdf", args=[personas.patient.pk])

    def test_staff_download_it_as_an_uncached_attachment(
        self, personas: Any, client_for: Any
    ) -> None:
        disclosed(personas, description="Lipid panel results")
        response = client_for(personas.records_clerk).get(self.url(personas))
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"].startswith("attachment;")
        assert "no-store" in response["Cache-Control"]
        assert "Lipid panel results" in pdf_text(response.content)

    def test_the_export_is_audited_with_counts_only(self, personas: Any, client_for: Any) -> None:
        disclosed(personas, description="Lipid panel results")
        client_for(personas.records_clerk).get(self.url(personas))
        event = AuditEvent.objects.get(action="consent.accounting_exported")
        assert event.patient_id == personas.patient.pk
        assert event.details == {"entries": 1, "format": "pdf"}

    def test_a_clinician_off_the_care_team_gets_404(self, personas: Any, client_for: Any) -> None:
        url = reverse("consent:accounting_pdf", args=[personas.other_patient.pk])
        assert client_for(personas.clinician).get(url).status_code == 404

    def test_it_needs_a_recent_second_factor(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.records_clerk)
        with time_machine.travel(timezone.now() + timedelta(minutes=10)):  # idle limit: 15
            response = client.get(self.url(personas))
        assert response.status_code == 302
        assert "fresh=1" in response["Location"]
