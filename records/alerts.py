"""The daily deadline alerts: the assignee before the due date, the privacy officer after it.

``deadline_alerts_raise`` is safe to run twice, or on two workers at once: each alert is
a row unique per request, kind, due date and recipient, and only the run whose INSERT
took the row sends the e-mail. Missing a day misses nothing:
a request 2 days from due that never got its 3-day alert gets it the next run. An
extension moves the due date, so the thresholds apply again to the new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from audit.services import event_record
from records import deadlines
from records.actions import RecordsAction
from records.models import OPEN_STATES, AlertKind, RecordRequest, RequestAlert

# Most urgent first: a request gets the most urgent alert that applies, once.
THRESHOLDS = ((1, AlertKind.DAYS_1), (3, AlertKind.DAYS_3), (7, AlertKind.DAYS_7))


@dataclass(frozen=True)
class AlertRun:
    raised: int
    emailed: int


def _kind_for(days: int) -> str | None:
    if days < 0:
        return AlertKind.OVERDUE
    for limit, kind in THRESHOLDS:
        if days <= limit:
            return kind
    return None


def _recipients(request: RecordRequest, kind: str) -> list[User]:
    if kind == AlertKind.OVERDUE:
        return list(User.objects.filter(role=Role.PRIVACY_OFFICER, is_active=True))
    if request.assigned_to_id is not None:
        return [request.assigned_to]  # type: ignore[list-item]
    # Nobody has it yet: every records clerk is told.
    return list(User.objects.filter(role=Role.RECORDS_CLERK, is_active=True))


def deadline_alerts_raise(*, now: datetime | None = None) -> AlertRun:
    now = now or timezone.now()
    horizon = deadlines.end_of_day(deadlines.local_day(now) + timedelta(days=7))
    due = RecordRequest.objects.filter(state__in=OPEN_STATES, due_at__lte=horizon).select_related(
        "assigned_to"
    )
    raised = emailed = 0
    for request in due.iterator(chunk_size=500):
        kind = _kind_for(deadlines.days_left(request.due_at, now))
        if kind is None:
            continue
        for recipient in _recipients(request, kind):
            with transaction.atomic():
                alert, created = RequestAlert.objects.get_or_create(
                    request=request,
                    kind=kind,
                    due_at=request.due_at,
                    recipient=recipient,
                )
                if not created:
                    continue
                raised += 1
                event_record(
                    action=RecordsAction.DEADLINE_ALERTED,
                    target=request,
                    patient_id=request.patient_id,
                    details={"kind": kind, "recipient_id": recipient.pk},
                )
                transaction.on_commit(partial(_email_later, alert.pk), robust=True)
                emailed += 1
    return AlertRun(raised, emailed)


def _email_later(alert_id: int) -> None:
    from records.tasks import deadline_alert_email

    deadline_alert_email.delay(alert_id)


def alert_email(*, alert_id: int) -> bool:
    """E-mail one alert to its recipient (no health information: a kind and a link).

    The alert is claimed first (``emailed_at`` from empty to now, one conditional UPDATE),
    so a second task for it, even one running at the same time, sends nothing. A failed
    send gives the claim back for the retry; a worker killed mid-send loses that alert's
    e-mail (the alert itself still shows in the portal)."""
    from accounts.tasks import email_send

    claimed = RequestAlert.objects.filter(pk=alert_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    alert = RequestAlert.objects.select_related("recipient").get(pk=alert_id)
    try:
        email_send(
            to=alert.recipient.email,
            template="records/email/deadline_alert",
            context={
                "kind": alert.get_kind_display(),
                "overdue": alert.kind == AlertKind.OVERDUE,
                "due_day": deadlines.due_day(alert.due_at),
                "link": settings.PORTAL_BASE_URL
                + reverse("records:request", args=[alert.request_id]),
            },
        )
    except BaseException:
        RequestAlert.objects.filter(pk=alert_id).update(emailed_at=None)
        raise
    return True
