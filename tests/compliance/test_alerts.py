"""The daily renewal alerts: every privacy officer is e-mailed (on a real SMTP server on
loopback) once per agreement, 30 days before its renewal date, with nothing about any
patient in the e-mail."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import time_machine
from django.utils import timezone

from accounts.models import Role
from compliance import services
from compliance.alerts import renewal_alerts_raise
from compliance.models import RenewalAlert
from compliance.tasks import renewal_alerts
from encryption.uploads import attachment_check
from tests.compliance.factories import associate_added
from tests.conftest import body_text, make_user
from tests.encryption.pdfs import PDF_BYTES

RENEWAL = date(2027, 3, 31)


def _morning(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(7, 0)))


def _added(personas: Any, renewal_on: date = RENEWAL) -> Any:
    with time_machine.travel(_morning(date(2026, 4, 1)), tick=False):
        return associate_added(
            personas.privacy_officer, signed_on=date(2026, 3, 31), renewal_on=renewal_on
        )


class TestRenewalAlerts:
    def test_nothing_31_days_before(self, personas: Any) -> None:
        _added(personas)
        assert renewal_alerts_raise(now=_morning(RENEWAL - timedelta(days=31))) == 0

    def test_every_privacy_officer_is_emailed_30_days_before(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        second = make_user("oscar.officer@clinic.test", "Oscar Second", Role.PRIVACY_OFFICER)
        _added(personas)
        with django_capture_on_commit_callbacks(execute=True):
            assert renewal_alerts_raise(now=_morning(RENEWAL - timedelta(days=30))) == 2
        assert {m["X-Envelope-To"] for m in smtp_server.messages} == {
            personas.privacy_officer.email,
            second.email,
        }
        message = smtp_server.messages[0]
        assert "A business associate agreement is up for renewal" in message["Subject"]
        text = body_text(message)
        assert "Northwind Backup Ltd" in text
        assert "Wednesday 31 March 2027" in text
        assert "/compliance/associates/" in text

    def test_the_email_names_no_patient(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        _added(personas)
        with django_capture_on_commit_callbacks(execute=True):
            renewal_alerts_raise(now=_morning(RENEWAL - timedelta(days=10)))
        text = body_text(smtp_server.messages[0]) + smtp_server.messages[0]["Subject"]
        for patient in (personas.patient, personas.other_patient):
            profile = patient.patient_profile
            for word in (patient.full_name, patient.email, profile.mrn):
                assert word not in text

    def test_running_twice_alerts_once(
        self, personas: Any, smtp_server: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        _added(personas)
        with time_machine.travel(_morning(RENEWAL - timedelta(days=20))):
            with django_capture_on_commit_callbacks(execute=True):
                renewal_alerts.delay()
            with django_capture_on_commit_callbacks(execute=True):
                renewal_alerts.delay()
        assert len(smtp_server.messages) == 1
        assert RenewalAlert.objects.get().emailed_at is not None

    def test_a_renewal_is_alerted_in_its_turn(self, personas: Any) -> None:
        associate = _added(personas)
        assert renewal_alerts_raise(now=_morning(RENEWAL - timedelta(days=5))) == 1
        services.associate_renew(
            actor=personas.privacy_officer,
            associate=associate,
            signed_on=timezone.localdate(),
            renewal_on=date(2028, 3, 31),
            scan=attachment_check(name="baa-2028.pdf", data=PDF_BYTES),
        )
        assert renewal_alerts_raise(now=_morning(RENEWAL - timedelta(days=4))) == 0
        assert renewal_alerts_raise(now=_morning(date(2028, 3, 1))) == 1

    def test_an_ended_associate_is_not_alerted(self, personas: Any) -> None:
        associate = _added(personas)
        services.associate_end(
            actor=personas.privacy_officer, associate=associate, ended_on=timezone.localdate()
        )
        assert renewal_alerts_raise(now=_morning(RENEWAL - timedelta(days=5))) == 0

    def test_a_missed_day_is_caught_up(self, personas: Any) -> None:
        _added(personas)
        assert renewal_alerts_raise(now=_morning(RENEWAL + timedelta(days=2))) == 1
