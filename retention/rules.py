"""What can be kept how long: the kinds of record, their clocks, defaults and floors.

Plain data and date arithmetic, no database: the policy form, the purge and the README
all read the same table, and its tests run without PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models


class RecordKind(models.TextChoices):
    """What a retention policy covers. Stable codes: tombstones and audit details keep them."""

    MESSAGE_CLINICAL = "message_clinical", "Secure messages: clinical"
    MESSAGE_ADMINISTRATIVE = "message_administrative", "Secure messages: administrative"
    MESSAGE_OTHER = "message_other", "Secure messages: other"
    ATTACHMENT = "attachment", "Message attachments"
    RECORD_PACKAGE = "record_package", "Record-request packages and their source documents"
    GUEST_PACKAGE = "guest_package", "Third-party pickup packages"
    AUTHORIZATION_SCAN = "authorization_scan", "Scanned authorization forms"
    INVITATION = "invitation", "Unused invitations"


class ClockStart(models.TextChoices):
    SENT = "sent", "Sent"
    CLOSED = "closed", "Closed (fulfilled, denied or withdrawn)"
    FULFILLED = "fulfilled", "Fulfilled"
    ENDED = "ended", "Expired or revoked"


class PeriodUnit(models.TextChoices):
    DAYS = "days", "Days"
    YEARS = "years", "Years"


def _years_added(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` later (or earlier); 29 February becomes the 28th."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


@dataclass(frozen=True)
class Period:
    amount: int
    unit: str

    def before(self, moment: datetime) -> datetime:
        """The moment ``self`` before ``moment``: what started its clock by then is due."""
        if self.unit == PeriodUnit.YEARS:
            return _years_added(moment, -self.amount)
        return moment - timedelta(days=self.amount)

    def __str__(self) -> str:
        unit = "year" if self.unit == PeriodUnit.YEARS else "day"
        return f"{self.amount} {unit}{'' if self.amount == 1 else 's'}"


@dataclass(frozen=True)
class Floor:
    period: Period
    rule: str  # the regulation, as the refusal names it

    @property
    def days(self) -> int:
        # Six years are at least 2,191 days and can be 2,192 (two leap days): a period in
        # days must cover the longest, so it is never shorter than the rule.
        years = self.period.amount
        return years * 365 + (years + 3) // 4


@dataclass(frozen=True)
class KindRule:
    clocks: tuple[str, ...]  # the clock starts this kind allows; the first is the default
    default: Period
    floor: Floor | None = None
    # What starts the clock, for the policy page.
    clock_help: str = ""


SIX_YEARS = Floor(
    Period(6, PeriodUnit.YEARS),
    "45 CFR 164.508(b)(6) and 164.530(j)(2): signed authorizations are kept six years from "
    "the date they were last in effect",
)

# Conservative defaults: nothing is erased sooner than a hospital's records schedule
# typically allows (state medical-record laws run 6 to 10 years for adults).
RULES: dict[str, KindRule] = {
    RecordKind.MESSAGE_CLINICAL: KindRule(
        (ClockStart.SENT,), Period(10, PeriodUnit.YEARS), clock_help="when the message was sent"
    ),
    RecordKind.MESSAGE_ADMINISTRATIVE: KindRule(
        (ClockStart.SENT,), Period(7, PeriodUnit.YEARS), clock_help="when the message was sent"
    ),
    RecordKind.MESSAGE_OTHER: KindRule(
        (ClockStart.SENT,), Period(7, PeriodUnit.YEARS), clock_help="when the message was sent"
    ),
    RecordKind.ATTACHMENT: KindRule(
        (ClockStart.SENT,),
        Period(10, PeriodUnit.YEARS),
        clock_help="when its message was sent; a message's purge takes its attachments too",
    ),
    RecordKind.RECORD_PACKAGE: KindRule(
        (ClockStart.CLOSED, ClockStart.FULFILLED),
        Period(6, PeriodUnit.YEARS),
        clock_help="when the request was closed, or only once it was fulfilled",
    ),
    RecordKind.GUEST_PACKAGE: KindRule(
        (ClockStart.ENDED, ClockStart.SENT),
        Period(6, PeriodUnit.YEARS),
        clock_help="when the recipient's access ended (expired or recalled), or when sent",
    ),
    RecordKind.AUTHORIZATION_SCAN: KindRule(
        (ClockStart.ENDED,),
        Period(6, PeriodUnit.YEARS),
        floor=SIX_YEARS,
        clock_help="when the authorization stopped being in effect (expired or revoked)",
    ),
    RecordKind.INVITATION: KindRule(
        (ClockStart.ENDED, ClockStart.SENT),
        Period(90, PeriodUnit.DAYS),
        clock_help="when the unused invitation expired or was revoked, or when it was sent",
    ),
}

# What the application never purges, shown beside the policies (and in the README).
KEPT: tuple[tuple[str, str], ...] = (
    (
        "Authorizations (every element and version; the scanned form follows its policy)",
        "45 CFR 164.508(b)(6), 164.530(j): at least six years",
    ),
    ("Accounting of disclosures", "45 CFR 164.528, 164.530(j): at least six years"),
    (
        "Audit events",
        "45 CFR 164.312(b), 164.316(b)(2): at least six years; the database refuses deletion",
    ),
    (
        "Record requests, their notices and denial letters",
        "45 CFR 164.524(e), 164.530(j): at least six years",
    ),
    ("Retention policies, holds and tombstones", "45 CFR 164.316(b)(2): at least six years"),
)


def floor_refusal(kind: str, period: Period) -> str | None:
    """Why ``period`` is too short for ``kind``, naming the rule; None if it is allowed."""
    floor = RULES[kind].floor
    if floor is None:
        return None
    if period.unit == PeriodUnit.YEARS:
        too_short = period.amount < floor.period.amount
    else:
        too_short = period.amount < floor.days
    if not too_short:
        return None
    return (
        f"{RecordKind(kind).label} must be kept at least {floor.period} "
        f"({floor.days} days): {floor.rule}."
    )
