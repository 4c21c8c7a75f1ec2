"""Objects of every kind the purge erases, made through the real services."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from encryption.uploads import attachment_check
from messaging.models import Message, Thread
from records import services as records_services
from records.models import RecordRequest
from retention import services
from retention.models import PurgeRun
from tests.messaging.factories import PDF_BYTES, message_sent
from tests.records.factories import request_verified

DAY = timedelta(days=1)


def years_later(years: int, days: int = 0) -> datetime:
    """A moment ``years`` calendar years (plus ``days``) after now."""
    now = timezone.now()
    return now.replace(year=now.year + years) + timedelta(days=days)


def message_with_file(personas: Any, **overrides: Any) -> Message:
    return message_sent(author=personas.clinician, patient=personas.patient, **overrides)


def request_closed_with_documents(personas: Any) -> RecordRequest:
    request = request_verified(patient=personas.patient, clerk=personas.records_clerk)
    records_services.documents_add(
        actor=personas.records_clerk,
        request=request,
        uploads=[attachment_check(name="labs.pdf", data=PDF_BYTES)],
    )
    return records_services.request_withdraw(actor=personas.records_clerk, request=request)


def purge(at: datetime, **kwargs: Any) -> PurgeRun:
    run = services.retention_purge(trigger="command", now=at, **kwargs)
    assert run is not None
    return run


def thread_of(message: Message) -> Thread:
    return Thread.objects.select_related("data_key").get(pk=message.thread_id)
