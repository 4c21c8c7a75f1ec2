"""Consent services: what each state change refuses, records, keeps and audits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from consent import services
from consent.errors import ConsentError
from consent.models import (
    Authorization,
    AuthorizationStatus,
    CommunicationPreference,
    EmailWaiver,
    Purpose,
    RecordCategory,
    RevocationSource,
    Source,
    WaiverMethod,
)
from encryption.files import file_chunks, files_storage
from encryption.uploads import attachment_check
from tests.consent.factories import authorization_on_paper, authorization_signed, terms
from tests.messaging.factories import PDF_BYTES

pytestmark = pytest.mark.django_db


class TestMissingElements:
    @pytest.mark.parametrize(
        ("overrides", "named", "code"),
        [
            ({"categories": []}, "which information may be disclosed", "information"),
            ({"description": "  "}, "a specific description", "description"),
            ({"recipient_name": ""}, "who may receive the information", "recipient"),
            ({"recipient_email": ""}, "the recipient's e-mail address", "recipient_email"),
            ({"purposes": []}, "each purpose", "purpose"),
            (
                {"purposes": [Purpose.OTHER], "purpose_detail": ""},
                "the purpose marked “other”",
                "purpose",
            ),
            ({"expires_on": None, "expiry_event": ""}, "an expiration date or event", "expiration"),
            ({"signer_name": ""}, "the signature", "signature"),
        ],
    )
    def test_it_refuses_naming_the_element(
        self, personas: Any, overrides: dict[str, Any], named: str, code: str
    ) -> None:
        with pytest.raises(ConsentError) as refused:
            authorization_signed(patient=personas.patient, **overrides)
        assert refused.value.code == "missing_element"
        assert named in refused.value.message
        assert not Authorization.objects.exists()
        event = AuditEvent.objects.get(action="consent.authorization_refused")
        assert event.details == {"missing": [code]}

    def test_a_date_range_that_ends_before_it_starts_is_refused(self, personas: Any) -> None:
        today = timezone.localdate()
        with pytest.raises(ConsentError, match="starts before it ends"):
            authorization_signed(
                patient=personas.patient, records_from=today, records_to=today - timedelta(days=1)
            )

    def test_an_expiry_before_the_signature_is_refused(self, personas: Any) -> None:
        with pytest.raises(ConsentError, match="expiration date after the signature"):
            authorization_signed(
                patient=personas.patient, expires_on=timezone.localdate() - timedelta(days=1)
            )

    def test_an_event_alone_is_a_valid_expiry(self, personas: Any) -> None:
        auth = authorization_signed(
            patient=personas.patient, expires_on=None, expiry_event="When my claim is settled"
        )
        assert auth.status() == AuthorizationStatus.ACTIVE


class TestPaperRecord:
    def test_the_scan_is_stored_encrypted_and_reads_back(self, personas: Any) -> None:
        auth = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        assert auth.source == Source.PAPER and auth.scan is not None
        with files_storage().open(auth.scan.storage_name) as stored:
            ciphertext = stored.read()
        assert b"%PDF" not in ciphertext and b"/Catalog" not in ciphertext
        assert b"".join(file_chunks(auth.scan)) == PDF_BYTES

    def test_a_signature_date_in_the_future_is_refused(self, personas: Any) -> None:
        with pytest.raises(ConsentError) as refused:
            authorization_on_paper(
                patient=personas.patient,
                recorded_by=personas.records_clerk,
                signed_on=timezone.localdate() + timedelta(days=1),
            )
        assert refused.value.code == "future_signature"

    def test_recording_is_audited_with_codes_only(self, personas: Any) -> None:
        auth = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        event = AuditEvent.objects.get(action="consent.authorization_recorded")
        assert event.target_id == str(auth.pk)
        assert event.actor_id == personas.records_clerk.pk
        assert "Rivera" not in str(event.details)


class TestCorrection:
    def correct(
        self, personas: Any, auth: Any, scan: Any = None, **overrides: Any
    ) -> Authorization:
        return services.authorization_correct(
            actor=personas.records_clerk,
            authorization=auth,
            terms=terms(**overrides),
            signed_on=timezone.localdate(),
            scan=scan,
        )

    def test_it_creates_version_two_and_supersedes_version_one(self, personas: Any) -> None:
        first = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        second = self.correct(personas, first, recipient_address="12 Harbor Road, Springfield")
        first.refresh_from_db()
        assert (second.version, second.lineage) == (2, first.lineage)
        assert first.status() == AuthorizationStatus.SUPERSEDED
        assert second.recipient_address == "12 Harbor Road, Springfield"
        assert second.scan_id == first.scan_id  # the scan it corrects stays with it

    def test_version_one_is_kept_unchanged(self, personas: Any) -> None:
        first = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        self.correct(personas, first, recipient_address="12 Harbor Road, Springfield")
        kept = Authorization.objects.get(pk=first.pk).recipient_address
        assert kept == "12 Harbour Road, Springfield"

    @pytest.mark.parametrize(
        "change",
        [
            {"recipient_email": "someone.else@elsewhere.test"},
            {"recipient_name": "Dr. Ana Riviera"},
            {"categories": [RecordCategory.LAB_RESULTS, RecordCategory.BILLING]},
            {"records_from": timezone.localdate() - timedelta(days=30)},
            {"records_to": timezone.localdate()},
            {"purposes": [Purpose.LEGAL]},
            {"expires_on": timezone.localdate() + timedelta(days=30)},
            {"expires_on": None, "expiry_event": "End of the court case"},
        ],
    )
    def test_a_change_to_what_the_patient_signed_needs_the_new_scan(
        self, personas: Any, change: dict[str, Any]
    ) -> None:
        first = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        with pytest.raises(ConsentError) as refused:
            self.correct(personas, first, **change)
        assert refused.value.code == "new_scan_required"
        assert "newly signed form" in refused.value.message
        assert Authorization.objects.count() == 1

    def test_with_the_new_scan_a_signed_element_can_change(self, personas: Any) -> None:
        first = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        scan = attachment_check(name="signed-again.pdf", data=PDF_BYTES)
        second = self.correct(personas, first, scan=scan, purposes=[Purpose.LEGAL])
        assert second.purposes == [Purpose.LEGAL] and second.scan_id != first.scan_id

    def test_the_audit_names_the_changed_elements_without_their_values(self, personas: Any) -> None:
        first = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        scan = attachment_check(name="signed-again.pdf", data=PDF_BYTES)
        self.correct(
            personas,
            first,
            scan=scan,
            recipient_email="someone.else@elsewhere.test",
            description="Blood test results from 2026",
        )
        event = AuditEvent.objects.get(action="consent.authorization_corrected")
        assert event.details["changed"] == ["description", "recipient_email"]
        assert "elsewhere" not in str(event.details) and "Blood" not in str(event.details)

    def test_it_refuses_a_portal_signed_authorization(self, personas: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        with pytest.raises(ConsentError) as refused:
            self.correct(personas, auth)
        assert refused.value.code == "portal_signed"
        assert Authorization.objects.count() == 1

    def test_it_refuses_a_version_already_corrected(self, personas: Any) -> None:
        first = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        self.correct(personas, first)
        with pytest.raises(ConsentError) as refused:
            self.correct(personas, first)
        assert refused.value.code == "superseded"


class TestRevocation:
    def revoke(self, personas: Any, auth: Any) -> Authorization:
        return services.authorization_revoke(
            actor=personas.records_clerk, authorization=auth, source=RevocationSource.WRITTEN
        )

    def test_it_revokes_from_now_and_is_audited(self, personas: Any) -> None:
        auth = self.revoke(personas, authorization_signed(patient=personas.patient))
        assert auth.status() == AuthorizationStatus.REVOKED
        assert auth.revocation_source == RevocationSource.WRITTEN
        event = AuditEvent.objects.get(action="consent.authorization_revoked")
        assert event.details == {"source": "written"}

    def test_a_second_revocation_changes_nothing(self, personas: Any) -> None:
        auth = self.revoke(personas, authorization_signed(patient=personas.patient))
        again = self.revoke(personas, auth)
        assert again.revoked_at == auth.revoked_at
        assert AuditEvent.objects.filter(action="consent.authorization_revoked").count() == 1


class TestWaiver:
    def publish(self, personas: Any, text: str = "E-mail is not encrypted.") -> Any:
        return services.waiver_statement_publish(actor=personas.privacy_officer, text=text)

    def test_only_the_privacy_officer_publishes(self, personas: Any) -> None:
        with pytest.raises(ConsentError):
            services.waiver_statement_publish(actor=personas.records_clerk, text="Risky.")

    def test_versions_count_up(self, personas: Any) -> None:
        assert [self.publish(personas).version for _ in range(2)] == [1, 2]

    def test_accepting_records_the_statement_and_method(self, personas: Any) -> None:
        statement = self.publish(personas)
        waiver = services.waiver_accept(
            actor=personas.records_clerk,
            patient=personas.patient,
            statement=statement,
            method=WaiverMethod.PAPER,
        )
        assert (waiver.statement, waiver.method) == (statement, WaiverMethod.PAPER)
        event = AuditEvent.objects.get(action="consent.waiver_accepted")
        assert event.details == {"statement_version": 1, "method": "paper"}

    def test_a_stale_statement_cannot_be_accepted(self, personas: Any) -> None:
        old = self.publish(personas)
        self.publish(personas, "New wording.")
        with pytest.raises(ConsentError) as refused:
            services.waiver_accept(
                actor=personas.patient,
                patient=personas.patient,
                statement=old,
                method=WaiverMethod.PORTAL,
            )
        assert refused.value.code == "stale_statement"
        assert not EmailWaiver.objects.exists()

    def test_revoking_ends_the_waiver_and_a_second_revoke_is_a_no_op(self, personas: Any) -> None:
        statement = self.publish(personas)
        services.waiver_accept(
            actor=personas.patient,
            patient=personas.patient,
            statement=statement,
            method=WaiverMethod.PORTAL,
        )
        assert services.waiver_revoke(actor=personas.patient, patient=personas.patient)
        assert services.waiver_revoke(actor=personas.patient, patient=personas.patient) is None
        assert not EmailWaiver.objects.filter(revoked_at__isnull=True).exists()
        assert AuditEvent.objects.filter(action="consent.waiver_revoked").count() == 1


class TestPreferences:
    def test_postal_only_needs_an_address(self, personas: Any) -> None:
        with pytest.raises(ConsentError) as refused:
            services.preferences_update(
                actor=personas.patient,
                patient=personas.patient,
                postal_only=True,
                postal_address=" ",
            )
        assert refused.value.code == "no_address"
        assert not CommunicationPreference.objects.exists()

    def test_postal_only_with_an_address_is_saved_and_audited(self, personas: Any) -> None:
        services.preferences_update(
            actor=personas.patient,
            patient=personas.patient,
            postal_only=True,
            postal_address="4 Elm Street, Springfield",
        )
        prefs = CommunicationPreference.objects.get(patient=personas.patient)
        assert prefs.postal_only and prefs.postal_address == "4 Elm Street, Springfield"
        event = AuditEvent.objects.get(action="consent.preferences_changed")
        assert event.details == {"postal_only": True, "was_postal_only": False}

    def test_a_change_records_what_it_was_before(self, personas: Any) -> None:
        for postal_only in (True, False):
            services.preferences_update(
                actor=personas.patient,
                patient=personas.patient,
                postal_only=postal_only,
                postal_address="4 Elm Street, Springfield",
            )
        last = AuditEvent.objects.filter(action="consent.preferences_changed").order_by("-id")[0]
        assert last.details == {"postal_only": False, "was_postal_only": True}
