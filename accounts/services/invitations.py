"""Invitations: a single-use, expiring link that lets a new account set its password."""

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

from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import (
    Invitation,
    User,
)
from accounts.services._common import _enqueue_each, _link_token, _nonce_hash
from audit.models import Outcome
from audit.services import event_record

logger = logging.getLogger(__name__)
_INVITATION_SALT = "accounts.invitation"


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
        language=invitation.user.language,
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
        raise AccountsError("invalid", _("This invitation link is not valid.")) from None
    invitation = Invitation.objects.select_related("user").filter(pk=payload.get("i")).first()
    if invitation is None:
        logger.info("invitation link refused: no such invitation")
        raise AccountsError("invalid", _("This invitation link is not valid."))
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
        return AccountsError("replaced", _("This invitation link was replaced by a newer one."))
    if invitation.used_at is not None:
        return AccountsError("used", _("This invitation link has already been used."))
    if invitation.revoked_at is not None:
        return AccountsError("revoked", _("This invitation link was replaced by a newer one."))
    max_age = timedelta(hours=settings.INVITATION_TTL_HOURS)
    try:
        signing.loads(token, salt=_INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        return AccountsError("expired", _("This invitation link has expired."))
    if not invitation.is_usable():
        return AccountsError("expired", _("This invitation link has expired."))
    return None


@transaction.atomic
def invitation_accept(*, invitation_id: int, password: str) -> User:
    """Set the password, mark the address confirmed (the link reached it) and use up the link."""
    invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation_id)
    if not invitation.is_usable():
        raise AccountsError("used", _("This invitation link is no longer valid."))
    user = invitation.user
    if user.has_usable_password() or not user.is_active:
        raise AccountsError("account_active", _("This invitation link is no longer valid."))
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


def invitation_token_make(invitation: Invitation) -> str:
    """Give ``invitation`` a new secret and return the signed token for its link."""
    return _link_token(Invitation, invitation.pk, "i", _INVITATION_SALT)
