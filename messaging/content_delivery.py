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
* password-protected PDF: the message and its attachments as one AES-256 locked PDF
  (``protected_pdf``), attached to a short e-mail that says nothing of the content,
  through the configured SMTP relay to the patient's confirmed address. The password is
  the staff one-time password for this message when one is pending (read once, and only
  used up when the e-mail goes: a retry finds it again), else the patient's document
  password; neither (removed since queueing, or erased) means portal pickup. A one-time
  password not used by the time the delivery is settled is discarded.

A third party named in the patient's authorization (``messaging.guests``) gets the
package itself by TLS-verified e-mail when the policy allows it for third parties
(``guest_content_deliver``); anything else, and any failure, leaves today's pickup link.

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
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.emails import email_render
from audit.services import event_record
from consent import selectors as consent_selectors
from encryption.files import file_chunks
from messaging import delivery_settings, document_passwords, tls_delivery
from messaging.actions import MessagingAction
from messaging.delivery_decision import DeliveryChoice, Recipient, TlsState, delivery_decide
from messaging.errors import MessagingError
from messaging.markup import body_render
from messaging.models import (
    Delivery,
    DeliveryMethod,
    DeliveryPreference,
    DeliveryState,
    GuestPackage,
    Message,
    MessageState,
    OneTimePassword,
    Transmission,
    TransmissionOutcome,
)
from messaging.protected_pdf import is_signed_pdf, message_pdf, protect

CONTENT_TEMPLATE = "messaging/email/content"
GUEST_CONTENT_TEMPLATE = "messaging/email/guest_content"
LOCKED_PDF_TEMPLATE = "messaging/email/locked_pdf"
DECIDED = "decided"  # the decision itself chose portal pickup (its reason says why)
# What the sender reads when the e-mail could not go out protected (TlsUnavailable).
NO_VERIFIED_TLS = "the recipient's mail server does not offer verified TLS"
NO_PASSWORD_REASON = "there is no password to lock the PDF with"  # noqa: S105 - a reason, not a password
UNPRINTABLE_REASON = "an attachment could not be put into the locked PDF"
UNREADABLE_REASON = "the message can no longer be sent by e-mail"
NOT_ACCEPTED_REASON = "the recipient's mail server did not accept it"


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
        categories=message.content_categories or (),
        tls=TlsState.UNKNOWN,  # tried now; any doubt falls back to the portal
        one_time_password=document_passwords.one_time_password_pending(message.pk),
    )
    return delivery_decide(inputs)


def deliveries_for_content(deliveries: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """``deliveries`` with what ``content_deliver`` reads first about each, in the same
    query: the patient's delivery preference and whether a staff one-time password waits
    for the message. A batch of notices then costs no query per patient who picks up in
    the portal (nearly all of them)."""
    return deliveries.annotate(
        preference_method=Subquery(
            DeliveryPreference.objects.filter(patient=OuterRef("message__thread__patient")).values(
                "method"
            )[:1]
        ),
        one_time_password_waits=Exists(OneTimePassword.objects.filter(message=OuterRef("message"))),
    )


def content_deliver(delivery: Delivery) -> ContentResult:
    """Send the content of ``delivery``'s message by the e-mail method decided now, or say
    the notice should go (``PORTAL``). The caller holds the delivery's claim; a delivery
    read through ``deliveries_for_content`` is decided without further queries when its
    patient picks up in the portal.

    Settled any way but a retry (portal pickup, sent, failed), the message's staff
    one-time password is used up or discarded: read out by phone for this message and
    this send, it must never open a PDF sent later (after a resend, say)."""
    read_with_it = "preference_method" in delivery.__dict__
    if read_with_it:
        preference = delivery.__dict__["preference_method"] or DeliveryMethod.PORTAL
    else:
        preference = delivery_settings.delivery_preference_of(delivery.message.thread.patient)
    if preference == DeliveryMethod.PORTAL:
        # The patient's choice or the default: today's notice, no log.
        result = PORTAL
        if read_with_it and not delivery.__dict__["one_time_password_waits"]:
            return result  # nothing to discard
    else:
        result = _content_by_decision(delivery)
    if result.step != "retry":
        document_passwords.one_time_password_discard(
            message_id=delivery.message_id, reason=result.step
        )
    return result


def _content_by_decision(delivery: Delivery) -> ContentResult:
    choice = content_choice(delivery)
    if choice.wanted == DeliveryMethod.PORTAL:
        return PORTAL
    if choice.method == DeliveryMethod.PORTAL:
        return _fall_back(delivery, choice, code=DECIDED, reason=choice.reason)
    message = delivery.message
    if message.state != MessageState.SENT or message.is_erased or _attachment_erased(message):
        # Recalled or erased since it was queued: the portal shows what is left of it.
        return _fall_back(delivery, choice, code="unreadable", reason=UNREADABLE_REASON)
    if choice.method == DeliveryMethod.TLS_EMAIL:
        return _tls_send(delivery, choice)
    if choice.method == DeliveryMethod.PROTECTED_PDF:
        return _locked_pdf_send(delivery, choice)
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
    for name, content_type, data in content_attachments(message):
        email.attach(name, data, content_type)
    return email


def content_attachments(message: Message | GuestPackage) -> list[tuple[str, str, bytes]]:
    """The attachments decrypted: ``(name, content type, bytes)`` each."""
    return [
        (a.file.original_name, a.file.content_type, b"".join(file_chunks(a.file)))
        for a in message.attachments.all()
    ]


def locked_pdf_email(
    delivery: Delivery, password: str, *, one_time: bool
) -> EmailMultiAlternatives:
    """The e-mail with the message as a locked PDF. Its text says only that a locked PDF
    is attached and where the password comes from; no health information. Raises
    ``MessagingError`` when an attachment cannot be put in the PDF.

    A message that carries one signed PDF and nothing else (a record package delivered
    to the portal) is locked as that file, unchanged: ``protect`` wraps a signed PDF
    instead of re-writing it, so its signature still validates once opened. Merged into
    a message PDF it would lose the signature."""
    message = delivery.message
    patient = message.thread.patient
    language = patient.language or settings.LANGUAGE_CODE
    attachments = content_attachments(message)
    if len(attachments) == 1 and is_signed_pdf(attachments[0][1], attachments[0][2]):
        document = attachments[0][2]
    else:
        document = message_pdf(
            subject_line=message.thread.subject,
            body_html_or_text=body_render(message.body),  # as the portal shows it
            attachments=attachments,
            organisation=settings.ORGANISATION_NAME,
            language=language,
        )
    pdf = protect(document, password, language=language)
    rendered = email_render(
        template=LOCKED_PDF_TEMPLATE,
        context={
            "one_time": one_time,
            "sign_in_url": settings.PORTAL_BASE_URL + reverse("accounts:sign_in"),
        },
        language=language,
    )
    from messaging.delivery import message_id_header  # the notice's Message-ID scheme

    email = rendered.build(to=patient.email, headers={"Message-ID": message_id_header(delivery.pk)})
    with translation.override(language):
        email.attach(gettext("secure-message.pdf"), pdf, "application/pdf")
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
    refused = _relay_send(email)
    if refused is not None:
        step, code = refused
        return _fail(delivery, choice, code) if step == "failed" else _retry(delivery, choice, code)
    _sent(delivery, choice, statement_version=waiver.statement.version)
    return ContentResult("sent")


def _relay_send(email: EmailMultiAlternatives) -> tuple[str, str] | None:
    """Send through Django's e-mail backend (the configured relay). None when accepted,
    else ``("retry" | "failed", code)``: a 5xx reply fails unless it is our own relay's
    fault, everything else is tried again."""
    connection = get_connection()
    email.connection = connection
    try:
        connection.send_messages([email])
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
        from messaging.delivery import OUR_SMTP_FAULTS, _smtp_code

        code = _smtp_code(error)
        if code >= 500 and code not in OUR_SMTP_FAULTS:
            return ("failed", f"smtp_{code}")
        return ("retry", f"smtp_{code}")
    except (OSError, smtplib.SMTPException):
        return ("retry", "connection")
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    return None


class _TryAgain(Exception):
    """Rolls back the one-time password's consumption, so the retry finds it again."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _locked_pdf_send(delivery: Delivery, choice: DeliveryChoice) -> ContentResult:
    message = delivery.message
    try:
        with transaction.atomic():
            # Consumed inside this transaction: used up only if the e-mail went (or was
            # refused for good); a temporary failure rolls the consumption back.
            password = None
            one_time = document_passwords.one_time_password_pending(message.pk)
            if one_time:
                password = document_passwords.one_time_password_consume(message_id=message.pk)
            if password is None:
                one_time = False
                password = document_passwords.document_password_of(message.thread.patient)
            if password is None:
                return _fall_back(delivery, choice, code="no_password", reason=NO_PASSWORD_REASON)
            try:
                email = locked_pdf_email(delivery, password, one_time=one_time)
            except MessagingError:
                return _fall_back(
                    delivery, choice, code="pdf_unprintable", reason=UNPRINTABLE_REASON
                )
            finally:
                del password
            refused = _relay_send(email)
            if refused is not None:
                step, code = refused
                if step == "retry":
                    raise _TryAgain(code)
                return _fail(delivery, choice, code)
            _sent(delivery, choice, code="one_time_password" if one_time else "document_password")
    except _TryAgain as again:
        return _retry(delivery, choice, again.code)
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


# --- third parties -----------------------------------------------------------------------


def guest_content_deliver(package: GuestPackage) -> bool:
    """E-mail ``package`` itself to its third party over verified TLS, when the decision
    says so now; True when it went. False means the caller sends the pickup link, as for
    every package: the policy does not e-mail third parties (nothing logged), or it does
    and this package may not go (restricted content, too large) or could not go (no
    verified TLS, a refusal): logged, audited, and the reason kept for the sender. The
    caller holds the package's row lock, so it goes once.

    The disclosure decision is asked again here, whatever the caller did: a package that
    may not be picked up now (revoked, recalled, expired) goes by no method, and its
    caller, which asks the same question, sends no link either."""
    from messaging.guests import package_refusal  # guests calls this module: no cycle

    if package_refusal(package) is not None:
        return False
    size = len(package.body.encode()) + sum(a.file.size for a in package.attachments.all())
    inputs = delivery_settings.delivery_inputs_for(
        patient=package.patient,
        recipient=Recipient.THIRD_PARTY,
        size_bytes=size,
        categories=package.content_categories or (),
    )
    if not inputs.third_party_tls or DeliveryMethod.TLS_EMAIL not in inputs.enabled:
        return False
    choice = delivery_decide(inputs)
    if choice.method == DeliveryMethod.PORTAL:
        _guest_fall_back(package, choice, code=DECIDED, reason=choice.reason)
        return False
    try:
        receipt = tls_delivery.deliver_verified(
            guest_content_email(package), package.recipient_email, ssl_context=_tls_context()
        )
    except tls_delivery.TlsUnavailable as error:
        _guest_fall_back(package, choice, code=f"tls_{error.code}", reason=NO_VERIFIED_TLS)
        return False
    except (tls_delivery.TlsTemporaryFailure, tls_delivery.TlsPermanentFailure) as error:
        # The link goes instead (by the ordinary mail path, which retries it): a package
        # is never held back waiting for one mail server.
        code = f"smtp_{error.smtp_code}"
        _guest_fall_back(package, choice, code=code, reason=NOT_ACCEPTED_REASON)
        return False
    with transaction.atomic():
        transmission = Transmission.objects.create(
            guest_package=package,
            method=choice.method,
            wanted=choice.wanted,
            reason=choice.reason[:300],
            outcome=TransmissionOutcome.SENT,
            mx_host=receipt.mx_host,
            tls_version=receipt.tls_version,
            cipher=receipt.cipher,
            certificate_sha256=receipt.certificate_sha256,
            via_relay=receipt.via_relay,
        )
        GuestPackage.objects.filter(pk=package.pk).update(
            delivered_by=DeliveryMethod.TLS_EMAIL, fallback_reason="", link_sent_at=timezone.now()
        )
        event_record(
            action=MessagingAction.GUEST_CONTENT_EMAILED,
            actor=package.created_by,  # sent on the sender's behalf, as the patient sees it
            target=package,
            patient_id=package.patient_id,
            details={"transmission_id": transmission.pk},
        )
    return True


def guest_content_email(package: GuestPackage) -> EmailMultiAlternatives:
    """The e-mail that carries the package: text and HTML, attachments decrypted. In the
    site's language: a third party has no language of their own with us."""
    rendered = email_render(
        template=GUEST_CONTENT_TEMPLATE,
        context={
            "subject": package.subject,
            "body": package.body,
            "body_html": body_render(package.body),
        },
    )
    domain = settings.MESSAGING_MESSAGE_ID_DOMAIN
    email = rendered.build(
        to=package.recipient_email, headers={"Message-ID": f"<package-{package.pk}@{domain}>"}
    )
    for name, content_type, data in content_attachments(package):
        email.attach(name, data, content_type)
    return email


def _guest_fall_back(
    package: GuestPackage, choice: DeliveryChoice, *, code: str, reason: str
) -> None:
    with transaction.atomic():
        Transmission.objects.create(
            guest_package=package,
            method=choice.method,
            wanted=choice.wanted,
            reason=choice.reason[:300],
            outcome=TransmissionOutcome.FELL_BACK,
            code=code,
        )
        GuestPackage.objects.filter(pk=package.pk).update(fallback_reason=reason[:200])
        event_record(
            action=MessagingAction.GUEST_CONTENT_FELL_BACK,
            target=package,
            patient_id=package.patient_id,
            details={"reason": code},
        )
