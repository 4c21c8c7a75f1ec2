"""The patient's sharing screens: signing, reading and revoking authorizations, and the
accounting of disclosures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from consent.decision import disclosure_decide
from consent.models import Authorization, AuthorizationStatus, Disclosure, Purpose, RecordCategory
from consent.services import authorization_revoke, disclosure_record
from consent.statements import VERSION, required_statements
from core.sessions import SESSION_OTP_AT
from tests.conftest import page_query_count
from tests.consent.factories import RECIPIENT_EMAIL, authorization_signed
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db

NEW = reverse("portal:sharing_new")


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "categories": [RecordCategory.LAB_RESULTS],
        "records_from": "2026-01-01",
        "records_to": "2026-06-30",
        "description": "Blood test results from my spring check-up",
        "recipient_name": "Dr. Ana Rivera",
        "recipient_organization": "Northside Clinic",
        "recipient_email": RECIPIENT_EMAIL,
        "recipient_address": "12 Harbour Road, Springfield",
        "purposes": [Purpose.CONTINUITY_OF_CARE],
        "expires_on": (timezone.localdate() + timedelta(days=90)).isoformat(),
        "signer": "patient",
        "signer_name": "Penelope Quartermaine",
        "agree": "on",
    }
    data.update(overrides)
    return data


def detail_url(auth: Authorization) -> str:
    return reverse("portal:sharing_detail", args=[auth.pk])


def stale(client: Any) -> Any:
    session = client.session
    session[SESSION_OTP_AT] = 0
    session.save()
    return client


def disclosed(personas: Any, auth: Authorization, description: str = "Lab results") -> Disclosure:
    """What staff sending a package under ``auth`` leaves in the accounting."""
    decision = disclosure_decide(
        patient_id=auth.patient_id,
        recipient_email=auth.recipient_email,
        purpose=auth.purposes[0],
        categories=auth.categories[:1],
    )
    return disclosure_record(
        actor=personas.records_clerk,
        decision=decision,
        source=message_sent(author=personas.records_clerk, patient=auth.patient, files=[]),
        recipient_name=auth.recipient_name,
        recipient_address=auth.recipient_address,
        description=description,
        purpose=auth.purposes[0],
        categories=auth.categories[:1],
    )


class TestList:
    def test_it_shows_each_authorization_with_its_status(
        self, personas: Any, client_for: Any
    ) -> None:
        authorization_signed(patient=personas.patient, recipient_name="Dr. Ana Rivera")
        gone = authorization_signed(patient=personas.patient, recipient_name="Acme Insurance")
        authorization_revoke(actor=personas.patient, authorization=gone, source="portal")
        page = client_for(personas.patient).get(reverse("portal:sharing")).content.decode()
        assert "Dr. Ana Rivera" in page and "Acme Insurance" in page
        assert "Active" in page and "Revoked" in page
        assert NEW in page and reverse("portal:accounting") in page

    def test_another_patients_authorizations_are_not_listed(
        self, personas: Any, client_for: Any
    ) -> None:
        authorization_signed(patient=personas.other_patient, recipient_name="Ulrich's Lawyer")
        page = client_for(personas.patient).get(reverse("portal:sharing")).content.decode()
        assert "Lawyer" not in page
        assert "You have not given anyone permission" in page


class TestSigning:
    def test_the_form_needs_a_fresh_second_factor(self, personas: Any, client_for: Any) -> None:
        response = stale(client_for(personas.patient)).get(NEW)
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))
        assert "fresh=1" in response["Location"]

    def test_a_stale_session_signs_nothing(self, personas: Any, client_for: Any) -> None:
        response = stale(client_for(personas.patient)).post(NEW, form_data())
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))
        assert not Authorization.objects.exists()

    def test_the_form_shows_the_required_statements(self, personas: Any, client_for: Any) -> None:
        page = client_for(personas.patient).get(NEW).content.decode()
        for heading, _text in required_statements():
            assert heading in page
        assert VERSION in page
        assert settings.ORGANISATION_NAME in page

    def test_a_missing_element_is_named_and_the_fields_are_kept(
        self, personas: Any, client_for: Any
    ) -> None:
        response = client_for(personas.patient).post(
            NEW, form_data(purposes=[], expires_on="", recipient_name="Dr. Kept Name")
        )
        page = response.content.decode()
        assert response.status_code == 400
        assert "each purpose of the disclosure" in page
        assert "an expiration date or event" in page
        assert 'aria-describedby="id_purposes_helptext id_purposes_error"' in page
        assert 'value="Dr. Kept Name"' in page
        assert "Blood test results from my spring check-up" in page
        assert not Authorization.objects.exists()
        assert AuditEvent.objects.filter(action="consent.authorization_refused").count() == 1

    def test_other_needs_a_described_purpose(self, personas: Any, client_for: Any) -> None:
        response = client_for(personas.patient).post(NEW, form_data(purposes=[Purpose.OTHER]))
        assert "a description of the purpose marked" in response.content.decode()
        assert not Authorization.objects.exists()

    def test_an_unticked_box_signs_nothing_and_missing_elements_are_named_too(
        self, personas: Any, client_for: Any
    ) -> None:
        data = form_data(recipient_name="")
        del data["agree"]
        page = client_for(personas.patient).post(NEW, data).content.decode()
        assert "Tick the box to sign." in page
        assert "who may receive the information (name)" in page
        assert not Authorization.objects.exists()

    def test_signing_makes_an_active_authorization_with_ip_and_audit(
        self, personas: Any, client_for: Any
    ) -> None:
        response = client_for(personas.patient).post(NEW, form_data(), REMOTE_ADDR="203.0.113.9")
        auth = Authorization.objects.get()
        assert response["Location"] == detail_url(auth)
        assert auth.patient == personas.patient and auth.status() == AuthorizationStatus.ACTIVE
        assert auth.signature_ip == "203.0.113.9"
        assert auth.discloser == settings.ORGANISATION_NAME
        assert auth.records_to is not None and auth.records_to.isoformat() == "2026-06-30"
        event = AuditEvent.objects.get(action="consent.authorization_signed")
        assert event.target_id == str(auth.pk) and event.actor_id == personas.patient.pk

    def test_the_discloser_cannot_be_changed(self, personas: Any, client_for: Any) -> None:
        client_for(personas.patient).post(NEW, form_data(discloser="Some Other Clinic"))
        assert Authorization.objects.get().discloser == settings.ORGANISATION_NAME

    def test_a_representative_must_describe_their_authority(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        refused = client.post(NEW, form_data(signer="representative"))
        assert "Tell us why you may act for the patient" in refused.content.decode()
        assert not Authorization.objects.exists()
        client.post(
            NEW, form_data(signer="representative", representative_authority="Parent of a minor")
        )
        auth = Authorization.objects.get()
        assert auth.signed_by_representative
        assert auth.representative_authority == "Parent of a minor"


class TestDetail:
    def test_it_shows_every_element_and_is_audited(self, personas: Any, client_for: Any) -> None:
        auth = authorization_signed(patient=personas.patient, expiry_event="When my claim ends")
        page = client_for(personas.patient).get(detail_url(auth)).content.decode()
        for text in (
            "Laboratory results",
            "Blood test results and visit notes from 2026",
            settings.ORGANISATION_NAME,
            "Dr. Ana Rivera",
            "Northside Clinic",
            RECIPIENT_EMAIL,
            "12 Harbour Road, Springfield",
            "Care by another doctor or clinic",
            "When my claim ends",
            "Pat Patient",
            f"Version {VERSION}",
            "Active",
        ):
            assert text in page, text
        event = AuditEvent.objects.get(action="consent.authorization_viewed")
        assert event.target_id == str(auth.pk) and event.patient_id == personas.patient.pk

    def test_the_expiry_shows_the_last_day_covered(self, personas: Any, client_for: Any) -> None:
        last_day = timezone.localdate() + timedelta(days=30)
        auth = authorization_signed(patient=personas.patient, expires_on=last_day)
        page = client_for(personas.patient).get(detail_url(auth)).content.decode()
        assert f'datetime="{last_day.isoformat()}"' in page

    def test_another_patients_authorization_is_404(self, personas: Any, client_for: Any) -> None:
        auth = authorization_signed(patient=personas.other_patient)
        client = client_for(personas.patient)
        assert client.get(detail_url(auth)).status_code == 404
        revoke = reverse("portal:sharing_revoke", args=[auth.pk])
        assert client.post(revoke, {"confirm": "on"}).status_code == 404
        auth.refresh_from_db()
        assert auth.revoked_at is None

    def test_it_lists_the_disclosures_made_under_it(self, personas: Any, client_for: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        disclosed(personas, auth, description="March potassium panel")
        page = client_for(personas.patient).get(detail_url(auth)).content.decode()
        assert "March potassium panel" in page
        assert "Nothing has been shared" not in page


class TestRevoke:
    def test_it_asks_for_confirmation(self, personas: Any, client_for: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        response = client_for(personas.patient).post(
            reverse("portal:sharing_revoke", args=[auth.pk])
        )
        assert response.status_code == 400
        assert "Tick the box to confirm." in response.content.decode()
        auth.refresh_from_db()
        assert auth.revoked_at is None

    def test_revoking_takes_effect_and_the_page_says_so(
        self, personas: Any, client_for: Any
    ) -> None:
        auth = authorization_signed(patient=personas.patient)
        disclosed(personas, auth, description="March potassium panel")
        client = client_for(personas.patient)
        response = client.post(
            reverse("portal:sharing_revoke", args=[auth.pk]), {"confirm": "on"}, follow=True
        )
        page = response.content.decode()
        assert "We keep a record of what we shared before" in page
        assert "Revoked" in page and "March potassium panel" in page
        auth.refresh_from_db()
        assert auth.status() == AuthorizationStatus.REVOKED
        assert auth.revocation_source == "portal" and auth.revoked_by == personas.patient
        decision = disclosure_decide(
            patient_id=personas.patient.pk,
            recipient_email=RECIPIENT_EMAIL,
            purpose=Purpose.CONTINUITY_OF_CARE,
            categories=[RecordCategory.LAB_RESULTS],
        )
        assert not decision.allowed


class TestAccounting:
    URL = reverse("portal:accounting")

    def test_it_shows_the_patients_disclosures_only(self, personas: Any, client_for: Any) -> None:
        mine = authorization_signed(patient=personas.patient)
        theirs = authorization_signed(patient=personas.other_patient)
        disclosed(personas, mine, description="March potassium panel")
        disclosed(personas, theirs, description="Ulrich knee X-ray")
        page = client_for(personas.patient).get(self.URL).content.decode()
        assert "March potassium panel" in page and "12 Harbour Road" in page
        assert detail_url(mine) in page
        assert "Ulrich knee X-ray" not in page

    def test_nothing_older_than_six_years_is_shown(self, personas: Any, client_for: Any) -> None:
        with time_machine.travel(timezone.now() - timedelta(days=365 * 6 + 10)):
            old = authorization_signed(patient=personas.patient)
            disclosed(personas, old, description="Ancient fracture notes")
        recent = authorization_signed(patient=personas.patient)
        disclosed(personas, recent, description="March potassium panel")
        page = client_for(personas.patient).get(self.URL).content.decode()
        assert "March potassium panel" in page
        assert "Ancient fracture notes" not in page

    def test_viewing_it_is_audited(self, personas: Any, client_for: Any) -> None:
        client_for(personas.patient).get(self.URL)
        event = AuditEvent.objects.get(action="consent.accounting_viewed")
        assert event.actor_id == event.patient_id == personas.patient.pk

    def test_the_query_count_does_not_grow_with_the_entries(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.patient)
        auth = authorization_signed(patient=personas.patient)
        disclosed(personas, auth)
        few = page_query_count(client, self.URL)
        for _ in range(6):
            disclosed(personas, auth)
        assert page_query_count(client, self.URL) == few

    def test_it_pages_by_twenty_five(self, personas: Any, client_for: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        for number in range(26):
            disclosed(personas, auth, description=f"Entry number {number:02d}")
        client = client_for(personas.patient)
        first = client.get(self.URL).content.decode()
        second = client.get(self.URL + "?page=2").content.decode()
        assert "Entry number 25" in first and "Entry number 00" not in first
        assert "Entry number 00" in second and "Page 2 of 2" in second
