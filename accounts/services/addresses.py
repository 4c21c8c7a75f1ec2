"""How the portal speaks to a person: notification address changes (proven by a link sent
to the new address) and the language of pages, e-mails and letters."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.actions import AccountsAction
from accounts.errors import AccountsError
from accounts.models import (
    EmailChange,
    User,
)
from accounts.services._common import _enqueue_each, _link_token, _nonce_hash
from audit.services import event_record

_EMAIL_CHANGE_SALT = "accounts.email_change"


@transaction.atomic
def email_change_request(*, actor: User, user: User, new_email: str) -> EmailChange:
    """Ask ``user`` to confirm ``new_email`` by a link sent to it; nothing changes until then."""
    new_email = new_email.strip().lower()
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        raise AccountsError("email_taken", _("Another account uses this e-mail address."))
    if new_email == user.email.lower():
        raise AccountsError("email_same", _("This is already the account's address."))
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
        raise AccountsError("invalid", _("This confirmation link is not valid.")) from None
    change = EmailChange.objects.filter(pk=payload.get("c"), user=user).first()
    if change is None or not secrets.compare_digest(
        change.nonce_hash, _nonce_hash(str(payload.get("n", "")))
    ):
        raise AccountsError("invalid", _("This confirmation link is not valid."))
    if not change.is_usable():
        raise AccountsError("used", _("This confirmation link is no longer valid."))
    return change


@transaction.atomic
def email_change_confirm(*, user: User, change_id: int) -> User:
    """Switch the address, tell the old one after commit, and keep both in the change row."""
    change = EmailChange.objects.select_for_update().get(pk=change_id, user=user)
    if not change.is_usable():
        raise AccountsError("used", _("This confirmation link is no longer valid."))
    if User.objects.filter(email__iexact=change.new_email).exclude(pk=user.pk).exists():
        raise AccountsError("email_taken", _("Another account uses this e-mail address."))
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


def language_choose(*, user: User, language: str) -> None:
    """The language of the person's pages, e-mails and letters from now on."""
    if language not in dict(settings.LANGUAGES):
        raise AccountsError("language_unknown", _("That language is not offered."))
    if user.language == language:
        return
    old, user.language = user.language, language
    user.save(update_fields=["language"])
    event_record(
        action=AccountsAction.LANGUAGE_CHANGED,
        target=user,
        patient_id=user.audit_patient_id,
        details={"old": old, "new": language},
    )
