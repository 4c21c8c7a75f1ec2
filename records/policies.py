"""Who may see and work which record requests.

Records clerks work every request and the privacy officer oversees them (DESIGN: the
clerk's queue). Clinicians do not handle access requests. Patients see their own.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import Role
from records.models import RecordRequest

QUEUE_ROLES = frozenset({Role.RECORDS_CLERK, Role.PRIVACY_OFFICER})


def works_requests(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in QUEUE_ROLES)


def requests_visible_to(user: Any) -> QuerySet[RecordRequest]:
    requests = RecordRequest.objects.all()
    if not (user.is_authenticated and user.is_active):
        return requests.none()
    if user.is_patient:
        return requests.filter(patient=user)
    if works_requests(user):
        return requests
    return requests.none()
