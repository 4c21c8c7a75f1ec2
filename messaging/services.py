"""State changes for messaging: drafts, sending, replies, recall, opening, triage, templates.

Each function does the whole change (domain rules, save, audit event, follow-up after
commit). Attachment bytes are encrypted into the file store before the transaction
opens, and erased again if it does not commit, so no ciphertext outlives a rollback. A
send saves its files' data keys and rows in its own transaction, with the thread and the
message: nothing of it is in the database until everything is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts import proxies
from accounts.models import ProxyScope, User
from audit.models import Outcome
from audit.services import EventSpec, event_record, events_record
from encryption.files import file_encrypt, file_store, files_discard
from encryption.models import DataKey, EncryptedFile
from encryption.services import data_keys_create, data_keys_save, data_keys_wrap
from encryption.uploads import CheckedUpload
from messaging import dlp, policies
from messaging.actions import MessagingAction
from messaging.errors import MessagingError
from messaging.models import (
    UNREAD_FOREVER,
    Attachment,
    ContentCategory,
    Message,
    MessageState,
    MessageTemplate,
    Thread,
)


@dataclass(frozen=True)
class Draft:
    """What the composer submits. ``send_key`` identifies the message across saves."""

    send_key: uuid.UUID
    patient: User
    subject: str
    body: str
    category: str
    expires_at: datetime | None = None
    thread: Thread | None = None
    # ``ContentCategory`` codes the sender marked (the delivery decision reads them).
    content_categories: tuple[str, ...] = ()


# --- compose and send -----------------------------------------------------------------------


def subject_findings(*, subject: str, patient: User) -> list[dlp.Finding]:
    profile = getattr(patient, "patient_profile", None)
    known = [profile.mrn] if profile is not None else []
    return dlp.subject_check(
        subject, rules=settings.MESSAGING_SUBJECT_RULES, known_identifiers=known
    )


def content_categories_check(codes: Sequence[str]) -> None:
    """Refuse a sensitive-content kind that is not in ``ContentCategory`` (a form checks
    its choices; a service is called from more than forms)."""
    if not set(codes) <= set(ContentCategory.values):
        raise MessagingError("content_category", "Choose the kinds of content from the list.")


def message_compose(
    *,
    actor: User,
    draft: Draft,
    attachments: Sequence[CheckedUpload] = (),
    send: bool,
    warnings_acknowledged: bool = False,
) -> Message:
    """Save ``draft`` (``send=False``) or send it. Idempotent on ``draft.send_key``.

    A key already sent returns that message unchanged: a double click sends once.
    """
    existing = Message.objects.filter(send_key=draft.send_key).select_related("thread").first()
    if existing is not None and existing.author_id != actor.pk:
        raise MessagingError("not_yours", "This message belongs to someone else.")
    if existing is not None and existing.state != MessageState.DRAFT:
        return existing
    if existing is not None and existing.thread.patient_id != draft.patient.pk:
        raise MessagingError("wrong_patient", "This draft is addressed to another patient.")
    if not policies.may_message(actor, draft.patient):
        raise MessagingError("not_on_care_team", "You cannot message this patient.")
    if draft.thread is not None and draft.thread.patient_id != draft.patient.pk:
        raise MessagingError("wrong_thread", "This conversation is with another patient.")
    content_categories_check(draft.content_categories)
    if send and (draft.thread is None or draft.thread.last_message_at is None):
        _subject_guard(actor=actor, draft=draft, acknowledged=warnings_acknowledged)
    _attachments_within_total(existing, attachments)
    # The data keys of the files, a new thread and a new message are wrapped now and
    # saved in the send's one transaction with everything else (one INSERT for all): the
    # files are encrypted into the store before it opens, so a slow upload holds none.
    objects = (existing is None and draft.thread is None) + (existing is None)
    keys = data_keys_wrap(count=len(attachments) + objects)
    encrypted: list[EncryptedFile] = []
    try:
        for upload, key in zip(attachments, keys, strict=False):
            encrypted.append(_encrypt(upload, key))  # in the try: a failed third file discards two
        with transaction.atomic():
            data_keys_save(keys)
            EncryptedFile.objects.bulk_create(encrypted)
            message = _compose_in_transaction(
                actor, draft, existing, encrypted, send, keys[len(attachments) :]
            )
    except IntegrityError:
        files_discard(encrypted)  # a concurrent submit with the same key won the race
        winner = Message.objects.filter(send_key=draft.send_key, author=actor).first()
        if winner is None:
            raise
        return winner
    except BaseException:
        files_discard(encrypted)  # the keys and rows rolled back: only ciphertext is left
        raise
    return message


def _subject_guard(*, actor: User, draft: Draft, acknowledged: bool) -> None:
    subject_guard(
        actor=actor, patient=draft.patient, subject=draft.subject, acknowledged=acknowledged
    )


def subject_guard(
    *, actor: User, patient: User, subject: str, acknowledged: bool, channel: str = ""
) -> None:
    """Refuse a subject that trips a block rule, or a warn rule not acknowledged; the
    refusal is audited with the rule names (never the subject)."""
    findings = subject_findings(subject=subject, patient=patient)
    blocks = [f for f in findings if f.action == dlp.BLOCK]
    if blocks or (findings and not acknowledged):
        details = {"reason": "subject_" + "_".join(f.pattern for f in findings)}
        if channel:
            details["channel"] = channel
        event_record(
            action=MessagingAction.SEND_REFUSED,
            outcome=Outcome.DENIED,
            actor=actor,
            patient_id=patient.pk,
            details=details,
        )
        code = "subject_blocked" if blocks else "subject_warning"
        raise MessagingError(code, " ".join(f.reason for f in (blocks or findings)))


def _attachments_within_total(existing: Message | None, new: Sequence[CheckedUpload]) -> None:
    total = sum(upload.size for upload in new)
    if existing is not None:
        total += sum(a.file.size for a in existing.attachments.select_related("file"))
    if total > settings.MESSAGING_MAX_MESSAGE_BYTES:
        limit = settings.MESSAGING_MAX_MESSAGE_BYTES / (1024 * 1024)
        raise MessagingError(
            "too_large", f"The attachments together are larger than the {limit:g} MiB limit."
        )


def _store(upload: CheckedUpload) -> EncryptedFile:
    return file_store(source=upload.reader(), name=upload.name, content_type=upload.content_type)


def _encrypt(upload: CheckedUpload, data_key: DataKey) -> EncryptedFile:
    return file_encrypt(
        source=upload.reader(),
        name=upload.name,
        content_type=upload.content_type,
        data_key=data_key,
    )


def _erase(files: Sequence[EncryptedFile]) -> None:
    for record in files:
        record.delete()  # destroys the data key; the ciphertext goes after commit


THREAD_REMOVED = (
    "This conversation was removed under the retention policy: nothing can be added to it."
)


def thread_lock_live(*, thread_id: uuid.UUID) -> None:
    """Lock the thread for this transaction; refuse one the retention purge removed.

    The purge locks the same row before it erases a thread's subject, so a message lands
    either before (and keeps the thread) or after (and is refused), never in between.
    """
    destroyed = (
        Thread.objects.select_for_update(of=("self",))
        .filter(pk=thread_id)
        .values_list("data_key__destroyed_at", flat=True)
        .first()
    )
    if destroyed is not None:
        raise MessagingError("thread_removed", THREAD_REMOVED)


def _compose_in_transaction(
    actor: User,
    draft: Draft,
    existing: Message | None,
    files: Sequence[EncryptedFile],
    send: bool,
    keys: Sequence[DataKey],
) -> Message:
    """``keys``: saved already, one for each of a new thread and a new message."""
    now = timezone.now()
    if existing is not None:
        message = Message.objects.select_for_update().get(pk=existing.pk)
        if message.state != MessageState.DRAFT:
            raise IntegrityError("sent meanwhile")  # handled as a lost race: return the winner
        thread = message.thread
    else:
        if draft.thread is not None:
            thread_lock_live(thread_id=draft.thread.pk)
        thread = draft.thread or Thread(patient=draft.patient, created_by=actor)
        message = Message(thread=thread, author=actor, send_key=draft.send_key)
    if thread.last_message_at is None:  # a new thread: its subject is still editable
        thread.patient = draft.patient
        thread.subject = draft.subject
        thread.category = draft.category
    fresh = [obj for obj in (thread, message) if obj.data_key_id is None]
    for obj, key in zip(fresh, keys, strict=True):
        obj.data_key = key  # saved with the files' keys, not one INSERT per object
    message.body = draft.body
    message.content_categories = sorted(set(draft.content_categories)) or None
    message.expires_at = draft.expires_at
    new_thread = thread._state.adding
    if send:
        message.state, message.sent_at = MessageState.SENT, now
        thread.last_message_at, thread.handled_at = now, None
        if new_thread:  # its one message, sent now: unopened, under a fresh key
            thread.patient_unread_until = draft.expires_at or UNREAD_FOREVER
    if new_thread:
        thread.save()
    else:  # only what this send changes: a patient's reply counted meanwhile stays counted
        fields = ["patient", "subject", "category", "data_key", "last_message_at", "handled_at"]
        thread.save(update_fields=fields)
    message.thread = thread
    message.save()
    if send and not new_thread:  # locked: by ``thread_lock_live``, or by the save above
        threads_unread_recount(thread_ids=[thread.pk])
    first = message.attachments.count() if existing is not None else 0
    Attachment.objects.bulk_create(
        Attachment(message=message, file=record, position=first + i)
        for i, record in enumerate(files)
    )
    details = {"thread_id": str(thread.pk), "attachments": first + len(files)}
    if not send:
        event_record(
            action=MessagingAction.DRAFT_SAVED,
            target=message,
            patient_id=thread.patient_id,
            details=details,
        )
        return message
    event_record(
        action=MessagingAction.MESSAGE_SENT,
        target=message,
        patient_id=thread.patient_id,
        details={**details, "category": thread.category},
    )
    from messaging.delivery import delivery_create
    from messaging.proxy_notices import proxy_notices_create

    delivery_create(message=message)
    proxy_notices_create(messages=[message])
    return message


def reply_send(
    *,
    actor: User,
    thread: Thread,
    body: str,
    send_key: uuid.UUID,
    attachments: Sequence[CheckedUpload] = (),
) -> Message:
    """The patient answers in their thread, or someone acting for them whose access lets
    them send (never in a confidential thread); it lands, unread, in the care team's inbox
    with the proxy as its author (shown "<proxy> for <patient>")."""
    if thread.patient_id != actor.pk and (
        thread.confidential or not proxies.acts_for(actor, thread.patient, ProxyScope.SEND_MESSAGES)
    ):
        raise MessagingError("not_yours", "This conversation is not yours.")
    existing = Message.objects.filter(send_key=send_key, author=actor).first()
    if existing is not None:
        return existing
    _attachments_within_total(None, attachments)
    stored: list[EncryptedFile] = []
    try:
        for upload in attachments:
            stored.append(_store(upload))
        with transaction.atomic():
            thread_lock_live(thread_id=thread.pk)
            now = timezone.now()
            message = Message.objects.create(
                thread=thread,
                author=actor,
                from_patient=True,
                body=body,
                state=MessageState.SENT,
                sent_at=now,
                send_key=send_key,
            )
            Attachment.objects.bulk_create(
                Attachment(message=message, file=record, position=i)
                for i, record in enumerate(stored)
            )
            Thread.objects.filter(pk=thread.pk).update(
                last_message_at=now, handled_at=None, staff_unread=F("staff_unread") + 1
            )
            event_record(
                action=MessagingAction.REPLY_SENT,
                target=message,
                patient_id=thread.patient_id,
                details={"thread_id": str(thread.pk), "attachments": len(stored)},
            )
    except IntegrityError:
        _erase(stored)
        return Message.objects.get(send_key=send_key, author=actor)
    except BaseException:
        _erase(stored)
        raise
    return message


@dataclass(frozen=True)
class BulkItem:
    """One message of a bulk send: its own patient, subject and body."""

    send_key: uuid.UUID
    patient: User
    subject: str
    body: str
    category: str


def messages_send_bulk(*, actor: User, items: Sequence[BulkItem]) -> list[Message]:
    """Send many new threads at once (reminders, results-ready notes), all or nothing.

    The same rules as ``message_compose`` (scope, the subject guard, one send per key),
    checked for the whole batch before anything is written; then one transaction with
    bulk INSERTs and one audit INSERT, and the notices go out in batches after commit.
    Items whose key was already sent are skipped (a retried batch sends nothing twice).
    No attachments here: they go through ``message_compose``.
    """
    keys = [item.send_key for item in items]
    done = set(Message.objects.filter(send_key__in=keys).values_list("send_key", flat=True))
    todo = [item for item in items if item.send_key not in done]
    if not todo:
        return []
    allowed = set(
        policies.patients_messageable_by(actor)
        .filter(pk__in=[item.patient.pk for item in todo])
        .values_list("pk", flat=True)
    )
    if any(item.patient.pk not in allowed for item in todo):
        raise MessagingError("not_on_care_team", "You cannot message every patient in the list.")
    mrns = dict(User.objects.filter(pk__in=allowed).values_list("pk", "patient_profile__mrn"))
    for position, item in enumerate(todo, start=1):
        found = dlp.subject_check(
            item.subject,
            rules=settings.MESSAGING_SUBJECT_RULES,
            known_identifiers=[mrns.get(item.patient.pk) or ""],
        )
        if found:
            raise MessagingError(
                "subject_" + found[0].action,
                f"Message {position}: {found[0].reason} Nothing was sent.",
            )
    keys_made = data_keys_create(count=2 * len(todo))
    now = timezone.now()
    with transaction.atomic():
        threads = [
            Thread(
                patient=item.patient,
                created_by=actor,
                subject=item.subject,
                category=item.category,
                last_message_at=now,
                patient_unread_until=UNREAD_FOREVER,  # one message, unopened, no expiry
                data_key=keys_made[2 * i],
            )
            for i, item in enumerate(todo)
        ]
        Thread.objects.bulk_create(threads)
        messages = [
            Message(
                thread=thread,
                author=actor,
                body=item.body,
                state=MessageState.SENT,
                sent_at=now,
                send_key=item.send_key,
                data_key=keys_made[2 * i + 1],
            )
            for i, (thread, item) in enumerate(zip(threads, todo, strict=True))
        ]
        Message.objects.bulk_create(messages)
        events_record(
            action=MessagingAction.MESSAGE_SENT,
            events=[
                EventSpec(
                    target=message,
                    patient_id=message.thread.patient_id,
                    details={"thread_id": str(message.thread_id), "attachments": 0, "bulk": True},
                )
                for message in messages
            ],
        )
        from messaging.delivery import deliveries_create
        from messaging.proxy_notices import proxy_notices_create

        deliveries_create(messages=messages)
        proxy_notices_create(messages=messages)
    return messages


# --- the patient's "new" mark ----------------------------------------------------------------


def threads_lock(*, thread_ids: Any) -> None:
    """Lock the threads' rows for this transaction, always after the message rows a
    service locks (as the retention purge does), so the two never wait on each other."""
    list(Thread.objects.select_for_update().filter(pk__in=thread_ids).values_list("pk"))


def threads_unread_recount(*, thread_ids: Any) -> None:
    """Set each thread's ``patient_unread_until`` from its messages, in one UPDATE: sent
    by the care team, not opened, not erased; the latest expiry among them.

    Called last by every service that changes one of those, with the threads locked by
    an earlier statement: a send and an opening in one thread then run one after the
    other, and the second one's recount sees the first one's message.
    """
    unopened = (
        Message.objects.filter(
            thread=OuterRef("pk"),
            from_patient=False,
            state=MessageState.SENT,
            opened_at__isnull=True,
            data_key__destroyed_at__isnull=True,
        )
        .order_by()
        .values("thread")
        .annotate(until=Max(Coalesce("expires_at", Value(UNREAD_FOREVER))))
        .values("until")
    )
    Thread.objects.filter(pk__in=thread_ids).update(patient_unread_until=Subquery(unopened))


# --- reading ------------------------------------------------------------------------------


def message_open(*, actor: User, message: Message) -> bool:
    """The patient opens a message: audited every time; the first time is the read receipt.

    Returns whether the content may be shown (not recalled, not expired, not a draft).
    """
    return message.pk in messages_open(actor=actor, messages=[message])


@transaction.atomic
def messages_open(*, actor: User, messages: Sequence[Message]) -> set[uuid.UUID]:
    """The patient sees these messages on one page: one read-receipt UPDATE and one audit
    INSERT however many there are. Returns the ids whose content may be shown."""
    now = timezone.now()
    # Read the states under a row lock: a recall committing meanwhile wins, not the page.
    states = dict(
        Message.objects.select_for_update()
        .filter(pk__in=[m.pk for m in messages])
        .values_list("pk", "state")
    )
    readable = [
        m
        for m in messages
        if states.get(m.pk) == MessageState.SENT and not m.is_expired(now) and not m.is_erased
    ]
    first_time = [m for m in readable if m.opened_at is None and not m.from_patient]
    if first_time:
        thread_ids = {m.thread_id for m in first_time}
        threads_lock(thread_ids=thread_ids)
        Message.objects.filter(pk__in=[m.pk for m in first_time], opened_at__isnull=True).update(
            opened_at=now, opened_by=actor
        )
        threads_unread_recount(thread_ids=thread_ids)
    if readable:
        events_record(
            action=MessagingAction.MESSAGE_OPENED,
            actor=actor,
            events=[
                EventSpec(
                    target=m,
                    patient_id=m.thread.patient_id,
                    details={"thread_id": str(m.thread_id)},
                )
                for m in readable
            ],
        )
    return {m.pk for m in readable}


@transaction.atomic(savepoint=False)  # no caller recovers from a failure half-way
def thread_view_record(*, actor: User, thread: Thread) -> None:
    """Staff opened the thread: audited, and the patient's messages count as read (looked
    for only when the thread, as read for this page, counts some unread)."""
    read = 0
    if thread.staff_unread:
        read = thread.messages.filter(from_patient=True, staff_read_at__isnull=True).update(
            staff_read_at=timezone.now()
        )
    if read:  # relative, so a reply counted meanwhile stays counted
        Thread.objects.filter(pk=thread.pk).update(staff_unread=F("staff_unread") - read)
    event_record(action=MessagingAction.THREAD_VIEWED, target=thread, patient_id=thread.patient_id)


def inbox_view_record(*, actor: User, threads: Sequence[Thread]) -> None:
    """An inbox page shows each thread's patient and subject: one event per patient on the
    page, naming the threads shown, so each patient's "who viewed" list has it."""
    by_patient: dict[int, list[str]] = {}
    for thread in threads:
        by_patient.setdefault(thread.patient_id, []).append(str(thread.pk))
    events_record(
        action=MessagingAction.INBOX_LISTED,
        actor=actor,
        events=[
            EventSpec(
                target_type="messaging.thread", patient_id=patient_id, details={"threads": ids}
            )
            for patient_id, ids in by_patient.items()
        ],
    )


def patient_search_record(*, results: int) -> None:
    """Staff searched for a patient: how many they were shown, never what was typed."""
    event_record(action=MessagingAction.PATIENT_SEARCHED, details={"results": results})


def composer_open_record(*, actor: User, patient: User, draft: Message | None) -> None:
    """The composer shows the patient's name, birth date and MRN (and a draft, its text)."""
    if draft is not None:
        event_record(
            action=MessagingAction.DRAFT_OPENED, target=draft, actor=actor, patient_id=patient.pk
        )
    else:
        event_record(
            action=MessagingAction.COMPOSER_OPENED,
            target=patient,
            actor=actor,
            patient_id=patient.pk,
        )


def attachment_download_record(*, actor: User, attachment: Attachment, patient_id: int) -> None:
    event_record(
        action=MessagingAction.ATTACHMENT_DOWNLOADED,
        target=attachment,
        actor=actor,
        patient_id=patient_id,
        details={"message_id": str(attachment.message_id)},
    )


# --- recall and triage ----------------------------------------------------------------------


@transaction.atomic
def message_recall(*, actor: User, message: Message) -> Message:
    """Only the sender, only before the patient opened it (45 CFR 164.530(c): limit what
    reaches the patient by mistake). The patient then sees that it was recalled."""
    locked = Message.objects.select_for_update().get(pk=message.pk)
    if locked.author_id != actor.pk:
        raise MessagingError("not_sender", "Only the sender can recall a message.")
    if locked.state != MessageState.SENT:
        raise MessagingError("not_sent", "Only a sent message can be recalled.")
    if locked.opened_at is not None:
        raise MessagingError(
            "already_opened",
            "The patient has already opened this message, so it can no longer be recalled.",
        )
    threads_lock(thread_ids=[locked.thread_id])
    locked.state, locked.recalled_at = MessageState.RECALLED, timezone.now()
    locked.save(update_fields=["state", "recalled_at"])
    threads_unread_recount(thread_ids=[locked.thread_id])
    event_record(
        action=MessagingAction.MESSAGE_RECALLED,
        target=locked,
        patient_id=locked.thread.patient_id,
        details={"thread_id": str(locked.thread_id)},
    )
    return locked


@transaction.atomic
def thread_assign(*, actor: User, thread: Thread, assignee: User | None) -> None:
    if assignee is not None and not policies.may_be_assigned(assignee, thread):
        raise MessagingError("not_on_care_team", "That person cannot see this conversation.")
    Thread.objects.filter(pk=thread.pk).update(assigned_to=assignee)
    event_record(
        action=MessagingAction.THREAD_ASSIGNED,
        target=thread,
        patient_id=thread.patient_id,
        details={"assignee_id": assignee.pk if assignee else None},
    )


@transaction.atomic
def thread_mark_handled(*, actor: User, thread: Thread, handled: bool) -> None:
    Thread.objects.filter(pk=thread.pk).update(handled_at=timezone.now() if handled else None)
    event_record(
        action=MessagingAction.THREAD_HANDLED,
        target=thread,
        patient_id=thread.patient_id,
        details={"handled": handled},
    )


@transaction.atomic
def thread_confidential_set(*, actor: User, thread: Thread, confidential: bool) -> None:
    """Mark a conversation the patient's alone, or not: a confidential one is never shown
    to anyone acting for the patient (``selectors`` with ``for_proxy``), nor are they
    told of its messages. Audited with the patient, like every change to their thread."""
    if not policies.may_mark_confidential(actor, thread):
        raise MessagingError("not_allowed", "You may not change who sees this conversation.")
    Thread.objects.filter(pk=thread.pk).update(confidential=confidential)
    event_record(
        action=MessagingAction.THREAD_CONFIDENTIAL,
        target=thread,
        patient_id=thread.patient_id,
        details={"confidential": confidential},
    )


# --- templates ---------------------------------------------------------------------------


@transaction.atomic
def template_save(
    *, actor: User, template: MessageTemplate | None, title: str, subject: str, body: str
) -> MessageTemplate:
    template = template or MessageTemplate(created_by=actor)
    template.title, template.subject, template.body = title, subject, body
    template.updated_at = timezone.now()
    template.save()
    event_record(action=MessagingAction.TEMPLATE_SAVED, target=template)
    return template


@transaction.atomic
def template_archive(*, actor: User, template: MessageTemplate) -> None:
    MessageTemplate.objects.filter(pk=template.pk).update(archived_at=timezone.now())
    event_record(action=MessagingAction.TEMPLATE_ARCHIVED, target=template)
