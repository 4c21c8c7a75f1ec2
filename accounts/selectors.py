from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django_otp import devices_for_user

from accounts.models import User


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
