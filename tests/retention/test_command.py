"""``manage.py retention_purge`` and the nightly task."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit.models import AuditEvent
from encryption.files import files_storage
from encryption.models import DataKey
from messaging.models import Message
from retention import services, tasks
from retention.models import PurgeRun, Tombstone
from retention.rules import PeriodUnit, RecordKind
from tests.retention.factories import message_with_file

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("retention_purge", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def due_message(personas: Any) -> Any:
    message = message_with_file(personas)
    services.policy_update(
        actor=personas.privacy_officer,
        kind=RecordKind.MESSAGE_CLINICAL,
        clock_start="sent",
        amount=1,
        unit=PeriodUnit.DAYS,
    )
    # Sent two days ago.
    Message.objects.filter(pk=message.pk).update(sent_at=timezone.now() - timedelta(days=2))
    return message


class TestDryRun:
    def test_it_counts_by_kind(self, due_message: Any) -> None:
        out = run("--dry-run")
        assert "Secure messages: clinical: 1" in out
        assert "Total: 1" in out

    def test_it_changes_nothing(self, due_message: Any) -> None:
        events = AuditEvent.objects.count()
        run("--dry-run")
        assert AuditEvent.objects.count() == events
        assert not Tombstone.objects.exists() and not PurgeRun.objects.exists()
        assert DataKey.objects.get(pk=due_message.data_key_id).destroyed_at is None
        assert files_storage().exists(due_message.attachments.get().file.storage_name)

    def test_it_never_names_a_patient(self, personas: Any, due_message: Any) -> None:
        out = run("--dry-run") + run()
        profile = personas.patient.patient_profile
        for value in (personas.patient.full_name, personas.patient.email, profile.mrn):
            assert value not in out


class TestPurge:
    def test_it_erases_and_reports(self, due_message: Any) -> None:
        out = run()
        assert "Secure messages: clinical: 1" in out
        assert DataKey.objects.get(pk=due_message.data_key_id).destroyed_at is not None
        assert PurgeRun.objects.get().trigger == "command"

    def test_a_batch_size_below_one_is_refused(self, due_message: Any) -> None:
        with pytest.raises(CommandError, match="at least 1"):
            run("--batch-size", "0")

    def test_small_batches_erase_everything(self, personas: Any, due_message: Any) -> None:
        for _ in range(2):
            extra = message_with_file(personas, files=[])
            Message.objects.filter(pk=extra.pk).update(sent_at=timezone.now() - timedelta(days=2))
        assert "Secure messages: clinical: 3" in run("--batch-size", "1")


class TestNightlyTask:
    def test_the_task_purges_as_the_system(self, due_message: Any) -> None:
        assert tasks.purge.delay().get() == {RecordKind.MESSAGE_CLINICAL: 1}
        event = AuditEvent.objects.get(action="retention.object_purged")
        assert event.actor_label == "task:retention_purge"

    def test_it_is_scheduled_nightly(self, settings: Any) -> None:
        entry = settings.CELERY_BEAT_SCHEDULE["retention-purge"]
        assert entry["task"] == "retention.tasks.purge"
        assert entry["schedule"].hour == {2}
