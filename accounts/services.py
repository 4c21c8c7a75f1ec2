"""State changes for accounts: enrollment, invitations, second factors, passwords.

Each function does the whole change (rules, save, audit event, follow-up after commit)
inside one transaction, so a rollback leaves neither the change nor its event.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_otp import match_token

from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import (
    STAFF_ROLES,
    AuthenticatorApp,
    BackupCode,
    BackupCodes,
    CareTeamMember,
    EmailChange,
    Invitation,
    PatientProfile,
    Role,
    User,
    backup_code_digest,
    backup_code_new,
)
from audit.models import Outcome
from audit.services import event_record

logger = logging.getLogger(__name__)
_INVITATION_SALT = "accounts.invitation"
BACKUP_CODE_COUNT = 10


# --- enrollment -------------------------------------------------------------------------


@transaction.atomic
def patient_enroll(
    *,
    actor: User,
    email: str,
    legal_name: str,
    date_of_birth: date,
    mrn: str,
    identity_method: str,
) -> PatientProfile:
    """Create a patient whose identity ``actor`` has just verified, and invite them."""
    if User.objects.filter(email__iexact=email).exists():
        raise AccountsError("email_taken", "An account with this e-mail address already exists.")
    if PatientProfile.objects.filter(mrn=mrn).exists():
        raise AccountsError("mrn_taken", "A patient with this MRN is already enrolled.")
    user = User.objects.create_user(email=email, full_name=legal_name, role=Role.PATIENT)
    profile = PatientProfile.objects.create(
        user=user,
        legal_name=legal_name,
        date_of_birth=date_of_birth,
        mrn=mrn,
        identity_verified_by=actor,
        identity_method=identity_method,
        identity_verified_at=timezone.now(),
    )
    event_record(
        action=AccountsAction.PATIENT_ENROLLED,
        target=user,
        patient_id=user.pk,
        details={"identity_method": identity_method},
    )
    if actor.role == Role.CLINICIAN:
        care_team_add(actor=actor, patient=user, staff=actor)
    invitation_issue(user=user, actor=actor)
    return profile


def care_team_add(*, actor: User | None, patient: User, staff: User) -> CareTeamMember:
    member, created = CareTeamMember.objects.get_or_create(
        patient=patient, staff=staff, defaults={"added_by": actor}
    )
    if created:
        event_record(
            action=AccountsAction.CARE_TEAM_ADDED,
            target=member,
            patient_id=patient.pk,
            details={"staff_id": staff.pk},
        )
    return member


@transaction.atomic
def staff_create(*, actor: User, email: str, full_name: str, role: str) -> User:
    if role not in STAFF_ROLES:
        raise AccountsError("not_a_staff_role", "Choose a staff role.")
    if User.objects.filter(email__iexact=email).exists():
        raise AccountsError("email_taken", "An account with this e-mail address already exists.")
    user = User.objects.create_user(email=email, full_name=full_name, role=role)
    event_record(action=AccountsAction.STAFF_CREATED, target=user, details={"role": role})
    invitation_issue(user=user, actor=actor)
    return user


# --- invitations ------------------------------------------------------------------------


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def invitation_issue(*, user: User, actor: User | None) -> Invitation:
    """Replace any open invitation of ``user`` and e-mail a new link after commit.

    The link's secret is made by the sending task (``invitation_send``), so it never
    travels through the broker; a retry simply makes a fresh link.
    """
    invitation = _invitation_create(user=user, actor=actor)
    from accounts.tasks import invitation_send

    # robust: a broker outage must not fail the enrollment; invitations_resend_unsent
    # picks up what was not sent.
    transaction.on_commit(lambda: invitation_send.delay(invitation.pk), robust=True)
    return invitation


def _invitation_create(*, user: User, actor: User | None) -> Invitation:
    now = timezone.now()
    user.invitations.filter(used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    invitation = Invitation.objects.create(
        user=user,
        created_by=actor,
        nonce_hash=_nonce_hash(secrets.token_urlsafe(32)),  # replaced when sent
        expires_at=now + timedelta(hours=settings.INVITATION_TTL_HOURS),
    )
    event_record(
        action=AccountsAction.INVITATION_ISSUED, target=invitation, patient_id=user.audit_patient_id
    )
    return invitation


@transaction.atomic
def privacy_officer_bootstrap(*, email: str, full_name: str) -> str:
    """The first privacy officer of a new installation; returns their invitation token.

    The link is handed over on the operator's console instead of by e-mail (mail may not
    work yet), so it is marked sent and the sweep never replaces it. Run again before
    it is used, it makes a new link for the same account. Once any privacy officer has
    a password, everything else is done in the browser and this refuses.
    """
    officers = User.objects.filter(role=Role.PRIVACY_OFFICER, is_active=True)
    if officers.exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX).exists():
        raise AccountsError(
            "officer_exists",
            "A privacy officer already has an account: they create further accounts in "
            "the browser (New staff account).",
        )
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, full_name=full_name, role=Role.PRIVACY_OFFICER)
        event_record(
            action=AccountsAction.STAFF_CREATED,
            target=user,
            details={"role": Role.PRIVACY_OFFICER, "via": "bootstrap"},
        )
    elif user.role != Role.PRIVACY_OFFICER:
        raise AccountsError("email_taken", "An account with this e-mail address already exists.")
    invitation = _invitation_create(user=user, actor=None)
    token = invitation_token_make(invitation)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
    return token


def invitation_deliver(*, invitation_id: int) -> bool:
    """E-mail a usable invitation's link (for ``invitation_send``); a fresh secret each
    time, so a retry makes a new link and the old one stops working. False: not usable."""
    from accounts.tasks import email_send

    invitation = Invitation.objects.select_related("user").filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_usable():
        return False
    token = invitation_token_make(invitation)
    link = settings.PORTAL_BASE_URL + reverse("accounts:invitation_open", args=[token])
    email_send(
        to=invitation.user.email,
        template="accounts/email/invitation",
        context={"link": link, "hours": settings.INVITATION_TTL_HOURS},
    )
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
    return True


def invitations_resend_unsent(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Re-enqueue usable invitations whose e-mail never went out; returns how many."""
    from accounts.tasks import invitation_send

    cutoff = timezone.now() - older_than
    pending = Invitation.objects.filter(
        sent_at__isnull=True,
        used_at__isnull=True,
        revoked_at__isnull=True,
        created_at__lt=cutoff,
        expires_at__gt=timezone.now(),
    ).values_list("pk", flat=True)
    return _enqueue_each(pending, invitation_send)


def _enqueue_each(ids: Any, task: Any) -> int:
    """Prompt ``task`` once per id (the sweeps); returns how many."""
    count = 0
    for pk in ids:
        task.delay(pk)
        count += 1
    return count


def _link_token(model: Any, pk: int, key: str, salt: str) -> str:
    """Give the row a new link secret (only its hash is stored); return the signed token."""
    nonce = secrets.token_urlsafe(32)
    model.objects.filter(pk=pk).update(nonce_hash=_nonce_hash(nonce))
    return signing.dumps({key: pk, "n": nonce}, salt=salt)


def invitation_token_make(invitation: Invitation) -> str:
    """Give ``invitation`` a new secret and return the signed token for its link."""
    return _link_token(Invitation, invitation.pk, "i", _INVITATION_SALT)


def invitation_from_token(token: str) -> Invitation:
    """The usable invitation behind ``token``, or AccountsError with a stable code.

    A refusal that concerns a real invitation (used, replaced, expired) is audited
    against it. A link that names none (garbage, a forged signature) is only logged:
    anyone can send garbage to a public URL, and the append-only trail must not be
    theirs to grow.
    """
    try:
        payload = signing.loads(token, salt=_INVITATION_SALT)
    except signing.BadSignature:
        logger.info("invitation link refused: invalid")
        raise AccountsError("invalid", "This invitation link is not valid.") from None
    invitation = Invitation.objects.select_related("user").filter(pk=payload.get("i")).first()
    if invitation is None:
        logger.info("invitation link refused: no such invitation")
        raise AccountsError("invalid", "This invitation link is not valid.")
    refusal = _invitation_refusal(invitation, token, str(payload.get("n", "")))
    if refusal is not None:
        event_record(
            action=AccountsAction.INVITATION_REFUSED,
            outcome=Outcome.DENIED,
            target=invitation,
            patient_id=invitation.user.audit_patient_id,
            details={"reason": refusal.code},
        )
        raise refusal
    return invitation


def _invitation_refusal(invitation: Invitation, token: str, nonce: str) -> AccountsError | None:
    if not secrets.compare_digest(invitation.nonce_hash, _nonce_hash(nonce)):
        return AccountsError("replaced", "This invitation link was replaced by a newer one.")
    if invitation.used_at is not None:
        return AccountsError("used", "This invitation link has already been used.")
    if invitation.revoked_at is not None:
        return AccountsError("revoked", "This invitation link was replaced by a newer one.")
    max_age = timedelta(hours=settings.INVITATION_TTL_HOURS)
    try:
        signing.loads(token, salt=_INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        return AccountsError("expired", "This invitation link has expired.")
    if not invitation.is_usable():
        return AccountsError("expired", "This invitation link has expired.")
    return None


@transaction.atomic
def invitation_accept(*, invitation_id: int, password: str) -> User:
    """Set the password, mark the address confirmed (the link reached it) and use up the link."""
    invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation_id)
    if not invitation.is_usable():
        raise AccountsError("used", "This invitation link is no longer valid.")
    user = invitation.user
    if user.has_usable_password() or not user.is_active:
        raise AccountsError("account_active", "This invitation link is no longer valid.")
    user.set_password(password)
    user.email_verified_at = user.email_verified_at or timezone.now()
    user.rotate_security_stamp()
    user.save(update_fields=["password", "email_verified_at", "security_stamp"])
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    event_record(
        action=AccountsAction.INVITATION_USED,
        target=invitation,
        actor=user,
        patient_id=user.audit_patient_id,
    )
    return user


# --- signing in and out (the views keep the session and lockout counting) -----------------


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


# --- second factors ---------------------------------------------------------------------


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
            raise AccountsError("no_pending_device", "Start the set-up again.")
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
    raise AccountsError("bad_code", "That code did not match. Check the time on your phone.")


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
        raise AccountsError("last_factor", "You cannot remove your last second factor.")
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


# --- passwords --------------------------------------------------------------------------


@transaction.atomic
def password_change(*, user: User, new_password: str) -> None:
    """Set a new password and end the user's other sessions (the caller keeps this one)."""
    user.set_password(new_password)
    user.rotate_security_stamp()
    user.save(update_fields=["password", "security_stamp"])
    event_record(
        action=AccountsAction.PASSWORD_CHANGED, target=user, patient_id=user.audit_patient_id
    )


# --- notification address changes ---------------------------------------------------------

_EMAIL_CHANGE_SALT = "accounts.email_change"


@transaction.atomic
def email_change_request(*, actor: User, user: User, new_email: str) -> EmailChange:
    """Ask ``user`` to confirm ``new_email`` by a link sent to it; nothing changes until then."""
    new_email = new_email.strip().lower()
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        raise AccountsError("email_taken", "Another account uses this e-mail address.")
    if new_email == user.email.lower():
        raise AccountsError("email_same", "This is already the account's address.")
    now = timezone.now()
    user.email_changes.filter(confirmed_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    change = EmailChange.objects.create(
        user=user,
        new_email=new_email,
        requested_by=actor,
        nonce_hash=_nonce_hash(secrets.token_urlsafe(32)),  # replaced when sent
        expires_at=now + timedelta(hours=settings.INVITATION_TTL_HOURS),
    )
    event_record(
        action=AccountsAction.EMAIL_CHANGE_REQUESTED,
        target=change,
        patient_id=user.audit_patient_id,
    )
    from accounts.tasks import email_change_send

    transaction.on_commit(lambda: email_change_send.delay(change.pk), robust=True)
    return change


def email_changes_resend_unsent(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Re-enqueue usable address changes whose link never went out (a broker outage)."""
    from accounts.tasks import email_change_send

    now = timezone.now()
    pending = EmailChange.objects.filter(
        sent_at__isnull=True,
        confirmed_at__isnull=True,
        revoked_at__isnull=True,
        created_at__lt=now - older_than,
        expires_at__gt=now,
    ).values_list("pk", flat=True)
    return _enqueue_each(pending, email_change_send)


def email_change_token_make(change: EmailChange) -> str:
    return _link_token(EmailChange, change.pk, "c", _EMAIL_CHANGE_SALT)


def email_change_from_token(*, token: str, user: User) -> EmailChange:
    """The usable change behind ``token`` for the signed-in ``user``, or AccountsError."""
    max_age = timedelta(hours=settings.INVITATION_TTL_HOURS)
    try:
        payload = signing.loads(token, salt=_EMAIL_CHANGE_SALT, max_age=max_age)
    except signing.BadSignature:
        raise AccountsError("invalid", "This confirmation link is not valid.") from None
    change = EmailChange.objects.filter(pk=payload.get("c"), user=user).first()
    if change is None or not secrets.compare_digest(
        change.nonce_hash, _nonce_hash(str(payload.get("n", "")))
    ):
        raise AccountsError("invalid", "This confirmation link is not valid.")
    if not change.is_usable():
        raise AccountsError("used", "This confirmation link is no longer valid.")
    return change


@transaction.atomic
def email_change_confirm(*, user: User, change_id: int) -> User:
    """Switch the address, tell the old one after commit, and keep both in the change row."""
    change = EmailChange.objects.select_for_update().get(pk=change_id, user=user)
    if not change.is_usable():
        raise AccountsError("used", "This confirmation link is no longer valid.")
    if User.objects.filter(email__iexact=change.new_email).exclude(pk=user.pk).exists():
        raise AccountsError("email_taken", "Another account uses this e-mail address.")
    locked = User.objects.select_for_update().get(pk=user.pk)
    change.old_email = locked.email
    locked.email = change.new_email
    locked.email_verified_at = timezone.now()
    locked.save(update_fields=["email", "email_verified_at"])
    change.confirmed_at = timezone.now()
    change.save(update_fields=["old_email", "confirmed_at"])
    event_record(
        action=AccountsAction.EMAIL_CHANGED,
        target=change,
        actor=user,
        patient_id=user.audit_patient_id,
    )
    from accounts.tasks import email_changed_notice

    transaction.on_commit(lambda: email_changed_notice.delay(change.pk), robust=True)
    return locked
