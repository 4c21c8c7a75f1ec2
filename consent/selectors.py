"""Reads of consent data, scoped by ``consent.policies``."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from consent.models import CommunicationPreference, Disclosure, EmailWaiver, WaiverStatement

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


def accounting_of(patient: User) -> QuerySet[Disclosure]:
    """The patient's disclosures in the last six years, newest first (the caller has
    checked that the reader may see this patient's accounting)."""
    since = timezone.now() - timedelta(days=365 * ACCOUNTING_YEARS + 2)  # leap days
    return (
        Disclosure.objects.filter(patient=patient, disclosed_at__gte=since)
        .select_related("authorization", "disclosed_by")
        .order_by("-disclosed_at")
    )
