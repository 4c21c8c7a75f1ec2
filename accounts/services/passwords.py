"""Passwords: changing one (and, below, resetting a forgotten one)."""

from __future__ import annotations

from django.db import transaction

from accounts.actions import AccountsAction
from accounts.models import (
    User,
)
from audit.services import event_record


@transaction.atomic
def password_change(*, user: User, new_password: str) -> None:
    """Set a new password and end the user's other sessions (the caller keeps this one)."""
    user.set_password(new_password)
    user.rotate_security_stamp()
    user.save(update_fields=["password", "security_stamp"])
    event_record(
        action=AccountsAction.PASSWORD_CHANGED, target=user, patient_id=user.audit_patient_id
    )
