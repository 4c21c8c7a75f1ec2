"""Names for the privacy officer's audit screens: who an actor or patient id is, and
finding a patient (name or MRN) or a staff member (name) to search the log for.

Registered into ``audit.registry`` at start-up (``audit`` sits below ``accounts`` and
cannot look people up itself). The same scopes as the directory's own pages apply."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from django.urls import reverse

from accounts.models import STAFF_ROLES, User
from audit.registry import Person
from directory import policies
from messaging import services as messaging_services

LIMIT = 20


def _patient(user: User) -> Person:
    profile = getattr(user, "patient_profile", None)
    return Person(
        pk=user.pk,
        name=(profile.legal_name if profile else "") or user.full_name,
        detail=profile.mrn if profile else "",
        url=reverse("directory:patient", args=[user.pk]),
    )


def _staff(user: User, *, may_open: bool) -> Person:
    return Person(
        pk=user.pk,
        name=user.full_name,
        detail=user.get_role_display(),
        url=reverse("directory:staff", args=[user.pk]) if may_open else "",
    )


class DirectoryPeople:
    def named(self, *, user: Any, ids: Iterable[int]) -> dict[int, Person]:
        wanted = {pk for pk in ids if pk}
        if not wanted or not policies.uses_directory(user):
            return {}
        found: dict[int, Person] = {}
        patients = policies.patients_in_directory(user).filter(pk__in=wanted)
        for patient in patients.select_related("patient_profile"):
            found[patient.pk] = _patient(patient)
        may_open = policies.manages_staff(user)
        for staff in User.objects.filter(pk__in=wanted - set(found), role__in=STAFF_ROLES):
            found[staff.pk] = _staff(staff, may_open=may_open)
        return found

    def patients_find(self, *, user: Any, query: str) -> list[Person]:
        """By name (any part) or exact MRN, any account state; recorded as a search."""
        query = query.strip()
        if len(query) < 2:
            return []
        condition = Q(full_name__icontains=query) | Q(patient_profile__legal_name__icontains=query)
        condition |= Q(patient_profile__mrn__iexact=query)
        patients = list(
            policies.patients_in_directory(user)
            .select_related("patient_profile")
            .filter(condition)
            .order_by("full_name")[:LIMIT]
        )
        messaging_services.patient_search_record(results=len(patients))
        return [_patient(patient) for patient in patients]

    def staff_find(self, *, user: Any, query: str) -> list[Person]:
        query = query.strip()
        if len(query) < 2 or not policies.manages_staff(user):
            return []
        staff = User.objects.filter(role__in=STAFF_ROLES, full_name__icontains=query)
        may_open = policies.manages_staff(user)
        return [_staff(member, may_open=may_open) for member in staff.order_by("full_name")[:LIMIT]]


__all__ = ["DirectoryPeople"]
