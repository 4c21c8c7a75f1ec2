"""Reads of the audit log. Each takes the acting user and returns only what they may see."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import BooleanField, Case, CharField, Count, Max, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone

from audit import patient_history, policies, review
from audit.context import Actor
from audit.models import ActivityReview, AuditEvent

PAGE_SIZE = 50


@dataclass(frozen=True)
class EventFilters:
    """A privacy officer's search: ids and codes only, so it can go into audit details."""

    patient_id: int | None = None
    actor_id: int | None = None
    action: str = ""
    outcome: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def codes(self) -> dict[str, str | int]:
        """The filters as audit ``details``: what was asked for, never what was found."""
        codes: dict[str, str | int] = {}
        for name in ("patient_id", "actor_id", "action", "outcome"):
            value = getattr(self, name)
            if value not in (None, ""):
                codes[name] = value
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None:
                codes[name] = value.isoformat()
        return codes

    @property
    def dated(self) -> bool:
        return self.date_from is not None or self.date_to is not None

    def apply(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        if self.patient_id is not None:
            events = events.filter(patient_id=self.patient_id)
        if self.actor_id is not None:
            events = events.filter(actor_id=self.actor_id)
        if self.action:
            events = events.filter(action=self.action)
        if self.outcome:
            events = events.filter(outcome=self.outcome)
        if self.date_from is not None:
            events = events.filter(occurred_at__gte=_start_of(self.date_from))
        if self.date_to is not None:  # inclusive: up to the end of that day
            events = events.filter(occurred_at__lt=_start_of(self.date_to + timedelta(days=1)))
        return events


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


@dataclass(frozen=True)
class EventPage:
    """One page, newest first. Keyset paging (``id < before``) costs one query per page
    and no COUNT over a table that grows for six years."""

    events: list[AuditEvent]
    older_than: int | None  # pass as ``before`` for the next (older) page


# The events before a cursor event in (time, id) order; the cursor's time is read in the
# same query, so an older page still costs one.
_OLDER = (
    '("audit_auditevent"."occurred_at", "audit_auditevent"."id") < '
    '((SELECT "occurred_at" FROM "audit_auditevent" WHERE "id" = %s), %s)'
)


def _page(
    events: QuerySet[AuditEvent], before: int | None, page_size: int, *, by_time: bool = False
) -> EventPage:
    """``by_time``: newest first by the time (and id), read from the (time, id) index, for
    a search by dates alone: ordered by id, a range of dates would be read whole and
    sorted, and a month of a busy log is a hundred thousand events. Otherwise by id (the
    patient's and the actor's indexes end with it)."""
    if by_time:
        if before is not None:
            older = RawSQL(_OLDER, (before, before), BooleanField())  # noqa: S611 - constant SQL
            events = events.filter(older)
        ordered = events.order_by("-occurred_at", "-id")
    else:
        if before is not None:
            events = events.filter(id__lt=before)
        ordered = events.order_by("-id")
    rows = list(ordered[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    return EventPage(events=rows, older_than=rows[-1].pk if more else None)


def events_search(
    *, user: Actor, filters: EventFilters, before: int | None = None, page_size: int = PAGE_SIZE
) -> EventPage:
    by_time = filters.patient_id is None and filters.actor_id is None and filters.dated
    events = filters.apply(policies.events_visible_to(user))
    return _page(events, before, page_size, by_time=by_time)


def event_get(*, user: Actor, event_id: int) -> AuditEvent:
    """One event with its seal; ``AuditEvent.DoesNotExist`` outside the user's scope."""
    return policies.events_visible_to(user).select_related("seal").get(pk=event_id)


def events_export(*, user: Actor, filters: EventFilters, before: int) -> Iterator[AuditEvent]:
    """Every matching event older than ``before`` (the export's own event), streamed
    through a server-side cursor so memory stays flat for a six-year export."""
    events = filters.apply(policies.events_visible_to(user)).filter(id__lt=before)
    return events.order_by("id").iterator(chunk_size=2000)


HISTORY_PAGE_SIZE = 25


@dataclass(frozen=True)
class AccessGroup:
    """One line of "Who viewed my information": a person, a day, a kind of access."""

    who: str
    role: str
    kind: str
    day: date
    times: int
    last: datetime

    @property
    def what(self) -> str:
        return patient_history.phrase_for(self.kind)

    @property
    def name(self) -> str:
        return patient_history.name_of(self.who, self.role)

    @property
    def role_label(self) -> str:
        return patient_history.role_label(self.role)


def access_history_page(*, user: Actor, page_number: Any = 1) -> Page:
    """The patient's history grouped by person, day (local time) and kind of access,
    newest first; only actions classified as shown to patients (``patient_history``).

    The grouping is done by the database, so a page costs one COUNT and one query
    however many events sit behind it."""
    kind = Case(
        *[
            When(action__in=codes, then=Value(name))
            for name, codes in patient_history.KINDS.items()
        ],
        output_field=CharField(),
    )
    rows = (
        policies.access_history_visible_to(user)
        .filter(action__in=patient_history.SHOWN_TO_PATIENT)
        .annotate(kind=kind, day=TruncDate("occurred_at", tzinfo=timezone.get_current_timezone()))
        .values("actor_id", "actor_label", "actor_role", "kind", "day")
        .annotate(times=Count("id"), last=Max("occurred_at"))
        .order_by("-day", "-last", "actor_label", "kind")
    )
    page = Paginator(rows, HISTORY_PAGE_SIZE).get_page(page_number)
    groups: list[Any] = [
        AccessGroup(
            who=row["actor_label"],
            role=row["actor_role"],
            kind=row["kind"],
            day=row["day"],
            times=row["times"],
            last=row["last"],
        )
        for row in page.object_list
    ]
    page.object_list = groups
    return page


# --- activity review (the compliance dashboard and the evidence pack call these) --------


def activity_review_summary(start: date, end: date) -> dict[str, Any]:
    """Each review list's count for the local days ``start``..``end`` (inclusive) and when
    that period was last reviewed (``audit.review.summary``)."""
    return review.summary(review.Period(start=start, end=end))


def last_review() -> ActivityReview | None:
    """The most recent activity review, whatever period it covered."""
    return review.last_review()


def activity_reviews_in(start: date, end: date) -> list[ActivityReview]:
    """The reviews whose period overlaps ``start``..``end``, oldest first."""
    return list(review.reviews_in(review.Period(start=start, end=end)))
