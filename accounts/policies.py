"""Who may do what with accounts. One place answers both "may they?" and "which ones?"."""

from __future__ import annotations

from accounts.models import Actor, Role

PATIENT_ENROLLERS = frozenset({Role.CLINICIAN, Role.RECORDS_CLERK, Role.PRIVACY_OFFICER})


def can_enroll_patients(user: Actor) -> bool:
    return bool(user.is_authenticated and user.role in PATIENT_ENROLLERS)


def can_create_staff(user: Actor) -> bool:
    return bool(user.is_authenticated and user.role == Role.PRIVACY_OFFICER)


def can_read_demo_outbox(user: Actor) -> bool:
    # The outbox holds invitation links: only the privacy officer may read it.
    return bool(user.is_authenticated and user.role == Role.PRIVACY_OFFICER)
