"""Staff and privacy-officer consent screens through HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.consent import Consent

from audit.models import AuditEvent
from consent import services
from consent.models import Authorization, AuthorizationStatus, EmailWaiver, RevocationSource
from encryption.files import files_storage
from tests.conftest import page_query_count
from tests.consent.factories import RECIPIENT_EMAIL, authorization_on_paper, authorization_signed
from tests.messaging.factories import PDF_BYTES

pytestmark = pytest.mark.django_db


def paper_data(**overrides: Any) -> dict[str, Any]:
    today = timezone.localdate()
    data: dict[str, Any] = {
        "categories": ["lab_results", "visit_notes"],
        "description": "Blood test results from March",
        "recipient_name": "Dr. Ana Rivera",
        "recipient_organization": "Northside Clinic",
        "recipient_email": RECIPIENT_EMAIL,
        "recipient_address": "12 Harbour Road, Springfield",
        "purposes": ["continuity_of_care"],
        "expires_on": (today + timedelta(days=365)).isoformat(),
        "signer_name": "Penelope Quartermaine",
        "signed_on": today.isoformat(),
        "scan": SimpleUploadedFile("signed.pdf", PDF_BYTES, content_type="application/pdf"),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def on_paper(personas: Any, **overrides: Any) -> Authorization:
    return authorization_on_paper(
        patient=personas.patient, recorded_by=personas.records_clerk, **overrides
    )


def detail_url(auth: Any) -> str:
    return reverse("consent:authorization", args=[auth.pk])


class TestScope:
    def test_a_clinician_off_the_care_team_gets_404(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.clinician)
        assert (
            client.get(reverse("consent:patient", args=[personas.other_patient.pk])).status_code
            == 404
        )
        assert client.get(reverse("consent:patient", args=[personas.patient.pk])).status_code == 200

    def test_a_clinician_off_the_care_team_cannot_open_the_authorization(
        self, personas: Any, client_for: Any
    ) -> None:
        auth = authorization_on_paper(
            patient=personas.other_patient, recorded_by=personas.records_clerk
        )
        client = client_for(personas.clinician)
        for name in ("authorization", "scan", "fhir", "correct"):
            assert client.get(reverse(f"consent:{name}", args=[auth.pk])).status_code == 404

    def test_a_patient_gets_404_even_for_their_own(self, personas: Any, client_for: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        client = client_for(personas.patient)
        assert client.get(detail_url(auth)).status_code == 404
        assert client.get(reverse("consent:patient", args=[personas.patient.pk])).status_code == 404

    def test_a_staff_member_is_404_on_a_staff_account(self, personas: Any, client_for: Any) -> None:
        url = reverse("consent:patient", args=[personas.clinician.pk])
        assert client_for(personas.records_clerk).get(url).status_code == 404


class TestOverview:
    def url(self, personas: Any) -> str:
        return reverse("consent:patient", args=[personas.patient.pk])

    def test_it_shows_authorizations_waiver_and_preferences(
        self, personas: Any, client_for: Any
    ) -> None:
        authorization_signed(patient=personas.patient)
        page = client_for(personas.clinician).get(self.url(personas)).content.decode()
        assert "Dr. Ana Rivera" in page and "Care by another doctor or clinic" in page
        assert "None: portal only." in page
        assert "E-mail notices to the account" in page
        assert "No disclosures in this period." in page

    def test_viewing_it_is_audited_with_counts(self, personas: Any, client_for: Any) -> None:
        authorization_signed(patient=personas.patient)
        client_for(personas.clinician).get(self.url(personas))
        event = AuditEvent.objects.get(action="consent.overview_viewed")
        assert event.patient_id == personas.patient.pk
        assert event.details == {"authorizations": 1, "disclosures": 0}

    def test_a_postal_only_patient_shows_as_such(self, personas: Any, client_for: Any) -> None:
        services.preferences_update(
            actor=personas.patient,
            patient=personas.patient,
            postal_only=True,
            postal_address="4 Elm Street",
        )
        page = client_for(personas.records_clerk).get(self.url(personas)).content.decode()
        assert "Postal mail only" in page and "4 Elm Street" in page


class TestWaiverRecord:
    def post(self, personas: Any, client: Any, **data: Any) -> Any:
        return client.post(reverse("consent:waiver_record", args=[personas.patient.pk]), data)

    def test_staff_record_a_paper_waiver_and_its_state_shows(
        self, personas: Any, client_for: Any
    ) -> None:
        services.waiver_statement_publish(actor=personas.privacy_officer, text="Risky.")
        client = client_for(personas.records_clerk)
        self.post(personas, client, action="accept", statement_version="1", signed_statement="1")
        waiver = EmailWaiver.objects.get(patient=personas.patient)
        assert waiver.method == "paper" and waiver.recorded_by == personas.records_clerk
        page = client.get(reverse("consent:patient", args=[personas.patient.pk])).content
        assert "risk statement version 1, on paper" in page.decode()

    def test_a_waiver_for_an_old_statement_is_refused(self, personas: Any, client_for: Any) -> None:
        for text in ("Risky.", "Still risky."):
            services.waiver_statement_publish(actor=personas.privacy_officer, text=text)
        response = self.post(
            personas,
            client_for(personas.records_clerk),
            action="accept",
            statement_version="1",
            signed_statement="1",
        )
        assert not EmailWaiver.objects.exists()
        assert response.status_code == 302

    def test_staff_record_the_revocation(self, personas: Any, client_for: Any) -> None:
        statement = services.waiver_statement_publish(actor=personas.privacy_officer, text="R.")
        services.waiver_accept(
            actor=personas.patient, patient=personas.patient, statement=statement, method="portal"
        )
        self.post(personas, client_for(personas.records_clerk), action="revoke")
        assert not EmailWaiver.objects.filter(revoked_at__isnull=True).exists()


class TestPaperRecord:
    def url(self, personas: Any) -> str:
        return reverse("consent:paper_record", args=[personas.patient.pk])

    def test_the_form_shows_the_required_statements(self, personas: Any, client_for: Any) -> None:
        page = client_for(personas.records_clerk).get(self.url(personas)).content.decode()
        assert "Your right to revoke" in page and "Redisclosure" in page

    def test_a_missing_element_is_named_and_nothing_typed_is_lost(
        self, personas: Any, client_for: Any
    ) -> None:
        response = client_for(personas.records_clerk).post(
            self.url(personas), paper_data(purposes=None)
        )
        page = response.content.decode()
        assert response.status_code == 400
        assert "Missing: each purpose of the disclosure." in page
        assert 'value="Dr. Ana Rivera"' in page and "Blood test results from March" in page
        assert "Choose these files again: signed.pdf" in page
        assert not Authorization.objects.exists()

    def test_a_missing_scan_is_named(self, personas: Any, client_for: Any) -> None:
        response = client_for(personas.records_clerk).post(
            self.url(personas), paper_data(scan=None)
        )
        assert "Missing: the scan of the signed form." in response.content.decode()
        assert not Authorization.objects.exists()

    def test_a_representative_without_authority_is_refused(
        self, personas: Any, client_for: Any
    ) -> None:
        response = client_for(personas.records_clerk).post(
            self.url(personas), paper_data(signed_by_representative="on")
        )
        assert "Missing: the personal representative" in response.content.decode()
        assert not Authorization.objects.exists()

    def test_a_text_file_is_not_a_scan(self, personas: Any, client_for: Any) -> None:
        note = SimpleUploadedFile("signed.pdf", b"just some text\n")
        response = client_for(personas.records_clerk).post(
            self.url(personas), paper_data(scan=note)
        )
        assert "is not a PDF, PNG or JPEG scan" in response.content.decode()
        assert not Authorization.objects.exists()

    def test_the_scan_is_stored_encrypted_and_downloads_identical(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.records_clerk)
        response = client.post(self.url(personas), paper_data())
        auth = Authorization.objects.select_related("scan").get()
        assert response["Location"] == detail_url(auth) and auth.scan is not None
        with files_storage().open(auth.scan.storage_name) as stored:
            assert b"%PDF" not in stored.read()
        download = client.get(reverse("consent:scan", args=[auth.pk]))
        assert b"".join(download.streaming_content) == PDF_BYTES
        assert download["Content-Disposition"].startswith("attachment")
        assert AuditEvent.objects.filter(action="consent.scan_downloaded").count() == 1

    def test_the_recorded_authorization_covers_the_recipient(
        self, personas: Any, client_for: Any
    ) -> None:
        client_for(personas.clinician).post(self.url(personas), paper_data())
        auth = Authorization.objects.get()
        assert auth.recipient_email == RECIPIENT_EMAIL
        assert auth.discloser == "Riverside Community Health"
        assert auth.recorded_by == personas.clinician
        assert auth.status() == AuthorizationStatus.ACTIVE


class TestDetail:
    def test_it_shows_every_element_and_is_audited(self, personas: Any, client_for: Any) -> None:
        auth = on_paper(personas, expiry_event="When the claim is settled")
        page = client_for(personas.records_clerk).get(detail_url(auth)).content.decode()
        for shown in (
            "Laboratory results",
            "Blood test results",
            "Northside Clinic",
            RECIPIENT_EMAIL,
            "12 Harbour Road",
            "When the claim is settled",
            "Pat Patient",
            "Riverside Community Health",
            "Active",
        ):
            assert shown in page
        event = AuditEvent.objects.get(action="consent.authorization_viewed")
        assert event.target_id == str(auth.pk) and event.details == {"version": 1}

    def test_the_privacy_officer_sees_its_audit_trail(self, personas: Any, client_for: Any) -> None:
        auth = on_paper(personas)
        officer = client_for(personas.privacy_officer).get(detail_url(auth)).content.decode()
        clerk = client_for(personas.records_clerk).get(detail_url(auth)).content.decode()
        assert "Paper authorization recorded" in officer
        assert "Audit trail" not in clerk


class TestRevoke:
    def post(self, client: Any, auth: Any, **data: Any) -> Any:
        return client.post(reverse("consent:revoke", args=[auth.pk]), data)

    def test_a_written_request_revokes_it(self, personas: Any, client_for: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        client = client_for(personas.records_clerk)
        response = self.post(client, auth, written_request="on")
        auth.refresh_from_db()
        assert auth.status() == AuthorizationStatus.REVOKED
        assert auth.revocation_source == RevocationSource.WRITTEN
        assert "Revoked" in client.get(response["Location"]).content.decode()

    def test_without_the_written_request_nothing_changes(
        self, personas: Any, client_for: Any
    ) -> None:
        auth = authorization_signed(patient=personas.patient)
        self.post(client_for(personas.records_clerk), auth)
        auth.refresh_from_db()
        assert auth.revoked_at is None


class TestCorrect:
    def url(self, auth: Any) -> str:
        return reverse("consent:correct", args=[auth.pk])

    def test_the_form_is_prefilled(self, personas: Any, client_for: Any) -> None:
        auth = on_paper(personas)
        page = client_for(personas.records_clerk).get(self.url(auth)).content.decode()
        assert 'value="Dr. Ana Rivera"' in page
        expiry = (timezone.localdate() + timedelta(days=365)).isoformat()
        assert f'value="{expiry}"' in page

    def test_a_correction_shows_both_versions_in_the_history(
        self, personas: Any, client_for: Any
    ) -> None:
        first = on_paper(personas)
        client = client_for(personas.records_clerk)
        response = client.post(
            self.url(first),
            paper_data(recipient_organization="Northside Family Clinic", scan=None),
        )
        second = Authorization.objects.get(version=2)
        assert response["Location"] == detail_url(second)
        page = client.get(detail_url(second)).content.decode()
        assert "Version 1" in page and "Version 2" in page and "Northside Family Clinic" in page
        assert second.scan_id == first.scan_id

    def test_a_new_recipient_without_the_newly_signed_form_is_refused(
        self, personas: Any, client_for: Any
    ) -> None:
        first = on_paper(personas)
        response = client_for(personas.records_clerk).post(
            self.url(first), paper_data(recipient_name="Dr. Ana Riviera", scan=None)
        )
        assert response.status_code == 400
        assert "needs the newly signed form" in response.content.decode()
        assert Authorization.objects.count() == 1

    def test_a_portal_signed_authorization_cannot_be_corrected(
        self, personas: Any, client_for: Any
    ) -> None:
        auth = authorization_signed(patient=personas.patient)
        client = client_for(personas.records_clerk)
        response = client.post(self.url(auth), paper_data(scan=None))
        assert response["Location"] == detail_url(auth)
        assert Authorization.objects.count() == 1
        assert "cannot be corrected" in client.get(detail_url(auth)).content.decode()


class TestFhirExport:
    def test_the_download_validates_and_is_audited(self, personas: Any, client_for: Any) -> None:
        auth = on_paper(personas)
        response = client_for(personas.records_clerk).get(reverse("consent:fhir", args=[auth.pk]))
        assert response["Content-Disposition"] == f'attachment; filename="consent-{auth.pk}.json"'
        consent = Consent.model_validate(json.loads(response.content))
        assert consent.status == "active"
        event = AuditEvent.objects.get(action="consent.authorization_exported")
        assert event.target_id == str(auth.pk)


class TestOfficerList:
    def list_url(self, state: str = "") -> str:
        return reverse("consent:authorizations") + (f"?state={state}" if state else "")

    def test_expiring_shows_only_those_ending_within_30_days(
        self, personas: Any, client_for: Any
    ) -> None:
        soon = timezone.localdate() + timedelta(days=10)
        authorization_signed(patient=personas.patient, recipient_name="Soon Ending")
        authorization_signed(patient=personas.patient, recipient_name="Dr. Soon", expires_on=soon)
        page = client_for(personas.privacy_officer).get(self.list_url("expiring")).content
        assert "Dr. Soon" in page.decode() and "Soon Ending" not in page.decode()

    def test_revoked_shows_only_revoked_ones(self, personas: Any, client_for: Any) -> None:
        authorization_signed(patient=personas.patient, recipient_name="Still Valid")
        gone = authorization_signed(patient=personas.patient, recipient_name="Was Revoked")
        services.authorization_revoke(
            actor=personas.patient, authorization=gone, source=RevocationSource.PORTAL
        )
        page = client_for(personas.privacy_officer).get(self.list_url("revoked")).content
        assert "Was Revoked" in page.decode() and "Still Valid" not in page.decode()

    def test_the_recipient_search_is_posted_and_case_insensitive(
        self, personas: Any, client_for: Any
    ) -> None:
        authorization_signed(patient=personas.patient)
        authorization_signed(
            patient=personas.patient,
            recipient_name="Acme Insurance",
            recipient_organization="",
            recipient_email="claims@acme.test",
        )
        client = client_for(personas.privacy_officer)
        page = client.post(self.list_url(), {"q": "NORTHSIDE", "state": "all"}).content.decode()
        assert "Dr. Ana Rivera" in page and "Acme Insurance" not in page
        assert "1 authorization whose recipient matches" in page

    def test_a_search_in_the_url_is_not_run(self, personas: Any, client_for: Any) -> None:
        authorization_signed(patient=personas.patient)
        page = client_for(personas.privacy_officer).get(
            reverse("consent:authorizations"), {"q": "acme"}
        )
        assert "Dr. Ana Rivera" in page.content.decode()

    def test_listing_is_audited_with_counts_only(self, personas: Any, client_for: Any) -> None:
        authorization_signed(patient=personas.patient)
        client_for(personas.privacy_officer).post(self.list_url(), {"q": "rivera"})
        event = AuditEvent.objects.get(action="consent.authorizations_listed")
        assert event.details == {"state": "active", "searched": True, "results": 1, "page": 1}

    def test_only_the_privacy_officer_lists(self, personas: Any, client_for: Any) -> None:
        assert client_for(personas.records_clerk).get(self.list_url()).status_code == 404

    def test_the_query_count_does_not_grow_with_the_list(
        self, personas: Any, client_for: Any
    ) -> None:
        client = client_for(personas.privacy_officer)
        for _ in range(5):
            authorization_signed(patient=personas.patient)
        few = page_query_count(client, self.list_url("all"))
        for _ in range(25):
            authorization_signed(patient=personas.other_patient)
        assert page_query_count(client, self.list_url("all")) == few


class TestWaiverStatements:
    def test_the_officer_publishes_a_new_version(self, personas: Any, client_for: Any) -> None:
        client = client_for(personas.privacy_officer)
        url = reverse("consent:waiver_statements")
        client.post(url, {"text": "Ordinary e-mail can be read by others."})
        client.post(url, {"text": "Ordinary e-mail is not private."})
        page = client.get(url).content.decode()
        assert "Version 2" in page and "Ordinary e-mail is not private." in page
        assert "Version 1" in page

    def test_nobody_else_reaches_it(self, personas: Any, client_for: Any) -> None:
        url = reverse("consent:waiver_statements")
        assert client_for(personas.records_clerk).get(url).status_code == 404
