"""The patient directory and the staff list: find, open, look after an account."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import CareTeamMember, Role
from audit.models import AuditEvent
from tests.conftest import make_user
from tests.messaging.factories import message_sent

pytestmark = pytest.mark.django_db


def _page(client: Any, patient: Any) -> str:
    response = client.get(reverse("directory:patient", args=[patient.pk]))
    assert response.status_code == 200
    return response.content.decode()


class TestSearch:
    def test_a_search_is_a_post_and_finds_within_scope(
        self, personas: Any, client_for: Any
    ) -> None:
        url = reverse("directory:search")
        found = client_for(personas.clinician).post(url, {"q": "MRN-555001"}).content.decode()
        assert reverse("directory:patient", args=[personas.patient.pk]) in found
        other = client_for(personas.clinician).post(url, {"q": "MRN-555002"}).content.decode()
        assert "No patient matches." in other  # not on this clinician's care team
        assert AuditEvent.objects.filter(action="messaging.patient_searched").count() == 2


class TestPatientPage:
    def test_it_gathers_what_staff_may_see_and_is_audited(
        self, personas: Any, client_for: Any
    ) -> None:
        message_sent(author=personas.clinician, patient=personas.patient, subject="Your results")
        text = _page(client_for(personas.clinician), personas.patient)
        for part in ("Identity", "Account", "Care team", "Secure messages", "Record requests"):
            assert part in text
        assert "Your results" in text and personas.clinician.full_name in text
        assert "MRN-555001" in text and "Active" in text
        event = AuditEvent.objects.get(action="directory.patient_page_viewed")
        assert event.patient_id == personas.patient.pk

    def test_a_clinician_off_the_team_gets_404(self, personas: Any, client_for: Any) -> None:
        url = reverse("directory:patient", args=[personas.other_patient.pk])
        assert client_for(personas.clinician).get(url).status_code == 404

    def test_a_records_clerk_does_not_see_clinical_threads(
        self, personas: Any, client_for: Any
    ) -> None:
        message_sent(author=personas.clinician, patient=personas.patient, subject="Biopsy")
        assert "Biopsy" not in _page(client_for(personas.records_clerk), personas.patient)

    def test_a_colleague_is_added_to_the_care_team_from_the_page(
        self, personas: Any, client_for: Any
    ) -> None:
        colleague = make_user("dana.second@clinic.test", "Dana Okonkwo", Role.CLINICIAN)
        client_for(personas.clinician).post(
            reverse("directory:care_team_add", args=[personas.patient.pk]),
            {"clinician": colleague.pk},
        )
        assert CareTeamMember.objects.filter(patient=personas.patient, staff=colleague).exists()

    def test_a_recovery_needs_the_identity_check(
        self, personas: Any, client_for: Any, smtp_server: Any
    ) -> None:
        url = reverse("directory:patient_recover", args=[personas.patient.pk])
        client = client_for(personas.records_clerk)
        client.post(url, {"identity_method": "photo_id_in_person"})  # not confirmed
        assert not personas.patient.recoveries.exists()
        client.post(url, {"identity_method": "photo_id_in_person", "confirm": "on"})
        assert personas.patient.recoveries.count() == 1

    def test_the_officer_deactivates_and_the_page_says_so(
        self, personas: Any, client_for: Any
    ) -> None:
        officer = client_for(personas.privacy_officer)
        officer.post(
            reverse("directory:patient_offboard", args=[personas.patient.pk]),
            {"action": "deactivate"},
        )
        text = _page(officer, personas.patient)
        assert "Deactivated" in text and "Reactivate the account" in text


class TestStaffAccounts:
    def test_the_officer_lists_staff_and_opens_one_with_its_open_work(
        self, personas: Any, client_for: Any
    ) -> None:
        officer = client_for(personas.privacy_officer)
        listed = officer.get(reverse("directory:staff_list")).content.decode()
        assert personas.clinician.full_name in listed
        assert personas.patient.full_name not in listed
        page = officer.get(reverse("directory:staff", args=[personas.clinician.pk]))
        assert "Leaving or back" in page.content.decode()
        assert AuditEvent.objects.filter(action="directory.staff_page_viewed").exists()

    def test_open_work_assigned_to_the_person_is_listed_for_reassignment(
        self, personas: Any, client_for: Any
    ) -> None:
        from records.models import RecordRequest
        from tests.records.factories import request_received

        thread = message_sent(author=personas.clinician, patient=personas.patient).thread
        thread.assigned_to = personas.clinician
        thread.save(update_fields=["assigned_to"])
        request = request_received(patient=personas.patient)
        RecordRequest.objects.filter(pk=request.pk).update(assigned_to=personas.clinician)

        officer = client_for(personas.privacy_officer)
        page = officer.get(reverse("directory:staff", args=[personas.clinician.pk]))
        text = page.content.decode()
        assert reverse("messaging:thread", args=[thread.pk]) in text
        assert reverse("records:request", args=[request.pk]) in text
        assert "Conversations (1)" in text and "Record requests (1)" in text
        assert thread.subject not in text  # links and dates, nothing from the record

        clerk_page = officer.get(reverse("directory:staff", args=[personas.records_clerk.pk]))
        assert "Nothing open is assigned to" in clerk_page.content.decode()

    def test_a_role_change_from_the_page(self, personas: Any, client_for: Any) -> None:
        client_for(personas.privacy_officer).post(
            reverse("directory:staff_role", args=[personas.clinician.pk]),
            {"role": "records_clerk"},
        )
        personas.clinician.refresh_from_db()
        assert personas.clinician.role == Role.RECORDS_CLERK
