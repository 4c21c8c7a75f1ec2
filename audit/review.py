"""Information system activity review (45 CFR 164.308(a)(1)(ii)(D)): the lists that
point the privacy officer at what matters in a period, and the record that they looked.

Five lists, each computed by the database over the period's events only:

- staff opening patients outside their care team: events on a patient by a member of
  staff whose role limits them to their care team (clinicians), per staff member and
  patient, when they are not on that patient's team now (``registry.care_teams``; a
  member removed since shows up too, which is worth a look);
- access outside working hours: staff events on patient data before
  ``AUDIT_WORKING_HOURS_START``, from ``AUDIT_WORKING_HOURS_END``, or at the weekend
  (local time), per staff member and day;
- bulk reads or exports: more than ``AUDIT_BULK_READS_PER_HOUR`` staff events on patient
  data by one person within one clock hour, and every export of a data set;
- repeated failed sign-ins: ``AUDIT_FAILED_SIGN_INS_PER_HOUR`` or more failed passwords or
  second factors within one clock hour, per account and per address, and every lock-out;
- administrative use: the admin site, roles and accounts of staff, second-factor
  recovery, encryption keys, retention and legal holds. The portal has no break-glass
  path (a clinician outside the care team is refused), so there is no such list.

Indexes: every query is bounded by ``occurred_at`` (``audit_auditevent_occurred_at``, a
b-tree), so a seven-day review reads a seven-day slice of a six-year table; the
action lists could use ``audit_action_idx`` too, and PostgreSQL picks the narrower.
No new index on events: the period bound is the selective one. Each list shows at most
``ROW_LIMIT`` rows, its total counted in full.

Action codes are plain strings (``audit`` sits below the apps that define them);
``tests/audit/test_activity_review.py`` checks each is registered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate, TruncHour
from django.utils import timezone

from audit import registry
from audit.models import ActivityReview, ActorKind, AuditEvent, Outcome
from audit.policies import STAFF_ROLES

ROW_LIMIT = 100
LONGEST_PERIOD = timedelta(days=366)
DEFAULT_DAYS = 7

# Roles whose access to patients follows the care team (consent, messaging policies).
CARE_TEAM_ROLES = frozenset({"clinician"})

EXPORT_ACTIONS = frozenset(
    {
        "audit.exported",
        "consent.accounting_exported",
        "consent.authorization_exported",
        "records.package_downloaded",
    }
)
FAILED_SIGN_IN_ACTIONS = frozenset({"accounts.sign_in_failed", "accounts.mfa_failed"})
LOCKOUT_ACTIONS = frozenset({"accounts.locked_out", "accounts.sign_in_ceiling"})
ADMIN_ACTIONS = frozenset(
    {
        "accounts.admin_change",
        "accounts.admin_viewed",
        "accounts.staff_created",
        "accounts.role_changed",
        "accounts.account_deactivated",
        "accounts.account_reactivated",
        "accounts.mfa_removed",
        "accounts.recovery_issued",
        "accounts.recovery_used",
        "accounts.care_team_added",
        "accounts.care_team_removed",
        "consent.waiver_statement_published",
        "encryption.key_registered",
        "encryption.key_rotated",
        "encryption.keys_rewrapped",
        "encryption.key_retired",
        "encryption.data_erased",
        "retention.policy_changed",
        "retention.hold_placed",
        "retention.hold_released",
        "retention.purge_started",
    }
)
NAMED_ACTIONS = EXPORT_ACTIONS | FAILED_SIGN_IN_ACTIONS | LOCKOUT_ACTIONS | ADMIN_ACTIONS


@dataclass(frozen=True)
class Period:
    """Local days, both inclusive."""

    start: date
    end: date

    @classmethod
    def default(cls) -> Period:
        today = timezone.localdate()
        return cls(start=today - timedelta(days=DEFAULT_DAYS - 1), end=today)

    @property
    def starts_at(self) -> datetime:
        return _start_of(self.start)

    @property
    def ends_before(self) -> datetime:
        return _start_of(self.end + timedelta(days=1))

    def codes(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


@dataclass
class ReviewList:
    """One list: its rows (at most ``ROW_LIMIT``) and how many there are in all."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def _events(period: Period) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        occurred_at__gte=period.starts_at, occurred_at__lt=period.ends_before
    )


def _staff_on_patients(period: Period) -> QuerySet[AuditEvent]:
    """Successful staff events on a patient's information (not their own account)."""
    return (
        _events(period)
        .filter(
            actor_kind=ActorKind.USER,
            actor_role__in=STAFF_ROLES,
            patient_id__isnull=False,
            outcome=Outcome.SUCCESS,
        )
        .exclude(actor_id=F("patient_id"))
    )


def _listed(rows: list[dict[str, Any]]) -> ReviewList:
    return ReviewList(rows=rows[:ROW_LIMIT], total=len(rows))


def outside_care_team(period: Period) -> ReviewList:
    grouped = list(
        _staff_on_patients(period)
        .filter(actor_role__in=CARE_TEAM_ROLES)
        .values("actor_id", "patient_id")
        .annotate(
            events=Count("id"),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
            label=Max("actor_label"),
        )
        .order_by("-events", "actor_id", "patient_id")
    )
    on_team = registry.care_teams()((row["actor_id"], row["patient_id"]) for row in grouped)
    return _listed([row for row in grouped if (row["actor_id"], row["patient_id"]) not in on_team])


def after_hours(period: Period) -> ReviewList:
    local = timezone.get_current_timezone()
    rows = (
        _staff_on_patients(period)
        .annotate(
            hour=ExtractHour("occurred_at", tzinfo=local),
            weekday=ExtractIsoWeekDay("occurred_at", tzinfo=local),
        )
        .filter(
            Q(hour__lt=settings.AUDIT_WORKING_HOURS_START)
            | Q(hour__gte=settings.AUDIT_WORKING_HOURS_END)
            | Q(weekday__gte=6)
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=local))
        .values("actor_id", "day")
        .annotate(
            events=Count("id"),
            patients=Count("patient_id", distinct=True),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
            label=Max("actor_label"),
        )
        .order_by("-events", "day", "actor_id")
    )
    return _listed(list(rows))


def bulk_reads(period: Period) -> ReviewList:
    local = timezone.get_current_timezone()
    rows = (
        _staff_on_patients(period)
        .annotate(hour=TruncHour("occurred_at", tzinfo=local))
        .values("actor_id", "hour")
        .annotate(
            events=Count("id"),
            patients=Count("patient_id", distinct=True),
            label=Max("actor_label"),
        )
        .filter(events__gt=settings.AUDIT_BULK_READS_PER_HOUR)
        .order_by("-events", "hour", "actor_id")
    )
    return _listed(list(rows))


def _single_events(events: QuerySet[AuditEvent]) -> ReviewList:
    rows: list[dict[str, Any]] = [dict(row) for row in events.order_by("-id")[:ROW_LIMIT].values()]
    return ReviewList(rows=rows, total=events.count())


def exports(period: Period) -> ReviewList:
    return _single_events(
        _events(period).filter(action__in=EXPORT_ACTIONS, outcome=Outcome.SUCCESS)
    )


def failed_sign_ins(period: Period) -> ReviewList:
    """Per account (the target of the failure) and per address, by clock hour."""
    local = timezone.get_current_timezone()
    failures = (
        _events(period)
        .filter(action__in=FAILED_SIGN_IN_ACTIONS)
        .annotate(hour=TruncHour("occurred_at", tzinfo=local))
    )
    threshold = settings.AUDIT_FAILED_SIGN_INS_PER_HOUR
    by_account = (
        failures.filter(target_type="accounts.user")
        .values("target_id", "hour")
        .annotate(events=Count("id"), addresses=Count("ip", distinct=True))
        .filter(events__gte=threshold)
    )
    by_address = (
        failures.filter(ip__isnull=False)
        .values("ip", "hour")
        .annotate(events=Count("id"), accounts=Count("target_id", distinct=True))
        .filter(events__gte=threshold)
    )
    rows = [{"kind": "account", **row} for row in by_account] + [
        {"kind": "address", **row} for row in by_address
    ]
    rows.sort(key=lambda row: (-row["events"], row["hour"]))
    return _listed(rows)


def lockouts(period: Period) -> ReviewList:
    return _single_events(_events(period).filter(action__in=LOCKOUT_ACTIONS))


def admin_use(period: Period) -> ReviewList:
    return _single_events(_events(period).filter(action__in=ADMIN_ACTIONS))


def review_lists(period: Period) -> dict[str, ReviewList]:
    return {
        "outside_care_team": outside_care_team(period),
        "after_hours": after_hours(period),
        "bulk_reads": bulk_reads(period),
        "exports": exports(period),
        "failed_sign_ins": failed_sign_ins(period),
        "lockouts": lockouts(period),
        "admin": admin_use(period),
    }


def counts_of(lists: dict[str, ReviewList]) -> dict[str, int]:
    return {name: listed.total for name, listed in lists.items()}


def last_review() -> ActivityReview | None:
    return ActivityReview.objects.order_by("-reviewed_at", "-id").first()


def last_review_covering(period: Period) -> ActivityReview | None:
    """The latest review whose period contains the whole of ``period``."""
    return (
        ActivityReview.objects.filter(period_start__lte=period.start, period_end__gte=period.end)
        .order_by("-reviewed_at", "-id")
        .first()
    )


def reviews_recent(limit: int = 20) -> list[ActivityReview]:
    return list(ActivityReview.objects.order_by("-reviewed_at", "-id")[:limit])


def reviews_in(period: Period) -> QuerySet[ActivityReview]:
    """Reviews whose period overlaps ``period`` (the evidence pack lists them)."""
    return ActivityReview.objects.filter(
        period_start__lte=period.end, period_end__gte=period.start
    ).order_by("period_start", "reviewed_at")


def summary(period: Period) -> dict[str, Any]:
    """The figures for the compliance dashboard and the evidence pack: each list's
    count for the period and when the period (or one containing it) was last reviewed."""
    covering = last_review_covering(period)
    latest = last_review()
    return {
        "period": period.codes(),
        "counts": counts_of(review_lists(period)),
        "reviewed_at": covering.reviewed_at if covering else None,
        "reviewed_by": covering.reviewed_by_label if covering else "",
        "last_review_at": latest.reviewed_at if latest else None,
        "last_review_period": (
            {"start": latest.period_start.isoformat(), "end": latest.period_end.isoformat()}
            if latest
            else None
        ),
    }
