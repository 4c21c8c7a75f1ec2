"""The passwords that open a locked (password-protected) PDF: the patient's own document
password, and the one-time password staff read out for one message.

The password never travels with the PDF. Either the patient sets a document password
in the portal (``document_password_set``; read by the worker with
``document_password_of``), or the sender gets a one-time password on screen to tell the
recipient by phone (``one_time_password_issue``, with the send: ``message_send_by_staff``;
read once by the worker with ``one_time_password_consume``, or discarded unused with
``one_time_password_discard`` when the message is delivered without it). Both are
encrypted, never hashed: the worker needs the value to lock the PDF (see
``messaging.models.DocumentPassword``).

Kept apart from ``messaging.services`` (as ``delivery_settings`` is). No value is ever
logged, audited, put in an exception or in task arguments: audit rows carry ids only,
and the worker is given the message id and reads the password here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.contrib.auth.hashers import check_password
from django.db import transaction

from accounts.models import User
from audit.services import event_record
from messaging import policies
from messaging.actions import MessagingAction
from messaging.errors import MessagingError
from messaging.models import (
    Channel,
    DocumentPassword,
    Message,
    MessageState,
    OneTimePassword,
)
from messaging.protected_pdf import password_new

if TYPE_CHECKING:
    from encryption.uploads import CheckedUpload
    from messaging.services import Draft

# Long enough to stand up to guessing against a copy of the file offline: the PDF's
# AES-256 key comes from the password alone, with no server to limit attempts.
DOCUMENT_PASSWORD_MIN_LENGTH = 12
DOCUMENT_PASSWORD_MAX_LENGTH = 128


# --- the patient's document password ----------------------------------------------------------


def document_password_set_at(patient: User) -> DocumentPassword | None:
    """The patient's password row for the page ("set on <date>"); its value stays sealed
    because the page never reads it."""
    return DocumentPassword.objects.filter(patient=patient).defer("password").first()


def document_password_of(patient: User) -> str | None:
    """The patient's document password in clear, for the worker that locks a PDF (and the
    delivery decision, which only asks whether there is one). Not audited and never
    logged: it is the patient's own secret, read only to lock content sent to them."""
    row = DocumentPassword.objects.filter(patient=patient).select_related("data_key").first()
    if row is None or row.is_erased:
        return None
    return str(row.password)


def document_password_exists(patient: User) -> bool:
    """Whether a readable document password is set (no decryption)."""
    return DocumentPassword.objects.filter(
        patient=patient, data_key__destroyed_at__isnull=True
    ).exists()


@transaction.atomic
def document_password_set(*, actor: User, patient: User, password: str) -> DocumentPassword:
    """Set or change the patient's document password. Only the patient sets their own (no
    one else ever knows it); it may not be their sign-in password, which would then sit in
    every locked PDF's reach of offline guessing."""
    if actor.pk != patient.pk or not patient.is_patient:
        raise MessagingError("not_own", "Only the patient sets their document password.")
    if not DOCUMENT_PASSWORD_MIN_LENGTH <= len(password) <= DOCUMENT_PASSWORD_MAX_LENGTH:
        raise MessagingError("length", "The password has the wrong length.")
    if patient.has_usable_password() and check_password(password, patient.password):
        raise MessagingError("account_password", "The password is the sign-in password.")
    existing = DocumentPassword.objects.select_for_update().filter(patient=patient).first()
    if existing is not None:
        # A new row, not an update: the old value's key is destroyed with the old row.
        existing.delete()
    row = DocumentPassword.objects.create(patient=patient, password=password)
    event_record(
        action=MessagingAction.DOCUMENT_PASSWORD_CHANGED
        if existing is not None
        else MessagingAction.DOCUMENT_PASSWORD_SET,
        actor=actor,
        target=row,
        patient_id=patient.pk,
    )
    return row


@transaction.atomic
def document_password_remove(*, actor: User, patient: User) -> bool:
    """Remove the patient's document password (the row and, with it, its key); False if
    none was set. Locked PDFs then need a staff one-time password, or go by portal."""
    if actor.pk != patient.pk:
        raise MessagingError("not_own", "Only the patient removes their document password.")
    existing = DocumentPassword.objects.select_for_update().filter(patient=patient).first()
    if existing is None:
        return False
    target_id = str(existing.pk)
    existing.delete()
    event_record(
        action=MessagingAction.DOCUMENT_PASSWORD_REMOVED,
        actor=actor,
        target_type="messaging.documentpassword",
        target_id=target_id,
        patient_id=patient.pk,
    )
    return True


# --- the staff one-time password ----------------------------------------------------------------


@transaction.atomic
def one_time_password_issue(*, actor: User, message_id: uuid.UUID | str) -> str:
    """A new one-time password for this message, stored encrypted for the worker and
    returned once, for the sender's screen. Issuing again replaces the previous one (the
    sender read out only the latest). Only someone who may message the patient issues it."""
    message = (
        Message.objects.select_related("thread__patient")
        .filter(pk=message_id, thread__in=policies.threads_visible_to(actor))
        .first()
    )
    if message is None or not policies.may_message(actor, message.thread.patient):
        raise MessagingError("not_found", "No such message.")
    if message.from_patient:
        raise MessagingError("from_patient", "A patient's own message is not sent to them.")
    previous = OneTimePassword.objects.select_for_update().filter(message=message).first()
    if previous is not None:
        previous.delete()
    password = password_new()
    row = OneTimePassword.objects.create(message=message, password=password, created_by=actor)
    event_record(
        action=MessagingAction.ONE_TIME_PASSWORD_ISSUED,
        actor=actor,
        target=row,
        patient_id=message.thread.patient_id,
        details={"message": str(message.pk), "replaced": previous is not None},
    )
    return password


def message_send_by_staff(
    *,
    actor: User,
    draft: Draft,
    attachments: Sequence[CheckedUpload] = (),
    warnings_acknowledged: bool = False,
) -> tuple[Message, str | None]:
    """Send ``draft`` (``services.message_compose``) from the composer or a thread reply.
    Where the delivery decision for the message as sent (its body and every attachment)
    is the locked PDF with a one-time password (``delivery_settings.delivery_choice_for``),
    the password is issued in the same transaction, so the worker, which starts after the
    commit, finds it. It is returned once, for the sender's screen; None when none is
    needed, for a submit replayed (its send key already sent: the first submit's password
    stands) or a draft refused."""
    # services -> delivery -> content delivery -> here; delivery settings -> here
    from messaging import delivery_settings, services
    from messaging.content_delivery import content_size

    def send() -> Message:
        return services.message_compose(
            actor=actor,
            draft=draft,
            attachments=attachments,
            send=True,
            warnings_acknowledged=warnings_acknowledged,
        )

    body_size = len(draft.body.encode())
    if not delivery_settings.delivery_choice_for(
        patient=draft.patient, size_bytes=body_size, categories=draft.content_categories
    ).one_time_password:
        # No password to give: the send keeps its own transactions (uploads stored first).
        return send(), None
    replayed = (
        Message.objects.filter(send_key=draft.send_key).exclude(state=MessageState.DRAFT).exists()
    )
    with transaction.atomic():
        message = send()
        if replayed or message.state != MessageState.SENT:
            return message, None
        # Decided again with the attachments: content over the e-mail ceiling goes by portal.
        choice = delivery_settings.delivery_choice_for(
            patient=draft.patient,
            size_bytes=content_size(message),
            categories=draft.content_categories,
        )
        # A postal-only patient's message goes by letter: no e-mail, so nothing to lock.
        by_email = message.deliveries.filter(channel=Channel.EMAIL).exists()
        if not choice.one_time_password or not by_email:
            return message, None
        return message, one_time_password_issue(actor=actor, message_id=message.pk)


def one_time_password_consume(*, message_id: uuid.UUID | str) -> str | None:
    """The message's one-time password, read once by the worker: the row (and its key) is
    deleted in the same transaction, so a second read finds nothing. None if there is none
    or its key was destroyed."""
    return _one_time_password_take(message_id=message_id, discarded_for="")[1]


def one_time_password_pending(message_id: uuid.UUID | str) -> bool:
    """Whether a one-time password waits for this message (no decryption)."""
    return OneTimePassword.objects.filter(message_id=message_id).exists()


def one_time_password_discard(*, message_id: uuid.UUID | str, reason: str) -> bool:
    """Discard the message's one-time password unused, when its delivery is settled
    without it (fell back to the portal, sent by another method, failed for good): a
    password read out on the phone must never open a later PDF. The row goes with its
    key; the audit row has ids and ``reason`` (a code) only. False if none was pending."""
    return _one_time_password_take(message_id=message_id, discarded_for=reason or "unused")[0]


@transaction.atomic
def _one_time_password_take(
    *, message_id: uuid.UUID | str, discarded_for: str
) -> tuple[bool, str | None]:
    """Delete the message's one-time password row (its key with it) and audit it: read
    first (used), or unread when ``discarded_for`` gives the reason. Returns whether there
    was one, and the password read (None if discarded, none, or its key destroyed)."""
    row = (
        OneTimePassword.objects.select_for_update(of=("self",))
        .select_related("data_key", "message__thread")
        .filter(message_id=message_id)
        .first()
    )
    if row is None:
        return False, None
    password = None if discarded_for or row.is_erased else str(row.password)
    target_id, patient_id = str(row.pk), row.message.thread.patient_id
    row.delete()
    details: dict[str, object] = {"message": str(message_id)}
    if discarded_for:
        details["reason"] = discarded_for[:64]
    else:
        details["readable"] = password is not None
    event_record(
        action=MessagingAction.ONE_TIME_PASSWORD_DISCARDED
        if discarded_for
        else MessagingAction.ONE_TIME_PASSWORD_USED,
        target_type="messaging.onetimepassword",
        target_id=target_id,
        patient_id=patient_id,
        details=details,
    )
    return True, password
