"""Who finds which patients and staff in the directory. Clinicians find the patients on
their care teams; records clerks and the privacy officer every patient (any account
state, so a deactivated one can be reactivated); staff accounts are the privacy
officer's alone."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Actor, Role, User

ALL_PATIENTS_ROLES = frozenset({Role.RECORDS_CLERK, Role.PRIVACY_OFFICER})


def uses_directory(user: Actor) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff_member)


def patients_in_directory(user: Actor) -> QuerySet[User]:
    patients = User.objects.filter(role=Role.PATIENT)
    if not uses_directory(user):
        return patients.none()
    if user.role in ALL_PATIENTS_ROLES:
        return patients
    return patients.filter(care_team__staff=user, is_active=True)


def manages_staff(user: Actor) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role == Role.PRIVACY_OFFICER)
