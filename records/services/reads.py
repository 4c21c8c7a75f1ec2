"""Reads of record requests worth an audit row, and alerts acknowledged."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User
from audit.services import event_record
from records.actions import RecordsAction
from records.models import (
    RecordRequest,
    RequestAlert,
)


def queue_view_record(
    *, actor: User, view: str, shown: int, total: int, capped: bool = False
) -> None:
    """The clerk's queue was listed: the filter and how many rows, never who. ``capped``:
    the view holds more than ``total`` (the count stopped there)."""
    details: dict[str, str | int | bool] = {"view": view, "shown": shown, "total": total}
    if capped:
        details["capped"] = True
    event_record(action=RecordsAction.QUEUE_LISTED, actor=actor, details=details)


def patient_list_record(*, actor: User, patient: User, shown: int) -> None:
    """A patient listed their own requests (or their proxy, ``actor``, listed them)."""
    event_record(
        action=RecordsAction.QUEUE_LISTED,
        actor=actor,
        patient_id=patient.pk,
        details={"view": "own", "shown": shown, "total": shown},
    )


def request_view_record(*, actor: User, request: RecordRequest) -> None:
    event_record(
        action=RecordsAction.REQUEST_VIEWED,
        actor=actor,
        target=request,
        patient_id=request.patient_id,
        details={"state": request.state},
    )


def package_download_record(*, actor: User, request: RecordRequest) -> None:
    event_record(
        action=RecordsAction.PACKAGE_DOWNLOADED,
        actor=actor,
        target=request,
        patient_id=request.patient_id,
        details={"pages": request.package_pages},
    )


def alerts_mark_read(*, actor: User) -> int:
    """Every unread deadline alert of ``actor`` is read now; returns how many."""
    return RequestAlert.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
