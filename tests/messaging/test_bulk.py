"""Bulk sends: many patients, each their own content, all or nothing, notices batched."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from audit.models import AuditEvent
from messaging.errors import MessagingError
from messaging.models import Delivery, DeliveryState, Message, Thread
from messaging.services import BulkItem, messages_send_bulk
from tests.conftest import make_patient

pytestmark = pytest.mark.django_db


def items(patients: list[Any], subject: str = "Flu clinic") -> list[BulkItem]:
    return [
        BulkItem(
            send_key=uuid.uuid4(),
            patient=patient,
            subject=f"{subject} {i}",
            body=f"Dear patient {i}, walk-ins welcome.",
            category="administrative",
        )
        for i, patient in enumerate(patients)
    ]


@pytest.fixture
def patients(personas: Any) -> list[Any]:
    extra = [
        make_patient(
            f"bulk{i}@mail.test", f"Bulkpatient Number{i}", f"MRN-9{i:05}", personas.privacy_officer
        )
        for i in range(5)
    ]
    return [personas.patient, personas.other_patient, *extra]


def test_each_patient_gets_their_own_message_and_notice(
    personas: Any, patients: list[Any], smtp_server: Any, django_capture_on_commit_callbacks: Any
) -> None:
    batch = items(patients)
    with django_capture_on_commit_callbacks(execute=True):
        messages_send_bulk(actor=personas.records_clerk, items=batch)
    bodies = {m.thread.patient_id: m.body for m in Message.objects.select_related("thread")}
    assert bodies == {item.patient.pk: item.body for item in batch}
    assert sorted(m["X-Envelope-To"] for m in smtp_server.messages) == sorted(
        p.email for p in patients
    )
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}
    assert AuditEvent.objects.filter(action="messaging.message_sent").count() == len(patients)
    assert AuditEvent.objects.filter(action="messaging.notice_sent").count() == len(patients)


def test_a_retried_batch_sends_nothing_twice(personas: Any, patients: list[Any]) -> None:
    batch = items(patients)
    messages_send_bulk(actor=personas.records_clerk, items=batch)
    assert messages_send_bulk(actor=personas.records_clerk, items=batch) == []
    assert Message.objects.count() == len(patients) == Delivery.objects.count()


def test_one_patient_out_of_scope_stops_the_whole_batch(personas: Any, patients: list[Any]) -> None:
    with pytest.raises(MessagingError, match="every patient"):
        messages_send_bulk(actor=personas.clinician, items=items(patients))
    assert not Thread.objects.exists()


def test_the_subject_guard_names_the_message_and_sends_nothing(
    personas: Any, patients: list[Any]
) -> None:
    batch = items(patients)
    batch[3] = BulkItem(uuid.uuid4(), patients[3], "SSN 123-45-6789", "x", "other")
    with pytest.raises(MessagingError, match="Message 4: The subject looks like a Social"):
        messages_send_bulk(actor=personas.records_clerk, items=batch)
    assert not Message.objects.exists()


def test_subjects_and_bodies_decrypt_to_what_was_sent(personas: Any, patients: list[Any]) -> None:
    batch = items(patients, subject="Reminder")
    messages_send_bulk(actor=personas.records_clerk, items=batch)
    stored = {t.patient_id: t.subject for t in Thread.objects.all()}
    assert stored == {item.patient.pk: item.subject for item in batch}
