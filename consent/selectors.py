"""Reads of consent data, scoped by ``consent.policies``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Actor, User
from audit.models import AuditEvent
from audit.policies import events_visible_to
from consent import policies
from consent.models import (
    Authorization,
    AuthorizationStatus,
    CommunicationPreference,
    Disclosure,
    EmailWaiver,
    WaiverStatement,
)

# 45 CFR 164.528(a): the accounting covers the six years before the request.
ACCOUNTING_YEARS = 6


def statement_current() -> WaiverStatement | None:
    return WaiverStatement.objects.order_by("-version").first()


def waiver_in_force(patient: User) -> EmailWaiver | None:
    return (
        EmailWaiver.objects.select_related("statement")
        .filter(patient=patient, revoked_at__isnull=True)
        .first()
    )


def preferences_of(patient: User) -> CommunicationPreference | None:
    return CommunicationPreference.objects.filter(patient=patient).first()


def accounting_since() -> datetime:
    """The start of the period an accounting covers: six years before now."""
    return timezone.now() - timedelta(days=365 * ACCOUNTING_YEARS + 2)  # leap days


def accounting_of(patient: User) -> QuerySet[Disclosure]:
    """The patient's disclosures in the last six years, newest first (the caller has
    checked that the reader may see this patient's accounting)."""
    return (
        Disclosure.objects.filter(patient=patient, disclosed_at__gte=accounting_since())
        .select_related("data_key", "authorization", "disclosed_by")
        .order_by("-disclosed_at")
    )


def accounting_shown_to_patient(patient: User) -> QuerySet[Disclosure]:
    """What the patient reads (the portal page and the PDF staff hand them): the
    accounting without the entries an agency or official had suspended (164.528(a)(2)),
    until the day the suspension ends."""
    today = timezone.localdate()
    return accounting_of(patient).filter(
        Q(suspended_until__isnull=True) | Q(suspended_until__lte=today)
    )


# --- staff and privacy-officer screens -------------------------------------------------------

# The officer's list filters (codes only: they go into URLs and audit details).
AUTHORIZATION_STATES = ("active", "expiring", "revoked", "expired", "all")
EXPIRING_WITHIN = timedelta(days=30)


def patient_for_consent(*, user: Actor, patient_id: Any) -> User:
    """A patient whose consent ``user`` handles; 404 otherwise, as for a missing one."""
    patient = (
        policies.patients_in_consent_scope(user)
        .select_related("patient_profile")
        .filter(pk=patient_id)
        .first()
    )
    if patient is None:
        raise Http404
    return patient


def authorization_for(*, user: Actor, authorization_id: Any) -> Authorization:
    found = (
        policies.authorizations_visible_to(user)
        .select_related("data_key", "patient__patient_profile", "scan__data_key", "recorded_by")
        .filter(pk=authorization_id)
        .first()
    )
    if found is None:
        raise Http404
    return found


def authorizations_current_of(patient: User) -> QuerySet[Authorization]:
    """The patient's authorizations as they stand (corrected versions left out)."""
    return (
        Authorization.objects.filter(patient=patient, superseded_at__isnull=True)
        .select_related("data_key")
        .order_by("-signed_at")
    )


def authorization_versions(authorization: Authorization) -> list[Authorization]:
    """Every version of the authorization's lineage, oldest first."""
    return list(
        Authorization.objects.filter(lineage=authorization.lineage)
        .select_related("data_key", "recorded_by", "revoked_by")
        .order_by("version")
    )


def authorization_events(*, user: Actor, versions: list[Authorization]) -> list[AuditEvent]:
    """The audit trail of these versions, for whoever may read the audit log."""
    ids = [str(v.pk) for v in versions]
    return list(
        events_visible_to(user)
        .filter(target_type=Authorization._meta.label_lower, target_id__in=ids)
        .order_by("-id")[:100]
    )


def authorizations_listed(
    *, user: Actor, state: str, at: datetime | None = None
) -> QuerySet[Authorization]:
    """Current versions in ``user``'s scope in ``state`` (one of ``AUTHORIZATION_STATES``).

    "expiring" is active and ending within 30 days, soonest first.
    """
    at = at or timezone.now()
    found = (
        policies.authorizations_visible_to(user)
        .filter(superseded_at__isnull=True)
        .select_related("data_key", "patient__patient_profile")
    )
    live = Q(revoked_at__isnull=True) | Q(revoked_at__gt=at)
    unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=at)
    if state == "active":
        found = found.filter(live & unexpired)
    elif state == "expiring":
        found = found.filter(live, expires_at__gt=at, expires_at__lte=at + EXPIRING_WITHIN)
        return found.order_by("expires_at", "pk")
    elif state == "revoked":
        found = found.filter(revoked_at__lte=at)
    elif state == "expired":
        found = found.filter(live, expires_at__lte=at)
    return found.order_by("-signed_at", "pk")


def waiver_statements_list() -> QuerySet[WaiverStatement]:
    return WaiverStatement.objects.select_related("published_by").order_by("-version")


def recipient_matching(authorizations: QuerySet[Authorization], query: str) -> list[Authorization]:
    """Those whose recipient name, organisation or e-mail contains ``query``, any case.

    The recipient is encrypted, so the filtered set is decrypted and matched here.
    """
    wanted = query.strip().casefold()
    return [
        auth
        for auth in authorizations
        if wanted in auth.recipient_name.casefold()
        or wanted in auth.recipient_organization.casefold()
        or wanted in auth.recipient_email.casefold()
    ]


ENDING_SOON_DAYS = 30


def authorizations_ending_soon(
    patient: User, *, days: int = ENDING_SOON_DAYS
) -> list[Authorization]:
    """The patient's active authorizations whose expiry date falls within ``days``: their
    home page offers to look at each before it ends. No encrypted field is read."""
    now = timezone.now()
    ending = (
        Authorization.objects.filter(
            patient=patient,
            superseded_at__isnull=True,
            revoked_at__isnull=True,
            expiry_event_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
        )
        .only("pk", "patient_id", "expires_at", "superseded_at", "revoked_at", "expiry_event_at")
        .order_by("expires_at")
    )
    return [a for a in ending if a.status(now) == AuthorizationStatus.ACTIVE]
