"""The daily audit digest: counts and checkpoint heads to the privacy officers, by real SMTP."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts.models import Role
from accounts.tasks import audit_digest
from audit.context import system_actor
from audit.models import AuditCheckpoint, Outcome
from audit.sealing import events_seal
from audit.services import event_record
from tests.conftest import Personas, SMTPServer, body_text, make_user

pytestmark = pytest.mark.django_db


def _a_day_of_events(personas: Personas) -> None:
    with system_actor("test"):
        event_record(action="audit.searched", patient_id=personas.patient.pk)
        event_record(action="audit.searched", outcome=Outcome.DENIED)
    events_seal()


class TestAuditDigest:
    def test_each_privacy_officer_gets_the_counts_and_the_checkpoint_head(
        self, personas: Personas, smtp_server: SMTPServer
    ) -> None:
        _a_day_of_events(personas)
        head = AuditCheckpoint.objects.get()
        with time_machine.travel(timezone.now() + timedelta(days=1)):
            assert audit_digest() == 1
        [message] = smtp_server.messages
        assert message["X-Envelope-To"] == personas.privacy_officer.email
        assert "Audit log digest for" in message["Subject"]
        body = body_text(message)
        assert head.head_hash in body and head.public_head in body
        assert "(1 refused, 0 errors)" in body

    def test_it_says_nothing_about_any_patient_or_person(
        self, personas: Personas, smtp_server: SMTPServer
    ) -> None:
        _a_day_of_events(personas)
        with time_machine.travel(timezone.now() + timedelta(days=1)):
            audit_digest()
        body = body_text(smtp_server.messages[0])
        for person in personas.all():
            assert person.full_name not in body and person.email not in body
        assert "MRN" not in body and "audit.searched" not in body

    def test_only_active_privacy_officers_receive_it(
        self, personas: Personas, smtp_server: SMTPServer
    ) -> None:
        make_user(
            "former.officer@clinic.test", "Former Officer", Role.PRIVACY_OFFICER, is_active=False
        )
        audit_digest()
        assert [m["X-Envelope-To"] for m in smtp_server.messages] == [
            personas.privacy_officer.email
        ]

    def test_it_shows_checkpoints_waiting_for_their_anchor(
        self, personas: Personas, smtp_server: SMTPServer, tmp_path: Path, settings: Any
    ) -> None:
        settings.AUDIT_ANCHOR_SINK = "file"
        settings.AUDIT_ANCHOR_PATH = str(tmp_path / "not-mounted" / "anchors.jsonl")
        _a_day_of_events(personas)
        audit_digest()
        assert "Anchors: file, 1 checkpoints waiting to be anchored" in body_text(
            smtp_server.messages[0]
        )


def test_it_runs_daily_under_beat() -> None:
    assert settings.CELERY_BEAT_SCHEDULE["audit-digest"]["task"] == "accounts.tasks.audit_digest"
