"""The patient's "Who viewed my information": grouped, paginated, internal work hidden."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit import patient_history, registry
from audit.models import AuditEvent
from audit.selectors import HISTORY_PAGE_SIZE
from audit.services import event_record

ClientFor = Callable[..., Client]


def _page(client: Client, **params: Any) -> Any:
    response = client.get(reverse("audit:my_access_log"), params)
    assert response.status_code == 200
    return response


def _lines(response: Any) -> list[tuple[str, str, int]]:
    return [(g.who, g.what, g.times) for g in response.context["page"].object_list]


def _at(moment: str, **fields: Any) -> None:
    event = event_record(**fields)
    # The database stamps events; move this one to a chosen time (test database only).
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE audit_auditevent SET occurred_at = %s WHERE id = %s",
            [datetime.fromisoformat(moment), event.pk],
        )
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


class TestClassification:
    def test_every_registered_action_is_shown_to_patients_or_internal(self) -> None:
        assert patient_history.unclassified() == []

    def test_an_action_added_without_a_classification_is_caught(self) -> None:
        registry._labels["audit.new_thing"] = "A new thing"
        try:
            assert patient_history.unclassified() == ["audit.new_thing"]
        finally:
            del registry._labels["audit.new_thing"]

    def test_no_action_is_both_shown_and_internal(self) -> None:
        assert set(patient_history.SHOWN_TO_PATIENT) & patient_history.INTERNAL == set()

    def test_every_classified_action_exists(self) -> None:
        known = {code for code, _label in registry.all_actions()}
        assert set(patient_history.SHOWN_TO_PATIENT) | patient_history.INTERNAL <= known

    @pytest.mark.parametrize(
        "code",
        [
            "audit.searched",
            "audit.exported",
            "retention.hold_placed",
            "retention.hold_released",
            "encryption.key_rotated",
            "accounts.role_changed",
            "accounts.staff_created",
        ],
    )
    def test_staff_internal_work_is_internal(self, code: str) -> None:
        assert code in patient_history.INTERNAL


@pytest.mark.django_db
class TestMyAccessLog:
    def test_it_groups_by_person_day_and_kind_of_access(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        patient = personas.patient
        for _ in range(3):
            event_record(
                action="messaging.thread_viewed", actor=personas.clinician, patient_id=patient.pk
            )
        event_record(
            action="messaging.message_opened", actor=personas.clinician, patient_id=patient.pk
        )
        event_record(
            action="records.request_viewed", actor=personas.records_clerk, patient_id=patient.pk
        )
        lines = _lines(_page(client_for(patient)))
        assert sorted(lines) == sorted(
            [
                (personas.clinician.audit_label(), "Read your messages", 4),
                (personas.records_clerk.audit_label(), "Worked on your request for records", 1),
            ]
        )

    def test_it_reads_as_a_sentence_with_the_count(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        for _ in range(3):
            event_record(
                action="messaging.thread_viewed",
                actor=personas.clinician,
                patient_id=personas.patient.pk,
            )
        html = _page(client_for(personas.patient)).content.decode()
        assert "Read your messages" in html
        assert "3 times" in html
        name = personas.clinician.full_name
        assert f'{name}</strong> <span class="help">(Clinician)</span>' in html
        assert html.count("(Clinician)") == 1

    def test_the_role_is_said_once_in_the_readers_language(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        event_record(
            action="messaging.thread_viewed",
            actor=personas.clinician,
            patient_id=personas.patient.pk,
        )
        personas.patient.language = "es"
        personas.patient.save(update_fields=["language"])
        html = _page(client_for(personas.patient)).content.decode()
        assert "(Profesional clínico)" in html
        assert "(Clinician)" not in html

    def test_the_same_person_on_two_days_is_two_lines(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        for moment in ("2026-12-03T10:00:00+00:00", "2026-12-04T10:00:00+00:00"):
            _at(
                moment,
                action="messaging.thread_viewed",
                actor=personas.clinician,
                patient_id=personas.patient.pk,
            )
        page = _page(client_for(personas.patient)).context["page"]
        assert [(g.day.isoformat(), g.times) for g in page.object_list] == [
            ("2026-12-04", 1),
            ("2026-12-03", 1),
        ]

    def test_it_hides_internal_actions_from_the_patient(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        patient = personas.patient
        for code in ("audit.searched", "audit.exported", "retention.hold_placed"):
            event_record(action=code, actor=personas.privacy_officer, patient_id=patient.pk)
        event_record(
            action="messaging.inbox_listed", actor=personas.clinician, patient_id=patient.pk
        )
        event_record(
            action="messaging.composer_opened", actor=personas.clinician, patient_id=patient.pk
        )
        response = _page(client_for(patient))
        assert _lines(response) == []
        assert "legal hold" not in response.content.decode().lower()

    def test_it_leaves_out_other_patients_own_actions_and_denied_attempts(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        patient = personas.patient
        event_record(
            action="messaging.thread_viewed",
            actor=personas.clinician,
            patient_id=personas.other_patient.pk,
        )
        event_record(action="messaging.thread_viewed", actor=patient, patient_id=patient.pk)
        event_record(
            action="messaging.thread_viewed",
            actor=personas.clinician,
            patient_id=patient.pk,
            outcome="denied",
        )
        assert _lines(_page(client_for(patient))) == []

    def test_it_is_paginated(self, personas: Any, client_for: ClientFor) -> None:
        # One group per day: HISTORY_PAGE_SIZE + 2 days make two pages.
        for day in range(1, HISTORY_PAGE_SIZE + 3):
            _at(
                f"2026-10-{day:02d}T10:00:00+00:00",
                action="messaging.thread_viewed",
                actor=personas.clinician,
                patient_id=personas.patient.pk,
            )
        client = client_for(personas.patient)
        first = _page(client)
        assert len(first.context["page"].object_list) == HISTORY_PAGE_SIZE
        assert "Page 1 of 2" in first.content.decode()
        second = _page(client, page=2)
        assert [g.day.day for g in second.context["page"].object_list] == [2, 1]

    def test_viewing_it_is_recorded(self, personas: Any, client_for: ClientFor) -> None:
        _page(client_for(personas.patient))
        viewed = AuditEvent.objects.get(action="audit.access_history_viewed")
        assert (viewed.actor_id, viewed.patient_id) == (personas.patient.pk, personas.patient.pk)

    @pytest.mark.parametrize("persona", ["clinician", "records_clerk", "privacy_officer"])
    def test_it_does_not_exist_for_staff(
        self, personas: Any, client_for: ClientFor, persona: str
    ) -> None:
        response = client_for(getattr(personas, persona)).get(reverse("audit:my_access_log"))
        assert response.status_code == 404

    def test_its_query_count_does_not_grow_with_the_entries(
        self, personas: Any, client_for: ClientFor, django_assert_num_queries: Any
    ) -> None:
        client = client_for(personas.patient)
        event_record(
            action="messaging.thread_viewed",
            actor=personas.clinician,
            patient_id=personas.patient.pk,
        )
        client.get(reverse("audit:my_access_log"))
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("audit:my_access_log"))
        for code in ("messaging.thread_viewed", "records.request_viewed") * 30:
            event_record(action=code, actor=personas.clinician, patient_id=personas.patient.pk)
        with django_assert_num_queries(len(few)):
            client.get(reverse("audit:my_access_log"))


def test_the_roles_it_strips_are_the_account_roles_labels() -> None:
    """The stored actor label ends with the account role's label ("Name (Clinician)"):
    if a label changed here but not there, the page would say the role twice again."""
    from accounts.models import Role

    assert {code: Role(code).label for code in patient_history.ROLES} == patient_history.ROLES
