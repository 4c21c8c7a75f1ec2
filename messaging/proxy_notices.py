"""Telling the patient's proxies that a secure message is waiting (45 CFR 164.502(g)).

When staff send a message, each proxy whose link in force lets them read the patient's
messages gets the notice too, at their own address and in their language, never for a
confidential conversation. The notice names no one: it says a message is waiting for
someone they act for. A ``ProxyNotice`` row is written in the send's transaction and the
task, prompted after commit, sends it once under the row's lock, after checking again
that the link still reaches the patient's messages (a revocation, a suspension or a
birthday in between stops it) and that the thread was not marked confidential since.
A broker outage delays notices and loses none: the deliveries' sweep prompts again.
"""

from __future__ import annotations

import smtplib
import uuid
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import proxies
from accounts.emails import email_send
from accounts.models import ProxyLink, ProxyScope
from audit.models import Outcome
from audit.services import event_record
from messaging.actions import MessagingAction
from messaging.models import Message, MessageState, ProxyNotice

TEMPLATE = "messaging/email/proxy_new_message"
# A notice not sent within a day is dropped by the sweep's window: news of a message is
# worth little a day late, and the portal shows the message anyway.
SWEEP_WINDOW = timedelta(days=1)
# Our account with the relay, not the proxy's address (as ``messaging.delivery``).
OUR_SMTP_FAULTS = frozenset({530, 534, 535, 538})


def _links_reading(patient_ids: set[int]) -> list[ProxyLink]:
    """The links in force today that let their proxy read these patients' messages."""
    links = ProxyLink.objects.filter(
        patient_id__in=patient_ids,
        scopes__contains=[ProxyScope.READ_MESSAGES],
        revoked_at__isnull=True,
        suspended_at__isnull=True,
        aged_out_at__isnull=True,
    ).select_related("proxy", "patient__patient_profile")
    return [link for link in links if ProxyScope.READ_MESSAGES in proxies.scopes_in_force(link)]


def proxy_notices_create(*, messages: Sequence[Message]) -> list[ProxyNotice]:
    """Inside the send's transaction: a notice per proxy who reads each message's patient's
    messages (none for a confidential thread), and a prompt per notice after commit."""
    from messaging.tasks import proxy_notice_send

    open_to_proxies = [m for m in messages if not m.thread.confidential]
    if not open_to_proxies:
        return []
    by_patient: dict[int, list[int]] = {}
    for link in _links_reading({m.thread.patient_id for m in open_to_proxies}):
        by_patient.setdefault(link.patient_id, []).append(link.proxy_id)
    notices = ProxyNotice.objects.bulk_create(
        [
            ProxyNotice(message=m, proxy_id=proxy_id)
            for m in open_to_proxies
            for proxy_id in by_patient.get(m.thread.patient_id, [])
        ],
        ignore_conflicts=True,  # the same message again (a retried send): once per proxy
    )
    for notice in notices:
        transaction.on_commit(
            lambda pk=str(notice.pk): proxy_notice_send.delay(pk),  # type: ignore[misc]
            robust=True,  # a broker outage must not fail the send: the sweep prompts
        )
    return notices


def _why_not_now(notice: ProxyNotice) -> str:
    """Why the notice must not go now ("" when it may): checked again at send time."""
    thread = notice.message.thread
    if thread.confidential:
        return "confidential"
    if notice.message.state != MessageState.SENT:
        return "not_sent"  # recalled meanwhile
    reaching = proxies.acting_for(notice.proxy, thread.patient_id)
    if reaching is None or not reaching.may(ProxyScope.READ_MESSAGES):
        return "link_ended"
    return ""


def proxy_notice_deliver(*, notice_id: uuid.UUID | str) -> str:
    """Send the notice if it is still due; returns what happened: sent, ended (with the
    reason on the row) or not_due. A failure that may pass raises OSError, rolling the
    attempt back, for the task to retry; a permanent refusal of the address ends it."""
    from accounts.tasks import MailNotSent

    with transaction.atomic():
        notice = (
            ProxyNotice.objects.select_for_update(of=("self",))
            .select_related("proxy", "message__thread")
            .filter(pk=notice_id, sent_at__isnull=True, ended_at__isnull=True)
            .first()
        )
        if notice is None:
            return "not_due"
        reason = _why_not_now(notice)
        if reason:
            return _ended(notice, reason)
        sign_in_url = settings.PORTAL_BASE_URL + reverse("accounts:sign_in")
        try:
            email_send(
                to=notice.proxy.email,
                template=TEMPLATE,
                context={"sign_in_url": sign_in_url},
                language=notice.proxy.language,
            )
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
            code = _smtp_code(error)
            if code >= 500 and code not in OUR_SMTP_FAULTS:
                return _ended(notice, f"smtp_{code}", failed=True)
            raise MailNotSent(f"smtp_{code}") from None
        except OSError as error:  # the relay is unreachable: retried by the task
            raise MailNotSent(type(error).__name__) from None
        ProxyNotice.objects.filter(pk=notice.pk).update(sent_at=timezone.now())
        event_record(
            action=MessagingAction.PROXY_NOTICE_SENT,
            target=notice,
            patient_id=notice.message.thread.patient_id,
            details={"message_id": str(notice.message_id), "proxy_id": notice.proxy_id},
        )
    return "sent"


def _ended(notice: ProxyNotice, reason: str, *, failed: bool = False) -> str:
    ProxyNotice.objects.filter(pk=notice.pk).update(ended_at=timezone.now(), ended=reason)
    if failed:
        event_record(
            action=MessagingAction.PROXY_NOTICE_FAILED,
            outcome=Outcome.ERROR,
            target=notice,
            patient_id=notice.message.thread.patient_id,
            details={"message_id": str(notice.message_id), "reason": reason},
        )
    return "ended"


def _smtp_code(error: smtplib.SMTPException) -> int:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return min(codes) if codes else 0
    return int(getattr(error, "smtp_code", 0) or 0)


def proxy_notices_sweep() -> int:
    """Prompt again the notices a lost prompt or a worn-out retry left unsent, for a day."""
    from messaging.tasks import proxy_notice_send

    now = timezone.now()
    grace = timedelta(seconds=settings.MESSAGING_SWEEP_GRACE_SECONDS)
    due = ProxyNotice.objects.filter(
        sent_at__isnull=True,
        ended_at__isnull=True,
        created_at__gt=now - SWEEP_WINDOW,
        created_at__lte=now - grace,
    ).values_list("pk", flat=True)
    count = 0
    for pk in due.iterator():
        proxy_notice_send.delay(str(pk))
        count += 1
    return count
