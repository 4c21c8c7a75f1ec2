"""The figures that come from the other parts of issue 20: the checkpoints' anchors
(``audit.anchors``), workforce policy acknowledgement and the business-associate
register (``compliance``), and the activity review (``audit.review``).

Kept apart from ``evidence.figures`` because each reads another app's records in its
own terms; both the dashboard and the evidence pack show what they return.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.urls import reverse

from accounts.models import Actor
from audit import selectors as audit_selectors
from audit.models import AuditAnchor, AuditCheckpoint
from compliance import selectors as compliance_selectors
from compliance.actions import ComplianceAction
from compliance.models import AssociateAgreement, PolicyAcknowledgement

if TYPE_CHECKING:
    from evidence.figures import Period, Section


def checkpoint_anchors(checkpoints: list[AuditCheckpoint]) -> dict[int, dict[str, Any]]:
    """Where each checkpoint's head was written outside the database, by checkpoint id;
    a checkpoint not (yet) anchored is left out. One query per batch."""
    anchors = AuditAnchor.objects.filter(checkpoint__in=[c.pk for c in checkpoints])
    return {
        anchor.checkpoint_id: {
            "sink": anchor.sink,
            "location": anchor.location,
            "written_at": anchor.written_at.isoformat(),
        }
        for anchor in anchors
    }


def workforce_section(*, user: Actor, period: Period, now: datetime) -> Section | None:
    """Staff who have not acknowledged the current policies, and acknowledgements made
    in the period; None until a policy is published (then nothing is asked of anyone)."""
    from evidence.figures import Figure, Section, Table

    current = list(compliance_selectors.policies_current())
    if not current:
        return None
    done = compliance_selectors.acknowledged_counts()
    staff = compliance_selectors.workforce().count()
    pending = compliance_selectors.staff_with_pending_policies().count()
    in_period = PolicyAcknowledgement.objects.filter(period.within("acknowledged_at")).count()
    policies = reverse("compliance:policies")
    return Section(
        key="workforce",
        title="Workforce policy acknowledgement",
        figures=[
            Figure("active_staff", "Active staff accounts", staff, link=policies),
            Figure(
                "staff_pending",
                "Staff who have not acknowledged every current policy",
                pending,
                link=policies,
            ),
            Figure(
                "acknowledged_in_period",
                "Acknowledgements in the period",
                in_period,
                link=period.audit_link(ComplianceAction.POLICY_ACKNOWLEDGED),
            ),
        ],
        tables=[
            Table(
                key="current_policies",
                title="Current policies",
                columns=("policy", "version", "published", "acknowledged by", "of staff"),
                rows=[
                    {
                        "policy": document.title,
                        "version": document.version,
                        "published": document.published_at.date().isoformat(),
                        "acknowledged by": done.get(document.pk, 0),
                        "of staff": staff,
                    }
                    for document in current
                ],
            )
        ],
    )


def activity_review_section(*, user: Actor, period: Period, now: datetime) -> Section | None:
    """The review lists' counts for the period, when it was last reviewed and the reviews
    that overlap it (164.308(a)(1)(ii)(D))."""
    from evidence.figures import Figure, Section, Table, _when

    summary = audit_selectors.activity_review_summary(period.first_day, period.last_day)
    reviews = audit_selectors.activity_reviews_in(period.first_day, period.last_day)
    page = (
        f"{reverse('audit:activity_review')}?start={period.first_day.isoformat()}"
        f"&end={period.last_day.isoformat()}"
    )
    labels = {
        "outside_care_team": "Clinicians on patients outside their care team",
        "after_hours": "Staff actions on patient data outside working hours",
        "bulk_reads": "Hours with bulk reads by one person",
        "exports": "Exports",
        "failed_sign_ins": "Repeated failed sign-ins",
        "lockouts": "Lock-outs",
        "admin": "Administrative actions",
    }
    counts: dict[str, int] = summary["counts"]
    figures = [
        Figure(
            "period_reviewed_at",
            "This period last reviewed",
            _when(summary["reviewed_at"]),
            "when",
            page,
        ),
        Figure(
            "last_review_at", "Any period last reviewed", _when(summary["last_review_at"]), "when"
        ),
    ]
    figures += [
        Figure(key, labels.get(key, key.replace("_", " ").capitalize()), count, link=page)
        for key, count in counts.items()
    ]
    return Section(
        key="activity_review",
        title="Activity review",
        figures=figures,
        tables=[
            Table(
                key="reviews",
                title="Reviews of this period",
                columns=("from", "to", "reviewed", "by", "findings"),
                rows=[
                    {
                        "from": review.period_start.isoformat(),
                        "to": review.period_end.isoformat(),
                        "reviewed": _when(review.reviewed_at),
                        "by": review.reviewed_by_label,
                        "findings": review.findings,
                    }
                    for review in reviews
                ],
            )
        ],
    )


def business_associates_section(*, user: Actor, period: Period, now: datetime) -> Section | None:
    """Associates on the register, agreements renewing within 30 days or lapsed."""
    from evidence.figures import Figure, Section, Table, Value

    associates = list(compliance_selectors.associates_visible_to(user))
    today = period.last_day
    soon = today + timedelta(days=compliance_selectors.RENEWAL_NOTICE_DAYS)
    rows: list[dict[str, Value]] = []
    in_use = renewing = lapsed = 0
    for associate in associates:
        agreement: AssociateAgreement | None = compliance_selectors.current_agreement(associate)
        if associate.ended_on is None:
            in_use += 1
            if agreement is not None and agreement.renewal_on < today:
                lapsed += 1
            elif agreement is not None and agreement.renewal_on <= soon:
                renewing += 1
        rows.append(
            {
                "name": associate.name,
                "service": associate.service,
                "signed": agreement.signed_on.isoformat() if agreement else None,
                "renewal": agreement.renewal_on.isoformat() if agreement else None,
                "ended": associate.ended_on.isoformat() if associate.ended_on else None,
            }
        )
    register = reverse("compliance:associates")
    return Section(
        key="business_associates",
        title="Business associates",
        figures=[
            Figure("in_use", "Business associates in use", in_use, link=register),
            Figure(
                "renewing_30_days", "Agreements renewing within 30 days", renewing, link=register
            ),
            Figure("lapsed", "Agreements past their renewal date", lapsed, link=register),
        ],
        tables=[
            Table(
                key="register",
                title="The register",
                columns=("name", "service", "signed", "renewal", "ended"),
                rows=rows,
            )
        ],
        note="" if associates else "No business associate is on the register yet.",
    )
