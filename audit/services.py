"""The one way into the audit log.

``event_record`` is called by every app inside the transaction of the change it
records, so a rolled-back change leaves no event and a committed change always has
one. It writes one row and takes no lock beyond that insert: chaining happens later,
in the sealing job (``audit.sealing``); ``audit.verification`` checks the chain.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from audit import context as audit_context
from audit import policies, review
from audit.actions import AuditAction
from audit.context import Actor
from audit.models import ActivityReview, ActorKind, AuditEvent, Outcome
from audit.review import Period
from audit.selectors import EventFilters

logger = logging.getLogger("audit.chain")

_DETAIL_SCALARS = (str, int, float, bool, type(None))


class AuditError(Exception):
    """A caller broke the audit contract (for example, free text in details)."""


def event_record(
    *,
    action: str,
    outcome: str = Outcome.SUCCESS,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str | int = "",
    patient_id: int | None = None,
    actor: Actor = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``details`` holds ids and codes only: never health information."""
    ctx = audit_context.current()
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
    clean_details = _checked_details(details or {})
    kind, actor_id, role, label = _actor(actor if actor is not None else ctx.user, ctx)
    return AuditEvent.objects.create(
        actor_kind=kind,
        actor_id=actor_id,
        actor_role=role,
        actor_label=label[:200],
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        patient_id=patient_id,
        outcome=outcome,
        ip=ctx.ip,
        user_agent=ctx.user_agent,
        request_id=ctx.request_id,
        details=clean_details,
    )


@dataclass(frozen=True)
class EventSpec:
    """One event of a batch for ``events_record``; the batch shares action, actor and context."""

    target: models.Model | None = None
    target_type: str = ""
    target_id: str | int = ""
    patient_id: int | None = None
    details: dict[str, Any] | None = None
    outcome: str = Outcome.SUCCESS


def events_record(*, action: str, events: Sequence[EventSpec], actor: Actor = None) -> int:
    """Append many events of one action in one INSERT (bulk sends, batched deliveries).

    The same rules as ``event_record``: details are checked, the actor and request come
    from the context; sealing treats them like any other events.
    """
    ctx = audit_context.current()
    kind, actor_id, role, label = _actor(actor if actor is not None else ctx.user, ctx)
    rows = []
    for spec in events:
        target_type, target_id = spec.target_type, spec.target_id
        if spec.target is not None:
            target_type = target_type or spec.target._meta.label_lower
            target_id = target_id or str(spec.target.pk)
        rows.append(
            AuditEvent(
                actor_kind=kind,
                actor_id=actor_id,
                actor_role=role,
                actor_label=label[:200],
                action=action,
                target_type=target_type,
                target_id=str(target_id),
                patient_id=spec.patient_id,
                outcome=spec.outcome,
                ip=ctx.ip,
                user_agent=ctx.user_agent,
                request_id=ctx.request_id,
                details=_checked_details(spec.details or {}),
            )
        )
    AuditEvent.objects.bulk_create(rows)
    return len(rows)


def _actor(user: Actor, ctx: audit_context.AuditContext) -> tuple[str, int | None, str, str]:
    if user is None and ctx.request is not None:
        user = getattr(ctx.request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        label = getattr(user, "audit_label", None)
        name = label() if callable(label) else str(user.pk)
        return ActorKind.USER, user.pk, getattr(user, "role", ""), name
    if ctx.request is not None:
        return ActorKind.ANONYMOUS, None, "", "anonymous"
    return ActorKind.SYSTEM, None, "system", ctx.system_label


def _checked_details(details: dict[str, Any]) -> dict[str, Any]:
    """Shallow, typed, bounded: ids and codes fit; a paragraph of text does not."""
    for key, value in details.items():
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if not isinstance(item, _DETAIL_SCALARS):
                raise AuditError(f"audit detail {key!r} must be a scalar or a list of scalars")
            if isinstance(item, str) and len(item) > 128:
                raise AuditError(f"audit detail {key!r} is too long to be an id or a code")
    return dict(details)


# --- reads of the log itself, each recorded (45 CFR 164.312(b)) ------------------------


def search_record(*, filters: EventFilters, shown: int, before: int | None) -> AuditEvent:
    """The privacy officer searched: the filters (codes and ids) and how many were shown."""
    details: dict[str, Any] = {**filters.codes(), "shown": shown}
    if before:
        details["before"] = before
    return event_record(
        action=AuditAction.SEARCHED,
        target_type="audit.search",
        patient_id=filters.patient_id,
        details=details,
    )


def event_view_record(*, event: AuditEvent) -> AuditEvent:
    return event_record(action=AuditAction.EVENT_VIEWED, target=event, patient_id=event.patient_id)


def export_record(*, filters: EventFilters, fmt: str) -> AuditEvent:
    """Recorded before the first row leaves; the export covers the events older than it."""
    return event_record(
        action=AuditAction.EXPORTED,
        target_type="audit.export",
        patient_id=filters.patient_id,
        details={**filters.codes(), "format": fmt},
    )


def access_history_view_record(*, patient_id: int) -> AuditEvent:
    """A patient opened "Who viewed my information"."""
    return event_record(
        action=AuditAction.ACCESS_HISTORY_VIEWED,
        target_type="audit.access_history",
        patient_id=patient_id,
    )


# --- activity review (45 CFR 164.308(a)(1)(ii)(D)) --------------------------------------


def activity_review_view_record(*, period: Period, counts: dict[str, int]) -> AuditEvent:
    """The privacy officer opened the review lists: the period and each list's count."""
    return event_record(
        action=AuditAction.ACTIVITY_REVIEW_VIEWED,
        target_type="audit.activityreview",
        details={**period.codes(), **counts},
    )


class ReviewError(Exception):
    """A review the rules refuse; ``message`` is for the privacy officer."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@transaction.atomic
def activity_review_record(*, actor: Actor, period: Period, findings: str) -> ActivityReview:
    """Mark ``period`` reviewed, with the officer's findings and the lists' counts now.

    The findings stay in the review row: the event holds the period and the counts."""
    if not policies.may_review_audit_log(actor):
        raise ReviewError("Only the privacy officer marks a period reviewed.")
    findings = findings.strip()
    if not findings:
        raise ReviewError("Write what you found, or “Nothing to report”.")
    problem = period_problem(period)
    if problem:
        raise ReviewError(problem)
    counts = review.counts_of(review.review_lists(period))
    assert actor is not None and actor.pk is not None
    label = getattr(actor, "audit_label", None)
    made = ActivityReview.objects.create(
        period_start=period.start,
        period_end=period.end,
        reviewed_by_id=actor.pk,
        reviewed_by_label=(label() if callable(label) else str(actor.pk))[:200],
        findings=findings,
        counts=counts,
    )
    event_record(
        action=AuditAction.ACTIVITY_REVIEWED,
        actor=actor,
        target=made,
        details={**period.codes(), **counts},
    )
    return made


def period_problem(period: Period) -> str:
    """Why ``period`` cannot be reviewed, or ""."""
    if period.start > period.end:
        return "The period must start before it ends."
    if period.end > timezone.localdate():
        return "The period cannot end in the future."
    if period.end - period.start >= review.LONGEST_PERIOD:
        return "Review at most a year at a time."
    return ""
