"""Signing in and out: the audit records and the second-factor check (the views keep
the session and the lockout counting).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
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


def password_check_failure_record(*, user: User) -> None:
    """A wrong current password while signed in (changing the password)."""
    event_record(
        action=AccountsAction.PASSWORD_CHECK_FAILED,
        outcome=Outcome.DENIED,
        target=user,
        patient_id=user.audit_patient_id,
    )


# One account's failures over a day, from any number of addresses: past the ceiling,
# that account may try once a minute, and the privacy officer hears of it once a day.
ACCOUNT_FAILURE_CEILING = 50
ACCOUNT_SLOW_WINDOW = 60


def account_failures_add(*, email: str) -> None:
    """Count a failed password for ``email`` (an account or not: the same work either way);
    on crossing the ceiling, audit it and tell the privacy officers."""
    from accounts.throttle import attempt_allowed

    within = attempt_allowed(
        scope="account-failures", key=email, limit=ACCOUNT_FAILURE_CEILING, window_seconds=86400
    )
    if within:
        return
    first_time_today = attempt_allowed(
        scope="account-ceiling-alert", key=email, limit=1, window_seconds=86400
    )
    user = User.objects.filter(email__iexact=email).first()
    if first_time_today and user is not None:
        event_record(
            action=AccountsAction.SIGN_IN_CEILING,
            outcome=Outcome.DENIED,
            target=user,
            patient_id=user.audit_patient_id,
            details={"failures": ACCOUNT_FAILURE_CEILING},
        )
        from accounts.tasks import sign_in_ceiling_alert

        transaction.on_commit(lambda: sign_in_ceiling_alert.delay(user.pk), robust=True)


def account_slowed(*, email: str) -> bool:
    """Past the day's ceiling, and already tried within the last minute: wait."""
    from accounts.throttle import attempt_allowed, attempts_over

    if not attempts_over(scope="account-failures", key=email, limit=ACCOUNT_FAILURE_CEILING):
        return False
    return not attempt_allowed(
        scope="account-slow", key=email, limit=1, window_seconds=ACCOUNT_SLOW_WINDOW
    )
