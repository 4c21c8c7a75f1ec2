from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import event_record

from .conftest import record

ClientFor = Callable[..., Client]
OFFICER_ONLY = ("audit:search", "audit:export")


def _content(response: StreamingHttpResponse) -> str:
    return b"".join(response.streaming_content).decode()  # type: ignore[arg-type]


def _event_at(moment: str) -> AuditEvent:
    return AuditEvent.objects.create(
        occurred_at=datetime.fromisoformat(moment), actor_kind="system", action="audit.searched"
    )


def _search(client: Client, **params: Any) -> Any:
    return client.get(reverse("audit:search"), params)


@pytest.mark.django_db
class TestEventSearch:
    @pytest.mark.parametrize("persona", ["patient", "clinician", "records_clerk"])
    def test_it_does_not_exist_for_anyone_but_the_privacy_officer(
        self, personas: Any, client_for: ClientFor, persona: str
    ) -> None:
        response = _search(client_for(getattr(personas, persona)))
        assert response.status_code == 404

    def test_it_filters_by_patient_actor_action_and_outcome(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        wanted = event_record(
            action="audit.event_viewed", actor=personas.clinician, patient_id=personas.patient.pk
        )
        event_record(action="audit.event_viewed", actor=personas.clinician, patient_id=7)
        event_record(
            action="audit.searched", actor=personas.clinician, patient_id=personas.patient.pk
        )
        event_record(
            action="audit.event_viewed",
            actor=personas.records_clerk,
            patient_id=personas.patient.pk,
            outcome="denied",
        )
        response = _search(
            client_for(personas.privacy_officer),
            patient_id=personas.patient.pk,
            actor_id=personas.clinician.pk,
            action="audit.event_viewed",
            outcome="success",
        )
        assert [e.pk for e in response.context["page"].events] == [wanted.pk]

    def test_it_filters_by_an_inclusive_date_range(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        # The database stamps events (its clock, not the test's), so set the time directly.
        inside = _event_at("2025-03-01T23:59:59Z")
        _event_at("2025-03-02T00:00:01Z")
        _event_at("2025-02-28T23:59:59Z")
        client = client_for(personas.privacy_officer)
        response = _search(client, date_from="2025-03-01", date_to="2025-03-01")
        assert [e.pk for e in response.context["page"].events] == [inside.pk]

    def test_it_refuses_an_end_date_before_the_start(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        response = _search(
            client_for(personas.privacy_officer), date_from="2025-03-02", date_to="2025-03-01"
        )
        assert response.context["page"] is None and response.context["form"].errors

    def test_it_pages_from_newest_to_oldest(self, personas: Any, client_for: ClientFor) -> None:
        events = record(60, action="audit.event_viewed")
        client = client_for(personas.privacy_officer)
        first = _search(client, action="audit.event_viewed").context["page"]
        second = _search(client, action="audit.event_viewed", before=first.older_than)
        shown = [e.pk for e in first.events + second.context["page"].events]
        assert shown == [e.pk for e in reversed(events)]

    def test_its_query_count_does_not_grow_with_the_results(
        self, personas: Any, client_for: ClientFor, django_assert_num_queries: Any
    ) -> None:
        client = client_for(personas.privacy_officer)
        _search(client)  # settle the session

        def named_events(n: int) -> None:  # names to look up: the patient's and the actor's
            for _ in range(n):
                event_record(
                    action="audit.event_viewed",
                    actor=personas.clinician,
                    patient_id=personas.patient.pk,
                )

        named_events(2)
        with CaptureQueriesContext(connection) as few:
            _search(client)
        named_events(120)
        with django_assert_num_queries(len(few)):
            response = _search(client)
        assert len(response.context["page"].events) == 50

    def test_each_search_is_recorded_with_its_filters(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        _search(client_for(personas.privacy_officer), patient_id=personas.patient.pk)
        searched = AuditEvent.objects.get(action="audit.searched")
        assert searched.actor_id == personas.privacy_officer.pk
        assert searched.patient_id == personas.patient.pk
        assert searched.details == {"patient_id": personas.patient.pk, "shown": 0}


@pytest.mark.django_db
class TestEventDetail:
    def test_the_privacy_officer_sees_the_event_and_that_is_recorded(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        event = event_record(action="audit.exported", patient_id=personas.patient.pk)
        response = client_for(personas.privacy_officer).get(
            reverse("audit:event_detail", args=[event.pk])
        )
        assert response.status_code == 200 and response.context["event"] == event
        viewed = AuditEvent.objects.get(action="audit.event_viewed")
        assert (viewed.target_id, viewed.patient_id) == (str(event.pk), personas.patient.pk)

    def test_it_does_not_exist_for_a_clinician(self, personas: Any, client_for: ClientFor) -> None:
        event = record(1)[0]
        response = client_for(personas.clinician).get(
            reverse("audit:event_detail", args=[event.pk])
        )
        assert response.status_code == 404

    def test_an_unknown_event_is_404(self, personas: Any, client_for: ClientFor) -> None:
        response = client_for(personas.privacy_officer).get(
            reverse("audit:event_detail", args=[999999])
        )
        assert response.status_code == 404


@pytest.mark.django_db
class TestEventExport:
    def _export(self, client: Client, fmt: str, **params: Any) -> Any:
        return client.get(reverse("audit:export", args=[fmt]), params)

    def test_csv_holds_the_matching_events(self, personas: Any, client_for: ClientFor) -> None:
        wanted = event_record(action="audit.event_viewed", patient_id=personas.patient.pk)
        event_record(action="audit.event_viewed", patient_id=personas.other_patient.pk)
        response = self._export(
            client_for(personas.privacy_officer), "csv", patient_id=personas.patient.pk
        )
        rows = list(csv.DictReader(io.StringIO(_content(response))))
        assert response["Content-Type"] == "text/csv"
        assert [int(r["id"]) for r in rows] == [wanted.pk]
        assert rows[0]["action"] == "audit.event_viewed"

    def test_json_holds_the_matching_events(self, personas: Any, client_for: ClientFor) -> None:
        events = record(3, action="audit.event_viewed", details={"thread_id": 5})
        response = self._export(
            client_for(personas.privacy_officer), "json", action="audit.event_viewed"
        )
        rows = json.loads(_content(response))
        assert [r["id"] for r in rows] == [e.pk for e in events]
        assert rows[0]["details"] == {"thread_id": 5}

    def test_the_export_is_itself_an_event_with_its_filters(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        response = self._export(client_for(personas.privacy_officer), "json", outcome="denied")
        _content(response)
        exported = AuditEvent.objects.get(action="audit.exported")
        assert exported.actor_id == personas.privacy_officer.pk
        assert exported.details == {"outcome": "denied", "format": "json"}

    def test_the_export_does_not_include_its_own_event(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        response = self._export(client_for(personas.privacy_officer), "json")
        assert "audit.exported" not in _content(response)

    def test_a_spreadsheet_formula_in_a_cell_is_defused(
        self, personas: Any, client_for: ClientFor
    ) -> None:
        record(1, target_type="=HYPERLINK(1)")
        text = _content(self._export(client_for(personas.privacy_officer), "csv"))
        assert "'=HYPERLINK(1)" in text

    def test_it_needs_a_fresh_second_factor(self, personas: Any, client_for: ClientFor) -> None:
        client = client_for(personas.privacy_officer)
        later = timezone.now() + timedelta(seconds=settings.MFA_FRESHNESS_SECONDS + 30)
        with time_machine.travel(later):
            response = self._export(client, "csv")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:mfa_verify"))
        assert not AuditEvent.objects.filter(action="audit.exported").exists()

    def test_an_unknown_format_is_404(self, personas: Any, client_for: ClientFor) -> None:
        assert self._export(client_for(personas.privacy_officer), "xml").status_code == 404

    @pytest.mark.parametrize("persona", ["patient", "clinician", "records_clerk"])
    def test_it_does_not_exist_for_anyone_but_the_privacy_officer(
        self, personas: Any, client_for: ClientFor, persona: str
    ) -> None:
        response = self._export(client_for(getattr(personas, persona)), "csv")
        assert response.status_code == 404
        assert not AuditEvent.objects.filter(action="audit.exported").exists()

    def test_it_is_get_only(self, personas: Any, client_for: ClientFor) -> None:
        response = client_for(personas.privacy_officer).post(reverse("audit:export", args=["csv"]))
        assert response.status_code == 405
