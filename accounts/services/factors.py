"""Second factors: authenticator apps, backup codes, passkeys. Adding or removing
one ends the account's other sessions.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import (
    AuthenticatorApp,
    BackupCode,
    BackupCodes,
    User,
    backup_code_digest,
    backup_code_new,
)
from audit.models import Outcome
from audit.services import event_record

BACKUP_CODE_COUNT = 10
# The likely causes first; a phone's clock is rarely wrong now that phones set it themselves.
BAD_TOTP_CODE = _(
    "That code did not match. Check that you typed the 6 digits from the app without a "
    "typo, and that the code is for this account (an app can hold codes for many "
    "accounts). If it still fails, check that the time on your phone is set automatically."
)


def totp_device_start(*, user: User) -> AuthenticatorApp:
    """An unconfirmed authenticator app to show as a QR code; unconfirmed ones never verify."""
    for pending in AuthenticatorApp.objects.filter(user=user, confirmed=False):
        pending.delete()  # one by one: each shreds its data key
    return AuthenticatorApp.objects.create(user=user, name="Authenticator app", confirmed=False)


def totp_device_confirm(*, user: User, device_id: Any, token: str) -> AuthenticatorApp:
    """Confirm a pending TOTP device with a code from the app.

    A wrong code is audited outside the transaction that would roll it back.
    """
    with transaction.atomic():
        device = (
            AuthenticatorApp.objects.select_for_update()
            .filter(pk=device_id, user=user, confirmed=False)
            .first()
        )
        if device is None:
            raise AccountsError("no_pending_device", str(_("Start the set-up again.")))
        matched = device.verify_token(token)
        if matched:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            _devices_changed(
                user=user, action=AccountsAction.MFA_ENROLLED, device=device, factor="totp"
            )
            return device
    event_record(
        action=AccountsAction.MFA_FAILED,
        outcome=Outcome.DENIED,
        target=device,
        patient_id=user.audit_patient_id,
        details={"factor": "totp", "stage": "enrollment"},
    )
    raise AccountsError("bad_code", str(BAD_TOTP_CODE))


def backup_codes_match(*, user: User, codes: list[str]) -> bool:
    """Whether every one of ``codes`` is one of the user's unused backup codes (and there is
    at least one): the download gives back only codes the account really holds."""
    stored = set(BackupCode.objects.filter(device__user=user).values_list("digest", flat=True))
    return bool(codes) and all(backup_code_digest(code) in stored for code in codes)


def backup_codes_download_record(*, user: User, count: int) -> None:
    device = BackupCodes.objects.filter(user=user).first()
    event_record(
        action=AccountsAction.BACKUP_CODES_DOWNLOADED,
        target=device,
        patient_id=user.audit_patient_id,
        details={"count": count},
    )


@transaction.atomic
def backup_codes_issue(*, user: User) -> list[str]:
    """Replace the user's backup codes with ten new single-use ones; return them once.

    Only their keyed hashes are stored (``accounts.factors``): this is the one moment the
    codes exist in clear."""
    device, _ = BackupCodes.objects.get_or_create(user=user, defaults={"name": "Backup codes"})
    device.codes.all().delete()
    codes = [backup_code_new() for _ in range(BACKUP_CODE_COUNT)]
    BackupCode.objects.bulk_create(
        BackupCode(device=device, digest=backup_code_digest(code)) for code in codes
    )
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    event_record(
        action=AccountsAction.BACKUP_CODES_ISSUED,
        target=device,
        patient_id=user.audit_patient_id,
        details={"count": BACKUP_CODE_COUNT},
    )
    return codes


def _factor_of(device: Any) -> str:
    return {"authenticatorapp": "totp", "backupcodes": "backup_codes"}.get(
        device._meta.model_name, "passkey"
    )


@transaction.atomic
def mfa_device_remove(*, user: User, device: Any) -> None:
    """Remove a second factor, never the last authenticator app or passkey.

    Backup codes do not count as the last factor: they run out. The user row is locked
    so two removals at once cannot both pass the check.
    """
    from accounts.selectors import sign_in_factors_for

    User.objects.select_for_update().filter(pk=user.pk).first()
    remaining = [
        d
        for d in sign_in_factors_for(user)
        if d.persistent_id != device.persistent_id and _factor_of(d) != "backup_codes"
    ]
    if not remaining:
        raise AccountsError("last_factor", str(_("You cannot remove your last second factor.")))
    factor = _factor_of(device)
    device_pk = device.pk
    device.delete()
    device.pk = device_pk
    _devices_changed(user=user, action=AccountsAction.MFA_REMOVED, device=device, factor=factor)


def passkey_registered(*, user: User, device: Any) -> None:
    _devices_changed(user=user, action=AccountsAction.MFA_ENROLLED, device=device, factor="passkey")


def _devices_changed(*, user: User, action: str, device: Any, factor: str) -> None:
    """Second factors changed: audit it and end every other session of the user."""
    user.rotate_security_stamp()
    if action == AccountsAction.MFA_ENROLLED and user.mfa_enrolled_at is None:
        user.mfa_enrolled_at = timezone.now()
    user.save(update_fields=["security_stamp", "mfa_enrolled_at"])
    event_record(
        action=action,
        target=device,
        actor=user,
        patient_id=user.audit_patient_id,
        details={"factor": factor},
    )
