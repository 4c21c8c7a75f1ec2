"""Staff screens: inbox, composer, threads, templates; and the signed bounce webhook."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib import messages as flash
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.selectors import request_user
from core.decorators import allowed_if
from core.forms import AssignForm, confirmed, posted, posted_files
from encryption.files import file_response
from encryption.uploads import CheckedUpload, checked_uploads
from messaging import delivery as deliveries
from messaging import delivery_settings, document_passwords, policies, selectors, services
from messaging.delivery_decision import DeliveryChoice
from messaging.errors import MessagingError
from messaging.forms import (
    ComposeForm,
    DeliveryPolicyForm,
    PatientSearchForm,
    ReplyForm,
    ResendForm,
    StaffReplyForm,
    TemplateForm,
    new_send_key,
    sensitive_marked,
)
from messaging.markup import body_render
from messaging.models import MIB, DeliveryPolicy, Message, MessageTemplate

staff_only = allowed_if(policies.can_compose)
logger = logging.getLogger(__name__)
PAGE_SIZE = 25


def reply_submitted(
    request: HttpRequest,
    send: Callable[[Any, list[CheckedUpload]], object],
    form_class: type[ReplyForm] = ReplyForm,
) -> tuple[ReplyForm, bool]:
    """Validate a reply form and its files, then call ``send``; refusals land on the form.
    Shared by the staff and the patient reply views."""
    form = form_class(request.POST, request.FILES)
    valid = form.is_valid()
    uploads = checked_uploads(request, form)
    if not valid or uploads is None:
        return form, False
    try:
        send(form, uploads)
    except MessagingError as error:
        form.add_error(None, error.message)
        return form, False
    return form, True


# --- inbox ----------------------------------------------------------------------------------


@require_GET
@staff_only
def inbox(request: HttpRequest) -> HttpResponse:
    view = request.GET.get("view", "open")
    if view not in selectors.INBOX_FILTERS:
        view = "open"
    page = selectors.staff_inbox_page(
        user=request_user(request), view=view, page=request.GET.get("page", 1)
    )
    services.inbox_view_record(actor=request_user(request), threads=page.object_list)
    return render(
        request,
        "messaging/inbox.html",
        {"page": page, "view": view, "filters": selectors.INBOX_FILTERS, "area": "staff"},
    )


# --- composing ------------------------------------------------------------------------------


@sensitive_post_parameters("q")
@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def compose_start(request: HttpRequest) -> HttpResponse:
    """Step one: find the patient (results limited to the ones this user may message).

    The search is a POST: a name, MRN or birth date must not sit in a URL, where proxies,
    access logs and browser history would keep it."""
    form = PatientSearchForm(posted(request))
    results = form.results_for(request_user(request))
    return render(
        request,
        "messaging/compose_start.html",
        {
            "form": form,
            "results": results,
            "drafts": selectors.drafts_of(user=request_user(request))[:10],
            "area": "staff",
        },
    )


@sensitive_post_parameters("subject", "body")
@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def compose(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_for(user=request_user(request), patient_id=patient_id)
    initial: dict[str, Any] = {"send_key": new_send_key()}
    template = _template_from(request)
    if template is not None:
        initial.update(subject=template.subject, body=template.body)
    return _compose(request, patient=patient, draft=None, initial=initial)


@sensitive_post_parameters("subject", "body")
@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def draft_edit(request: HttpRequest, message_id: str) -> HttpResponse:
    draft = selectors.draft_for(user=request_user(request), message_id=message_id)
    thread = draft.thread
    initial = {
        "send_key": draft.send_key,
        "subject": thread.subject,
        "category": thread.category,
        "body": draft.body,
        "sensitive": draft.content_categories or [],
        "expires_on": draft.expires_at.date() if draft.expires_at else None,
    }
    return _compose(request, patient=thread.patient, draft=draft, initial=initial)


def _template_from(request: HttpRequest) -> MessageTemplate | None:
    template_id = request.GET.get("template", "")
    if not template_id.isdigit():
        return None
    return selectors.templates_active().filter(pk=int(template_id)).first()


@sensitive_variables("one_time_password")
def _compose(
    request: HttpRequest, *, patient: User, draft: Message | None, initial: dict[str, Any]
) -> HttpResponse:
    form = ComposeForm(posted(request), posted_files(request), initial=initial)
    form.fields["sensitive"].help_text += " " + delivery_settings.restricted_kinds_text()
    warnings: list[str] = []
    attachments = list(draft.attachments.select_related("file__data_key")) if draft else []
    # What decides for the content so far: its size and the sensitive kinds marked.
    size = len((form["body"].value() or "").encode()) + sum(a.file.size for a in attachments)
    marked = sensitive_marked(form)
    if request.method == "POST":
        valid = form.is_valid()
        uploads = checked_uploads(request, form)
        send = "send" in request.POST
        if valid and uploads is not None:
            one_time_password = None
            compose_draft = services.Draft(
                send_key=form.cleaned_data["send_key"],
                patient=patient,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                category=form.cleaned_data["category"],
                expires_at=form.expires_at(),
                thread=draft.thread if draft and draft.thread.last_message_at else None,
                content_categories=tuple(form.cleaned_data["sensitive"]),
            )
            try:
                if send:
                    message, one_time_password = document_passwords.message_send_by_staff(
                        actor=request_user(request),
                        draft=compose_draft,
                        attachments=uploads,
                        warnings_acknowledged=form.cleaned_data["acknowledge"],
                    )
                else:
                    message = services.message_compose(
                        actor=request_user(request),
                        draft=compose_draft,
                        attachments=uploads,
                        send=False,
                    )
            except MessagingError as error:
                if error.code == "subject_warning":
                    warnings.append(error.message)
                else:
                    form.add_error(
                        "subject" if error.code.startswith("subject") else None, error.message
                    )
            else:
                if message.state == "draft":
                    flash.success(
                        request, "Draft saved. Attachments added so far are kept with it."
                    )
                    return redirect("messaging:draft", message_id=message.pk)
                if one_time_password is not None:
                    return _one_time_password_page(request, message, one_time_password)
                flash.success(
                    request, "Message sent. The patient is notified by e-mail without its content."
                )
                return redirect("messaging:thread", thread_id=message.thread_id)
    form.acknowledgement_offer(warned=bool(warnings))
    if request.method == "GET":
        services.composer_open_record(actor=request_user(request), patient=patient, draft=draft)
    return render(
        request,
        "messaging/compose.html",
        {
            "delivery": delivery_settings.delivery_choice_for(
                patient=patient, size_bytes=size, categories=marked
            ),
            "form": form,
            "patient": patient,
            "draft": draft,
            "attachments": attachments,
            "warnings": warnings,
            "templates": selectors.templates_active(),
            "area": "staff",
        },
    )


@sensitive_variables("one_time_password")  # the name it has in _thread_page's frame too
def _one_time_password_page(
    request: HttpRequest, message: Message, one_time_password: str
) -> HttpResponse:
    """What answers a send (composer or reply) that issued a one-time password: the thread
    with the password on it. Answered here, not redirected: the password is in this
    response only (no URL, no session, no log). A reload re-posts the same send key, which
    sends nothing and issues nothing."""
    services.thread_view_record(actor=request_user(request), thread=message.thread)
    return _thread_page(
        request,
        message.thread,
        _staff_reply_form(),
        one_time_password=one_time_password,
    )


# --- threads --------------------------------------------------------------------------------

THREAD_REMOVED = services.THREAD_REMOVED


@never_cache
@require_GET
@staff_only
def thread(request: HttpRequest, thread_id: str) -> HttpResponse:
    user = request_user(request)
    found = selectors.thread_for(user=user, thread_id=thread_id)
    services.thread_view_record(actor=user, thread=found)
    return _thread_page(request, found, _staff_reply_form())


def _thread_page(
    request: HttpRequest,
    found: Any,
    reply_form: ReplyForm,
    status: int = 200,
    one_time_password: str | None = None,
) -> HttpResponse:
    user = request_user(request)
    policy = delivery_settings.delivery_policy_current()  # read once for the whole page
    if "sensitive" in reply_form.fields:  # a copy per form: the class keeps its own help
        kinds = delivery_settings.restricted_kinds_text(policy)
        reply_form.fields["sensitive"].help_text += " " + kinds
    shown = selectors.thread_messages(user=user, thread=found, page=request.GET.get("page"))
    items = list(shown.object_list)
    receipts = selectors.read_receipts(thread=found, messages=items)
    assignees = selectors.staff_assignees(thread=found)
    rows = [
        {
            "message": m,
            "html": body_render(m.body) if m.state != "recalled" and not m.is_erased else "",
            "opened": receipts.opened.get(str(m.pk)),
            "opener": receipts.opener.get(str(m.pk), ""),
            "attachments": [(a, receipts.downloaded.get(str(a.pk))) for a in m.attachments.all()],
            "deliveries": list(m.deliveries.all()),
            "can_recall": m.author_id == user.pk
            and m.state == "sent"
            and m.opened_at is None
            and not m.from_patient
            and not m.is_erased,  # nothing is left to withdraw
        }
        for m in items
    ]
    return render(
        request,
        "messaging/thread.html",
        {
            "thread": found,
            "rows": rows,
            "page": shown,
            "reply_form": reply_form,
            "delivery": _reply_delivery(user, found, reply_form, policy),
            "one_time_password": one_time_password,
            "assign_form": AssignForm(
                initial={"assignee": found.assigned_to_id},
                choices=assignees,
            ),
            # The thread was found through the same visibility: the role decides the rest.
            "marks_confidential": policies.marks_confidential(user),
            "area": "staff",
        },
        status=status,
    )


def _staff_reply_form() -> StaffReplyForm:
    return StaffReplyForm(initial={"send_key": new_send_key()})


def _reply_delivery(
    user: User, found: Any, reply_form: ReplyForm, policy: DeliveryPolicy
) -> DeliveryChoice | None:
    """How a reply would reach the patient (the composer's decision, for the body typed and
    the kinds marked so far); None where no reply can be sent."""
    if found.is_erased or not policies.may_message_in(user, found):
        return None
    size = len((reply_form["body"].value() or "").encode())
    return delivery_settings.delivery_choice_for(
        patient=found.patient,
        size_bytes=size,
        categories=sensitive_marked(reply_form),
        policy=policy,
    )


@sensitive_variables("one_time_password")
@sensitive_post_parameters("body")
@require_POST
@staff_only
def thread_reply(request: HttpRequest, thread_id: str) -> HttpResponse:
    user = request_user(request)
    found = selectors.thread_for(user=user, thread_id=thread_id)
    if found.is_erased:
        flash.error(request, THREAD_REMOVED)
        return redirect("messaging:thread", thread_id=found.pk)

    one_time_password: str | None = None
    message: Message | None = None

    def send(form: StaffReplyForm, uploads: list[CheckedUpload]) -> object:
        nonlocal message, one_time_password
        draft = services.Draft(
            send_key=form.cleaned_data["send_key"],
            patient=found.patient,
            subject=found.subject,
            body=form.cleaned_data["body"],
            category=found.category,
            thread=found,
            content_categories=tuple(form.cleaned_data["sensitive"]),
        )
        message, one_time_password = document_passwords.message_send_by_staff(
            actor=user, draft=draft, attachments=uploads
        )
        return message

    form, sent = reply_submitted(request, send, StaffReplyForm)
    if sent and message is not None and one_time_password is not None:
        return _one_time_password_page(request, message, one_time_password)
    if sent:
        flash.success(request, "Reply sent.")
        return redirect("messaging:thread", thread_id=found.pk)
    return _thread_page(request, found, form, status=400)


@require_POST
@staff_only
def message_recall(request: HttpRequest, message_id: str) -> HttpResponse:
    user = request_user(request)
    message = selectors.message_for(user=user, message_id=message_id)
    if not confirmed(request):
        flash.error(request, "Nothing was recalled. Tick the box to confirm the recall.")
        return redirect("messaging:thread", thread_id=message.thread_id)
    try:
        services.message_recall(actor=user, message=message)
    except MessagingError as error:
        flash.error(request, error.message)
    else:
        flash.success(request, "Message recalled. The patient will see that it was withdrawn.")
    return redirect("messaging:thread", thread_id=message.thread_id)


@require_POST
@staff_only
def thread_assign(request: HttpRequest, thread_id: str) -> HttpResponse:
    user = request_user(request)
    found = selectors.thread_for(user=user, thread_id=thread_id)
    choices = selectors.staff_assignees(thread=found)
    form = AssignForm(request.POST, choices=choices)
    if form.is_valid():
        assignee = (
            User.objects.filter(pk=form.cleaned_data["assignee"]).first()
            if form.cleaned_data["assignee"]
            else None
        )
        try:
            services.thread_assign(actor=user, thread=found, assignee=assignee)
        except MessagingError as error:
            flash.error(request, error.message)
        else:
            flash.success(request, "Assignment saved.")
    else:
        flash.error(request, "Choose someone who can see this conversation.")
    return redirect("messaging:thread", thread_id=found.pk)


@require_POST
@staff_only
def thread_handled(request: HttpRequest, thread_id: str) -> HttpResponse:
    user = request_user(request)
    found = selectors.thread_for(user=user, thread_id=thread_id)
    handled = request.POST.get("handled") == "1"
    services.thread_mark_handled(actor=user, thread=found, handled=handled)
    flash.success(request, "Marked handled." if handled else "Reopened.")
    return redirect("messaging:thread", thread_id=found.pk)


@require_POST
@staff_only
def thread_confidential(request: HttpRequest, thread_id: str) -> HttpResponse:
    user = request_user(request)
    found = selectors.thread_for(user=user, thread_id=thread_id)
    confidential = request.POST.get("confidential") == "1"
    try:
        services.thread_confidential_set(actor=user, thread=found, confidential=confidential)
    except MessagingError as error:
        flash.error(request, error.message)
    else:
        flash.success(
            request,
            "Marked confidential: hidden from anyone acting for the patient."
            if confidential
            else "No longer confidential: the patient's proxies who read messages see it.",
        )
    return redirect("messaging:thread", thread_id=found.pk)


@never_cache
@require_GET
@staff_only
def attachment_download(request: HttpRequest, attachment_id: str) -> HttpResponseBase:
    user = request_user(request)
    attachment = selectors.attachment_for(user=user, attachment_id=attachment_id)
    response = file_response(attachment.file)
    services.attachment_download_record(
        actor=user, attachment=attachment, patient_id=attachment.message.thread.patient_id
    )
    return response


# --- failed notices -------------------------------------------------------------------------


@sensitive_post_parameters("new_email")
@require_http_methods(["GET", "POST"])
@staff_only
def delivery_resend(request: HttpRequest, delivery_id: str) -> HttpResponse:
    user = request_user(request)
    found = selectors.delivery_for(user=user, delivery_id=delivery_id)
    form = ResendForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            deliveries.delivery_resend_request(
                actor=user, delivery=found, new_email=form.cleaned_data["new_email"]
            )
        except MessagingError as error:
            form.add_error("new_email", error.message)
        else:
            flash.success(
                request,
                "We e-mailed a confirmation link to that address. "
                "The notice goes there once the patient confirms it.",
            )
            return redirect("messaging:thread", thread_id=found.message.thread_id)
    return render(
        request,
        "messaging/delivery_resend.html",
        {"form": form, "delivery": found, "area": "staff"},
    )


@require_POST
@staff_only
def delivery_letter(request: HttpRequest, delivery_id: str) -> HttpResponse:
    user = request_user(request)
    found = selectors.delivery_for(user=user, delivery_id=delivery_id)
    pdf = deliveries.letter_render(actor=user, delivery=found)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'attachment; filename="portal-letter.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


# --- templates ------------------------------------------------------------------------------


@require_GET
@staff_only
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "messaging/templates.html",
        {"templates": selectors.templates_active(), "area": "staff"},
    )


@require_http_methods(["GET", "POST"])
@staff_only
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = None
    if pk is not None:
        template = selectors.templates_active().filter(pk=pk).first()
        if template is None:
            raise Http404
    form = TemplateForm(posted(request), instance=template)
    if request.method == "POST" and form.is_valid():
        services.template_save(
            actor=request_user(request),
            template=template,
            title=form.cleaned_data["title"],
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
        )
        flash.success(request, "Template saved.")
        return redirect("messaging:templates")
    preview = body_render(template.body) if template else ""
    return render(
        request,
        "messaging/template_edit.html",
        {"form": form, "template": template, "preview": preview, "area": "staff"},
    )


@require_POST
@staff_only
def template_archive(request: HttpRequest, pk: int) -> HttpResponse:
    template = selectors.templates_active().filter(pk=pk).first()
    if template is None:
        raise Http404
    services.template_archive(actor=request_user(request), template=template)
    flash.success(request, "Template archived.")
    return redirect("messaging:templates")


# --- the bounce webhook (public, signed) --------------------------------------------------


@csrf_exempt
@require_POST
def bounce_webhook(request: HttpRequest) -> HttpResponse:
    """The mail provider reports a bounce: HMAC-signed, time-stamped, accepted once."""
    try:
        deliveries.bounce_receive(
            body=request.body,
            timestamp=request.headers.get("X-Portal-Timestamp", ""),
            signature=request.headers.get("X-Portal-Signature", ""),
        )
    except deliveries.BounceRefused as refusal:
        if refusal.signed:
            deliveries.bounce_refusal_record(code=refusal.code)
        else:
            logger.warning("bounce webhook: unsigned call refused (%s)", refusal.code)
        status = {"unknown_delivery": 404, "replayed": 409, "bad_body": 400}.get(refusal.code, 403)
        return JsonResponse({"error": refusal.code}, status=status)
    return JsonResponse({"ok": True})


# --- the organisation's delivery policy (the privacy officer) ------------------------------

officer_only = allowed_if(policies.manages_delivery_policy)


@never_cache
@require_http_methods(["GET", "POST"])
@officer_only
def delivery_policy(request: HttpRequest) -> HttpResponse:
    current = delivery_settings.delivery_policy_current()
    initial = {
        "tls_email": current.tls_email,
        "protected_pdf": current.protected_pdf,
        "plain_email": current.plain_email,
        "email_max_mib": max(1, current.email_max_bytes // MIB),
        "restricted_categories": list(current.restricted_categories),
        "third_party_tls": current.third_party_tls,
    }
    form = DeliveryPolicyForm(posted(request), initial=initial)
    user = request_user(request)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                delivery_settings.delivery_policy_update(
                    actor=user,
                    values=delivery_settings.PolicyValues(
                        tls_email=data["tls_email"],
                        protected_pdf=data["protected_pdf"],
                        plain_email=data["plain_email"],
                        email_max_bytes=data["email_max_mib"] * MIB,
                        restricted_categories=frozenset(data["restricted_categories"]),
                        third_party_tls=data["third_party_tls"],
                    ),
                )
            except MessagingError as error:
                form.add_error(None, error.message)
            else:
                flash.success(request, "Saved: the delivery policy.")
                return redirect("messaging:delivery_policy")
        if form.errors:
            delivery_settings.delivery_policy_refusal_record(actor=user, fields=form.errors)
    return render(
        request,
        "messaging/delivery_policy.html",
        {"form": form, "current": current, "area": "staff"},
        status=400 if form.errors else 200,
    )
