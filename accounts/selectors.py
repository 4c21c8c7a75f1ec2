from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django_otp import devices_for_user

from accounts.models import CareTeamMember, User


def sign_in_factors_for(user: User) -> list[Any]:
    """Confirmed devices that can complete a sign-in (backup codes only while some remain)."""
    factors = []
    for device in devices_for_user(user, confirmed=True):
        if device._meta.model_name == "backupcodes" and not device.codes.exists():
            continue
        factors.append(device)
    return factors


def has_second_factor(user: User) -> bool:
    return bool(sign_in_factors_for(user))


def request_user(request: HttpRequest) -> User:
    """The signed-in account behind a request that passed the sign-in middleware (every
    view not on the public list): a ``User``, never the anonymous one."""
    user = request.user
    assert isinstance(user, User), "only for views behind RequireVerifiedMiddleware"
    return user


def pairs_on_care_team(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Of these (staff id, patient id) pairs, those where the staff member is on the
    patient's care team now (the activity review asks, ``audit.registry.care_teams``)."""
    wanted = set(pairs)
    if not wanted:
        return set()
    found = CareTeamMember.objects.filter(
        staff_id__in={staff for staff, _ in wanted},
        patient_id__in={patient for _, patient in wanted},
    ).values_list("staff_id", "patient_id")
    return {(staff, patient) for staff, patient in found if (staff, patient) in wanted}
