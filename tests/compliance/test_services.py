"""Compliance services: publishing and acknowledging policies, the associates register."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from compliance import selectors, services
from compliance.errors import ComplianceError
from compliance.models import PolicyAcknowledgement
from encryption.files import file_chunks
from encryption.uploads import attachment_check
from tests.compliance.factories import acknowledged_by_all, associate_added, policy_published
from tests.encryption.pdfs import PDF_BYTES


class TestPolicyPublish:
    def test_versions_count_up_and_only_the_newest_is_current(self, personas: Any) -> None:
        first = policy_published(personas.privacy_officer)
        second = policy_published(personas.privacy_officer)
        first.refresh_from_db()
        assert (first.version, second.version) == (1, 2)
        assert not first.is_current and second.is_current
        assert list(selectors.policies_current()) == [second]

    def test_each_kind_has_its_own_versions(self, personas: Any) -> None:
        policy_published(personas.privacy_officer)
        other = policy_published(personas.privacy_officer, kind="privacy_security")
        assert other.version == 1
        assert selectors.policies_current().count() == 2

    def test_it_is_audited(self, personas: Any) -> None:
        document = policy_published(personas.privacy_officer)
        event = AuditEvent.objects.get(action="compliance.policy_published")
        assert event.actor_id == personas.privacy_officer.pk
        assert event.target_id == str(document.pk)
        assert event.details["version"] == 1


class TestPolicyAcknowledge:
    def test_a_new_version_must_be_acknowledged_again(self, personas: Any) -> None:
        acknowledged_by_all(policy_published(personas.privacy_officer), personas.clinician)
        assert not selectors.acknowledgement_pending(personas.clinician)
        policy_published(personas.privacy_officer)
        assert selectors.acknowledgement_pending(personas.clinician)

    def test_a_superseded_version_is_refused(self, personas: Any) -> None:
        old = policy_published(personas.privacy_officer)
        policy_published(personas.privacy_officer)
        with pytest.raises(ComplianceError) as refused:
            services.policy_acknowledge(actor=personas.clinician, document=old)
        assert refused.value.code == "superseded"
        assert not PolicyAcknowledgement.objects.exists()

    def test_twice_is_once(self, personas: Any) -> None:
        document = policy_published(personas.privacy_officer)
        acknowledged_by_all(document, personas.clinician, personas.clinician)
        assert PolicyAcknowledgement.objects.count() == 1
        assert AuditEvent.objects.filter(action="compliance.policy_acknowledged").count() == 1

    def test_a_patient_cannot_acknowledge(self, personas: Any) -> None:
        document = policy_published(personas.privacy_officer)
        with pytest.raises(ComplianceError):
            services.policy_acknowledge(actor=personas.patient, document=document)

    def test_the_database_refuses_to_edit_or_remove_one(self, personas: Any) -> None:
        document = policy_published(personas.privacy_officer)
        acknowledged_by_all(document, personas.clinician)
        for sql in (
            "UPDATE compliance_policyacknowledgement SET acknowledged_at = now()",
            "DELETE FROM compliance_policyacknowledgement",
        ):
            with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
                connection.cursor().execute(sql)
        assert PolicyAcknowledgement.objects.count() == 1

    def test_staff_with_pending_policies_are_counted(self, personas: Any) -> None:
        document = policy_published(personas.privacy_officer)
        acknowledged_by_all(document, personas.clinician)
        pending = set(selectors.staff_with_pending_policies())
        assert pending == {personas.privacy_officer, personas.records_clerk}


class TestAssociates:
    def test_the_scan_is_stored_encrypted_and_reads_back(self, personas: Any) -> None:
        associate = associate_added(personas.privacy_officer)
        scan = associate.agreements.get().scan
        assert scan.data_key_id is not None
        assert b"".join(file_chunks(scan)) == PDF_BYTES

    def test_a_renewal_becomes_the_current_agreement(self, personas: Any) -> None:
        associate = associate_added(personas.privacy_officer)
        today = timezone.localdate()
        renewed = services.associate_renew(
            actor=personas.privacy_officer,
            associate=associate,
            signed_on=today,
            renewal_on=today + timedelta(days=365),
            scan=attachment_check(name="baa-2027.pdf", data=PDF_BYTES),
        )
        found = selectors.associate_for(user=personas.privacy_officer, associate_id=associate.pk)
        assert selectors.current_agreement(found) == renewed
        assert found.agreements.count() == 2

    def test_a_renewal_date_before_signing_is_refused(self, personas: Any) -> None:
        today = timezone.localdate()
        with pytest.raises(ComplianceError):
            associate_added(personas.privacy_officer, signed_on=today, renewal_on=today)

    def test_an_ended_associate_cannot_be_renewed(self, personas: Any) -> None:
        associate = associate_added(personas.privacy_officer)
        today = timezone.localdate()
        services.associate_end(actor=personas.privacy_officer, associate=associate, ended_on=today)
        with pytest.raises(ComplianceError):
            services.associate_renew(
                actor=personas.privacy_officer,
                associate=associate,
                signed_on=today,
                renewal_on=today + timedelta(days=30),
                scan=attachment_check(name="baa.pdf", data=PDF_BYTES),
            )

    def test_only_the_privacy_officer_sees_the_register(self, personas: Any) -> None:
        associate_added(personas.privacy_officer)
        assert selectors.associates_visible_to(personas.privacy_officer).count() == 1
        assert not selectors.associates_visible_to(personas.clinician).exists()
