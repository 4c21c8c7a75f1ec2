"""Passwords: changing one, and resetting a forgotten one by a link sent to the account's
address. A reset never touches the second factor: the next sign-in asks for it as always.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _

from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import User
from audit.services import event_record

logger = logging.getLogger(__name__)


@transaction.atomic
def password_change(*, user: User, new_password: str) -> None:
    """Set a new password and end the user's other sessions (the caller keeps this one)."""
    user.set_password(new_password)
    user.rotate_security_stamp()
    user.save(update_fields=["password", "security_stamp"])
    event_record(
        action=AccountsAction.PASSWORD_CHANGED, target=user, patient_id=user.audit_patient_id
    )


# --- a forgotten password ------------------------------------------------------------------


def password_reset_request(*, email: str) -> None:
    """Send a reset link if an active account with a password uses ``email``.

    What the requester sees, and the work done before the answer (one lookup, one queued
    task), is the same for an address with an account and one without: the task finds out
    which it was. Nothing is audited here; the task records a link it sent.
    """
    from accounts.tasks import password_reset_send

    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    user_id = user.pk if user is not None and user.has_usable_password() else 0
    transaction.on_commit(lambda: password_reset_send.delay(user_id), robust=True)


def password_reset_deliver(*, user_id: int) -> bool:
    """E-mail a reset link (one hour, single use: it dies with the password it replaces)."""
    from accounts.tasks import email_send

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.PORTAL_BASE_URL + reverse("accounts:password_reset_open", args=[uid, token])
    email_send(
        to=user.email,
        template="accounts/email/password_reset",
        context={"link": link, "minutes": settings.PASSWORD_RESET_TIMEOUT // 60},
        language=user.language,
    )
    event_record(
        action=AccountsAction.PASSWORD_RESET_SENT, target=user, patient_id=user.audit_patient_id
    )
    return True


def password_reset_user(*, uidb64: str, token: str) -> User:
    """The account a reset link is for, or AccountsError. A refused link is only logged:
    it names no account we can vouch for, and anyone can send garbage to a public URL."""
    try:
        user_id = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        user_id = None
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None or not default_token_generator.check_token(user, token):
        logger.info("password reset link refused")
        raise AccountsError(
            "invalid", _("This link has expired or was already used. Ask for a new one.")
        )
    return user


@transaction.atomic
def password_reset_complete(*, user: User, new_password: str) -> None:
    """Set the new password; every session of the account ends (its security stamp
    changes), the second factor stays required, and the account's address is told."""
    from accounts.tasks import password_changed_notice

    user.set_password(new_password)
    user.rotate_security_stamp()
    user.save(update_fields=["password", "security_stamp"])
    event_record(
        action=AccountsAction.PASSWORD_RESET,
        actor=user,
        target=user,
        patient_id=user.audit_patient_id,
    )
    transaction.on_commit(lambda: password_changed_notice.delay(user.pk), robust=True)
