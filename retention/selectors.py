"""Retention reads for the privacy officer's screens."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Actor, User
from retention.models import LegalHold, PurgeRun
from retention.policies import manages_retention


def holds_visible_to(user: Actor) -> QuerySet[LegalHold]:
    if not manages_retention(user):
        return LegalHold.objects.none()
    return LegalHold.objects.select_related(
        "data_key", "patient__patient_profile", "placed_by", "released_by"
    ).order_by("released_at", "-placed_at")


def hold_for(*, user: Actor, hold_id: Any) -> LegalHold:
    return get_object_or_404(holds_visible_to(user), pk=hold_id)


def runs_page(*, user: Actor, page: Any) -> Page[PurgeRun]:
    runs = PurgeRun.objects.all() if manages_retention(user) else PurgeRun.objects.none()
    return Paginator(runs, 25).get_page(page)


def patient_by_mrn(mrn: str) -> User | None:
    return User.objects.filter(role="patient", patient_profile__mrn=mrn.strip()).first()
