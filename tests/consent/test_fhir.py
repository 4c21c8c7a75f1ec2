"""The FHIR R4 Consent export: valid by the fhir.resources R4B models, and saying what a
consumer needs (status, coverage period, purposes, recipient)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from fhir.resources.R4B.consent import Consent

from consent import services
from consent.fhir import (
    V3_ACT_REASON,
    authorization_to_fhir,
    record_category_system,
)
from consent.models import Authorization, Purpose, RecordCategory, RevocationSource
from tests.consent.factories import (
    RECIPIENT_EMAIL,
    authorization_on_paper,
    authorization_signed,
)

pytestmark = pytest.mark.django_db


def exported(auth: Any) -> Any:  # a Consent; Any spares a None check per optional field
    """The export, validated: ``model_validate`` raises on anything R4B does not allow."""
    return Consent.model_validate(authorization_to_fhir(auth))


def act_reasons(consent: Any) -> list[str]:
    return [c.code for c in consent.provision.purpose if c.system == V3_ACT_REASON]


def actor_roles(consent: Any) -> dict[str, Any]:
    return {actor.role.coding[0].code: actor.reference for actor in consent.provision.actor}


class TestPortalSigned:
    def test_it_is_an_active_patient_privacy_opt_in(self, personas: Any) -> None:
        consent = exported(authorization_signed(patient=personas.patient))
        assert consent.status == "active"
        assert consent.scope.coding[0].code == "patient-privacy"
        assert consent.category[0].coding[0].code == "64292-6"
        assert consent.policyRule.coding[0].code == "OPTIN"
        assert consent.provision.type == "permit"

    def test_its_period_runs_from_the_signature_to_the_end_of_the_expiry_day(
        self, personas: Any
    ) -> None:
        auth = authorization_signed(patient=personas.patient)
        consent = exported(auth)
        assert consent.provision.period.start == auth.signed_at.replace(microsecond=0)
        assert consent.provision.period.end == auth.expires_at
        assert consent.dateTime == auth.signed_at.replace(microsecond=0)

    def test_it_names_the_recipient_and_the_custodian(self, personas: Any) -> None:
        roles = actor_roles(exported(authorization_signed(patient=personas.patient)))
        assert roles["IRCP"].display == "Dr. Ana Rivera, Northside Clinic"
        assert roles["IRCP"].identifier.value == f"mailto:{RECIPIENT_EMAIL}"
        assert roles["CST"].display == "Riverside Community Health"
        assert {a for a in roles} == {"IRCP", "CST"}

    def test_purposes_map_to_v3_act_reasons(self, personas: Any) -> None:
        auth = authorization_signed(
            patient=personas.patient,
            purposes=[Purpose.CONTINUITY_OF_CARE, Purpose.INSURANCE, Purpose.RESEARCH],
        )
        assert act_reasons(exported(auth)) == ["TREAT", "HPAYMT", "HRESCH"]

    def test_categories_are_data_classes_in_the_portals_code_system(self, personas: Any) -> None:
        consent = exported(authorization_signed(patient=personas.patient))
        classes = {(c.system, c.code) for c in consent.provision.class_fhir}
        assert classes == {
            (record_category_system(), RecordCategory.LAB_RESULTS.value),
            (record_category_system(), RecordCategory.VISIT_NOTES.value),
        }

    def test_the_patient_is_referenced_without_a_name(self, personas: Any) -> None:
        resource = authorization_to_fhir(authorization_signed(patient=personas.patient))
        assert resource["patient"]["identifier"]["value"] == str(personas.patient.pk)
        assert "Quartermaine" not in str(resource["patient"])
        assert resource["performer"] == [resource["patient"]]

    def test_the_record_date_range_is_the_data_period(self, personas: Any) -> None:
        today = timezone.localdate()
        auth = authorization_signed(
            patient=personas.patient,
            records_from=today - timedelta(days=90),
            records_to=today - timedelta(days=10),
        )
        period = exported(auth).provision.dataPeriod
        assert (period.start, period.end) == (
            today - timedelta(days=90),
            today - timedelta(days=10),
        )


class TestPaper:
    def test_the_source_attachment_is_the_signed_scan(self, personas: Any) -> None:
        auth = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        attachment = exported(auth).sourceAttachment
        assert attachment.contentType == "application/pdf"
        assert attachment.title == "Signed authorization (scan)"
        assert str(auth.pk) in attachment.url

    def test_a_scan_removed_under_retention_is_named_not_linked(self, personas: Any) -> None:
        from encryption.files import file_erase

        auth = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        assert auth.scan is not None
        file_erase(record=auth.scan)
        attachment = exported(Authorization.objects.get(pk=auth.pk)).sourceAttachment
        assert attachment.title.startswith("Signed authorization (scan removed under the retention")
        assert attachment.url is None and attachment.contentType is None

    def test_a_representatives_signature_is_the_performer(self, personas: Any) -> None:
        auth = authorization_on_paper(
            patient=personas.patient,
            recorded_by=personas.records_clerk,
            signer_name="Morgan Guardian",
            representative_authority="Parent of a minor",
        )
        performer = exported(auth).performer[0]
        assert performer.display == "Morgan Guardian (personal representative: Parent of a minor)"

    def test_a_corrected_version_is_inactive_and_its_correction_active(self, personas: Any) -> None:
        first = authorization_on_paper(patient=personas.patient, recorded_by=personas.records_clerk)
        second = services.authorization_correct(
            actor=personas.records_clerk,
            authorization=first,
            terms=services.Terms(
                **{**first_terms(first), "recipient_organization": "Northside Family Clinic"}
            ),
            signed_on=timezone.localdate(),
        )
        first.refresh_from_db()
        assert exported(first).status == "inactive"
        assert exported(second).status == "active"
        assert exported(second).meta.versionId == "2"


class TestRevoked:
    def test_it_is_inactive_and_its_period_ends_at_the_revocation(self, personas: Any) -> None:
        auth = authorization_signed(patient=personas.patient)
        auth = services.authorization_revoke(
            actor=personas.patient, authorization=auth, source=RevocationSource.PORTAL
        )
        consent = exported(auth)
        assert consent.status == "inactive" and auth.revoked_at is not None
        assert consent.provision.period.end == auth.revoked_at.replace(microsecond=0)


class TestEventOnly:
    def test_it_has_no_period_end_and_carries_the_event(self, personas: Any) -> None:
        auth = authorization_signed(
            patient=personas.patient, expires_on=None, expiry_event="When my claim is settled"
        )
        consent = exported(auth)
        assert consent.status == "active"
        assert consent.provision.period.end is None
        events = [e.valueString for e in consent.provision.extension if "expiry-event" in e.url]
        assert events == ["When my claim is settled"]


class TestExpired:
    def test_it_is_inactive_after_the_expiry_date(self, personas: Any) -> None:
        auth = authorization_signed(
            patient=personas.patient, expires_on=timezone.localdate() + timedelta(days=1)
        )
        with time_machine.travel(timezone.now() + timedelta(days=3)):
            assert exported(auth).status == "inactive"


def first_terms(auth: Any) -> dict[str, Any]:
    return {
        "categories": auth.categories,
        "description": auth.description,
        "recipient_name": auth.recipient_name,
        "recipient_organization": auth.recipient_organization,
        "recipient_email": auth.recipient_email,
        "recipient_address": auth.recipient_address,
        "purposes": auth.purposes,
        "expires_on": timezone.localtime(auth.expires_at).date() - timedelta(days=1),
        "signer_name": auth.signer_name,
    }


def test_every_purpose_has_a_v3_act_reason() -> None:
    from consent.fhir import PURPOSE_TO_ACT_REASON

    assert set(PURPOSE_TO_ACT_REASON) == set(Purpose.values)
