"""Getting the "you have a secure message" notice to the patient, and never losing it.

Every notice is a ``Delivery`` row written in the send's transaction; the Celery task
is only a prompt to work on it. The task claims the row with a conditional UPDATE and
a lease, so duplicates of the prompt (a retry, the sweep, a redelivered task after a
worker was killed) send one e-mail. Whatever the broker loses, ``deliveries_sweep``
finds again. Permanent refusals and signed bounce reports mark the delivery failed;
the message itself always stays in the portal.

Before the notices, each claimed delivery is offered to ``messaging.content_delivery``:
when the delivery decision, made again at send time, says TLS-verified e-mail or
ordinary e-mail under the patient's waiver, the message itself goes by e-mail on the
same claim (so it is sent once) and no notice follows; otherwise the notice goes.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import smtplib
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.signals import setting_changed
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.emails import RenderedEmail, email_render
from accounts.models import User
from accounts.services import email_change_request
from audit.models import Outcome
from audit.services import EventSpec, event_record, events_record
from messaging.actions import MessagingAction
from messaging.content_delivery import content_deliver, deliveries_for_content
from messaging.document_passwords import one_time_password_discard
from messaging.errors import MessagingError
from messaging.models import Channel, Delivery, DeliveryState, Message, WebhookReceipt
from support.printing import pdf_from_html

NOTICE_TEMPLATE = "messaging/email/new_message"
BATCH_SIZE = 100  # notices per task and SMTP connection
# Permanent replies that are about our account with the relay, not the patient's address
# (authentication required, failed, or too weak): retried, not blamed on the address.
OUR_SMTP_FAULTS = frozenset({530, 534, 535, 538})


def delivery_create(*, message: Message) -> Delivery:
    """Inside the send's transaction: the row, then a prompt to the worker after commit.

    A patient who asked for postal mail only gets a letter row instead, which waits in
    the staff inbox to be printed; no worker is prompted for it.
    """
    postal = _postal_only_patients([message.thread.patient_id])
    channel = Channel.LETTER if message.thread.patient_id in postal else Channel.EMAIL
    delivery = Delivery.objects.create(message=message, channel=channel)
    if channel == Channel.EMAIL:
        _enqueue(delivery.pk)
    return delivery


def _postal_only_patients(patient_ids: Sequence[int]) -> set[int]:
    """45 CFR 164.522(b): the patients among these who asked not to be e-mailed (one query)."""
    from consent.models import CommunicationPreference

    return set(
        CommunicationPreference.objects.filter(
            patient_id__in=set(patient_ids), postal_only=True
        ).values_list("patient_id", flat=True)
    )


def _enqueue(delivery_id: uuid.UUID, countdown: float = 0) -> None:
    from messaging.tasks import delivery_send

    def prompt() -> None:
        delivery_send.apply_async((str(delivery_id),), countdown=countdown)

    # robust: a broker outage must not fail the send; the sweep prompts again later.
    transaction.on_commit(prompt, robust=True)


def deliveries_create(*, messages: Sequence[Message]) -> list[Delivery]:
    """Inside a bulk send's transaction: the rows, then one prompt per batch after commit."""
    from messaging.tasks import deliveries_send_batch

    postal = _postal_only_patients([m.thread.patient_id for m in messages])
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            message=m,
            channel=Channel.LETTER if m.thread.patient_id in postal else Channel.EMAIL,
        )
        for m in messages
    )
    ids = [str(d.pk) for d in deliveries if d.channel == Channel.EMAIL]
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        transaction.on_commit(
            lambda chunk=chunk: deliveries_send_batch.delay(chunk),  # type: ignore[misc]
            robust=True,
        )
    return deliveries


def message_id_header(delivery_id: uuid.UUID | str) -> str:
    return f"<notice-{delivery_id}@{settings.MESSAGING_MESSAGE_ID_DOMAIN}>"


def _lease() -> timedelta:
    """How long a claim holds: longer than one SMTP conversation, short enough that a
    notice whose worker died goes out again soon after."""
    return timedelta(seconds=settings.MESSAGING_NOTICE_LEASE_SECONDS)


def _claim(delivery_ids: Sequence[uuid.UUID | str]) -> list[Delivery]:
    """Claim the deliveries among ``delivery_ids`` that are due and not claimed by a live
    worker; rows another worker is claiming right now are skipped, not waited for.

    Returns them as ``deliveries_for_content`` reads them, with their patients, from the
    claiming query itself: no second read per task. The locks are the delivery's, its
    message's and its thread's (the patient's account row is read, not locked).
    """
    now = timezone.now()
    with transaction.atomic():
        due = list(
            deliveries_for_content(
                Delivery.objects.select_for_update(
                    skip_locked=True, of=("self", "message", "message__thread")
                )
                .filter(
                    Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
                    pk__in=list(delivery_ids),
                    channel=Channel.EMAIL,  # a letter waits for staff to print it
                    state=DeliveryState.PENDING,
                    next_attempt_at__lte=now,
                )
                .select_related("message__thread__patient")
            )
        )
        # A notice whose workers kept dying mid-send has used its attempts like any other.
        exhausted = [d for d in due if d.attempts >= settings.MESSAGING_NOTICE_MAX_ATTEMPTS]
        for delivery in exhausted:
            _failed(delivery, DeliveryState.FAILED, "gave_up")
        claimed = [d for d in due if d not in exhausted]
        claimed_until = now + _lease()
        Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            claimed_until=claimed_until, attempts=F("attempts") + 1
        )
    for delivery in claimed:  # as the UPDATE left the rows
        delivery.claimed_until, delivery.attempts = claimed_until, delivery.attempts + 1
    return claimed


def delivery_send(*, delivery_id: uuid.UUID | str) -> str:
    """Send one notice if it is still due; returns what happened (for tests and logs)."""
    return deliveries_send(delivery_ids=[delivery_id])[str(delivery_id)]


def deliveries_send(*, delivery_ids: Sequence[uuid.UUID | str]) -> dict[str, str]:
    """Send every notice among ``delivery_ids`` that is still due, over one SMTP connection
    (the one the process kept from its last task, when it still answers).

    Returns each id's outcome: sent, failed, retry or not_due. The notice is the same
    for every patient (nothing about the message is in it), so it is rendered once for
    each language the patients read (``notice_rendered``: once per process).
    """
    outcomes = {str(pk): "not_due" for pk in delivery_ids}
    claimed = _claim(delivery_ids)
    if not claimed:
        return outcomes
    deadline = time.monotonic() + _lease().total_seconds() / 2
    deliveries = _contents_send(claimed, outcomes, deadline)
    if not deliveries:
        return outcomes
    notices = {
        language: notice_rendered(language)
        for language in {d.message.thread.patient.language for d in deliveries}
    }
    connection: Any = None
    sound = False  # whether the connection may serve the next task
    try:
        connection = _relay_take()
        sound = True
        for position, delivery in enumerate(deliveries):
            if time.monotonic() > deadline:
                # A slow relay: hand the rest back before our claim could lapse and
                # another worker send them too.
                _release(deliveries[position:])
                outcomes.update({str(d.pk): "released" for d in deliveries[position:]})
                break
            patient = delivery.message.thread.patient
            email = notices[patient.language].build(
                to=patient.email,
                headers={"Message-ID": message_id_header(delivery.pk)},
                connection=connection,
            )
            try:
                connection.send_messages([email])
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
                sound = False
                code = _smtp_code(error)
                outcomes[str(delivery.pk)] = (
                    _failed(delivery, DeliveryState.FAILED, f"smtp_{code}")
                    if code >= 500
                    and code not in OUR_SMTP_FAULTS
                    # Our own From refused is our problem, not the patient's address.
                    and not isinstance(error, smtplib.SMTPSenderRefused)
                    else _retry_later(delivery, f"smtp_{code}")
                )
            except (OSError, smtplib.SMTPException):
                # The connection is gone: this notice and the rest wait for a retry.
                sound = False
                for later in deliveries[position:]:
                    outcomes[str(later.pk)] = _retry_later(later, "connection")
                break
            else:
                # Recorded the moment the relay took it, before the next one is tried: a
                # worker killed mid-batch then leaves no notice the relay already has
                # looking unsent (the sweep would send it again). Marking every tenth
                # re-sent up to nine after a kill -9 (the soak battery, issue 23).
                _mark_sent([delivery])
                outcomes[str(delivery.pk)] = "sent"
    except (OSError, smtplib.SMTPException):  # could not even connect
        sound = False
        for delivery in deliveries:
            outcomes[str(delivery.pk)] = _retry_later(delivery, "connection")
    finally:
        if connection is not None:
            _relay_give_back(connection, sound=sound)
    return outcomes


# --- the connection to the relay --------------------------------------------------------------

# Most notice tasks carry one notice (a clinician pressed Send), so a worker process keeps
# its SMTP connection to the relay for the next task instead of opening one per task. It
# is proven with NOOP before it is used again, closed after any error or refusal and when
# found unused for longer than this (meanwhile the relay's own idle timeout may close it
# from its side), and dropped when the settings change (another relay).
RELAY_IDLE_SECONDS = 20.0
_relay: list[tuple[float, SMTPBackend]] = []  # at most one: (last used, monotonic; it)


def _relay_take() -> Any:
    """An open connection to the relay: the kept one if it still answers, else a new one."""
    while _relay:
        used_at, kept = _relay.pop()
        if time.monotonic() - used_at <= RELAY_IDLE_SECONDS and _relay_answers(kept):
            return kept
        _relay_close(kept)
    connection = get_connection()
    connection.open()
    return connection


def _relay_answers(connection: SMTPBackend) -> bool:
    if connection.connection is None:
        return False
    try:
        return bool(connection.connection.noop()[0] == 250)
    except (OSError, smtplib.SMTPException):
        return False


def _relay_give_back(connection: Any, *, sound: bool) -> None:
    """Keep a sound SMTP connection for the next task; close anything else."""
    if sound and isinstance(connection, SMTPBackend) and connection.connection is not None:
        _relay.append((time.monotonic(), connection))
    else:
        _relay_close(connection)


def _relay_close(connection: Any) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        connection.close()


@receiver(setting_changed)
def _relay_forget(**kwargs: Any) -> None:
    while _relay:
        _relay_close(_relay.pop()[1])


# The notice says the same to every patient who reads a language (no name, nothing about
# the message), so a worker renders it once per language, not once per task: again only
# after a settings change (the organisation's name, the portal's address, the languages).
_notices: dict[tuple[str, str], RenderedEmail] = {}


def notice_rendered(language: str) -> RenderedEmail:
    """The "you have a secure message" notice in ``language`` (the site's when empty)."""
    sign_in_url = settings.PORTAL_BASE_URL + reverse("accounts:sign_in")
    key = (language, sign_in_url)
    if key not in _notices:
        if len(_notices) >= 64:  # a bound, not a policy: languages are few
            _notices.clear()
        _notices[key] = email_render(
            template=NOTICE_TEMPLATE, context={"sign_in_url": sign_in_url}, language=language
        )
    return _notices[key]


@receiver(setting_changed)
def _notices_forget(**kwargs: Any) -> None:
    _notices.clear()


def _contents_send(
    deliveries: list[Delivery], outcomes: dict[str, str], deadline: float
) -> list[Delivery]:
    """Send by e-mail the messages whose delivery decision, made now, says so
    (``messaging.content_delivery``); returns the deliveries that still need the notice."""
    notices: list[Delivery] = []
    for position, delivery in enumerate(deliveries):
        if time.monotonic() > deadline:
            _release(deliveries[position:])
            outcomes.update({str(d.pk): "released" for d in deliveries[position:]})
            break
        result = content_deliver(delivery)
        key = str(delivery.pk)
        if result.step == "sent":
            outcomes[key] = "sent"
        elif result.step == "retry":
            outcomes[key] = _retry_later(delivery, result.code)
        elif result.step == "failed":
            outcomes[key] = _failed(delivery, DeliveryState.FAILED, result.code)
        else:
            notices.append(delivery)
    return notices


def _release(deliveries: Sequence[Delivery]) -> None:
    """Give claimed, unsent deliveries back, as if never attempted; the sweep finds them."""
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        claimed_until=None, attempts=F("attempts") - 1
    )


def _mark_sent(deliveries: list[Delivery]) -> None:
    if not deliveries:
        return
    with transaction.atomic():
        # Only rows still pending: a bounce reported while the batch ran stays a bounce.
        Delivery.objects.filter(
            pk__in=[d.pk for d in deliveries], state=DeliveryState.PENDING
        ).update(state=DeliveryState.SENT, sent_at=timezone.now(), claimed_until=None, failure="")
        events_record(
            action=MessagingAction.NOTICE_SENT,
            events=[
                EventSpec(
                    target=d,
                    patient_id=d.message.thread.patient_id,
                    details={"message_id": str(d.message_id)},
                )
                for d in deliveries
            ],
        )


def _smtp_code(error: smtplib.SMTPException) -> int:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return min(codes) if codes else 0
    return int(getattr(error, "smtp_code", 0) or 0)


def _retry_later(delivery: Delivery, reason: str) -> str:
    attempts = Delivery.objects.values_list("attempts", flat=True).get(pk=delivery.pk)
    if attempts >= settings.MESSAGING_NOTICE_MAX_ATTEMPTS:
        return _failed(delivery, DeliveryState.FAILED, "gave_up")
    delay = settings.MESSAGING_NOTICE_RETRY_SECONDS * 2 ** (attempts - 1)
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            claimed_until=None,
            failure=reason,
        )
        _audit(delivery, MessagingAction.NOTICE_RETRY, Outcome.ERROR, reason=reason)
        _enqueue(delivery.pk, countdown=delay)
    return "retry"


def _failed(delivery: Delivery, state: str, reason: str) -> str:
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(
            state=state, failed_at=timezone.now(), claimed_until=None, failure=reason
        )
        # Failed for good (attempts used up included): a one-time password kept for the
        # retries must not open a PDF sent later.
        one_time_password_discard(message_id=delivery.message_id, reason="failed")
        action = (
            MessagingAction.NOTICE_BOUNCED
            if state == DeliveryState.BOUNCED
            else MessagingAction.NOTICE_FAILED
        )
        _audit(delivery, action, Outcome.ERROR, reason=reason)
    return str(state)


def _audit(delivery: Delivery, action: str, outcome: str = Outcome.SUCCESS, **extra: Any) -> None:
    message = delivery.message
    event_record(
        action=action,
        outcome=outcome,
        target=delivery,
        patient_id=message.thread.patient_id,
        details={"message_id": str(message.pk), **extra},
    )


def deliveries_sweep(*, stale_after: timedelta | None = None) -> int:
    """Prompt again every pending delivery that is due and unclaimed (or whose lease ran out).

    Also starts the resends whose corrected address the patient has since confirmed.
    """
    stale_after = stale_after or timedelta(seconds=settings.MESSAGING_SWEEP_GRACE_SECONDS)
    now = timezone.now()
    due = Delivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        channel=Channel.EMAIL,
        state=DeliveryState.PENDING,
        next_attempt_at__lte=now - stale_after,
    ).values_list("pk", flat=True)
    from messaging.tasks import deliveries_send_batch

    # A receipt only has to outlive the window in which its call would still be accepted.
    window = timedelta(seconds=2 * settings.MESSAGING_BOUNCE_MAX_AGE_SECONDS)
    WebhookReceipt.objects.filter(received_at__lt=now - window).delete()
    ids = [str(pk) for pk in due.iterator()]
    for start in range(0, len(ids), BATCH_SIZE):
        deliveries_send_batch.delay(ids[start : start + BATCH_SIZE])
    return len(ids) + deliveries_resend_confirmed()


# --- bounces --------------------------------------------------------------------------------


class BounceRefused(Exception):
    """A bounce report we do not act on; ``code`` is answered, and audited when the call
    was signed by our provider (an unsigned caller must not be able to grow the trail)."""

    def __init__(self, code: str, *, signed: bool = True) -> None:
        super().__init__(code)
        self.code = code
        self.signed = signed


def bounce_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``<timestamp>.<body>``, hex: what the mail provider sends us."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def bounce_receive(*, body: bytes, timestamp: str, signature: str) -> Delivery:
    """Verify a bounce report and mark its delivery bounced. Each report is accepted once.

    The signature is checked before anything else is read, so an unsigned caller learns
    nothing and costs only this check (``BounceRefused.signed`` is False for those).
    """
    secret = settings.MESSAGING_BOUNCE_WEBHOOK_SECRET
    if not secret:
        raise BounceRefused("not_configured", signed=False)
    expected = bounce_signature(secret=secret, timestamp=timestamp, body=body)
    given = signature.strip().removeprefix("sha256=")
    # As bytes: compare_digest raises TypeError for a str with non-ASCII characters.
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise BounceRefused("bad_signature", signed=False)
    try:
        sent = int(timestamp)
    except ValueError:
        raise BounceRefused("bad_timestamp") from None
    if abs(time.time() - sent) > settings.MESSAGING_BOUNCE_MAX_AGE_SECONDS:
        raise BounceRefused("stale")
    try:
        payload = json.loads(body)
    except ValueError:
        raise BounceRefused("bad_body") from None
    message_id = payload.get("message_id", "") if isinstance(payload, dict) else ""
    delivery_id = _delivery_id_from(str(message_id))
    delivery = (
        Delivery.objects.select_related("message__thread")
        .filter(pk=delivery_id, channel=Channel.EMAIL)  # a letter has no e-mail to bounce
        .first()
        if delivery_id is not None
        else None
    )
    if delivery is None:
        raise BounceRefused("unknown_delivery")
    try:
        with transaction.atomic():
            WebhookReceipt.objects.create(signature=expected)
            if delivery.state in (DeliveryState.SENT, DeliveryState.PENDING):
                Delivery.objects.filter(pk=delivery.pk).update(
                    state=DeliveryState.BOUNCED,
                    failed_at=timezone.now(),
                    claimed_until=None,
                    failure="bounce",
                )
                _audit(delivery, MessagingAction.NOTICE_BOUNCED, Outcome.ERROR, reason="bounce")
                one_time_password_discard(message_id=delivery.message_id, reason="bounced")
    except IntegrityError:
        raise BounceRefused("replayed") from None
    delivery.refresh_from_db()
    return delivery


def _delivery_id_from(message_id: str) -> uuid.UUID | None:
    inner = message_id.strip().strip("<>")
    if not inner.startswith("notice-") or "@" not in inner:
        return None
    try:
        return uuid.UUID(inner.removeprefix("notice-").split("@", 1)[0])
    except ValueError:
        return None


def bounce_refusal_record(*, code: str) -> None:
    event_record(
        action=MessagingAction.BOUNCE_REFUSED, outcome=Outcome.DENIED, details={"reason": code}
    )


# --- after a failure: a corrected address, or a letter ---------------------------------------


@transaction.atomic
def delivery_resend_request(*, actor: User, delivery: Delivery, new_email: str) -> None:
    """Ask the patient to confirm ``new_email``; once confirmed, the sweep resends the notice."""
    if not delivery.has_failed or delivery.replaced_by_id is not None:
        raise MessagingError("not_failed", "Only a failed notice can be resent.")
    patient = delivery.message.thread.patient
    from accounts.errors import AccountsError

    try:
        email_change_request(actor=actor, user=patient, new_email=new_email)
    except AccountsError as error:
        raise MessagingError(error.code, error.message) from None
    Delivery.objects.filter(pk=delivery.pk).update(resend_requested_at=timezone.now())
    _audit(delivery, MessagingAction.NOTICE_RESEND_REQUESTED)


def deliveries_resend_confirmed() -> int:
    """Failed notices whose patient has confirmed an address since the resend was asked."""
    waiting = Delivery.objects.filter(
        channel=Channel.EMAIL,
        state__in=(DeliveryState.FAILED, DeliveryState.BOUNCED),
        resend_requested_at__isnull=False,
        replaced_by__isnull=True,
        message__thread__patient__email_verified_at__gt=F("resend_requested_at"),
    ).select_related("message__thread")
    count = 0
    for old in waiting:
        with transaction.atomic():
            locked = Delivery.objects.select_for_update().get(pk=old.pk)
            if locked.replaced_by_id is not None:
                continue
            new = delivery_create(message=old.message)
            locked.replaced_by = new
            locked.save(update_fields=["replaced_by"])
            _audit(old, MessagingAction.NOTICE_RESENT, replacement_id=str(new.pk))
            count += 1
    return count


def letter_render(*, actor: User, delivery: Delivery) -> bytes:
    """A PDF letter for postal mail: a message waits in the portal. No health information.

    Addressed to the postal address in the patient's preferences when there is one. For
    a patient who asked for postal mail only the letter is the notice itself, so printing
    it marks the delivery sent (once: a reprint changes nothing but the printed time).
    """
    from consent.models import CommunicationPreference

    patient = delivery.message.thread.patient
    profile = getattr(patient, "patient_profile", None)
    preference = CommunicationPreference.objects.filter(patient=patient).first()
    address = preference.postal_address if preference is not None else ""
    with translation.override(patient.language):  # the patient's language, not staff's
        html = render_to_string(
            "messaging/letter.html",
            {
                "organisation": settings.ORGANISATION_NAME,
                "page_size": settings.RECORDS_PAGE_SIZE,
                "portal_url": settings.PORTAL_BASE_URL,
                "name": profile.legal_name if profile else patient.full_name,
                "address_lines": [line.strip() for line in address.splitlines() if line.strip()],
                "postal_only": delivery.channel == Channel.LETTER,
                "date": timezone.localdate(),
            },
        )
    pdf = pdf_from_html(html)
    with transaction.atomic():
        now = timezone.now()
        Delivery.objects.filter(pk=delivery.pk).update(letter_printed_at=now)
        Delivery.objects.filter(
            pk=delivery.pk, channel=Channel.LETTER, state=DeliveryState.PENDING
        ).update(state=DeliveryState.SENT, sent_at=now)
        _audit(delivery, MessagingAction.LETTER_PRINTED)
    return bytes(pdf)
