"""The privacy officer's search by people's names and MRNs, and results in words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from audit.services import event_record
from tests.conftest import make_patient

ClientFor = Callable[..., Client]
pytestmark = pytest.mark.django_db


def _post(client: Client, **data: str) -> Any:
    return client.post(reverse("audit:search"), data)


def _ids(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 302, response.content.decode()[:500]
    return parse_qs(urlsplit(response["Location"]).query)


class TestSearchByPeople:
    def test_a_patient_is_found_by_name_and_only_their_id_goes_in_the_url(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        response = _post(client_for(personas.privacy_officer), patient="quartermaine")
        assert _ids(response) == {"patient_id": [str(personas.patient.pk)]}
        assert "Quartermaine" not in response["Location"]

    def test_a_patient_is_found_by_mrn(self, personas: Any, client_for: ClientFor) -> None:
        response = _post(client_for(personas.privacy_officer), patient="mrn-555002")
        assert _ids(response) == {"patient_id": [str(personas.other_patient.pk)]}

    def test_a_staff_member_is_found_by_name(self, personas: Any, client_for: ClientFor) -> None:
        response = _post(
            client_for(personas.privacy_officer), staff="Nakamura", action="audit.searched"
        )
        assert _ids(response) == {
            "actor_id": [str(personas.clinician.pk)],
            "action": ["audit.searched"],
        }

    def test_the_search_then_finds_that_patients_events(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        wanted = event_record(
            action="messaging.thread_viewed",
            actor=personas.clinician,
            patient_id=personas.patient.pk,
        )
        event_record(
            action="messaging.thread_viewed",
            actor=personas.clinician,
            patient_id=personas.other_patient.pk,
        )
        client = client_for(personas.privacy_officer)
        page = client.get(_post(client, patient="Penelope")["Location"])
        assert [row["event"].pk for row in page.context["rows"]] == [wanted.pk]
        assert 'value="Penelope Quartermaine"' in page.content.decode()  # who is searched

    def test_several_matches_are_offered_as_choices(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        twin = make_patient(
            "pia.q@mail.test", "Pia Quartermaine", "MRN-555003", personas.privacy_officer
        )
        response = _post(client_for(personas.privacy_officer), patient="Quartermaine")
        assert response.status_code == 200
        html = response.content.decode()
        assert "Several people match" in html
        assert f"patient_id={twin.pk}" in html
        assert f"patient_id={personas.patient.pk}" in html

    def test_no_match_is_said_on_the_field(self, personas: Any, client_for: ClientFor) -> None:
        response = _post(client_for(personas.privacy_officer), patient="Nobody Atall")
        assert response.status_code == 200
        assert "No patient matches." in response.content.decode()

    def test_the_name_lookup_is_recorded_without_what_was_typed(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        from audit.models import AuditEvent

        _post(client_for(personas.privacy_officer), patient="Quartermaine")
        searched = AuditEvent.objects.get(action="messaging.patient_searched")
        assert searched.details == {"results": 1}


class TestResultsInWords:
    def test_results_show_labels_names_and_links_not_codes(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        event_record(
            action="messaging.thread_viewed",
            actor=personas.clinician,
            target_type="messaging.thread",
            target_id="3f1c0c52-5b0e-4b43-9d0c-1f1e7f3a2b10",
            patient_id=personas.patient.pk,
        )
        response = client_for(personas.privacy_officer).get(
            reverse("audit:search"), {"patient_id": personas.patient.pk}
        )
        table = response.content.decode().split("<table", 1)[1]
        assert "Conversation viewed" in table
        assert "messaging.thread_viewed" not in table
        assert "3f1c0c52" not in table
        assert "Penelope Quartermaine" in table and "MRN-555001" in table
        assert reverse("directory:patient", args=[personas.patient.pk]) in table
        assert reverse("directory:staff", args=[personas.clinician.pk]) in table
        assert "Cedric Nakamura" in table

    def test_actions_are_grouped_by_area_with_labels(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        html = client_for(personas.privacy_officer).get(reverse("audit:search")).content.decode()
        assert '<optgroup label="Secure messaging">' in html
        assert '<option value="messaging.thread_viewed">Conversation viewed</option>' in html
        assert '<optgroup label="Retention">' in html

    def test_the_event_page_names_the_people(self, personas: Any, client_for: ClientFor) -> None:
        event = event_record(
            action="messaging.thread_viewed",
            actor=personas.clinician,
            patient_id=personas.patient.pk,
        )
        html = (
            client_for(personas.privacy_officer)
            .get(reverse("audit:event_detail", args=[event.pk]))
            .content.decode()
        )
        assert "Penelope Quartermaine" in html
        assert reverse("directory:patient", args=[personas.patient.pk]) in html
