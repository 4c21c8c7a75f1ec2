"""Each kind of record the purge erases: which objects are due, and what erasing one means.

A kind answers two questions. ``due(cutoff, now)``: the objects whose clock started at
or before ``cutoff``, not yet erased and not under a legal hold in force at ``now``,
annotated with ``clock`` (when their clock started) and ``owner`` (the patient's id).
``erase(obj)``: the data keys to destroy and the ciphertext files to delete (a message
takes its attachments; a record package its source documents; the last message of a
thread takes the thread's subject). Rows stay, so every list can say what was removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Case, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce, Least

from accounts.models import Invitation, Role
from consent.models import Authorization
from encryption.models import EncryptedFile
from messaging.models import Attachment, Category, GuestPackage, Message, MessageState, Thread
from messaging.services import threads_unread_recount
from records.models import RecordRequest, RequestDocument, RequestState
from retention.models import HoldScope, LegalHold
from retention.rules import ClockStart, RecordKind

LIVE = {"data_key__destroyed_at__isnull": True}


@dataclass
class Erasure:
    """What one object's purge destroys, for the purge to carry out and audit."""

    target_type: str
    data_key_ids: list[Any] = field(default_factory=list)
    storage_names: list[str] = field(default_factory=list)
    delete: Callable[[], Any] | None = None  # a row with nothing encrypted is deleted
    # Run once the keys are destroyed, in the same transaction (a count kept elsewhere).
    then: Callable[[], Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def add_file(self, file: EncryptedFile) -> None:
        if file.data_key.destroyed_at is None:
            self.data_key_ids.append(file.data_key_id)
            self.storage_names.append(file.storage_name)


@dataclass(frozen=True)
class Holds:
    """The legal holds in force at one moment, as id lists the queries exclude."""

    patients: list[int]
    threads: list[Any]
    requests: list[Any]

    @classmethod
    def at(cls, now: datetime) -> Holds:
        rows = LegalHold.objects.filter(released_at__isnull=True).filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now)
        )
        scoped = list(rows.values_list("scope", "patient_id", "thread_id", "request_id"))
        return cls(
            patients=[p for s, p, _t, _r in scoped if s == HoldScope.PATIENT],
            threads=[t for s, _p, t, _r in scoped if s == HoldScope.THREAD],
            requests=[r for s, _p, _t, r in scoped if s == HoldScope.REQUEST],
        )


class Kind:
    kind: str

    def due(self, *, clock_start: str, cutoff: datetime, holds: Holds) -> QuerySet[Any]:
        raise NotImplementedError

    def erase(self, obj: Any) -> Erasure:
        raise NotImplementedError


class MessageKind(Kind):
    def __init__(self, kind: str, category: str) -> None:
        self.kind, self.category = kind, category

    def due(self, *, clock_start: str, cutoff: datetime, holds: Holds) -> QuerySet[Any]:
        return (
            Message.objects.filter(
                state__in=(MessageState.SENT, MessageState.RECALLED),
                thread__category=self.category,
                sent_at__lte=cutoff,
                **LIVE,
            )
            .exclude(thread__patient_id__in=holds.patients)
            .exclude(thread_id__in=holds.threads)
            .annotate(clock=F("sent_at"), owner=F("thread__patient_id"))
        )

    def erase(self, obj: Message) -> Erasure:
        erasure = Erasure(
            "messaging.message",
            data_key_ids=[obj.data_key_id],
            # An erased message can no longer be opened: it stops counting as new.
            then=lambda: threads_unread_recount(thread_ids=[obj.thread_id]),
        )
        for attachment in obj.attachments.select_related("file__data_key"):
            erasure.add_file(attachment.file)
        # The subject goes with the thread's last readable sent message, and any draft left
        # in it with them. The thread row is locked first: a reply locks it too
        # (``messaging.services.thread_lock_live``), so it lands before this check or is
        # refused after it.
        thread_key = (Thread.objects.select_for_update().values_list("data_key_id", flat=True)).get(
            pk=obj.thread_id
        )
        live = Message.objects.filter(thread_id=obj.thread_id, **LIVE).exclude(pk=obj.pk)
        if not live.exclude(state=MessageState.DRAFT).exists():
            erasure.data_key_ids.append(thread_key)
            for draft in live.prefetch_related(
                Prefetch(
                    "attachments", queryset=Attachment.objects.select_related("file__data_key")
                )
            ):
                erasure.data_key_ids.append(draft.data_key_id)
                for attachment in draft.attachments.all():
                    erasure.add_file(attachment.file)
            erasure.details["thread_erased"] = True
        erasure.details["attachments"] = len(erasure.storage_names)
        return erasure


class AttachmentKind(Kind):
    kind = RecordKind.ATTACHMENT

    def due(self, *, clock_start: str, cutoff: datetime, holds: Holds) -> QuerySet[Any]:
        return (
            Attachment.objects.filter(
                message__state__in=(MessageState.SENT, MessageState.RECALLED),
                message__sent_at__lte=cutoff,
                file__data_key__destroyed_at__isnull=True,
            )
            .exclude(message__thread__patient_id__in=holds.patients)
            .exclude(message__thread_id__in=holds.threads)
            .annotate(clock=F("message__sent_at"), owner=F("message__thread__patient_id"))
        )

    def erase(self, obj: Attachment) -> Erasure:
        erasure = Erasure("messaging.attachment")
        erasure.add_file(EncryptedFile.objects.select_related("data_key").get(pk=obj.file_id))
        return erasure


class RecordPackageKind(Kind):
    kind = RecordKind.RECORD_PACKAGE

    def due(self, *, clock_start: str, cutoff: datetime, holds: Holds) -> QuerySet[Any]:
        requests = RecordRequest.objects.filter(closed_at__lte=cutoff)
        if clock_start == ClockStart.FULFILLED:
            requests = requests.filter(
                state__in=(RequestState.FULFILLED, RequestState.PARTLY_DENIED)
            )
        live_document = RequestDocument.objects.filter(
            request_id=OuterRef("pk"), file__data_key__destroyed_at__isnull=True
        )
        return (
            requests.filter(
                Q(package__isnull=False, package__data_key__destroyed_at__isnull=True)
                | Exists(live_document)
            )
            .exclude(patient_id__in=holds.patients)
            .exclude(pk__in=holds.requests)
            .annotate(clock=F("closed_at"), owner=F("patient_id"))
        )

    def erase(self, obj: RecordRequest) -> Erasure:
        erasure = Erasure("records.recordrequest")
        if obj.package_id is not None:
            erasure.add_file(
                EncryptedFile.objects.select_related("data_key").get(pk=obj.package_id)
            )
        for document in obj.documents.select_related("file__data_key", "title_record__data_key"):
            erasure.add_file(document.file)
            title = getattr(document, "title_record", None)  # the clerk's title is PHI too
            if title is not None and title.data_key.destroyed_at is None:
                erasure.data_key_ids.append(title.data_key_id)
        erasure.details["files"] = len(erasure.storage_names)
        return erasure


class GuestPackageKind(Kind):
    kind = RecordKind.GUEST_PACKAGE

    def due(self, *, clock_start: str, cutoff: datetime, holds: Holds) -> QuerySet[Any]:
        clock = (
            F("created_at")
            if clock_start == ClockStart.SENT
            else Least("expires_at", "recalled_at")  # PostgreSQL's LEAST skips NULLs
        )
        return (
            GuestPackage.objects.filter(**LIVE)
            .exclude(patient_id__in=holds.patients)
            .annotate(clock=clock, owner=F("patient_id"))
            .filter(clock__lte=cutoff)
        )

    def erase(self, obj: GuestPackage) -> Erasure:
        erasure = Erasure("messaging.guestpackage", data_key_ids=[obj.data_key_id])
        for attachment in obj.attachments.select_related("file__data_key"):
            erasure.add_file(attachment.file)
        erasure.details["attachments"] = len(erasure.storage_names)
        return erasure


class AuthorizationScanKind(Kind):
    """A scanned form is kept until the authorization it documents (every version of it)
    has been out of effect for the period: 45 CFR 164.530(j)(2) counts from the date it
    was last in effect."""

    kind = RecordKind.AUTHORIZATION_SCAN

    def due(self, *, clock_start: str, cutoff: datetime, holds: Holds) -> QuerySet[Any]:
        lineage_end = (
            Authorization.objects.filter(lineage=OuterRef("lineage"), superseded_at__isnull=True)
            .annotate(end=Least("revoked_at", "expires_at", "expiry_event_at"))
            .values("end")[:1]
        )
        scanned = Authorization.objects.filter(scan_id=OuterRef("pk")).annotate(
            lineage_end=Subquery(lineage_end)
        )
        return (
            EncryptedFile.objects.filter(**LIVE)
            .annotate(
                # A version still in effect has no end: NULL first, so the scan is kept.
                clock=Subquery(
                    scanned.order_by(F("lineage_end").desc(nulls_first=True)).values("lineage_end")[
                        :1
                    ]
                ),
                owner=Subquery(scanned.values("patient_id")[:1]),
            )
            .filter(clock__lte=cutoff)
            .exclude(owner__in=holds.patients)
        )

    def erase(self, obj: EncryptedFile) -> Erasure:
        erasure = Erasure("encryption.encryptedfile")
        erasure.add_file(EncryptedFile.objects.select_related("data_key").get(pk=obj.pk))
        return erasure


class InvitationKind(Kind):
    kind = RecordKind.INVITATION

    def due(self, *, clock_start: str, cutoff: datetime, holds: Holds) -> QuerySet[Any]:
        clock = (
            Coalesce("sent_at", "created_at")
            if clock_start == ClockStart.SENT
            else Least("expires_at", "revoked_at")
        )
        return (
            Invitation.objects.filter(used_at__isnull=True)
            .exclude(user_id__in=holds.patients)
            # Staff are invited too: only a patient's invitation names a patient.
            .annotate(
                clock=clock,
                owner=Case(When(user__role=Role.PATIENT, then=F("user_id")), default=None),
            )
            .filter(clock__lte=cutoff)
        )

    def erase(self, obj: Invitation) -> Erasure:
        # An invitation holds no encrypted data: only a hash of its link. It is deleted.
        return Erasure("accounts.invitation", delete=obj.delete)


KINDS: dict[str, Kind] = {
    RecordKind.MESSAGE_CLINICAL: MessageKind(RecordKind.MESSAGE_CLINICAL, Category.CLINICAL),
    RecordKind.MESSAGE_ADMINISTRATIVE: MessageKind(
        RecordKind.MESSAGE_ADMINISTRATIVE, Category.ADMINISTRATIVE
    ),
    RecordKind.MESSAGE_OTHER: MessageKind(RecordKind.MESSAGE_OTHER, Category.OTHER),
    RecordKind.ATTACHMENT: AttachmentKind(),
    RecordKind.RECORD_PACKAGE: RecordPackageKind(),
    RecordKind.GUEST_PACKAGE: GuestPackageKind(),
    RecordKind.AUTHORIZATION_SCAN: AuthorizationScanKind(),
    RecordKind.INVITATION: InvitationKind(),
}
