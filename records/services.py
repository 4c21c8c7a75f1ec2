"""State changes for record requests: receive, verify, assign, extend, deny, build, fulfil.

Each function does the whole change with its audit event. The rules of 45 CFR 164.524
live here, each next to its section; a refusal raises ``RecordsError`` naming the rule
and is audited with its code.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import wraps
from typing import NoReturn, ParamSpec, TypeVar

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Role, User
from audit.models import Outcome
from audit.services import event_record
from encryption.files import file_chunks, file_store
from encryption.models import EncryptedFile
from encryption.uploads import CheckedUpload, attachment_check, mebibytes
from records import deadlines
from records.actions import RecordsAction
from records.errors import RecordsError
from records.models import (
    OPEN_STATES,
    ArrivedBy,
    BuildState,
    DeliverTo,
    NoticeKind,
    RecordRequest,
    RequestAlert,
    RequestDocument,
    RequestNotice,
    RequestState,
    VerificationMethod,
)
from support.printing import pdf_from_html

PDF = "application/pdf"
P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class RequestSpec:
    """What a request form gives: what, how, to whom, and who asked."""

    categories: Sequence[str]
    deliver_to: str
    records_from: date | None = None
    records_to: date | None = None
    details: str = ""
    representative_name: str = ""
    representative_authority: str = ""
    third_party_name: str = ""
    third_party_email: str = ""
    third_party_address: str = ""


def _refuse(*, actor: User, request: RecordRequest | None, code: str, message: str) -> NoReturn:
    error = RecordsError(code, message)
    error.actor, error.request = actor, request  # type: ignore[attr-defined]
    raise error


def refusals_audited(service: Callable[P, R]) -> Callable[P, R]:
    """Audit a refusal after the service's transaction has rolled back, so it stays."""

    @wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return service(*args, **kwargs)
        except RecordsError as error:
            request = getattr(error, "request", None)
            event_record(
                action=RecordsAction.REQUEST_REFUSED,
                outcome=Outcome.DENIED,
                actor=getattr(error, "actor", kwargs.get("actor")),
                target=request,
                patient_id=request.patient_id if request is not None else None,
                details={"reason": error.code},
            )
            raise

    return wrapper


def _spec_problems(spec: RequestSpec) -> list[str]:
    problems = []
    if not spec.categories:
        problems.append("Say which records are wanted.")
    if spec.records_from and spec.records_to and spec.records_from > spec.records_to:
        problems.append("The date range must start before it ends.")
    if spec.deliver_to not in DeliverTo.values:
        problems.append("Choose how the copy is delivered.")
    # 45 CFR 164.524(c)(3)(ii): a copy to a third party needs the patient's written
    # direction naming the recipient and where to send it.
    if spec.deliver_to == DeliverTo.THIRD_PARTY and not (
        spec.third_party_name.strip() and spec.third_party_email.strip()
    ):
        problems.append("Name the person to send the copy to and their e-mail address.")
    if spec.representative_name.strip() and not spec.representative_authority.strip():
        problems.append("Describe the representative's authority (164.514(h)).")
    return problems


@refusals_audited
@transaction.atomic
def request_receive(
    *,
    actor: User,
    patient: User,
    spec: RequestSpec,
    arrived_by: str,
    received_at: datetime | None = None,
) -> RecordRequest:
    """Record a request; ``received_at`` starts the 30-day clock (164.524(b)(2))."""
    now = timezone.now()
    received_at = received_at or now
    problems = _spec_problems(spec)
    if received_at > now:
        problems.append("The received time cannot be in the future.")
    if actor.is_patient and actor.pk != patient.pk:
        problems.append("Patients can only ask for their own records.")
    if problems:
        _refuse(actor=actor, request=None, code="invalid_request", message=" ".join(problems))
    due = deadlines.due_at_for(received_at)
    request = RecordRequest(
        patient=patient,
        received_at=received_at,
        arrived_by=arrived_by,
        recorded_by=actor,
        categories=list(spec.categories),
        records_from=spec.records_from,
        records_to=spec.records_to,
        details=spec.details.strip(),
        deliver_to=spec.deliver_to,
        representative_name=spec.representative_name.strip(),
        representative_authority=spec.representative_authority.strip(),
        third_party_name=spec.third_party_name.strip(),
        third_party_email=spec.third_party_email.strip(),
        third_party_address=spec.third_party_address.strip(),
        due_at=due,
        original_due_at=due,
    )
    request.save()
    event_record(
        actor=actor,
        action=RecordsAction.REQUEST_RECEIVED,
        target=request,
        patient_id=patient.pk,
        details={
            "arrived_by": arrived_by,
            "deliver_to": spec.deliver_to,
            "categories": list(spec.categories),
            "representative": bool(request.representative_name),
            "due_at": due.isoformat(),
        },
    )
    return request


def _locked(request: RecordRequest) -> RecordRequest:
    return RecordRequest.objects.select_for_update().select_related("patient").get(pk=request.pk)


def _must_be_open(actor: User, request: RecordRequest) -> None:
    if request.state not in OPEN_STATES:
        _refuse(
            actor=actor,
            request=request,
            code="closed",
            message=f"This request is already {request.get_state_display().lower()}.",
        )


@refusals_audited
@transaction.atomic
def request_verify(
    *, actor: User, request: RecordRequest, method: str, note: str = ""
) -> RecordRequest:
    """45 CFR 164.514(h): identity and authority are verified before anything is released."""
    request = _locked(request)
    _must_be_open(actor, request)
    if request.verified_at is not None:
        return request
    if method not in VerificationMethod.values:
        _refuse(actor=actor, request=request, code="method", message="Say how it was verified.")
    # A portal sign-in with two factors vouches only for a request the patient made there.
    if method == VerificationMethod.PORTAL_MFA and not (
        request.arrived_by == ArrivedBy.PORTAL and request.recorded_by_id == request.patient_id
    ):
        _refuse(
            actor=actor,
            request=request,
            code="method_not_portal",
            message="This request did not come from the patient's portal account: check "
            "identity another way (45 CFR 164.514(h)).",
        )
    if request.representative_name and method != VerificationMethod.REPRESENTATIVE_DOCUMENTS:
        _refuse(
            actor=actor,
            request=request,
            code="representative_unverified",
            message="A representative's request needs their documents checked "
            "(45 CFR 164.514(h)(1)): choose that method.",
        )
    request.verified_at, request.verified_by = timezone.now(), actor
    request.verification_method, request.verification_note = method, note.strip()
    request.state = RequestState.VERIFIED
    request.save()
    event_record(
        actor=actor,
        action=RecordsAction.REQUEST_VERIFIED,
        target=request,
        patient_id=request.patient_id,
        details={"method": method},
    )
    return request


@refusals_audited
@transaction.atomic
def request_assign(*, actor: User, request: RecordRequest, assignee: User | None) -> RecordRequest:
    request = _locked(request)
    _must_be_open(actor, request)
    if assignee is not None and assignee.role not in (Role.RECORDS_CLERK, Role.PRIVACY_OFFICER):
        _refuse(
            actor=actor,
            request=request,
            code="assignee",
            message="Requests go to records clerks or the privacy officer.",
        )
    request.assigned_to = assignee
    request.save(update_fields=["assigned_to"])
    event_record(
        actor=actor,
        action=RecordsAction.REQUEST_ASSIGNED,
        target=request,
        patient_id=request.patient_id,
        details={"assignee_id": assignee.pk if assignee else None},
    )
    return request


@refusals_audited
@transaction.atomic
def fee_estimate_give(
    *, actor: User, request: RecordRequest, cents: int, basis: str
) -> RecordRequest:
    """45 CFR 164.524(c)(4): a cost-based estimate, given before fulfilment."""
    request = _locked(request)
    _must_be_open(actor, request)
    if cents < 0 or not basis.strip():
        _refuse(
            actor=actor,
            request=request,
            code="fee",
            message="A fee estimate needs an amount and its cost basis (164.524(c)(4)).",
        )
    if request.deliver_to == DeliverTo.PORTAL and cents > 0:
        _refuse(
            actor=actor,
            request=request,
            code="portal_free",
            message="A copy delivered in the portal carries no fee (164.524(c)(4)).",
        )
    request.fee_estimate_cents, request.fee_basis = cents, basis.strip()
    request.fee_given_at = timezone.now()
    request.save(update_fields=["fee_estimate_cents", "fee_basis", "fee_given_at"])
    event_record(
        actor=actor,
        action=RecordsAction.FEE_ESTIMATED,
        target=request,
        patient_id=request.patient_id,
        details={"cents": cents},
    )
    return request


# --- written notices: extension and denial ---------------------------------------------------


def _letter_pdf(template: str, context: dict[str, object]) -> bytes:
    html = render_to_string(
        template,
        {
            "organisation": settings.ORGANISATION_NAME,
            "portal_url": settings.PORTAL_BASE_URL,
            "today": timezone.localdate(),
            **context,
        },
    )
    return pdf_from_html(html)


def _notice_send(
    *, actor: User, request: RecordRequest, kind: str, pdf: bytes, subject: str, body: str
) -> RequestNotice:
    """Inside the caller's transaction: store the notice and send it through the portal."""
    from messaging import services as messaging
    from messaging.errors import MessagingError

    name = f"{kind}-notice.pdf"
    try:
        message = messaging.message_compose(
            actor=actor,
            draft=messaging.Draft(
                send_key=uuid.uuid4(),
                patient=request.patient,
                subject=subject,
                body=body,
                category="administrative",
            ),
            attachments=[attachment_check(name=name, data=pdf)],
            send=True,
        )
    except MessagingError as error:  # e.g. the patient's account is closed: say so, audited
        _refuse(
            actor=actor,
            request=request,
            code=error.code,
            message=f"The notice could not be sent in the portal: {error.message}",
        )
    stored = file_store(source=io.BytesIO(pdf), name=name, content_type=PDF)
    return RequestNotice.objects.create(
        request=request, kind=kind, file=stored, message_id=message.pk, created_by=actor
    )


@refusals_audited
def request_extend(
    *, actor: User, request: RecordRequest, reason: str, new_due_day: date
) -> RecordRequest:
    """45 CFR 164.524(b)(2)(ii): one extension of at most 30 days, only before the first
    due date, and only with a written notice giving the reasons and the new date. The due
    date moves in the same transaction as the notice is sent, so it never moves alone."""
    with transaction.atomic():
        request = _locked(request)
        _must_be_open(actor, request)
        now = timezone.now()
        if request.extended_at is not None:
            _refuse(
                actor=actor,
                request=request,
                code="second_extension",
                message="A request can be extended only once (45 CFR 164.524(b)(2)(ii)).",
            )
        if now >= request.original_due_at:
            _refuse(
                actor=actor,
                request=request,
                code="late_extension",
                message="The due date has passed: an extension must be sent within the "
                "first 30 days (45 CFR 164.524(b)(2)(ii)).",
            )
        original_day = deadlines.due_day(request.original_due_at)
        latest = deadlines.latest_extension_day(request.original_due_at)
        if not (original_day < new_due_day <= latest):
            _refuse(
                actor=actor,
                request=request,
                code="extension_length",
                message=f"The new date must be after {original_day:%d %b %Y} and no later "
                f"than {latest:%d %b %Y}: at most 30 days (45 CFR 164.524(b)(2)(ii)).",
            )
        if not reason.strip():
            _refuse(
                actor=actor,
                request=request,
                code="extension_reason",
                message="The notice must state the reasons for the delay "
                "(45 CFR 164.524(b)(2)(ii)).",
            )
        pdf = _letter_pdf(
            "records/extension_notice.html",
            {
                "request": request,
                "reason": reason.strip(),
                "new_due_day": new_due_day,
                "original_due_day": original_day,
            },
        )
        _notice_send(
            actor=actor,
            request=request,
            kind=NoticeKind.EXTENSION,
            pdf=pdf,
            subject="About your request for your records",
            body="We need more time to complete your request for your records. The "
            "attached notice gives the reasons and the date by which we will complete it.",
        )
        request.extended_at = now
        request.extension_reason = reason.strip()
        request.due_at = deadlines.end_of_day(new_due_day)
        request.save()
        event_record(
            actor=actor,
            action=RecordsAction.REQUEST_EXTENDED,
            target=request,
            patient_id=request.patient_id,
            details={"due_at": request.due_at.isoformat()},
        )
    return request


@refusals_audited
def request_deny(
    *, actor: User, request: RecordRequest, basis: str, partial: bool = False
) -> RecordRequest:
    """45 CFR 164.524(d)(2): a plain-language letter with the basis, the review rights and
    how to use them, and how to complain to us and to HHS. A full denial closes the
    request; a partial one stays open until the rest is fulfilled."""
    with transaction.atomic():
        request = _locked(request)
        _must_be_open(actor, request)
        if not basis.strip():
            _refuse(
                actor=actor,
                request=request,
                code="denial_basis",
                message="A denial must state its basis (45 CFR 164.524(d)(2)(i)).",
            )
        pdf = _letter_pdf(
            "records/denial_letter.html",
            {
                "request": request,
                "basis": basis.strip(),
                "partial": partial,
                "privacy_contact": settings.RECORDS_PRIVACY_CONTACT,
            },
        )
        _notice_send(
            actor=actor,
            request=request,
            kind=NoticeKind.DENIAL,
            pdf=pdf,
            subject="Our answer to your request for your records",
            body="The attached letter explains our decision on your request, your right "
            "to have it reviewed, and how to complain.",
        )
        request.denial_basis = basis.strip()
        if not partial:
            request.state = RequestState.DENIED
            request.closed_at, request.closed_by = timezone.now(), actor
        request.save()
        event_record(
            actor=actor,
            action=RecordsAction.REQUEST_DENIED,
            target=request,
            patient_id=request.patient_id,
            details={"partial": partial},
        )
    return request


@refusals_audited
@transaction.atomic
def request_withdraw(*, actor: User, request: RecordRequest) -> RecordRequest:
    request = _locked(request)
    _must_be_open(actor, request)
    request.state = RequestState.WITHDRAWN
    request.closed_at, request.closed_by = timezone.now(), actor
    request.save()
    event_record(
        actor=actor,
        action=RecordsAction.REQUEST_WITHDRAWN,
        target=request,
        patient_id=request.patient_id,
    )
    return request


# --- documents and the package ---------------------------------------------------------------


def _must_be_verified(actor: User, request: RecordRequest) -> None:
    if request.verified_at is None:
        _refuse(
            actor=actor,
            request=request,
            code="unverified",
            message="Verify the requester's identity and authority first (45 CFR 164.514(h)).",
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
    event_record(
        actor=actor,
        action=RecordsAction.DOCUMENT_REMOVED,
        target=request,
        patient_id=request.patient_id,
    )


@refusals_audited
@transaction.atomic
def package_build_queue(*, actor: User, request: RecordRequest) -> RecordRequest:
    """Ask the worker to build and sign the package; the page then shows its progress."""
    request = _locked(request)
    _must_be_open(actor, request)
    _must_be_verified(actor, request)
    count = request.documents.count()
    if count == 0:
        _refuse(actor=actor, request=request, code="no_documents", message="Add documents first.")
    if request.build_state in (BuildState.QUEUED, BuildState.BUILDING):
        return request
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


def file_bytes(record: EncryptedFile) -> bytes:
    return b"".join(file_chunks(record))


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
        _must_be_open(actor, locked)
        _must_be_verified(actor, locked)
        if locked.build_state != BuildState.BUILT or locked.package is None:
            _refuse(
                actor=actor,
                request=locked,
                code="not_built",
                message="Build the package before sending it.",
            )
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


# --- reads worth an audit row, and alerts acknowledged ---------------------------------------


def queue_view_record(*, actor: User, view: str, shown: int, total: int) -> None:
    """The clerk's queue was listed: the filter and how many rows, never who."""
    event_record(
        action=RecordsAction.QUEUE_LISTED,
        actor=actor,
        details={"view": view, "shown": shown, "total": total},
    )


def patient_list_record(*, actor: User, shown: int) -> None:
    """A patient listed their own requests."""
    event_record(
        action=RecordsAction.QUEUE_LISTED,
        actor=actor,
        patient_id=actor.pk,
        details={"view": "own", "shown": shown, "total": shown},
    )


def request_view_record(*, actor: User, request: RecordRequest) -> None:
    event_record(
        action=RecordsAction.REQUEST_VIEWED,
        actor=actor,
        target=request,
        patient_id=request.patient_id,
        details={"state": request.state},
    )


def package_download_record(*, actor: User, request: RecordRequest) -> None:
    event_record(
        action=RecordsAction.PACKAGE_DOWNLOADED,
        actor=actor,
        target=request,
        patient_id=request.patient_id,
        details={"pages": request.package_pages},
    )


def alerts_mark_read(*, actor: User) -> int:
    """Every unread deadline alert of ``actor`` is read now; returns how many."""
    return RequestAlert.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
