"""Reads of record requests, scoped by ``records.policies``: the queue, one request, the chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Actor
from records import deadlines, policies
from records.models import OPEN_STATES, RecordRequest, RequestAlert, RequestState, RequestWeek

DUE_SOON_DAYS = 7
QUEUE_FILTERS = ("open", "due_soon", "overdue", "closed", "all")


def queue(
    *, user: Actor, view: str = "open", state: str = "", assignee: str = ""
) -> QuerySet[RecordRequest]:
    """The clerk's queue, soonest due first. ``view``: open (default), due_soon, overdue,
    closed, all; ``state``: one state; ``assignee``: "me", "none" or a user id."""
    now = timezone.now()
    requests = policies.requests_visible_to(user).select_related("patient__patient_profile")
    if view == "open":
        requests = requests.filter(state__in=OPEN_STATES)
    elif view == "due_soon":
        soon = deadlines.end_of_day(deadlines.local_day(now) + timedelta(days=DUE_SOON_DAYS))
        requests = requests.filter(state__in=OPEN_STATES, due_at__gt=now, due_at__lte=soon)
    elif view == "overdue":
        requests = requests.filter(state__in=OPEN_STATES, due_at__lte=now)
    elif view == "closed":
        requests = requests.exclude(state__in=OPEN_STATES)
    if state in RequestState.values:
        requests = requests.filter(state=state)
    if assignee == "me":
        requests = requests.filter(assigned_to=user)
    elif assignee == "none":
        requests = requests.filter(assigned_to__isnull=True)
    elif assignee.isdigit():
        requests = requests.filter(assigned_to_id=int(assignee))
    return requests.select_related("assigned_to").order_by("due_at", "received_at")


@dataclass(frozen=True)
class QueueCounts:
    due_soon: int
    overdue: int
    unassigned: int = 0


def queue_counts(*, user: Actor, now: datetime | None = None) -> QueueCounts:
    """The queue's badges, in one query: open requests due within 7 days and overdue ones
    (the same bounds as the due_soon and overdue views)."""
    now = now or timezone.now()
    soon = deadlines.end_of_day(deadlines.local_day(now) + timedelta(days=DUE_SOON_DAYS))
    counts = (
        policies.requests_visible_to(user)
        .filter(state__in=OPEN_STATES)
        .aggregate(
            due_soon=Count("id", filter=Q(due_at__gt=now, due_at__lte=soon)),
            overdue=Count("id", filter=Q(due_at__lte=now)),
            unassigned=Count("id", filter=Q(assigned_to__isnull=True)),
        )
    )
    return QueueCounts(
        due_soon=counts["due_soon"], overdue=counts["overdue"], unassigned=counts["unassigned"]
    )


def request_for(*, user: Actor, request_id: Any) -> RecordRequest:
    """The request if ``user`` may see it; anything else, malformed ids included, is 404."""
    try:
        return (
            policies.requests_visible_to(user)
            .select_related("patient__patient_profile", "package__data_key", "recorded_by")
            .get(pk=request_id)
        )
    except (RecordRequest.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404 from None


@dataclass(frozen=True)
class Week:
    starts: date
    received: int
    fulfilled: int
    on_time: int

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.fulfilled if self.fulfilled else None


def weekly_chart(*, user: Actor, weeks: int = 12, now: datetime | None = None) -> list[Week]:
    """Requests received and fulfilled per week, with the share fulfilled on time: the
    twelve rows of ``RequestWeek`` (kept by the services), however many requests there
    are. The chart counts every request, so only those who see them all get it."""
    now = now or timezone.now()
    today = deadlines.local_day(now)
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    counts = {}
    if policies.works_requests(user):
        counts = {
            row.starts: row
            for row in RequestWeek.objects.filter(
                starts__gte=first, starts__lt=first + timedelta(days=7 * weeks)
            )
        }
    rows = []
    for i in range(weeks):
        start = first + timedelta(days=7 * i)
        row = counts.get(start)
        if row is None:
            rows.append(Week(start, 0, 0, 0))
        else:
            rows.append(Week(start, row.received, row.fulfilled, row.on_time))
    return rows


def alerts_unread(*, user: Actor) -> QuerySet[RequestAlert]:
    return RequestAlert.objects.filter(recipient=user, read_at__isnull=True).order_by("-created_at")


def requests_open_of(*, user: Actor) -> QuerySet[RecordRequest]:
    """The patient's own open requests, soonest due first (their home page)."""
    return (
        policies.requests_visible_to(user)
        .filter(patient=user, state__in=OPEN_STATES)
        .order_by("due_at", "received_at")
    )
