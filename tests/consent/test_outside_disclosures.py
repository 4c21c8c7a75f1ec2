"""Disclosures made outside the portal (45 CFR 164.512) recorded by staff: the form, its
refusals, the encryption of the 164.528(b)(2) elements, the audit event, and where they
appear: the staff page, the patient's accounting in the portal (both languages), the
PDF; and the suspension of 164.528(a)(2)."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import User
from audit.models import AuditEvent
from consent import selectors, services
from consent.models import Disclosure

pytestmark = pytest.mark.django_db

RECIPIENT = "Springfield County Health Department"
ADDRESS = "400 Civic Plaza, Springfield"
DESCRIPTION = "Positive tuberculosis culture of 3 March"
STATEMENT = "Report of a notifiable disease required by the state health code"


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def form_url(patient: User) -> str:
    return reverse("consent:outside_disclosure_record", args=[patient.pk])


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "legal_basis": "public_health",
        "disclosed_on": (timezone.localdate() - timedelta(days=3)).isoformat(),
        "recipient_name": RECIPIENT,
        "recipient_address": ADDRESS,
        "description": DESCRIPTION,
        "categories": ["lab_results"],
        "purpose_statement": STATEMENT,
        "suspended_until": "",
        "suspension_basis": "",
        "not_exempt": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def recorded(personas: Any, **overrides: Any) -> Disclosure:
    entry = services.OutsideDisclosure(
        **{
            "disclosed_on": timezone.localdate() - timedelta(days=3),
            "legal_basis": "public_health",
            "recipient_name": RECIPIENT,
            "recipient_address": ADDRESS,
            "description": DESCRIPTION,
            "purpose_statement": STATEMENT,
            **overrides,
        }
    )
    return services.outside_disclosure_record(
        actor=personas.records_clerk, patient=personas.patient, entry=entry
    )


class TestRecording:
    def test_the_records_clerk_records_one_from_the_consent_page(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.records_clerk)
        page = client.get(reverse("consent:patient", args=[personas.patient.pk]))
        assert form_url(personas.patient) in page.content.decode()
        form = client.get(form_url(personas.patient)).content.decode()
        assert "Do not record these" in form
        assert "164.512(f)" in form  # each purpose with its citation
        assert "correctional institution" in form  # the exempt kinds are explained

        response = client.post(form_url(personas.patient), form_data())

        assert response.status_code == 302
        entry = Disclosure.objects.get(patient=personas.patient)
        assert entry.recipient_name == RECIPIENT
        assert entry.recipient_address == ADDRESS
        assert entry.description == DESCRIPTION
        assert entry.purpose_detail == STATEMENT
        assert entry.legal_basis == "public_health"
        assert entry.accounting_required is True
        assert entry.authorization is None
        assert entry.disclosed_by == personas.records_clerk
        assert timezone.localtime(entry.disclosed_at).date() == (
            timezone.localdate() - timedelta(days=3)
        )
        staff_page = client.get(response["Location"]).content.decode()
        assert RECIPIENT in staff_page
        assert "Public health (such as reporting a disease)" in staff_page

    def test_the_privacy_officer_may_record_one_too(self, personas: Any, client_for: Any) -> None:
        response = client_for(personas.privacy_officer).post(
            form_url(personas.patient), form_data()
        )
        assert response.status_code == 302
        assert Disclosure.objects.filter(patient=personas.patient).count() == 1

    @pytest.mark.parametrize("persona", ["clinician", "patient"])
    def test_clinicians_and_patients_do_not_reach_the_form(
        self, personas: Any, client_for: Any, persona: str
    ) -> None:
        client = client_for(getattr(personas, persona))
        assert client.get(form_url(personas.patient)).status_code == 404
        assert client.post(form_url(personas.patient), form_data()).status_code == 404
        assert not Disclosure.objects.exists()

    def test_a_staff_account_is_not_a_patient(self, personas: Any, client_for: Any) -> None:
        response = client_for(personas.records_clerk).post(
            form_url(personas.clinician), form_data()
        )
        assert response.status_code == 404

    def test_the_elements_are_stored_encrypted(self, personas: Any) -> None:
        entry = recorded(personas)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT recipient_name, recipient_address, description, purpose_detail "
                "FROM consent_disclosure WHERE id = %s",
                [entry.pk],
            )
            columns = cursor.fetchone()
        raw = b" ".join(bytes(value) for value in columns)
        assert len(raw) > len(RECIPIENT + ADDRESS + DESCRIPTION + STATEMENT)
        for text in (b"Springfield", b"tuberculosis", b"notifiable", b"Civic"):
            assert text not in raw

    def test_it_is_audited_with_codes_only(self, personas: Any, client_for: Any) -> None:
        client_for(personas.records_clerk).post(form_url(personas.patient), form_data())
        event = AuditEvent.objects.get(action="consent.outside_disclosure_recorded")
        assert event.actor_id == personas.records_clerk.pk
        assert event.patient_id == personas.patient.pk
        assert event.details["legal_basis"] == "public_health"
        assert event.details["suspended"] is False
        text = str(event.details)
        assert "Springfield" not in text and "tuberculosis" not in text


class TestRefusals:
    def post(self, personas: Any, client_for: Any, **overrides: Any) -> Any:
        return client_for(personas.records_clerk).post(
            form_url(personas.patient), form_data(**overrides)
        )

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"disclosed_on": "2999-01-01"}, "cannot be in the future"),
            ({"not_exempt": None}, "not one of the exempt kinds"),
            ({"legal_basis": "treatment"}, "Select a valid choice"),
            ({"recipient_name": "   "}, "This field is required"),
            ({"description": "x" * 1001}, "at most 1000 characters"),
            ({"recipient_name": "Dr\x00Evil"}, "Null characters are not allowed"),
            (
                {"suspended_until": "2999-01-01", "suspension_basis": "written"},
                "Only a health oversight agency or a law enforcement official",
            ),
            (
                {
                    "legal_basis": "law_enforcement",
                    "suspended_until": (timezone.localdate() + timedelta(days=45)).isoformat(),
                    "suspension_basis": "oral",
                },
                "at most 30 days",
            ),
            (
                {
                    "legal_basis": "law_enforcement",
                    "suspended_until": (timezone.localdate() + timedelta(days=5)).isoformat(),
                    "suspension_basis": "",
                },
                "written or oral",
            ),
        ],
    )
    def test_the_form_says_no_and_records_nothing(
        self, personas: Any, client_for: Any, overrides: dict[str, Any], message: str
    ) -> None:
        response = self.post(personas, client_for, **overrides)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not Disclosure.objects.exists()
        assert not AuditEvent.objects.filter(action="consent.outside_disclosure_recorded").exists()

    def test_markup_is_shown_as_text_to_the_patient(self, personas: Any, client_for: Any) -> None:
        recorded(personas, recipient_name='<script>alert("x")</script>Agency')
        page = client_for(personas.patient).get(reverse("portal:accounting")).content.decode()
        assert '<script>alert("x")</script>' not in page
        assert "&lt;script&gt;" in page


class TestTheAccounting:
    def test_the_patient_reads_it_in_the_portal(self, personas: Any, client_for: Any) -> None:
        recorded(personas)
        page = client_for(personas.patient).get(reverse("portal:accounting")).content.decode()
        assert RECIPIENT in page
        assert DESCRIPTION in page
        assert STATEMENT in page
        assert "Public health (such as reporting a disease)" in page
        assert "the law allows this without it" in page

    def test_in_spanish_too(self, personas: Any, client_for: Any) -> None:
        personas.patient.language = "es"
        personas.patient.save(update_fields=["language"])
        recorded(personas)
        client = client_for(personas.patient)
        page = client.get(reverse("portal:accounting"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
        assert RECIPIENT in page
        assert "Salud pública" in page
        assert "Public health" not in page

    def test_and_in_the_staff_pdf(self, personas: Any, client_for: Any) -> None:
        recorded(personas, legal_basis="judicial", purpose_statement="Subpoena of 2 May")
        response = client_for(personas.records_clerk).get(
            reverse("consent:accounting_pdf", args=[personas.patient.pk])
        )
        text = pdf_text(response.content)
        assert RECIPIENT in text
        assert DESCRIPTION in text
        assert "Court order, subpoena or other legal proceeding: Subpoena of 2 May" in text


class TestSuspension:
    def suspend(self, personas: Any, days: int) -> Disclosure:
        return recorded(
            personas,
            legal_basis="law_enforcement",
            recipient_name="Springfield Police Department",
            suspended_until=timezone.localdate() + timedelta(days=days),
            suspension_basis="written",
        )

    def test_the_patient_does_not_see_it_until_the_day(
        self, personas: Any, client_for: Any
    ) -> None:
        self.suspend(personas, days=60)
        recorded(personas)  # an ordinary one, shown throughout
        portal = client_for(personas.patient).get(reverse("portal:accounting")).content.decode()
        assert "Springfield Police Department" not in portal
        assert RECIPIENT in portal
        pdf = client_for(personas.records_clerk).get(
            reverse("consent:accounting_pdf", args=[personas.patient.pk])
        )
        assert "Springfield Police Department" not in pdf_text(pdf.content)
        staff = client_for(personas.records_clerk).get(
            reverse("consent:patient", args=[personas.patient.pk])
        )
        assert "Springfield Police Department" in staff.content.decode()
        assert "Suspended: hidden from the patient until" in staff.content.decode()

        with time_machine.travel(timezone.now() + timedelta(days=61)):
            shown = selectors.accounting_shown_to_patient(personas.patient)
            assert "Springfield Police Department" in [d.recipient_name for d in shown]

    def test_who_viewed_my_information_does_not_reveal_it(
        self, personas: Any, client_for: Any
    ) -> None:
        self.suspend(personas, days=60)
        page = client_for(personas.patient).get(reverse("audit:my_access_log")).content.decode()
        assert "Shared your information" not in page

    def test_an_oral_statement_holds_it_back_thirty_days(self, personas: Any) -> None:
        entry = recorded(
            personas,
            legal_basis="health_oversight",
            suspended_until=timezone.localdate() + timedelta(days=30),
            suspension_basis="oral",
        )
        assert entry.suspension_basis == "oral"
        assert not selectors.accounting_shown_to_patient(personas.patient).exists()
