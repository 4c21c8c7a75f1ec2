from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.mail import send_mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts.demo import PERSONAS
from accounts.models import PatientProfile, User


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


class TestSeedDemo:
    def test_it_prints_every_persona_with_sign_in_details(self, db: Any) -> None:
        output = _seed()
        for persona in PERSONAS:
            assert persona.email in output
        assert "correct horse battery staple 7" in output
        assert "TOTP key" in output

    def test_it_is_idempotent(self, db: Any) -> None:
        _seed()
        _seed()
        assert User.objects.count() == len(PERSONAS)
        assert PatientProfile.objects.count() == 2

    def test_it_refuses_production(self, db: Any, settings: Any) -> None:
        settings.APP_MODE = "production"
        with pytest.raises(CommandError, match="production"):
            _seed()


class TestDemoOutbox:
    @pytest.fixture
    def outbox(self, settings: Any, tmp_path: Any) -> Any:
        settings.APP_MODE = "demo"
        settings.EMAIL_BACKEND = "accounts.outbox.DemoOutboxBackend"
        settings.DEMO_OUTBOX_DIR = tmp_path
        return tmp_path

    def test_mail_lands_in_the_outbox_and_the_officer_reads_it(
        self, outbox: Any, personas: Any, client_for: Any
    ) -> None:
        send_mail("Portal notice", "A plain line of text.", None, ["someone@mail.test"])
        assert len(list(outbox.glob("*.eml"))) == 1
        page = client_for(personas.privacy_officer).get(reverse("accounts:demo_outbox"))
        assert "Portal notice" in page.content.decode()
        assert "A plain line of text." in page.content.decode()

    def test_other_staff_cannot_read_the_outbox(
        self, outbox: Any, personas: Any, client_for: Any
    ) -> None:
        response = client_for(personas.clinician).get(reverse("accounts:demo_outbox"))
        assert response.status_code == 404


@pytest.mark.django_db
def test_the_demo_patient_gets_one_welcome_message_however_often_it_runs(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from messaging.models import Delivery, Message

    settings.APP_MODE = "demo"
    call_command("seed_demo", stdout=StringIO())
    with django_capture_on_commit_callbacks(execute=False):
        call_command("seed_demo_messages", stdout=StringIO())
        call_command("seed_demo_messages", stdout=StringIO())
    assert Message.objects.filter(state="sent").count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
def test_the_demo_publishes_one_risk_statement_however_often_it_runs(settings: Any) -> None:
    from consent.models import WaiverStatement

    settings.APP_MODE = "demo"
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo_consent", stdout=StringIO())
    call_command("seed_demo_consent", stdout=StringIO())
    assert list(WaiverStatement.objects.values_list("version", flat=True)) == [1]


@pytest.mark.django_db
def test_the_consent_seed_refuses_production(settings: Any) -> None:
    settings.APP_MODE = "production"
    with pytest.raises(CommandError):
        call_command("seed_demo_consent", stdout=StringIO())
