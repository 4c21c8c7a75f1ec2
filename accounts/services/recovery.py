"""Recovering a lost second factor, through a person (45 CFR 164.514(h)).

Staff verify the account holder's identity and issue a link (single use, 24 hours) to the
account's confirmed address. Following it, then the password, removes every old factor
and asks for a new one. The address is told; every step is audited.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp_webauthn.models import WebAuthnCredential

from accounts import policies
from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import (
    AuthenticatorApp,
    BackupCodes,
    FactorRecovery,
    IdentityMethod,
    User,
)
from accounts.services._common import _link_token, _nonce_hash
from audit.models import Outcome
from audit.services import event_record

logger = logging.getLogger(__name__)
RECOVERY_LIFETIME = timedelta(hours=24)
_RECOVERY_SALT = "accounts.recovery"


@transaction.atomic
def recovery_issue(*, actor: User | None, user: User, identity_method: str) -> FactorRecovery:
    """Record how identity was verified and send a recovery link after commit.

    ``actor`` None is the server command, the way back for a privacy officer's own
    account; otherwise ``policies.can_recover`` decides."""
    if actor is not None and not policies.can_recover(actor, user):
        raise AccountsError("not_allowed", "You cannot recover this account.")
    if identity_method not in IdentityMethod.values:
        raise AccountsError("method", "Say how you verified the person's identity.")
    if not user.is_active:
        raise AccountsError("inactive", "Reactivate the account first.")
    now = timezone.now()
    user.recoveries.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    recovery = FactorRecovery.objects.create(
        user=user,
        verified_by=actor,
        identity_method=identity_method,
        verified_at=now,
        nonce_hash=_nonce_hash(secrets.token_urlsafe(32)),  # replaced when sent
        expires_at=now + RECOVERY_LIFETIME,
    )
    event_record(
        action=AccountsAction.RECOVERY_ISSUED,
        target=recovery,
        patient_id=user.audit_patient_id,
        details={"method": identity_method, "account_id": user.pk},
    )
    from accounts.tasks import recovery_send

    transaction.on_commit(lambda: recovery_send.delay(recovery.pk), robust=True)
    return recovery


def recovery_deliver(*, recovery_id: int) -> bool:
    """E-mail the link (a fresh secret each time) to the account's address."""
    from accounts.tasks import email_send

    recovery = FactorRecovery.objects.select_related("user").filter(pk=recovery_id).first()
    if recovery is None or not recovery.is_usable() or recovery.sent_at is not None:
        return False
    token = _link_token(FactorRecovery, recovery.pk, "r", _RECOVERY_SALT)
    link = settings.PORTAL_BASE_URL + reverse("accounts:recovery_open", args=[token])
    email_send(
        to=recovery.user.email,
        template="accounts/email/recovery",
        context={"link": link, "hours": int(RECOVERY_LIFETIME.total_seconds() // 3600)},
        language=recovery.user.language,
    )
    FactorRecovery.objects.filter(pk=recovery.pk).update(sent_at=timezone.now())
    event_record(
        action=AccountsAction.RECOVERY_SENT,
        target=recovery,
        patient_id=recovery.user.audit_patient_id,
    )
    return True


def recovery_from_token(token: str) -> FactorRecovery:
    """The usable recovery behind ``token``; garbage is logged, a real one refused is audited."""
    try:
        payload = signing.loads(token, salt=_RECOVERY_SALT, max_age=RECOVERY_LIFETIME)
    except signing.BadSignature:
        logger.info("recovery link refused: invalid")
        raise AccountsError("invalid", _("This recovery link is not valid.")) from None
    recovery = FactorRecovery.objects.select_related("user").filter(pk=payload.get("r")).first()
    if recovery is None or not secrets.compare_digest(
        recovery.nonce_hash, _nonce_hash(str(payload.get("n", "")))
    ):
        logger.info("recovery link refused: no such link")
        raise AccountsError("invalid", _("This recovery link is not valid."))
    if not recovery.is_usable() or not recovery.user.is_active:
        event_record(
            action=AccountsAction.RECOVERY_REFUSED,
            outcome=Outcome.DENIED,
            target=recovery,
            patient_id=recovery.user.audit_patient_id,
        )
        raise AccountsError("used", _("This recovery link was used, replaced or has expired."))
    return recovery


@transaction.atomic
def recovery_complete(*, recovery_id: int, user: User) -> None:
    """After the password: remove every second factor; the next page asks for a new one."""
    recovery = FactorRecovery.objects.select_for_update().filter(pk=recovery_id, user=user).first()
    if recovery is None or not recovery.is_usable():
        raise AccountsError("used", _("This recovery link was used, replaced or has expired."))
    for device in AuthenticatorApp.objects.filter(user=user):
        device.delete()  # each shreds its key
    BackupCodes.objects.filter(user=user).delete()
    WebAuthnCredential.objects.filter(user=user).delete()
    user.mfa_enrolled_at = None
    user.rotate_security_stamp()
    user.save(update_fields=["mfa_enrolled_at", "security_stamp"])
    recovery.used_at = timezone.now()
    recovery.save(update_fields=["used_at"])
    event_record(
        action=AccountsAction.RECOVERY_USED,
        actor=user,
        target=recovery,
        patient_id=user.audit_patient_id,
    )
    from accounts.tasks import factors_replaced_notice

    transaction.on_commit(lambda: factors_replaced_notice.delay(user.pk), robust=True)
