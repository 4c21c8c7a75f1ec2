"""Documents, the package and its delivery: to the portal, a directed third party, or paper."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import event_record
from encryption.files import file_store
from encryption.models import EncryptedFile
from encryption.uploads import CheckedUpload, mebibytes
from records import policies, weeks
from records.actions import RecordsAction
from records.errors import RecordsError
from records.models import (
    BuildState,
    DeliverTo,
    DocumentTitle,
    RecordRequest,
    RequestDocument,
    RequestState,
)
from records.services._common import (
    PDF,
    _assignee_claim,
    _locked,
    _must_be_open,
    _must_be_verified,
    _refuse,
    _refuse_if,
    file_bytes,
    refusals_audited,
)


def _documents_fit_one_message(
    actor: User, request: RecordRequest, new: Sequence[EncryptedFile]
) -> None:
    """The package goes out as one secure message, so the documents must fit in one."""
    from django.db.models import Sum

    limit = settings.MESSAGING_MAX_MESSAGE_BYTES
    held = request.documents.aggregate(total=Sum("file__size"))["total"] or 0
    if held + sum(record.size for record in new) > limit:
        _refuse(
            actor=actor,
            request=request,
            code="documents_too_large",
            message=f"The documents together would be larger than the {mebibytes(limit)} "
            "a secure message can carry: remove a document first.",
        )


@refusals_audited
def documents_add(
    *, actor: User, request: RecordRequest, uploads: Sequence[CheckedUpload]
) -> list[RequestDocument]:
    stored: list[EncryptedFile] = []
    try:
        for upload in uploads:
            if upload.content_type not in (PDF, "image/png", "image/jpeg"):
                raise RecordsError("document_type", f"“{upload.name}” is not a PDF, PNG or JPEG.")
            stored.append(
                file_store(
                    source=upload.reader(),
                    name=upload.name,
                    content_type=upload.content_type,
                )
            )
        with transaction.atomic():
            request = _locked(request)
            _must_be_open(actor, request)
            _must_be_verified(actor, request)
            _documents_fit_one_message(actor, request, stored)
            first = request.documents.count()
            documents = RequestDocument.objects.bulk_create(
                RequestDocument(request=request, file=f, position=first + i, added_by=actor)
                for i, f in enumerate(stored)
            )
            if request.state == RequestState.VERIFIED:
                request.state = RequestState.IN_PROGRESS
            request.build_state = BuildState.NONE  # the package no longer matches
            request.save(update_fields=["state", "build_state"])
            _assignee_claim(actor, request)
            event_record(
                actor=actor,
                action=RecordsAction.DOCUMENT_ADDED,
                target=request,
                patient_id=request.patient_id,
                details={"count": len(documents)},
            )
    except BaseException:
        for record in stored:
            record.delete()
        raise
    return documents


@refusals_audited
@transaction.atomic
def document_remove(*, actor: User, document: RequestDocument) -> None:
    request = _locked(document.request)
    _must_be_open(actor, request)
    record = document.file
    document.delete()
    record.delete()  # crypto-shreds the copy; nothing was sent from it
    request.build_state = BuildState.NONE
    request.save(update_fields=["build_state"])
    _assignee_claim(actor, request)
    event_record(
        actor=actor,
        action=RecordsAction.DOCUMENT_REMOVED,
        target=request,
        patient_id=request.patient_id,
    )


def _document_changed(actor: User, document: RequestDocument) -> RecordRequest:
    """Lock the request of a document about to change; a built package no longer matches."""
    request = _locked(document.request)
    _must_be_open(actor, request)
    _refuse_if(actor, request, _build_running_refusal(request))
    request.build_state = BuildState.NONE
    request.save(update_fields=["build_state"])
    _assignee_claim(actor, request)
    return request


def _build_running_refusal(request: RecordRequest) -> policies.Refusal | None:
    if request.build_state in policies.BUILD_RUNNING:
        return policies.Refusal(
            "build_running", "The package is being built: wait for it to finish first."
        )
    return None


@refusals_audited
@transaction.atomic
def document_rename(*, actor: User, document: RequestDocument, title: str) -> RequestDocument:
    """The title the package index and its bookmarks give the document ("" for its file
    name). Titles are PHI: the audit event says only that one changed."""
    request = _document_changed(actor, document)
    title = title.strip()
    DocumentTitle.objects.filter(document=document).delete()
    if title:
        DocumentTitle.objects.create(document=document, text=title)
    event_record(
        actor=actor,
        action=RecordsAction.DOCUMENT_RENAMED,
        target=request,
        patient_id=request.patient_id,
        details={"document_id": document.pk, "cleared": not title},
    )
    return RequestDocument.objects.select_related("title_record").get(pk=document.pk)


@refusals_audited
@transaction.atomic
def document_move(*, actor: User, document: RequestDocument, up: bool) -> None:
    """Swap the document with its neighbour in the package order; positions are then
    renumbered 0..n-1, so gaps or ties left by removals never make a move a no-op."""
    request = _document_changed(actor, document)
    order = list(request.documents.order_by("position", "added_at", "pk"))
    index = next(i for i, d in enumerate(order) if d.pk == document.pk)
    other = index - 1 if up else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
    for position, item in enumerate(order):
        item.position = position
    RequestDocument.objects.bulk_update(order, ["position"])
    event_record(
        actor=actor,
        action=RecordsAction.DOCUMENT_MOVED,
        target=request,
        patient_id=request.patient_id,
        details={"document_id": document.pk, "position": order.index(document) + 1},
    )


@refusals_audited
@transaction.atomic
def package_build_queue(*, actor: User, request: RecordRequest) -> RecordRequest:
    """Ask the worker to build and sign the package; the page then shows its progress."""
    request = _locked(request)
    count = request.documents.count()
    _refuse_if(actor, request, policies.build_refusal(request, count))
    if request.build_state in (BuildState.QUEUED, BuildState.BUILDING):
        return request
    _assignee_claim(actor, request)
    request.build_state = BuildState.QUEUED
    request.build_done, request.build_total, request.build_failure = 0, count, ""
    request.build_queued_at = timezone.now()
    request.save(
        update_fields=[
            "build_state",
            "build_done",
            "build_total",
            "build_failure",
            "build_queued_at",
        ]
    )
    event_record(
        actor=actor,
        action=RecordsAction.PACKAGE_BUILD_QUEUED,
        target=request,
        patient_id=request.patient_id,
        details={"documents": count},
    )
    from records.tasks import package_build

    request_id = str(request.pk)
    transaction.on_commit(lambda: package_build.delay(request_id), robust=True)
    return request


def _on_time(request: RecordRequest, at: datetime) -> bool:
    return at < request.due_at


@refusals_audited
def request_fulfil(*, actor: User, request: RecordRequest) -> RecordRequest:
    """Deliver the built package: in the portal as a secure message, to the directed third
    party by guest pickup (through the disclosure decision, recorded as a disclosure), or
    on paper (the clerk has printed it). The request then shows fulfilled, on time or not.

    The request row stays locked from the checks through the send to the state change,
    in one transaction: a withdrawal or denial meanwhile waits for it and then finds the
    request closed, and a send that fails leaves the request open with nothing delivered.
    (Files the send stored before such a rollback lose their data keys with it; their
    ciphertext is left unreadable in the store.) A messaging refusal still commits its
    own audit event before it is raised."""
    from messaging.errors import MessagingError

    failure: MessagingError | None = None
    with transaction.atomic():
        locked = _locked(request)
        _refuse_if(actor, locked, policies.fulfil_refusal(locked))
        _assignee_claim(actor, locked)
        try:
            message_id, package_id = _fulfilment_deliver(actor=actor, request=locked)
        except MessagingError as error:
            failure = error  # the send rolled back its own part; its refusal audit stays
        else:
            now = timezone.now()
            locked.state = (
                RequestState.PARTLY_DENIED if locked.denial_basis else RequestState.FULFILLED
            )
            locked.closed_at, locked.closed_by = now, actor
            locked.delivered_message_id, locked.delivered_package_id = message_id, package_id
            locked.save()
            weeks.fulfilled_count(locked)
            event_record(
                actor=actor,
                action=RecordsAction.REQUEST_FULFILLED,
                target=locked,
                patient_id=locked.patient_id,
                details={
                    "deliver_to": locked.deliver_to,
                    "on_time": _on_time(locked, now),
                    "days_after_receipt": (now - locked.received_at) // timedelta(days=1),
                },
            )
    if failure is not None:
        raise failure
    return locked


def _fulfilment_deliver(
    *, actor: User, request: RecordRequest
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """Send the package (inside the caller's transaction, the request locked); returns the
    message or guest package delivered. The send key is the request's: a copy already
    delivered under it (by whichever clerk) is the delivery, and nothing is sent again."""
    from consent.models import Purpose
    from messaging import guests
    from messaging import services as messaging
    from messaging.models import GuestPackage, Message, MessageState

    assert request.package is not None
    send_key = uuid.uuid5(request.pk, "fulfilment")
    if request.deliver_to == DeliverTo.PORTAL:
        delivered = (
            Message.objects.filter(send_key=send_key)
            .exclude(state=MessageState.DRAFT)
            .values_list("pk", flat=True)
            .first()
        )
        if delivered is not None:
            return delivered, None
    elif request.deliver_to == DeliverTo.THIRD_PARTY:
        sent = GuestPackage.objects.filter(send_key=send_key).values_list("pk", flat=True).first()
        if sent is not None:
            return None, sent
    else:
        return None, None  # on paper: the clerk has printed it
    name = f"records-{timezone.localdate():%Y-%m-%d}.pdf"
    upload = CheckedUpload(name, PDF, file_bytes(request.package))
    if request.deliver_to == DeliverTo.PORTAL:
        message = messaging.message_compose(
            actor=actor,
            draft=messaging.Draft(
                send_key=send_key,
                patient=request.patient,
                subject="Your copy of your records",
                body="Here is the copy of your records you asked for. The PDF is signed "
                "by us; your PDF reader's signature panel shows that it is unaltered.",
                category="clinical",
            ),
            attachments=[upload],
            send=True,
        )
        return message.pk, None
    package = guests.guest_package_send(
        actor=actor,
        patient=request.patient,
        recipient_email=request.third_party_email,
        recipient_name=request.third_party_name,
        purpose=Purpose.INDIVIDUAL_REQUEST,
        categories=list(request.categories),
        records_from=request.records_from,
        records_to=request.records_to,
        subject="Copy of records",
        body="The copy of records sent at the patient's direction.",
        attachments=[upload],
        send_key=send_key,
    )
    return None, package.pk
