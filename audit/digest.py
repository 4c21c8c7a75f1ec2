"""The daily audit digest: counts and checkpoint heads for the privacy officers.

E-mailed every morning (``accounts.tasks.audit_digest``), it is one more copy of the
chain head outside the database, in a place the database's administrators do not
control: a later database that disagrees with an e-mailed head was rolled back or
rewritten. It holds numbers, hashes and times only: no names, no patients, no actions
beyond their outcome, so it carries no health information.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Max

from audit.actions import AuditAction
from audit.anchors import anchors_pending, sink_get
from audit.models import AuditCheckpoint, AuditEvent, AuditSeal, Outcome


@dataclass(frozen=True)
class Digest:
    day: date
    events: int
    denied: int
    errors: int
    checkpoints: int
    sealed_total: int
    unsealed: int
    head: AuditCheckpoint | None
    anchor_sink: str
    anchors_pending: int
    last_verified_at: datetime | None
    last_verified_ok: bool | None


def digest_compute(*, day: date) -> Digest:
    """The digest of ``day`` (UTC), and the state of the chain now."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    end = start + timedelta(days=1)
    outcomes = dict(
        AuditEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .values_list("outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    last_sealed = AuditSeal.objects.aggregate(last=Max("event_id"))["last"] or 0
    verified = (
        AuditEvent.objects.filter(action=AuditAction.VERIFIED)
        .order_by("-id")
        .values_list("occurred_at", "outcome")
        .first()
    )
    sink = sink_get()
    return Digest(
        day=day,
        events=sum(outcomes.values()),
        denied=outcomes.get(Outcome.DENIED, 0),
        errors=outcomes.get(Outcome.ERROR, 0),
        checkpoints=AuditCheckpoint.objects.filter(
            created_at__gte=start, created_at__lt=end
        ).count(),
        sealed_total=AuditSeal.objects.count(),
        unsealed=AuditEvent.objects.filter(id__gt=last_sealed).count(),
        head=AuditCheckpoint.objects.order_by("-through_event_id").first(),
        anchor_sink=sink.name if sink is not None else "none",
        anchors_pending=anchors_pending().count() if sink is not None else 0,
        last_verified_at=verified[0] if verified else None,
        last_verified_ok=verified[1] == Outcome.SUCCESS if verified else None,
    )
