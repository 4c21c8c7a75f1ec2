from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP

from accounts.models import AuthenticatorApp
from audit.models import AuditEvent


def totp_now(device: AuthenticatorApp, *, offset_steps: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, 0, device.digits, device.drift)
    totp.time = totp.time + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def password_step(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post(
        reverse("accounts:sign_in"), {"username": email, "password": password}, **extra
    )


def actions(**filters: Any) -> list[str]:
    return list(
        AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True)
    )
