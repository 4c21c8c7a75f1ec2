"""Delivering the message itself by e-mail, when the delivery decision says so.

The worker (``messaging.delivery.deliveries_send``) asks ``content_deliver`` about each
claimed delivery before it sends notices. The decision is made again here, at send time
(``delivery_settings.delivery_inputs_for``): a waiver revoked, a policy switched off or
an address unconfirmed since the message was queued counts. Then:

* portal pickup: nothing here; the caller sends today's notice.
* TLS-verified e-mail: the content goes by ``tls_delivery.deliver_verified`` to the
  patient's confirmed address. No verified TLS (``TlsUnavailable``, nothing sent) falls
  back to portal pickup and tells the sender on the thread; a temporary problem is tried
  again like a notice; a permanent refusal fails like a notice.
* ordinary e-mail under the waiver: only to the patient, only while their waiver is in
  force for the current risk statement, through the configured SMTP relay.
* password-protected PDF: not wired yet; portal pickup (code ``not_wired``).

Every attempt by an e-mail method leaves a ``Transmission`` row (the transmission log).
The subject line is the same for every message ("a message from <organisation>"), so
nothing of the content sits where mail clients show it unasked.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.emails import email_render
from audit.services import event_record
from consent import selectors as consent_selectors
from encryption.files import file_chunks
from messaging import delivery_settings, tls_delivery
from messaging.actions import MessagingAction
from messaging.delivery_decision import DeliveryChoice, Recipient, TlsState, delivery_decide
from messaging.markup import body_render
from messaging.models import (
    Delivery,
    DeliveryMethod,
    DeliveryState,
    Message,
    MessageState,
    Transmission,
    TransmissionOutcome,
)

CONTENT_TEMPLATE = "messaging/email/content"
NOT_WIRED = "not_wired"
DECIDED = "decided"  # the decision itself chose portal pickup (its reason says why)
# What the sender reads when the e-mail could not go out protected (TlsUnavailable).
NO_VERIFIED_TLS = "the recipient's mail server does not offer verified TLS"
NOT_WIRED_REASON = "password-protected PDF is not available yet"
UNREADABLE_REASON = "the message can no longer be sent by e-mail"


@dataclass(frozen=True)
class ContentResult:
    """What the caller does next: ``portal`` (send the notice), ``sent`` (done here),
    ``retry`` or ``failed`` (with ``code``, through the caller's retry and failed path)."""

    step: str
    code: str = ""


PORTAL = ContentResult("portal")


def content_size(message: Message) -> int:
    """Body plus attachments, in bytes: what the policy's e-mail ceiling is about."""
    return len(message.body.encode()) + sum(a.file.size for a in message.attachments.all())


def content_choice(delivery: Delivery) -> DeliveryChoice:
    """The delivery decision for this message to its patient, now."""
    message = delivery.message
    inputs = delivery_settings.delivery_inputs_for(
        patient=message.thread.patient,
        recipient=Recipient.PATIENT,
        size_bytes=content_size(message),
        tls=TlsState.UNKNOWN,  # tried now; any doubt falls back to the portal
    )
    return delivery_decide(inputs)


def content_deliver(delivery: Delivery) -> ContentResult:
    """Send the content of ``delivery``'s message by the e-mail method decided now, or say
    the notice should go (``PORTAL``). The caller holds the delivery's claim."""
    patient = delivery.message.thread.patient
    if delivery_settings.delivery_preference_of(patient) == DeliveryMethod.PORTAL:
        return PORTAL  # the patient's choice or the default: today's notice, no log
    choice = content_choice(delivery)
    if choice.wanted == DeliveryMethod.PORTAL:
        return PORTAL
    if choice.method == DeliveryMethod.PORTAL:
        return _fall_back(delivery, choice, code=DECIDED, reason=choice.reason)
    if choice.method == DeliveryMethod.PROTECTED_PDF:
        return _fall_back(delivery, choice, code=NOT_WIRED, reason=NOT_WIRED_REASON)
    message = delivery.message
    if message.state != MessageState.SENT or message.is_erased or _attachment_erased(message):
        # Recalled or erased since it was queued: the portal shows what is left of it.
        return _fall_back(delivery, choice, code="unreadable", reason=UNREADABLE_REASON)
    if choice.method == DeliveryMethod.TLS_EMAIL:
        return _tls_send(delivery, choice)
    return _plain_send(delivery, choice)


def _attachment_erased(message: Message) -> bool:
    return any(a.file.is_erased for a in message.attachments.all())


def content_email(delivery: Delivery) -> EmailMultiAlternatives:
    """The e-mail that carries the message: text and HTML body, attachments decrypted."""
    message = delivery.message
    patient = message.thread.patient
    rendered = email_render(
        template=CONTENT_TEMPLATE,
        context={
            "thread_subject": message.thread.subject,
            "body": message.body,
            "body_html": body_render(message.body),
            "sign_in_url": settings.PORTAL_BASE_URL + reverse("accounts:sign_in"),
        },
        language=patient.language,
    )
    from messaging.delivery import message_id_header  # the notice's Message-ID scheme

    email = rendered.build(to=patient.email, headers={"Message-ID": message_id_header(delivery.pk)})
    for attachment in message.attachments.all():
        record = attachment.file
        email.attach(record.original_name, b"".join(file_chunks(record)), record.content_type)
    return email


def _tls_context() -> ssl.SSLContext | None:
    """The verified context, trusting ``EMAIL_TLS_CA_FILE`` instead of the system's roots
    when it is set; None means ``tls_delivery``'s default (the system's roots)."""
    if not settings.EMAIL_TLS_CA_FILE:
        return None
    context = ssl.create_default_context(cafile=settings.EMAIL_TLS_CA_FILE)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _tls_send(delivery: Delivery, choice: DeliveryChoice) -> ContentResult:
    email = content_email(delivery)
    patient = delivery.message.thread.patient
    try:
        receipt = tls_delivery.deliver_verified(email, patient.email, ssl_context=_tls_context())
    except tls_delivery.TlsUnavailable as error:
        if error.temporary and _attempts_left(delivery):
            return _retry(delivery, choice, f"tls_{error.code}")
        return _fall_back(delivery, choice, code=f"tls_{error.code}", reason=NO_VERIFIED_TLS)
    except tls_delivery.TlsTemporaryFailure as error:
        return _retry(delivery, choice, f"smtp_{error.smtp_code}")
    except tls_delivery.TlsPermanentFailure as error:
        return _fail(delivery, choice, f"smtp_{error.smtp_code}")
    _sent(
        delivery,
        choice,
        mx_host=receipt.mx_host,
        tls_version=receipt.tls_version,
        cipher=receipt.cipher,
        certificate_sha256=receipt.certificate_sha256,
        via_relay=receipt.via_relay,
    )
    return ContentResult("sent")


def _plain_send(delivery: Delivery, choice: DeliveryChoice) -> ContentResult:
    patient = delivery.message.thread.patient
    # The decision saw the waiver in force a moment ago; read it once more for its version.
    waiver = consent_selectors.waiver_in_force(patient)
    if waiver is None:
        return _fall_back(
            delivery, choice, code="no_waiver", reason="the patient stopped ordinary e-mail"
        )
    email = content_email(delivery)
    connection = get_connection()
    email.connection = connection
    try:
        connection.send_messages([email])
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
        from messaging.delivery import OUR_SMTP_FAULTS, _smtp_code

        code = _smtp_code(error)
        if code >= 500 and code not in OUR_SMTP_FAULTS:
            return _fail(delivery, choice, f"smtp_{code}")
        return _retry(delivery, choice, f"smtp_{code}")
    except (OSError, smtplib.SMTPException):
        return _retry(delivery, choice, "connection")
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    _sent(delivery, choice, statement_version=waiver.statement.version)
    return ContentResult("sent")


def _attempts_left(delivery: Delivery) -> bool:
    attempts = Delivery.objects.values_list("attempts", flat=True).get(pk=delivery.pk)
    return attempts < settings.MESSAGING_NOTICE_MAX_ATTEMPTS


def _log(
    delivery: Delivery, choice: DeliveryChoice, outcome: str, code: str = "", **receipt: Any
) -> Transmission:
    return Transmission.objects.create(
        delivery=delivery,
        message_id=delivery.message_id,
        method=choice.method,
        wanted=choice.wanted,
        reason=choice.reason[:300],
        outcome=outcome,
        code=code,
        **receipt,
    )


def _sent(delivery: Delivery, choice: DeliveryChoice, **receipt: Any) -> None:
    with transaction.atomic():
        transmission = _log(delivery, choice, TransmissionOutcome.SENT, **receipt)
        # Only a row still pending: a bounce reported meanwhile stays a bounce.
        Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(
            state=DeliveryState.SENT,
            sent_at=timezone.now(),
            claimed_until=None,
            failure="",
            method=choice.method,
            fallback_reason="",
        )
        event_record(
            action=MessagingAction.CONTENT_EMAILED,
            # The worker sends it, on behalf of the message's author: so the patient's
            # "who viewed my information" (staff actions only) shows who e-mailed it.
            actor=delivery.message.author,
            target=delivery,
            patient_id=delivery.message.thread.patient_id,
            details={
                "message_id": str(delivery.message_id),
                "transmission_id": transmission.pk,
                "method": str(choice.method),
            },
        )


def _fall_back(
    delivery: Delivery, choice: DeliveryChoice, *, code: str, reason: str
) -> ContentResult:
    """Portal pickup instead: logged, audited, and shown to the sender on the thread."""
    with transaction.atomic():
        _log(delivery, choice, TransmissionOutcome.FELL_BACK, code)
        Delivery.objects.filter(pk=delivery.pk).update(
            method=DeliveryMethod.PORTAL, fallback_reason=reason[:200]
        )
        event_record(
            action=MessagingAction.CONTENT_FELL_BACK,
            target=delivery,
            patient_id=delivery.message.thread.patient_id,
            details={
                "message_id": str(delivery.message_id),
                "wanted": str(choice.wanted),
                "reason": code,
            },
        )
    return PORTAL


def _retry(delivery: Delivery, choice: DeliveryChoice, code: str) -> ContentResult:
    _log(delivery, choice, TransmissionOutcome.RETRY, code)
    return ContentResult("retry", code)


def _fail(delivery: Delivery, choice: DeliveryChoice, code: str) -> ContentResult:
    _log(delivery, choice, TransmissionOutcome.FAILED, code)
    Delivery.objects.filter(pk=delivery.pk).update(method=choice.method)
    return ContentResult("failed", code)
