"""Written notices to the patient: the one extension (164.524(b)(2)) and a denial (164.524(d))."""

from __future__ import annotations

import io
import uuid
from datetime import date

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from audit.services import event_record
from encryption.files import file_store
from encryption.uploads import attachment_check
from records import deadlines, policies
from records.actions import RecordsAction
from records.models import (
    NoticeKind,
    RecordRequest,
    RequestNotice,
    RequestState,
)
from records.services._common import (
    PDF,
    _assignee_claim,
    _locked,
    _must_be_open,
    _refuse,
    _refuse_if,
    refusals_audited,
)
from support.printing import pdf_from_html


def _letter_pdf(template: str, context: dict[str, object]) -> bytes:
    """Rendered in the active language: the caller's ``translation.override``."""
    html = render_to_string(
        template,
        {
            "organisation": settings.ORGANISATION_NAME,
            "page_size": settings.RECORDS_PAGE_SIZE,
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
        _refuse_if(actor, request, policies.extension_refusal(request, now))
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
        with translation.override(request.patient.language):  # the patient's, not staff's
            pdf = _letter_pdf(
                "records/extension_notice.html",
                {
                    "request": request,
                    "reason": reason.strip(),
                    "new_due_day": new_due_day,
                    "original_due_day": original_day,
                },
            )
            subject = gettext("About your request for your records")
            body = gettext(
                "We need more time to complete your request for your records. The "
                "attached notice tells you why, and the date by which we will complete it."
            )
        _notice_send(
            actor=actor,
            request=request,
            kind=NoticeKind.EXTENSION,
            pdf=pdf,
            subject=subject,
            body=body,
        )
        request.extended_at = now
        request.extension_reason = reason.strip()
        request.due_at = deadlines.end_of_day(new_due_day)
        request.save()
        _assignee_claim(actor, request)
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
        with translation.override(request.patient.language):  # the patient's, not staff's
            pdf = _letter_pdf(
                "records/denial_letter.html",
                {
                    "request": request,
                    "basis": basis.strip(),
                    "partial": partial,
                    "privacy_contact": settings.RECORDS_PRIVACY_CONTACT,
                },
            )
            subject = gettext("Our answer to your request for your records")
            body = gettext(
                "The attached letter explains our decision on your request. It also tells "
                "you how to ask for a review of the decision, and how to complain."
            )
        _notice_send(
            actor=actor,
            request=request,
            kind=NoticeKind.DENIAL,
            pdf=pdf,
            subject=subject,
            body=body,
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
