"""The organisation's delivery policy screen, the inputs the selector gathers from the
database, and the decision shown in the composer and on the staff patient page."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from consent.services import waiver_accept, waiver_revoke, waiver_statement_publish
from messaging import delivery_settings
from messaging.delivery_decision import Recipient, WaiverState
from messaging.document_passwords import document_password_set
from messaging.models import MIB, DeliveryMethod, DeliveryPolicy, DeliveryPreference

pytestmark = pytest.mark.django_db

URL = reverse("messaging:delivery_policy")
GOOD = {
    "tls_email": "on",
    "protected_pdf": "on",
    "email_max_mib": "5",
    "restricted_categories": ["psychotherapy_notes", "substance_use_part2", "genetic"],
}


def policy_saved(personas: Any, **changes: Any) -> DeliveryPolicy:
    values = {
        "tls_email": True,
        "protected_pdf": True,
        "plain_email": True,
        "email_max_bytes": 10 * MIB,
        "restricted_categories": frozenset({"psychotherapy_notes", "substance_use_part2"}),
        "third_party_tls": False,
        **changes,
    }
    return delivery_settings.delivery_policy_update(
        actor=personas.privacy_officer, values=delivery_settings.PolicyValues(**values)
    )


def preference_set(personas: Any, method: str) -> None:
    delivery_settings.delivery_preference_set(
        actor=personas.patient, patient=personas.patient, method=method
    )


class TestPolicyScreen:
    def test_the_defaults_are_shown_before_the_first_save(
        self, personas: Any, client_for: Any
    ) -> None:
        page = client_for(personas.privacy_officer).get(URL).content.decode()
        assert "the defaults apply (portal pickup only)" in page
        assert 'value="10"' in page and 'value="psychotherapy_notes" ' in page

    def test_a_clinician_gets_404(self, personas: Any, client_for: Any) -> None:
        assert client_for(personas.clinician).get(URL).status_code == 404

    def test_a_change_is_saved_and_audited_old_to_new(self, personas: Any, client_for: Any) -> None:
        response = client_for(personas.privacy_officer).post(URL, GOOD)
        assert response.status_code == 302
        policy = DeliveryPolicy.objects.get()
        assert policy.tls_email and policy.protected_pdf and not policy.plain_email
        assert policy.email_max_bytes == 5 * MIB
        event = AuditEvent.objects.get(action="messaging.delivery_policy_changed")
        assert event.details["changed"] == [
            "tls_email",
            "protected_pdf",
            "email_max_bytes",
            "restricted_categories",
        ]
        assert event.details["old_email_max_bytes"] == 10 * MIB
        assert event.details["new_email_max_bytes"] == 5 * MIB
        assert event.details["old_tls_email"] is False and event.details["new_tls_email"] is True
        assert event.details["new_restricted_categories"] == [
            "genetic",
            "psychotherapy_notes",
            "substance_use_part2",
        ]

    @pytest.mark.parametrize(
        ("field", "value", "error"),
        [
            ("email_max_mib", "0", "greater than or equal to 1"),
            ("email_max_mib", "100000", "less than or equal to 50"),
            ("email_max_mib", "1e9'; DROP TABLE x;--", "Enter a whole number."),
            ("restricted_categories", ["all_of_them"], "Select a valid choice."),
        ],
    )
    def test_hostile_input_is_refused_clearly_and_nothing_is_lost(
        self, personas: Any, client_for: Any, field: str, value: Any, error: str
    ) -> None:
        before = policy_saved(personas, email_max_bytes=7 * MIB)
        response = client_for(personas.privacy_officer).post(URL, {**GOOD, field: value})
        assert response.status_code == 400
        assert error in response.content.decode()
        after = DeliveryPolicy.objects.get()
        assert after.email_max_bytes == 7 * MIB and after.plain_email
        assert after.restricted_categories == before.restricted_categories
        refused = AuditEvent.objects.get(action="messaging.delivery_policy_refused")
        assert refused.details == {"fields": [field]}

    def test_the_service_refuses_anyone_but_the_officer(self, personas: Any) -> None:
        with pytest.raises(delivery_settings.MessagingError):
            delivery_settings.delivery_policy_update(
                actor=personas.clinician,
                values=delivery_settings.PolicyValues(True, True, True, MIB, frozenset(), True),
            )
        assert not DeliveryPolicy.objects.exists()


class TestInputsFromTheDatabase:
    def test_without_a_policy_only_the_portal_is_enabled(self, personas: Any) -> None:
        inputs = delivery_settings.delivery_inputs_for(patient=personas.patient)
        assert inputs.enabled == {DeliveryMethod.PORTAL}
        assert inputs.restricted == {"psychotherapy_notes", "substance_use_part2"}
        assert inputs.address_confirmed and inputs.preference == DeliveryMethod.PORTAL

    def test_the_waiver_states(self, personas: Any) -> None:
        state = delivery_settings.waiver_state_of
        assert state(personas.patient) == WaiverState.NONE
        first = waiver_statement_publish(actor=personas.privacy_officer, text="Risks, v1.")
        waiver_accept(
            actor=personas.patient, patient=personas.patient, statement=first, method="portal"
        )
        assert state(personas.patient) == WaiverState.IN_FORCE
        waiver_statement_publish(actor=personas.privacy_officer, text="Risks, v2.")
        assert state(personas.patient) == WaiverState.OLD_STATEMENT
        waiver_revoke(actor=personas.patient, patient=personas.patient)
        assert state(personas.patient) == WaiverState.REVOKED

    def test_an_unconfirmed_address_is_passed_on(self, personas: Any) -> None:
        personas.patient.email_verified_at = None
        personas.patient.save(update_fields=["email_verified_at"])
        assert not delivery_settings.delivery_inputs_for(patient=personas.patient).address_confirmed

    def test_a_third_party_has_no_preference_and_a_named_address(self, personas: Any) -> None:
        policy_saved(personas, third_party_tls=True)
        preference_set(personas, DeliveryMethod.PLAIN_EMAIL)
        inputs = delivery_settings.delivery_inputs_for(
            patient=personas.patient, recipient=Recipient.THIRD_PARTY
        )
        assert inputs.preference == DeliveryMethod.PORTAL and inputs.third_party_tls
        assert inputs.address_confirmed and inputs.waiver == WaiverState.NONE

    def test_a_document_password_is_a_password_source(self, personas: Any) -> None:
        assert not delivery_settings.delivery_inputs_for(patient=personas.patient).password_source
        document_password_set(
            actor=personas.patient, patient=personas.patient, password="my document secret"
        )
        assert delivery_settings.delivery_inputs_for(patient=personas.patient).password_source

    def test_a_third_party_does_not_get_the_patients_document_password(self, personas: Any) -> None:
        document_password_set(
            actor=personas.patient, patient=personas.patient, password="my document secret"
        )
        inputs = delivery_settings.delivery_inputs_for(
            patient=personas.patient, recipient=Recipient.THIRD_PARTY
        )
        assert not inputs.password_source

    def test_a_staff_one_time_password_is_still_a_password_source(self, personas: Any) -> None:
        inputs = delivery_settings.delivery_inputs_for(
            patient=personas.patient, one_time_password=True
        )
        assert inputs.password_source

    def test_the_locked_pdf_needs_a_one_time_password_until_one_is_set(self, personas: Any) -> None:
        policy_saved(personas)
        preference_set(personas, DeliveryMethod.PROTECTED_PDF)
        choice = delivery_settings.delivery_choice_for(patient=personas.patient)
        assert (choice.method, choice.one_time_password) == (DeliveryMethod.PROTECTED_PDF, True)
        document_password_set(
            actor=personas.patient, patient=personas.patient, password="my document secret"
        )
        choice = delivery_settings.delivery_choice_for(patient=personas.patient)
        assert (choice.method, choice.one_time_password) == (DeliveryMethod.PROTECTED_PDF, False)

    def test_no_one_time_password_where_something_else_refuses_the_locked_pdf(
        self, personas: Any
    ) -> None:
        policy_saved(personas)
        preference_set(personas, DeliveryMethod.PROTECTED_PDF)
        choice = delivery_settings.delivery_choice_for(
            patient=personas.patient, size_bytes=11 * MIB
        )
        assert (choice.method, choice.one_time_password) == (DeliveryMethod.PORTAL, False)
        assert "larger than the e-mail limit" in choice.reason

    def test_the_preference_must_be_enabled(self, personas: Any) -> None:
        with pytest.raises(delivery_settings.MessagingError):
            preference_set(personas, DeliveryMethod.TLS_EMAIL)
        assert not DeliveryPreference.objects.exists()


class TestShownToStaff:
    def test_the_composer_shows_the_method_and_reason(self, personas: Any, client_for: Any) -> None:
        policy_saved(personas)
        preference_set(personas, DeliveryMethod.TLS_EMAIL)
        policy_saved(personas, tls_email=False)
        url = reverse("messaging:compose", args=[personas.patient.pk])
        page = client_for(personas.clinician).get(url).content.decode()
        assert "Will be delivered by <strong>portal pickup</strong>" in page
        assert "the organisation has not enabled" in page

    def test_a_locked_pdf_without_a_password_goes_with_a_one_time_password(
        self, personas: Any, client_for: Any
    ) -> None:
        policy_saved(personas)
        preference_set(personas, DeliveryMethod.PROTECTED_PDF)
        url = reverse("messaging:compose", args=[personas.patient.pk])
        page = client_for(personas.clinician).get(url).content.decode()
        assert (
            "Will be delivered by <strong>password-protected PDF by e-mail (with a one-time "
            "password you will read to the patient)</strong>"
        ) in page
        assert "a one-time password is shown once" in page

    def test_the_composer_shows_the_patients_choice_when_it_applies(
        self, personas: Any, client_for: Any
    ) -> None:
        policy_saved(personas)
        preference_set(personas, DeliveryMethod.TLS_EMAIL)
        url = reverse("messaging:compose", args=[personas.patient.pk])
        page = client_for(personas.clinician).get(url).content.decode()
        assert "Will be delivered by <strong>TLS-verified e-mail</strong>" in page

    def test_the_patient_page_shows_the_decision(self, personas: Any, client_for: Any) -> None:
        url = reverse("directory:patient", args=[personas.patient.pk])
        page = client_for(personas.clinician).get(url).content.decode()
        assert "Will be delivered by <strong>portal pickup</strong>" in page
        assert "the patient&#x27;s choice" in page


def test_the_policy_records_who_changed_it_last(personas: Any) -> None:
    before = timezone.now()
    policy = policy_saved(personas)
    assert policy.updated_by == personas.privacy_officer
    assert policy.updated_at is not None and policy.updated_at >= before
