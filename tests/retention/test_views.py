"""The privacy officer's retention screens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from retention import services
from retention.models import LegalHold, RetentionPolicy
from retention.rules import PeriodUnit, RecordKind
from tests.conftest import page_query_count
from tests.retention.factories import message_with_file, purge, thread_of, years_later

pytestmark = pytest.mark.django_db

SCAN_POLICY = reverse("retention:policy_edit", kwargs={"kind": RecordKind.AUTHORIZATION_SCAN})


@pytest.fixture
def officer(personas: Any, client_for: Any) -> Any:
    return client_for(personas.privacy_officer)


class TestOverview:
    def test_it_lists_every_kind_with_its_default(self, officer: Any) -> None:
        page = officer.get(reverse("retention:overview")).content.decode()
        for kind in RecordKind:
            assert kind.label in page
        assert "10 years" in page and "90 days" in page and "(default)" in page

    def test_it_names_what_is_never_purged(self, officer: Any) -> None:
        page = officer.get(reverse("retention:overview")).content.decode()
        assert "Audit events" in page and "Accounting of disclosures" in page

    def test_it_forecasts_the_next_30_days(self, personas: Any, officer: Any) -> None:
        message_with_file(personas)
        services.policy_update(
            actor=personas.privacy_officer,
            kind=RecordKind.MESSAGE_CLINICAL,
            clock_start="sent",
            amount=20,
            unit=PeriodUnit.DAYS,
        )
        response = officer.get(reverse("retention:overview"))
        assert [row["due"] for row in response.context["rows"]][:1] == [1]
        assert response.context["forecast_total"] == 1  # its attachment is kept ten years

    def test_its_query_count_does_not_grow_with_the_data(self, personas: Any, officer: Any) -> None:
        url = reverse("retention:overview")
        before = page_query_count(officer, url)
        message_with_file(personas)
        message_with_file(personas)
        assert page_query_count(officer, url) == before


class TestPolicyEdit:
    def test_a_change_is_saved_and_audited_with_old_and_new(
        self, personas: Any, officer: Any
    ) -> None:
        url = reverse("retention:policy_edit", kwargs={"kind": RecordKind.MESSAGE_OTHER})
        response = officer.post(url, {"clock_start": "sent", "amount": "3", "unit": "years"})
        assert response.status_code == 302
        assert RetentionPolicy.objects.get(kind=RecordKind.MESSAGE_OTHER).amount == 3
        event = AuditEvent.objects.get(action="retention.policy_changed")
        assert (event.details["old_amount"], event.details["old_unit"]) == (7, "years")
        assert (event.details["new_amount"], event.details["new_unit"]) == (3, "years")

    def test_a_scan_period_below_six_years_is_refused_naming_the_rule(self, officer: Any) -> None:
        response = officer.post(
            SCAN_POLICY, {"clock_start": "ended", "amount": "5", "unit": "years"}
        )
        assert response.status_code == 400
        page = response.content.decode()
        assert "45 CFR 164.508(b)(6) and 164.530(j)(2)" in page
        assert 'value="5"' in page  # what was typed is kept
        assert not RetentionPolicy.objects.exists()

    def test_the_refusal_is_audited(self, officer: Any) -> None:
        officer.post(SCAN_POLICY, {"clock_start": "ended", "amount": "2000", "unit": "days"})
        event = AuditEvent.objects.get(action="retention.policy_refused")
        assert event.outcome == "denied" and event.details["amount"] == 2000

    def test_a_clock_the_kind_does_not_have_is_refused(self, officer: Any) -> None:
        response = officer.post(
            SCAN_POLICY, {"clock_start": "sent", "amount": "9", "unit": "years"}
        )
        assert response.status_code == 400
        assert not RetentionPolicy.objects.exists()

    def test_hostile_input_is_refused_cleanly(self, officer: Any) -> None:
        response = officer.post(
            SCAN_POLICY, {"clock_start": "ended", "amount": "9" * 40, "unit": "<script>"}
        )
        assert response.status_code == 400
        assert "<script>" not in response.content.decode()

    def test_an_unknown_kind_is_404(self, officer: Any) -> None:
        url = reverse("retention:policy_edit", kwargs={"kind": "audit_events"})
        assert officer.get(url).status_code == 404


class TestHolds:
    def place(self, officer: Any, **data: Any) -> Any:
        values = {"scope": "patient", "mrn": "", "reason": "Litigation notice 2026-114"}
        values.update(data)
        return officer.post(reverse("retention:hold_place"), values)

    def test_a_patient_hold_is_placed_by_mrn(self, personas: Any, officer: Any) -> None:
        response = self.place(officer, mrn=personas.patient.patient_profile.mrn)
        assert response.status_code == 302
        hold = LegalHold.objects.get()
        assert hold.patient == personas.patient and hold.reason == "Litigation notice 2026-114"
        page = officer.get(reverse("retention:holds")).content.decode()
        assert "Litigation notice 2026-114" in page

    def test_placing_is_audited_without_the_reason(self, personas: Any, officer: Any) -> None:
        self.place(officer, mrn=personas.patient.patient_profile.mrn)
        event = AuditEvent.objects.get(action="retention.hold_placed")
        assert event.patient_id == personas.patient.pk
        assert "Litigation" not in str(event.details)

    def test_a_thread_hold_takes_the_threads_reference(self, personas: Any, officer: Any) -> None:
        thread = thread_of(message_with_file(personas))
        response = self.place(
            officer, scope="thread", mrn=personas.patient.patient_profile.mrn, reference=thread.pk
        )
        assert response.status_code == 302
        assert LegalHold.objects.get().thread == thread

    def test_another_patients_thread_is_refused(self, personas: Any, officer: Any) -> None:
        thread = thread_of(message_with_file(personas))
        response = self.place(
            officer,
            scope="thread",
            mrn=personas.other_patient.patient_profile.mrn,
            reference=thread.pk,
        )
        assert response.status_code == 400
        assert "no thread with that reference" in response.content.decode()

    def test_an_unknown_mrn_is_refused_keeping_the_reason(self, officer: Any) -> None:
        response = self.place(officer, mrn="NOPE-1")
        assert response.status_code == 400
        page = response.content.decode()
        assert "No patient has this MRN." in page and "Litigation notice 2026-114" in page

    def test_an_end_date_in_the_past_is_refused(self, personas: Any, officer: Any) -> None:
        yesterday = timezone.localdate() - timedelta(days=1)
        response = self.place(
            officer, mrn=personas.patient.patient_profile.mrn, ends_on=yesterday.isoformat()
        )
        assert response.status_code == 400
        assert not LegalHold.objects.exists()

    def test_release_ends_the_hold_and_is_audited(self, personas: Any, officer: Any) -> None:
        self.place(officer, mrn=personas.patient.patient_profile.mrn)
        hold = LegalHold.objects.get()
        response = officer.post(
            reverse("retention:hold_release", kwargs={"hold_id": hold.pk}), {"confirm": "on"}
        )
        assert response.status_code == 302
        hold.refresh_from_db()
        assert hold.released_by == personas.privacy_officer
        assert AuditEvent.objects.filter(action="retention.hold_released").count() == 1

    def test_release_without_the_confirmation_box_changes_nothing(
        self, personas: Any, officer: Any
    ) -> None:
        self.place(officer, mrn=personas.patient.patient_profile.mrn)
        url = reverse("retention:hold_release", kwargs={"hold_id": LegalHold.objects.get().pk})
        page = officer.post(url, follow=True).content.decode()
        assert "The hold is still in place. Tick the box to confirm the release." in page
        assert LegalHold.objects.get().released_at is None
        assert not AuditEvent.objects.filter(action="retention.hold_released").exists()

    def test_the_release_button_comes_with_its_confirmation_box(
        self, personas: Any, officer: Any
    ) -> None:
        self.place(officer, mrn=personas.patient.patient_profile.mrn)
        page = officer.get(reverse("retention:holds")).content.decode()
        assert '<input type="checkbox" name="confirm" required> Yes, release it' in page

    def test_releasing_twice_says_so(self, personas: Any, officer: Any) -> None:
        self.place(officer, mrn=personas.patient.patient_profile.mrn)
        url = reverse("retention:hold_release", kwargs={"hold_id": LegalHold.objects.get().pk})
        officer.post(url, {"confirm": "on"})
        page = officer.post(url, {"confirm": "on"}, follow=True).content.decode()
        assert "already been released" in page


class TestHistory:
    def test_it_lists_runs_with_their_counts(self, personas: Any, officer: Any) -> None:
        message_with_file(personas)
        purge(years_later(10, days=1))
        page = officer.get(reverse("retention:runs")).content.decode()
        assert "Secure messages: clinical: 1" in page and "Finished" in page

    def test_its_query_count_does_not_grow_with_runs(self, officer: Any) -> None:
        url = reverse("retention:runs")
        purge(timezone.now())
        before = page_query_count(officer, url)
        purge(timezone.now())
        purge(timezone.now())
        assert page_query_count(officer, url) == before


def test_listing_holds_is_audited(personas: Any, officer: Any) -> None:
    services.hold_place(
        actor=personas.privacy_officer, scope="patient", patient=personas.patient, reason="Audit"
    )
    officer.get(reverse("retention:holds"))
    details = AuditEvent.objects.get(action="retention.holds_listed").details
    assert details == {"shown": 1, "patients": [personas.patient.pk]}
