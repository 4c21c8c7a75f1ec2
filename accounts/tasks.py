from __future__ import annotations

import smtplib
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.emails import email_send as _email_send
from accounts.models import EmailChange
from audit.context import system_actor


class MailNotSent(OSError):
    """A send failed. Carries a code only: smtplib's exceptions name the recipient's
    address, and Celery logs the exception of every retry."""


def email_send(**kwargs: Any) -> None:
    try:
        _email_send(**kwargs)
    except smtplib.SMTPResponseException as error:
        raise MailNotSent(f"smtp_{error.smtp_code}") from None
    except smtplib.SMTPRecipientsRefused as error:
        codes = sorted({code for code, _ in error.recipients.values()})
        raise MailNotSent(f"recipient refused {codes}") from None
    except OSError as error:
        raise MailNotSent(type(error).__name__) from None


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send(invitation_id: int) -> None:
    """E-mail the invitation link. Takes an id only; the link's secret is made then."""
    from accounts.services import invitation_deliver

    with system_actor("task:invitation_send"):
        invitation_deliver(invitation_id=invitation_id)


@shared_task
def invitations_sweep() -> int:
    """Periodic: a broker outage delays invitations and loses none."""
    from accounts.services import email_changes_resend_unsent, invitations_resend_unsent

    with system_actor("task:invitations_sweep"):
        # Address-change links ride along: the same kind of mail, the same outage.
        return invitations_resend_unsent() + email_changes_resend_unsent()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def email_change_send(change_id: int) -> None:
    """E-mail the confirmation link to the new address; the link's secret is made here."""
    from accounts.services import email_change_token_make

    with system_actor("task:email_change_send"):
        change = EmailChange.objects.select_related("user").filter(pk=change_id).first()
        if change is None or not change.is_usable() or change.sent_at is not None:
            return
        token = email_change_token_make(change)
        link = settings.PORTAL_BASE_URL + reverse("accounts:email_change_confirm", args=[token])
        email_send(
            to=change.new_email,
            template="accounts/email/email_change",
            context={"link": link, "hours": settings.INVITATION_TTL_HOURS},
            language=change.user.language,
        )
        EmailChange.objects.filter(pk=change.pk).update(sent_at=timezone.now())


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def email_changed_notice(change_id: int) -> None:
    """Tell the old address that the notification address changed (no health information)."""
    with system_actor("task:email_changed_notice"):
        change = EmailChange.objects.filter(pk=change_id, confirmed_at__isnull=False).first()
        if change is None or not change.old_email:
            return
        email_send(
            to=change.old_email,
            template="accounts/email/email_changed",
            language=change.user.language,
        )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def password_reset_send(user_id: int) -> None:
    """E-mail a reset link, or nothing when the address had no account (``user_id`` 0)."""
    from accounts.services import password_reset_deliver

    if not user_id:
        return
    with system_actor("task:password_reset_send"):
        password_reset_deliver(user_id=user_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def password_changed_notice(user_id: int) -> None:
    """Tell the account's address that its password was reset (no health information)."""
    from accounts.models import User

    user = User.objects.filter(pk=user_id).first()
    if user is not None:
        email_send(
            to=user.email, template="accounts/email/password_changed", language=user.language
        )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def recovery_send(recovery_id: int) -> None:
    from accounts.services import recovery_deliver

    with system_actor("task:recovery_send"):
        recovery_deliver(recovery_id=recovery_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def factors_replaced_notice(user_id: int) -> None:
    """Tell the account's address its second factors were replaced (no health information)."""
    from accounts.models import User

    user = User.objects.filter(pk=user_id).first()
    if user is not None:
        email_send(
            to=user.email, template="accounts/email/factors_replaced", language=user.language
        )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def sign_in_ceiling_alert(user_id: int) -> None:
    """Tell every privacy officer that an account drew many failed sign-ins (its id only)."""
    from accounts.models import Role, User

    for officer in User.objects.filter(role=Role.PRIVACY_OFFICER, is_active=True):
        email_send(
            to=officer.email,
            template="accounts/email/sign_in_ceiling",
            context={"account_id": user_id},
        )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def audit_digest() -> int:
    """Daily: yesterday's audit digest (counts and checkpoint heads) to the privacy officers."""
    from accounts.services.audit_digest import audit_digest_send

    with system_actor("task:audit_digest"):
        return audit_digest_send(day=timezone.now().date() - timedelta(days=1))


@shared_task
def proxy_ages_apply() -> dict[str, int]:
    """Daily: record the parents' links the children's ages narrowed or ended, and tell
    (``accounts.services.proxies.proxy_ages_apply``); a second run changes nothing."""
    from accounts.services.proxies import proxy_ages_apply as ages_apply

    with system_actor("task:proxy_ages_apply"):
        return ages_apply()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def proxy_access_changed_notice(user_id: int) -> None:
    """Tell a proxy, or the patient they act for, that the proxy access changed. Sent to
    the account's address in its language; it names no one and says nothing of care."""
    from accounts.models import Role, User

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        email_send(
            to=user.email,
            template="accounts/email/proxy_access_changed",
            context={"as_proxy": user.role == Role.PROXY},
            language=user.language,
        )
