"""The daily deadline job: the assignee 7, 3 and 1 days before, the officer after; twice is once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from audit.models import AuditEvent
from records import deadlines
from records.alerts import deadline_alerts_raise
from records.models import AlertKind, RequestAlert
from records.services import request_assign
from tests.records.factories import request_received


def _on_day(request: Any, days_before: int) -> Any:
    """Noon, local time, ``days_before`` days before the due day (negative: after it)."""
    day = deadlines.due_day(request.due_at) - timedelta(days=days_before)
    return deadlines.end_of_day(day) - timedelta(hours=12)


def _kinds(user: Any) -> list[str]:
    return list(RequestAlert.objects.filter(recipient=user).values_list("kind", flat=True))


class TestThresholds:
    def test_nothing_eight_days_before(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        with time_machine.travel(_on_day(request, 8)):
            assert deadline_alerts_raise().raised == 0

    def test_the_assignee_at_seven_three_and_one_days_before(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        request = request_received(patient=personas.patient)
        request_assign(
            actor=personas.records_clerk, request=request, assignee=personas.records_clerk
        )
        for days in (7, 6, 3, 2, 1, 0):
            with (
                time_machine.travel(_on_day(request, days)),
                django_capture_on_commit_callbacks(execute=True),
            ):
                deadline_alerts_raise()
        assert _kinds(personas.records_clerk) == [
            AlertKind.DAYS_7,
            AlertKind.DAYS_3,
            AlertKind.DAYS_1,
        ]
        assert len(smtp_server.messages) == 3
        assert {m["X-Envelope-To"] for m in smtp_server.messages} == {personas.records_clerk.email}

    def test_an_unassigned_request_alerts_every_records_clerk(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        with time_machine.travel(_on_day(request, 3)):
            deadline_alerts_raise()
        assert _kinds(personas.records_clerk) == [AlertKind.DAYS_3]
        assert _kinds(personas.privacy_officer) == []

    def test_the_privacy_officer_once_it_is_overdue(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        with time_machine.travel(request.due_at + timedelta(minutes=1)):
            deadline_alerts_raise()
        assert _kinds(personas.privacy_officer) == [AlertKind.OVERDUE]

    def test_a_missed_day_is_caught_up(self, personas: Any) -> None:
        request = request_received(patient=personas.patient)
        with time_machine.travel(_on_day(request, 5)):  # the job did not run at 7 days
            deadline_alerts_raise()
        assert _kinds(personas.records_clerk) == [AlertKind.DAYS_7]

    def test_a_closed_request_is_not_alerted(self, personas: Any) -> None:
        from records.services import request_withdraw

        request = request_received(patient=personas.patient)
        request_withdraw(actor=personas.patient, request=request)
        with time_machine.travel(_on_day(request, 1)):
            assert deadline_alerts_raise().raised == 0


class TestIdempotence:
    def test_running_twice_alerts_once(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        request = request_received(patient=personas.patient)
        with time_machine.travel(_on_day(request, 3)):
            with django_capture_on_commit_callbacks(execute=True):
                first = deadline_alerts_raise()
            with django_capture_on_commit_callbacks(execute=True):
                second = deadline_alerts_raise()
        assert (first.raised, second.raised) == (1, 0)
        assert len(smtp_server.messages) == 1
        assert AuditEvent.objects.filter(action="records.deadline_alerted").count() == 1

    def test_a_second_task_for_an_alert_being_sent_sends_nothing(
        self, personas: Any, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import accounts.tasks
        from records.alerts import alert_email

        request = request_received(patient=personas.patient)
        with time_machine.travel(_on_day(request, 3)):
            deadline_alerts_raise()  # its e-mail task waits for a commit; run it by hand
        alert = RequestAlert.objects.get()
        real_send = accounts.tasks.email_send

        def send_while_a_duplicate_task_runs(**kwargs: Any) -> None:
            monkeypatch.setattr(accounts.tasks, "email_send", real_send)
            assert alert_email(alert_id=alert.pk) is False  # the duplicate, mid-send
            real_send(**kwargs)

        monkeypatch.setattr(accounts.tasks, "email_send", send_while_a_duplicate_task_runs)
        assert alert_email(alert_id=alert.pk) is True
        assert len(smtp_server.messages) == 1

    def test_a_failed_alert_email_is_sent_by_the_retry(
        self, personas: Any, smtp_server: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import accounts.tasks
        from records.alerts import alert_email

        request = request_received(patient=personas.patient)
        with time_machine.travel(_on_day(request, 3)):
            deadline_alerts_raise()
        alert = RequestAlert.objects.get()
        real_send = accounts.tasks.email_send

        def mail_server_down(**kwargs: Any) -> None:
            raise accounts.tasks.MailNotSent("ConnectionRefusedError")

        monkeypatch.setattr(accounts.tasks, "email_send", mail_server_down)
        with pytest.raises(OSError):
            alert_email(alert_id=alert.pk)
        monkeypatch.setattr(accounts.tasks, "email_send", real_send)
        assert alert_email(alert_id=alert.pk) is True
        assert alert_email(alert_id=alert.pk) is False
        assert len(smtp_server.messages) == 1
        alert.refresh_from_db()
        assert alert.emailed_at is not None

    def test_the_alert_email_carries_no_health_information(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        from tests.conftest import body_text

        request = request_received(patient=personas.patient)
        with (
            time_machine.travel(_on_day(request, 1)),
            django_capture_on_commit_callbacks(execute=True),
        ):
            deadline_alerts_raise()
        text = body_text(smtp_server.messages[0]).lower()
        profile = personas.patient.patient_profile
        for secret in (profile.legal_name, profile.mrn, "knee", personas.patient.email):
            assert secret.lower() not in text
        assert str(request.pk) in text  # the link names the request by its opaque id
