"""Compliance reads: who has acknowledged what, and the business associates register."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import STAFF_ROLES, Actor, User
from compliance.models import (
    AssociateAgreement,
    BusinessAssociate,
    PolicyAcknowledgement,
    PolicyDocument,
)
from compliance.policies import acknowledges_policies, manages_compliance

RENEWAL_NOTICE_DAYS = 30

# --- workforce policies -----------------------------------------------------------------------


def policies_current() -> QuerySet[PolicyDocument]:
    return PolicyDocument.objects.filter(superseded_at__isnull=True).order_by("kind")


def policies_pending_for(user: Actor) -> QuerySet[PolicyDocument]:
    """The current versions ``user`` must still acknowledge (none for a patient)."""
    if not acknowledges_policies(user):
        return PolicyDocument.objects.none()
    acknowledged = PolicyAcknowledgement.objects.filter(user=user, document=OuterRef("pk"))
    return policies_current().exclude(Exists(acknowledged))


# The gate asks on every staff page whether anything current is unacknowledged. Two facts
# make the answer keepable in each process: acknowledgements are never withdrawn (the
# table is append-only), and the current versions change only when one is published. So
# each process keeps the current versions' ids for a few seconds, and for each person the
# ids they were last found to have acknowledged; a page view then needs no query. A
# version published in another process gates people within CURRENT_POLICIES_SECONDS; in
# the publishing process at once (``current_policies_forget``).
CURRENT_POLICIES_SECONDS = 5.0
_ACKNOWLEDGED_KEPT = 4096
_current: tuple[float, frozenset[int]] | None = None
_acknowledged: dict[int, frozenset[int]] = {}


def current_policy_ids() -> frozenset[int]:
    global _current
    now = time.monotonic()
    if _current is None or now - _current[0] > CURRENT_POLICIES_SECONDS:
        _current = (now, frozenset(policies_current().values_list("pk", flat=True)))
    return _current[1]


def current_policies_forget() -> None:
    global _current
    _current = None
    _acknowledged.clear()


def acknowledgement_pending_now(user: Actor) -> bool:
    """``acknowledgement_pending``, answered from what this process already knows when it
    can (the gate's question on every staff page)."""
    current = current_policy_ids()
    if not current or current <= _acknowledged.get(user.pk, frozenset()):
        return False
    if acknowledgement_pending(user):
        return True
    if len(_acknowledged) >= _ACKNOWLEDGED_KEPT:
        _acknowledged.clear()  # bounded; each person costs one query to come back
    _acknowledged[user.pk] = current
    return False


def acknowledgement_pending(user: Actor) -> bool:
    """One query: is any current policy unacknowledged by this member of staff? With no
    policy published, never."""
    return policies_pending_for(user).exists()


def acknowledgements_of(user: Actor) -> QuerySet[PolicyAcknowledgement]:
    """The acknowledgements a member of staff made, newest first (their own page)."""
    return (
        PolicyAcknowledgement.objects.filter(user=user)
        .select_related("document")
        .order_by("-acknowledged_at")
    )


def pending_document_for(*, user: Actor, document_id: Any) -> PolicyDocument:
    """A current version ``user`` has not acknowledged yet, or 404."""
    return get_object_or_404(policies_pending_for(user), pk=document_id)


def policies_visible_to(user: Actor) -> QuerySet[PolicyDocument]:
    """Every version, for the privacy officer; nothing for anyone else."""
    if not manages_compliance(user):
        return PolicyDocument.objects.none()
    return PolicyDocument.objects.select_related("published_by").order_by("kind", "-version")


def policy_for(*, user: Actor, document_id: Any) -> PolicyDocument:
    return get_object_or_404(policies_visible_to(user), pk=document_id)


def workforce() -> QuerySet[User]:
    """The active staff accounts who must acknowledge the policies."""
    return User.objects.filter(role__in=STAFF_ROLES, is_active=True).order_by("full_name")


@dataclass(frozen=True)
class Acknowledged:
    person: User
    acknowledged_at: Any  # a datetime, or None while they have not


def acknowledgement_rows(*, user: Actor, document: PolicyDocument) -> list[Acknowledged]:
    """Every active member of staff and when they acknowledged ``document`` (None: not
    yet), those who have not first. Two queries, whatever the staff count."""
    if not manages_compliance(user):
        raise Http404
    when = dict(
        PolicyAcknowledgement.objects.filter(document=document).values_list(
            "user_id", "acknowledged_at"
        )
    )
    rows = [Acknowledged(person, when.get(person.pk)) for person in workforce()]
    return sorted(rows, key=lambda row: row.acknowledged_at is not None)


def acknowledged_counts() -> dict[int, int]:
    """Per current version: how many active staff acknowledged it (one query)."""
    counted = policies_current().annotate(
        done=Count(
            "acknowledgements",
            filter=Q(
                acknowledgements__user__is_active=True,
                acknowledgements__user__role__in=STAFF_ROLES,
            ),
        )
    )
    return {document.pk: document.done for document in counted}


def staff_with_pending_policies() -> QuerySet[User]:
    """Active staff who have not acknowledged every current version (the dashboard's figure)."""
    acknowledged = PolicyAcknowledgement.objects.filter(
        user=OuterRef(OuterRef("pk")), document=OuterRef("pk")
    )
    pending = policies_current().exclude(Exists(acknowledged))
    return workforce().filter(Exists(pending))


# --- business associates ----------------------------------------------------------------------


def associates_visible_to(user: Actor) -> QuerySet[BusinessAssociate]:
    """The register, each associate with its agreements newest first (``agreements``)."""
    if not manages_compliance(user):
        return BusinessAssociate.objects.none()
    agreements = AssociateAgreement.objects.select_related("scan", "recorded_by").order_by(
        "-recorded_at"
    )
    return BusinessAssociate.objects.select_related("added_by", "ended_by").prefetch_related(
        Prefetch("agreements", queryset=agreements)
    )


def associate_for(*, user: Actor, associate_id: Any) -> BusinessAssociate:
    return get_object_or_404(associates_visible_to(user), pk=associate_id)


def agreement_for(*, user: Actor, associate_id: Any, agreement_id: Any) -> AssociateAgreement:
    associate = associate_for(user=user, associate_id=associate_id)
    return get_object_or_404(
        AssociateAgreement.objects.select_related("scan", "associate"),
        associate=associate,
        pk=agreement_id,
    )


def current_agreement(associate: BusinessAssociate) -> AssociateAgreement | None:
    """The newest agreement (from the prefetched ``agreements``)."""
    agreements = list(associate.agreements.all())
    return agreements[0] if agreements else None


def renewal_soon_day() -> date:
    """Renewal dates up to this day are alerted (and highlighted on the register)."""
    return timezone.localdate() + timedelta(days=RENEWAL_NOTICE_DAYS)


def agreements_due_for_renewal(*, today: date) -> QuerySet[AssociateAgreement]:
    """Current agreements of associates still in use whose renewal date is at most 30
    days away (or already passed: a late run still alerts)."""
    newer = AssociateAgreement.objects.filter(
        associate=OuterRef("associate"), recorded_at__gt=OuterRef("recorded_at")
    )
    return (
        AssociateAgreement.objects.filter(
            associate__ended_on__isnull=True,
            renewal_on__lte=today + timedelta(days=RENEWAL_NOTICE_DAYS),
        )
        .exclude(Exists(newer))
        .select_related("associate")
    )
