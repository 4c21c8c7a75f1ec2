"""Receivers: django-axes' lockout, and the key of a deleted authenticator app."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.db.models.signals import post_delete
from django.dispatch import receiver

from accounts.actions import AccountsAction
from accounts.models import AuthenticatorApp, AuthenticatorKey, User
from audit.models import Outcome
from audit.services import event_record


@receiver(user_locked_out)
def record_lockout(sender: Any, request: Any, username: str | None = None, **kwargs: Any) -> None:
    user = User.objects.filter(email__iexact=username or "").first()
    event_record(
        action=AccountsAction.LOCKED_OUT,
        outcome=Outcome.DENIED,
        target_type="accounts.user" if user else "",
        target_id=user.pk if user else "",
        patient_id=user.audit_patient_id if user else None,
        details={"reason": "failure_limit"},
    )


@receiver(post_delete, sender=AuthenticatorApp)
def authenticator_key_shred(sender: Any, instance: AuthenticatorApp, **kwargs: Any) -> None:
    """Deleting an authenticator app deletes its key row, which shreds the key."""
    AuthenticatorKey.objects.filter(pk=instance.secret_id).delete()
