"""Signing in and out: the audit records and the second-factor check (the views keep
the session and the lockout counting).
"""

from __future__ import annotations

from typing import Any

from django_otp import match_token

from accounts.actions import AccountsAction
from accounts.models import (
    AuthenticatorApp,
    User,
)
from audit.models import Outcome
from audit.services import event_record


def sign_in_failure_record(*, email: str) -> None:
    """A wrong password or an unknown address: audited against the account if there is one."""
    known = User.objects.filter(email__iexact=email).first()
    event_record(
        action=AccountsAction.SIGN_IN_FAILED,
        outcome=Outcome.DENIED,
        target_type="accounts.user" if known else "",
        target_id=known.pk if known else "",
        patient_id=known.audit_patient_id if known else None,
        details={"reason": "bad_credentials"},
    )


def sign_in_record(*, user: User) -> None:
    event_record(
        action=AccountsAction.SIGN_IN,
        actor=user,
        target=user,
        patient_id=user.audit_patient_id,
        details={"factor": "password"},
    )


def second_factor_check(*, user: User, code: str, fresh: bool) -> Any:
    """The device a TOTP or backup code belongs to (a backup code is used up), or None.

    Either outcome is audited; ``fresh`` marks a re-check before a sensitive action.
    """
    device = match_token(user, code)
    if device is None:
        event_record(
            action=AccountsAction.MFA_FAILED,
            outcome=Outcome.DENIED,
            target=user,
            patient_id=user.audit_patient_id,
            details={"factor": "code"},
        )
        return None
    event_record(
        action=AccountsAction.MFA_VERIFIED,
        target=device,
        patient_id=user.audit_patient_id,
        details={
            "factor": "totp" if isinstance(device, AuthenticatorApp) else "backup_code",
            "fresh": fresh,
        },
    )
    return device


def sign_out_record(*, user: User, idle: bool) -> None:
    event_record(
        action=AccountsAction.SIGN_OUT,
        actor=user,
        target=user,
        patient_id=user.audit_patient_id,
        details={"reason": "idle"} if idle else {},
    )
