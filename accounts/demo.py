"""Demo personas and their second factors. Used only in demo mode and in tests."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import (
    AuthenticatorApp,
    AuthenticatorKey,
    CareTeamMember,
    IdentityMethod,
    PatientProfile,
    ProxyKind,
    ProxyLink,
    ProxyScope,
    Role,
    User,
)

DEMO_PASSWORD = "correct horse battery staple 7"  # noqa: S105 - a published demo password


@dataclass(frozen=True)
class Persona:
    key: str
    email: str
    full_name: str
    role: str
    mrn: str = ""
    date_of_birth: date | None = None


PERSONAS = (
    Persona("privacy_officer", "priya.officer@demo.test", "Priya Shah", Role.PRIVACY_OFFICER),
    Persona("clinician", "carl.clinician@demo.test", "Dr. Carl Okafor", Role.CLINICIAN),
    Persona("records_clerk", "rita.records@demo.test", "Rita Alvarez", Role.RECORDS_CLERK),
    Persona(
        "patient",
        "pat.patient@demo.test",
        "Pat Morgan",
        Role.PATIENT,
        "MRN-10001",
        date(1980, 4, 12),
    ),
    Persona(
        "other_patient",
        "omar.other@demo.test",
        "Omar Lindqvist",
        Role.PATIENT,
        "MRN-10002",
        date(1975, 9, 30),
    ),
    # Pat's caregiver, invited by Pat to read (not answer) Pat's messages (issue 22).
    Persona("proxy", "casey.caregiver@demo.test", "Casey Morgan", Role.PROXY),
)


def totp_key_for(email: str) -> str:
    """A stable demo TOTP key (hex) per persona, so a phone app keeps working across seeds."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"demo-totp:{email}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


@transaction.atomic
def personas_seed() -> list[tuple[Persona, User, AuthenticatorApp]]:
    """Create or refresh every persona: password, verified e-mail, one TOTP device."""
    officer: User | None = None
    seeded = []
    for persona in PERSONAS:
        user, _ = User.objects.get_or_create(
            email=persona.email, defaults={"full_name": persona.full_name, "role": persona.role}
        )
        user.full_name, user.role, user.is_active = persona.full_name, persona.role, True
        user.email_verified_at = user.email_verified_at or timezone.now()
        user.mfa_enrolled_at = user.mfa_enrolled_at or timezone.now()
        user.set_password(DEMO_PASSWORD)
        user.save()
        if persona.role == Role.PRIVACY_OFFICER:
            officer = user
        if persona.role == Role.PATIENT and officer is not None:
            PatientProfile.objects.get_or_create(
                user=user,
                defaults={
                    "legal_name": persona.full_name,
                    "date_of_birth": persona.date_of_birth,
                    "mrn": persona.mrn,
                    "identity_verified_by": officer,
                    "identity_method": IdentityMethod.PHOTO_ID_IN_PERSON,
                    "identity_verified_at": timezone.now(),
                },
            )
        device = AuthenticatorApp.objects.filter(user=user, name="Demo authenticator").first()
        if device is None:
            key = AuthenticatorKey.objects.create(key=totp_key_for(persona.email))
            device = AuthenticatorApp.objects.create(
                user=user, name="Demo authenticator", secret=key, confirmed=True
            )
        seeded.append((persona, user, device))
    by_key = {persona.key: user for persona, user, _ in seeded}
    CareTeamMember.objects.get_or_create(patient=by_key["patient"], staff=by_key["clinician"])
    live = {"revoked_at__isnull": True, "aged_out_at__isnull": True}
    if not ProxyLink.objects.filter(proxy=by_key["proxy"], patient=by_key["patient"], **live):
        ProxyLink.objects.create(
            proxy=by_key["proxy"],
            patient=by_key["patient"],
            kind=ProxyKind.CAREGIVER,
            scopes=[ProxyScope.READ_MESSAGES],
            created_by=by_key["patient"],
        )
    return seeded


def current_code(device: AuthenticatorApp) -> str:
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, digits=device.digits):0{device.digits}d}"
